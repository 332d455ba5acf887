"""Ground-user mobility in a rectangle: random waypoint, or hotspot clusters (users wander around
Gaussian cluster centres that themselves drift by random waypoint). Seeded by a passed Generator."""
from __future__ import annotations

import numpy as np

MODELS = ("random_waypoint", "hotspot", "static")


class UserMobility:
    """Positions (U, 2) of ground users, advanced by :meth:`step`.

    Random waypoint (Bettstetter et al., 2003): each user walks at a speed drawn from
    ``[speed_min, speed_max]`` towards a uniform waypoint, draws a new one on arrival.
    Hotspot: ``n_hotspots`` centres, each user is tied to one; its waypoints are drawn from a Gaussian
    (``hotspot_std``) around its centre; centres move by random waypoint at ``speed_min``.
    """

    def __init__(self, n: int, area: tuple[float, float], rng: np.random.Generator, model: str = "random_waypoint",
                 speed_min: float = 0.5, speed_max: float = 1.5, n_hotspots: int = 4, hotspot_std: float = 60.0) -> None:
        if model not in MODELS:
            raise ValueError(f"mobility model: expected one of {MODELS}, got {model!r}")
        if n < 1:
            raise ValueError(f"users: expected >= 1, got {n}")
        self.model, self.rng = model, rng
        self.area = np.asarray(area, dtype=float)
        self.vmin, self.vmax, self.std = speed_min, speed_max, hotspot_std
        if model == "hotspot":
            self.centres = rng.uniform(0.15, 0.85, (n_hotspots, 2)) * self.area
            self.centre_wp = rng.uniform(0, 1, (n_hotspots, 2)) * self.area
            self.tie = rng.integers(0, n_hotspots, n)
            self.pos = self._around(self.tie)
        else:
            self.pos = rng.uniform(0, 1, (n, 2)) * self.area
        self.wp = self._waypoints(np.arange(n))
        self.speed = rng.uniform(speed_min, speed_max, n)

    def _around(self, tie: np.ndarray) -> np.ndarray:
        p = self.centres[tie] + self.rng.normal(0.0, self.std, (len(tie), 2))
        return np.clip(p, 0.0, self.area)

    def _waypoints(self, idx: np.ndarray) -> np.ndarray:
        if self.model == "hotspot":
            return self._around(self.tie[idx])
        return self.rng.uniform(0, 1, (len(idx), 2)) * self.area

    def step(self, dt: float) -> np.ndarray:
        if self.model == "static":
            return self.pos
        if self.model == "hotspot":
            self.centres, arrived = _walk(self.centres, self.centre_wp, self.vmin, dt)
            if arrived.any():
                self.centre_wp[arrived] = self.rng.uniform(0.15, 0.85, (int(arrived.sum()), 2)) * self.area
        self.pos, arrived = _walk(self.pos, self.wp, self.speed, dt)
        idx = np.flatnonzero(arrived)
        if len(idx):
            self.wp[idx] = self._waypoints(idx)
            self.speed[idx] = self.rng.uniform(self.vmin, self.vmax, len(idx))
        return self.pos


def _walk(pos: np.ndarray, wp: np.ndarray, speed, dt: float) -> tuple[np.ndarray, np.ndarray]:
    d = wp - pos
    dist = np.linalg.norm(d, axis=1)
    step = np.asarray(speed, dtype=float) * dt
    arrived = dist <= step
    out = pos + d * np.minimum(1.0, step / np.maximum(dist, 1e-12))[:, None]
    return out, arrived
