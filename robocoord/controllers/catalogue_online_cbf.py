"""Learned safety filter (online CBF, continuous fidelities)."""
CONTROLLERS = {
    "online_cbf": "robocoord.controllers.online_cbf:OnlineCBF",
}
