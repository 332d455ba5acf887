"""Vectorised pure-numpy training environment (the domain task's channel and rate code, no pybullet).

E parallel episodes of M UAVs (fixed altitude, horizontal moves) over U moving ground users. Each slot:
UAVs take one of 9 discrete moves (stay, 8 compass directions at ``speed``), users move, a fast
resource layer (``layer``: ``fair`` = :func:`planners.uav_assign.fast.fair_assign`, every user served;
``greedy`` = :func:`planners.uav_assign.fast.greedy_sumrate`, one user per block) assigns the
subchannels and ``sim.radio.rates`` computes the per-user rates with co-channel interference. Team reward: Jain-weighted throughput of
the slot, ``jain(r) * sum(r) / (U * B)``, minus a penalty per UAV pair closer than ``min_sep``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planners.uav_assign.fast import fair_assign, greedy_sumrate
from sim.radio import RadioConfig, UserMobility, jain, link_gain, rates

MOVES = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [-1, 1], [-1, 0], [-1, -1], [0, -1], [1, -1]], float)
MOVES[1:] /= np.linalg.norm(MOVES[1:], axis=1, keepdims=True)
N_ACTIONS = len(MOVES)


@dataclass
class EnvConfig:
    n_uav: int = 4
    n_users: int = 40
    area: float = 1000.0
    altitude: float = 100.0
    speed: float = 10.0       # m/s at full action
    dt: float = 1.0           # slot (s)
    horizon: int = 100
    min_sep: float = 50.0
    mobility: str = "random_waypoint"
    preset: str = "urban"
    history: int = 3          # stacked frames of UAV positions
    layer: str = "fair"       # resource layer: fair (everyone served, time-shared) | greedy (one user per block)


def start_positions(n: int, area: float, rng: np.random.Generator) -> np.ndarray:
    """UAVs start on a small ring (radius 0.1 area) around the arena centre with random phase."""
    ph = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(n) / n
    return area / 2 + 0.1 * area * np.column_stack([np.cos(ph), np.sin(ph)])


class VecUavEnv:
    def __init__(self, cfg: EnvConfig, n_envs: int, seed: int) -> None:
        self.cfg, self.E = cfg, n_envs
        self.radio = RadioConfig(preset=cfg.preset)
        self.rng = np.random.default_rng(seed)
        self.reset()

    def reset(self) -> None:
        c = self.cfg
        self.mob = [UserMobility(c.n_users, (c.area, c.area), np.random.default_rng(self.rng.integers(2**31)),
                                 model=self.rng.choice(["random_waypoint", "hotspot"]) if c.mobility == "mixed"
                                 else c.mobility) for _ in range(self.E)]
        self.uav = np.stack([start_positions(c.n_uav, c.area, self.rng) for _ in range(self.E)])
        self.hist = np.repeat(self.uav[:, None], c.history, axis=1)  # (E, H, M, 2)
        self.t = 0
        self.last_rate = np.zeros((self.E, c.n_users))
        self._measure()

    def users(self) -> np.ndarray:
        return np.stack([m.pos for m in self.mob])

    def _measure(self) -> np.ndarray:
        c = self.cfg
        rew = np.zeros(self.E)
        users = self.users()
        for e in range(self.E):
            pos3 = np.column_stack([self.uav[e], np.full(c.n_uav, c.altitude)])
            g = link_gain(pos3, users[e], self.radio)
            if c.layer == "fair":
                a, s = fair_assign(g, self.radio.n_subchannels)
            else:
                r_if = self.radio.subchannel_hz * np.log2(1 + self.radio.power_per_subchannel_w * g / self.radio.noise_w)
                a, s = greedy_sumrate(r_if, self.radio.n_subchannels)
            r, _ = rates(g, a, s, self.radio)
            self.last_rate[e] = r
            rew[e] = jain(r) * r.sum() / (c.n_users * self.radio.subchannel_hz)
        d = np.linalg.norm(self.uav[:, :, None] - self.uav[:, None], axis=-1)
        iu = np.triu_indices(c.n_uav, 1)
        self.violations = (d[:, iu[0], iu[1]] < c.min_sep).sum(axis=1)
        return rew - 1.0 * self.violations

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """actions (E, M) ints -> (reward (E,), done (E,) bool); auto-resets at the horizon."""
        c = self.cfg
        self.uav = np.clip(self.uav + MOVES[actions] * c.speed * c.dt, 0.0, c.area)
        for m in self.mob:
            m.step(c.dt)
        self.hist = np.concatenate([self.hist[:, 1:], self.uav[:, None]], axis=1)
        rew = self._measure()
        self.t += 1
        done = np.full(self.E, self.t >= c.horizon)
        if self.t >= c.horizon:
            self.reset()
        return rew, done
