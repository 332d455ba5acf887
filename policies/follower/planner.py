"""The Follower-style policy as a `LifelongPlanner`: batched over agents, one forward pass per step."""
from __future__ import annotations

import numpy as np
import torch

from planners.mapf.moves import MOVES
from policies.follower.features import FollowerFeatures
from policies.follower.model import FollowerNet, load_policy


class FollowerPlanner:
    """Each agent scores its five actions from its own window (and the static map) only.

    ``resolve="local"`` (default): each agent ranks its moves by a congestion-aware cost, the
    shortest-path distance after the move minus ``policy_weight`` times the policy's log-probability
    of the move (the learned part: when to give way, step aside or wait, from what it sees), and
    agents that would collide settle it among neighbours with PIBT's priority inheritance (Okumura
    et al. 2022), using those rankings as candidate lists and "time since its goal was assigned" as
    priority — every exchange is
    between agents one cell apart, so it needs only local communication, not a central planner.
    ``resolve="none"``: each agent takes its best action alone (sampled with ``temperature`` > 0,
    arg-max at 0); the grid engine then makes conflicting agents wait (no communication at all).
    Moves into obstacles are masked out in both modes.
    """

    def __init__(self, net: FollowerNet | None = None, temperature: float = 0.5, resolve: str = "local",
                 policy_weight: float = 0.3) -> None:
        if resolve not in ("local", "none"):
            raise ValueError(f"resolve: expected 'local' or 'none', got {resolve!r}")
        if policy_weight < 0:
            raise ValueError(f"policy_weight must be >= 0, got {policy_weight}")
        self.net = net if net is not None else load_policy()
        self.temperature = float(temperature)
        self.resolve = resolve
        self.policy_weight = float(policy_weight)
        self.features: FollowerFeatures | None = None

    def reset(self, blocked: np.ndarray, starts: np.ndarray, goals: np.ndarray, rng: np.random.Generator) -> None:
        if self.features is None or not np.array_equal(self.features.blocked, blocked):
            self.features = FollowerFeatures(blocked, self.net.config["radius"])
        self.rng = rng
        self.eps = rng.random(len(starts))
        self.priority = self.eps.copy()
        self._goals = np.asarray(goals).copy()

    @torch.no_grad()
    def logits(self, cells: np.ndarray, goals: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(self.features(cells, goals))
        return self.net(x).numpy().astype(np.float64)

    def step(self, positions: np.ndarray, goals: np.ndarray) -> np.ndarray:
        z = self.logits(positions, goals)
        nxt = positions[:, None, :] + MOVES[None]                     # (N, 5, 2)
        H, W = self.features.blocked.shape
        ok = (nxt[..., 0] >= 0) & (nxt[..., 0] < H) & (nxt[..., 1] >= 0) & (nxt[..., 1] < W)
        ok[ok] = ~self.features.blocked[nxt[..., 0][ok], nxt[..., 1][ok]]
        z[~ok] = -np.inf
        if self.resolve == "local":
            return self._local_pibt(positions, goals, z, nxt, ok)
        if self.temperature > 0:
            p = np.exp((z - z.max(axis=1, keepdims=True)) / self.temperature)
            p /= p.sum(axis=1, keepdims=True)
            a = (p.cumsum(axis=1) > self.rng.random((len(z), 1))).argmax(axis=1)
        else:
            a = z.argmax(axis=1)
        return nxt[np.arange(len(a)), a]

    def _local_pibt(self, positions: np.ndarray, goals: np.ndarray, z: np.ndarray, nxt: np.ndarray,
                    ok: np.ndarray) -> np.ndarray:
        from planners.mapf.pibt import pibt_step

        G = self.features.graph
        q = G.nodes(positions, "positions")
        done = (positions == goals).all(axis=1) | (goals != self._goals).any(axis=1)
        self.priority = np.where(done, self.eps, self.priority + 1.0)
        self._goals = goals.copy()
        slot = self.features.tables.slots(G.nodes(goals, "goals"))
        dist = self.features.tables.store[slot[:, None], G.nbr[q]].astype(np.float64)
        zmax = z.max(axis=1, keepdims=True)
        logp = z - zmax - np.log(np.exp(z - zmax).sum(axis=1, keepdims=True))       # -inf where masked
        cost = np.where(ok, dist - self.policy_weight * np.where(ok, logp, 0.0), np.inf)
        order_a = np.argsort(cost + 1e-6 * self.rng.random(z.shape), axis=1)
        cand = np.where(ok, G.nbr[q], G.F)                                           # F: blocked sentinel
        C = np.take_along_axis(cand, order_a, axis=1)
        Q_to = pibt_step(q.tolist(), C.tolist(), np.argsort(-self.priority, kind="stable").tolist(), G.F)
        return G.cells(np.asarray(Q_to, dtype=np.int64))

    def planned_paths(self) -> list[np.ndarray] | None:
        return None
