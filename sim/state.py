"""Fleet state shared by every robot kind and fidelity."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class FleetState:
    """Continuous state of N robots, world frame, metres / radians, z up.

    ``extra`` holds kind-specific state (e.g. a CAV's steering angle) as (N,) or (N, k) arrays.
    """

    pos: np.ndarray  # (N, 3)
    yaw: np.ndarray  # (N,)
    vel: np.ndarray  # (N, 3) linear velocity
    yaw_rate: np.ndarray  # (N,)
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.pos.shape[0])

    @classmethod
    def at_rest(cls, pos: np.ndarray, yaw: np.ndarray | None = None) -> "FleetState":
        pos = np.asarray(pos, dtype=float).reshape(-1, 3)
        n = pos.shape[0]
        yaw = np.zeros(n) if yaw is None else np.asarray(yaw, dtype=float).reshape(n)
        return cls(pos=pos.copy(), yaw=yaw.copy(), vel=np.zeros((n, 3)), yaw_rate=np.zeros(n))

    def copy(self) -> "FleetState":
        return FleetState(
            self.pos.copy(), self.yaw.copy(), self.vel.copy(), self.yaw_rate.copy(),
            {k: v.copy() for k, v in self.extra.items()},
        )
