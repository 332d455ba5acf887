"""Collaborative-perception defences (task ``perception``)."""
CONTROLLERS = {
    "cpguard": "robocoord.controllers.cpguard_consensus:CPGuard",
    "cpguard_adaptive": "robocoord.controllers.cpguard_consensus:CPGuardAdaptive",
    "robosac": "robocoord.controllers.cpguard_consensus:Robosac",
    "fusion_none": "robocoord.controllers.cpguard:FusionDefence",
    "fusion_oracle": "robocoord.controllers.cpguard:Oracle",
    "fusion_upper": "robocoord.controllers.cpguard:UpperBound",
    "fusion_ego": "robocoord.controllers.cpguard:EgoOnly",
}
