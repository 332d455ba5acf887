"""Rotary-wing propulsion power (Y. Zeng, J. Xu, R. Zhang, "Energy minimization for wireless
communication with rotary-wing UAV", IEEE Trans. Wireless Commun. 18(4), 2019, eq. (12)):

``P(V) = P0 (1 + 3 V^2 / U_tip^2) + P_i (sqrt(1 + V^4 / (4 v0^4)) - V^2 / (2 v0^2))^(1/2)
+ 0.5 d0 rho s A V^3``

with P0 the blade-profile and P_i the induced power in hover. Defaults are the paper's Table I.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RotaryWingParams:
    p0: float = 79.86       # blade profile power in hover (W)
    pi: float = 88.63       # induced power in hover (W)
    u_tip: float = 120.0    # rotor blade tip speed (m/s)
    v0: float = 4.03        # mean rotor induced velocity in hover (m/s)
    d0: float = 0.6         # fuselage drag ratio
    rho: float = 1.225      # air density (kg/m^3)
    s: float = 0.05         # rotor solidity
    area: float = 0.503     # rotor disc area (m^2)


def propulsion_power(speed: np.ndarray | float, prm: RotaryWingParams = RotaryWingParams()) -> np.ndarray:
    """Propulsion power (W) at horizontal speed ``speed`` (m/s); hover = p0 + pi."""
    v = np.asarray(speed, dtype=float)
    blade = prm.p0 * (1.0 + 3.0 * v ** 2 / prm.u_tip ** 2)
    induced = prm.pi * np.sqrt(np.sqrt(1.0 + v ** 4 / (4.0 * prm.v0 ** 4)) - v ** 2 / (2.0 * prm.v0 ** 2))
    parasite = 0.5 * prm.d0 * prm.rho * prm.s * prm.area * v ** 3
    return blade + induced + parasite
