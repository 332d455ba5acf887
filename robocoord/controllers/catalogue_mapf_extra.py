"""Extra lifelong-MAPF controllers (grid fidelity)."""
CONTROLLERS = {
    "pibt_lookahead": "robocoord.controllers.mapf_lookahead:LookaheadPIBTController",
}
