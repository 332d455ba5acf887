"""Lifelong-MAPF controllers (grid fidelity)."""
CONTROLLERS = {
    "pibt": "robocoord.controllers.mapf:PIBTController",
    "rhcr": "robocoord.controllers.mapf:RHCRController",
    "astar": "robocoord.controllers.mapf:AStarController",
    "mapf_milp": "robocoord.controllers.mapf:MilpController",
}
