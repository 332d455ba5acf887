"""Fast pure-numpy training simulator for the online CBF policy: single integrators (the AMR control
point) in a walled square arena, random pair swaps or antipodal circle swaps, every step filtered
by the exact decentralised CBF-QP of :mod:`planners.cbf.filter` (so training sees exactly the filter
the controller runs).

Rewards per agent and step: progress towards the goal (in units of one full-speed step) x 0.1,
-0.02 per step while not at the goal (slow), -0.05 extra when stalled far from the goal (speed under
10 % of u_max: deadlock pressure), +1 on first arrival, -1 per infeasible QP (brake fallback).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planners.cbf.filter import cbf_filter, closest_points_boxes
from policies.online_cbf.model import N_OBS


@dataclass
class EnvConfig:
    arena: float = 4.0            # random swaps: square side (m)
    radius: float = 0.155         # control-point safety radius (robot 0.1 + margin/2 + lookahead)
    u_max: float = 0.5
    dt: float = 0.05
    kp: float = 1.0
    k: int = 8
    sense_radius: float = 1.5
    goal_tol: float = 0.1
    spacing: float = 0.45         # min start spacing of random layouts


def nearest_obstacles(q: np.ndarray | None, pos: np.ndarray, m: int = N_OBS) -> np.ndarray:
    """(N, M, 2) closest points (NaN = absent) -> the m nearest per agent, NaN-padded: (N, m, 2)."""
    n = len(pos)
    out = np.full((n, m, 2), np.nan)
    if q is None or q.shape[1] == 0:
        return out
    d = np.linalg.norm(q[..., :2] - pos[:, None, :2], axis=2)
    d = np.where(np.isnan(d), np.inf, d)
    idx = np.argsort(d, axis=1)[:, :m]
    sel = np.take_along_axis(q[..., :2], idx[..., None], axis=1)
    ok = np.isfinite(np.take_along_axis(d, idx, axis=1))
    sel[~ok] = np.nan
    out[:, : sel.shape[1]] = sel
    return out


class SwapEnv:
    """N agents; ``reset(n, layout, rng)`` with layout "random" (pair swaps in the arena) or "circle"."""

    def __init__(self, cfg: EnvConfig | None = None) -> None:
        self.cfg = cfg or EnvConfig()

    def _walls(self, half: float) -> tuple[np.ndarray, np.ndarray]:
        t = 0.1
        lo = np.array([[-half - t, -half - t], [half, -half - t], [-half - t, -half - t], [-half - t, half]])
        hi = np.array([[-half, half + t], [half + t, half + t], [half + t, -half], [half + t, half + t]])
        return lo, hi

    def reset(self, n: int, layout: str, rng: np.random.Generator) -> None:
        c = self.cfg
        if layout == "random":
            half = c.arena / 2
            pts: list[np.ndarray] = []
            while len(pts) < n:
                p = rng.uniform(-half + 0.3, half - 0.3, 2)
                if all(np.linalg.norm(p - q) >= c.spacing for q in pts):
                    pts.append(p)
            start = np.array(pts)
            perm = rng.permutation(n)
            goal = start.copy()
            for a, b in zip(perm[0::2], perm[1::2]):
                goal[a], goal[b] = start[b], start[a]
            self.horizon = 600
        elif layout == "circle":
            r = max(1.0, 0.6 * n / (2 * np.pi))
            half = r + 1.0
            th = 2 * np.pi * np.arange(n) / n + rng.uniform(0, 2 * np.pi)
            start = r * np.stack([np.cos(th), np.sin(th)], axis=1)
            goal = -start
            self.horizon = int(2.2 * 2 * r / c.u_max / c.dt) + 100
        else:
            raise ValueError(f"SwapEnv: layout must be 'random' or 'circle', got {layout!r}")
        self.wall_lo, self.wall_hi = self._walls(half)
        self.pos, self.goal = start, goal
        self.vel = np.zeros_like(start)
        self.arrived = np.zeros(n, bool)
        self.t = 0
        self.min_sep = np.inf
        self.infeasible = 0
        self.arrival_step = np.full(n, -1)
        self.tag = rng.uniform(0, 1, n)

    def obstacle_points(self) -> np.ndarray:
        q = closest_points_boxes(self.pos, self.wall_lo, self.wall_hi)
        far = np.linalg.norm(q - self.pos[:, None], axis=2) > self.cfg.sense_radius
        q[far] = np.nan
        return q

    def observe(self) -> tuple[np.ndarray, ...]:
        """pos, vel, goal, nearest obstacle points, tag: the policy's inputs."""
        return self.pos, self.vel, self.goal, nearest_obstacles(self.obstacle_points(), self.pos), self.tag

    def step(self, alpha: np.ndarray, turn: np.ndarray) -> tuple[np.ndarray, bool]:
        c = self.cfg
        g = self.goal - self.pos
        u = c.kp * g
        cs, sn = np.cos(turn), np.sin(turn)
        u = np.stack([cs * u[:, 0] - sn * u[:, 1], sn * u[:, 0] + cs * u[:, 1]], axis=1)
        nrm = np.linalg.norm(u, axis=1, keepdims=True)
        u *= np.minimum(1.0, c.u_max / np.maximum(nrm, 1e-12))
        res = cbf_filter(self.pos, u, radius=c.radius, alpha=alpha, dt=c.dt, u_max=c.u_max,
                         sense_radius=c.sense_radius, k=min(c.k, len(self.pos) - 1),
                         obstacles_closest=self.obstacle_points(), alpha_obs=alpha)
        d0 = np.linalg.norm(g, axis=1)
        self.vel = res.u
        self.pos = self.pos + res.u * c.dt
        d1 = np.linalg.norm(self.goal - self.pos, axis=1)
        self.t += 1
        diff = self.pos[:, None] - self.pos[None]
        dd = np.sqrt((diff ** 2).sum(-1) + np.eye(len(self.pos)) * 1e9)
        self.min_sep = min(self.min_sep, float(dd.min()))
        self.infeasible += int(res.infeasible.sum())
        new = (d1 <= c.goal_tol) & ~self.arrived
        self.arrival_step[new] = self.t
        self.arrived |= new
        speed = np.linalg.norm(res.u, axis=1)
        far = d1 > c.goal_tol
        r = 0.1 * (d0 - d1) / (c.u_max * c.dt) - 0.02 * far - 0.05 * (far & (speed < 0.1 * c.u_max))
        r = r + 1.0 * new - 1.0 * res.infeasible
        done = self.t >= self.horizon or bool(np.all(d1 <= c.goal_tol))
        return r, done
