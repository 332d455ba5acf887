"""UAV base-station resource assignment at fixed positions: MILPs (sum rate; max-min by bisection),
fast greedy layers, k-means placement. Plain numpy in and out (imports neither sim nor robocoord)."""
from planners.uav_assign.fast import fair_assign, greedy_sumrate
from planners.uav_assign.kmeans import kmeans
from planners.uav_assign.milp import AssignResult, lpt_pack, maxmin_assignment, sumrate_assignment

__all__ = ["fair_assign", "greedy_sumrate", "kmeans", "AssignResult", "lpt_pack", "maxmin_assignment",
           "sumrate_assignment"]
