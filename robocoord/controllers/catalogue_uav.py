"""UAV base-station controllers (task ``uav_bs``)."""
CONTROLLERS = {
    "uav_ga_matr": "robocoord.controllers.uav_policy:GaMatr",
    "uav_mappo_mlp": "robocoord.controllers.uav_policy:MappoMlp",
    "uav_milp_oracle": "robocoord.controllers.uav_policy:MilpOracle",
    "uav_kmeans_milp": "robocoord.controllers.uav_baselines:KMeansMilp",
    "uav_random_walk": "robocoord.controllers.uav_baselines:RandomWalk",
}
