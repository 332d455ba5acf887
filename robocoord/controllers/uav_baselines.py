"""Classic UAV base-station baselines.

* ``uav_kmeans_milp``: static placement - at the first slot the users are clustered by k-means
  (M clusters, :func:`planners.uav_assign.kmeans`), centroids are matched to UAVs greedily by distance,
  the UAVs fly there and hover; resources per slot by MILP (default max-min fairness by bisection,
  ``milp_sumrate`` selectable).
* ``uav_random_walk``: each UAV keeps a heading at half speed and turns by a random angle every
  ``turn_every`` slots (reflecting at the area border); fast fair resource layer.
"""
from __future__ import annotations

import numpy as np
from pydantic import Field

from robocoord.controller import Context, Observation
from robocoord.controllers.uav_common import Resources, UavBsController, UavBsParams


class KMeansParams(UavBsParams):
    resources: Resources = "milp_maxmin"
    time_limit: float = Field(default=1.0, gt=0)


class RandomWalkParams(UavBsParams):
    turn_every: int = Field(default=10, ge=1, description="slots between random heading changes")
    speed_fraction: float = Field(default=0.5, gt=0, le=1)


class KMeansMilp(UavBsController):
    name = "uav_kmeans_milp"
    summary = "static k-means placement on the initial users + per-slot MILP assignment (max-min by default)"
    Params = KMeansParams

    def reset(self, context: Context) -> None:
        super().reset(context)
        self.targets: np.ndarray | None = None

    def move(self, obs: Observation, ex: dict) -> np.ndarray:
        from planners.uav_assign import kmeans

        pos = obs.state.pos[:, :2]
        if self.targets is None:
            c = kmeans(ex["users"], obs.n, self.context.rng)
            self.targets = np.zeros_like(c)
            free = list(range(len(c)))
            d = np.linalg.norm(pos[:, None] - c[None], axis=-1)
            for flat in np.argsort(d, axis=None, kind="stable"):  # greedy nearest matching
                i, j = divmod(int(flat), len(c))
                if j in free and not self.targets[i].any():
                    self.targets[i] = c[j]
                    free.remove(j)
        v = (self.targets - pos) / ex["slot"]
        s = np.linalg.norm(v, axis=1, keepdims=True)
        return v * np.minimum(1.0, self.vmax / np.maximum(s, 1e-12))


class RandomWalk(UavBsController):
    name = "uav_random_walk"
    summary = "random-walk UAVs (heading changes every k slots) + fast fair resource layer"
    Params = RandomWalkParams

    def reset(self, context: Context) -> None:
        super().reset(context)
        self.heading = context.rng.uniform(0, 2 * np.pi, context.n)

    def move(self, obs: Observation, ex: dict) -> np.ndarray:
        if self.step % self.params.turn_every == 0:
            self.heading = self.heading + self.context.rng.uniform(-np.pi / 2, np.pi / 2, obs.n)
        x0, y0, x1, y1 = ex["area"]
        pos = obs.state.pos[:, :2]
        v = self.params.speed_fraction * self.vmax * np.column_stack([np.cos(self.heading), np.sin(self.heading)])
        nxt = pos + v * ex["slot"]
        flip_x = (nxt[:, 0] < x0) | (nxt[:, 0] > x1)
        flip_y = (nxt[:, 1] < y0) | (nxt[:, 1] > y1)
        self.heading = np.where(flip_x, np.pi - self.heading, self.heading)
        self.heading = np.where(flip_y, -self.heading, self.heading)
        return self.params.speed_fraction * self.vmax * np.column_stack([np.cos(self.heading), np.sin(self.heading)])
