"""Lifelong-MAPF controllers (grid fidelity)."""
CONTROLLERS = {
    "pibt": "robocoord.controllers.mapf:PIBTController",
    "rhcr": "robocoord.controllers.mapf:RHCRController",
    "astar": "robocoord.controllers.mapf:AStarController",
    "mapf_milp": "robocoord.controllers.mapf:MilpController",
    "follower": "robocoord.controllers.mapf:FollowerController",
    "adg_pibt": "robocoord.controllers.adg:ADGExecutor",
}
