"""Safety-filter controllers (continuous fidelities)."""
CONTROLLERS = {
    "cbf": "robocoord.controllers.cbf:FixedAlphaCBF",
    "central_cbf": "robocoord.controllers.cbf:CentralCBF",
    "orca": "robocoord.controllers.cbf:ORCA",
}
