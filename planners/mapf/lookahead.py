"""PIBT with Monte-Carlo lookahead: pick the next joint move by simulating PIBT a few steps ahead.

Plain PIBT commits to a greedy one-step joint move whose tie-breaks (among equally short moves)
and inherited pushes are random; at low density most of the throughput lost against free flow
comes from such choices that later meet head-on or push an agent off its shortest path. Here,
every step, ``rollouts`` joint moves are drawn by PIBT with different random tie-breaks (and, for
all but the first, slightly perturbed priorities); from each, PIBT is simulated ``horizon - 1``
further steps with the goals held fixed, and the first move of the rollout with the best score is
executed. Score: goals reached within the horizon (earlier is better) minus the remaining cost to
go of the others, in moves. Every executed move is a PIBT step, so the joint move is free of
vertex and swap conflicts by construction; rollout 0 is a plain PIBT rollout, so the choice is
never scored below plain PIBT's.

Lookahead over PIBT configurations in the spirit of LaCAM (Okumura, "LaCAM: Search-Based
Algorithm for Quick Multi-Agent Pathfinding", AAAI 2023), which searches over PIBT successors;
here the search is a flat Monte-Carlo one over a short horizon, suited to the lifelong setting
where goals change and long plans go stale. Cost grows as ``rollouts * horizon`` PIBT steps, so
``max_agents`` switches the lookahead off (plain PIBT) above a fleet size where its time budget
would not hold; the rule is part of this one planner, not a choice between planners.
"""
from __future__ import annotations

import numpy as np

from planners.mapf.pibt import PIBT


class LookaheadPIBT(PIBT):
    """PIBT + Monte-Carlo rollouts (see module docstring); implements `LifelongPlanner`.

    ``rollouts``: joint moves compared per step; ``horizon``: steps simulated per rollout (the
    first included); ``priority_noise``: spread of the random priority perturbation of rollouts
    1.. (in steps of waiting); ``max_agents``: above this fleet size, plain PIBT; ``score_moves``:
    score the cost to go in moves (BFS) rather than in guided costs. Guidance weights as in `PIBT`.
    """

    def __init__(self, rollouts: int = 16, horizon: int = 8, priority_noise: float = 5.0,
                 max_agents: int = 96, score_moves: bool = True,
                 corridor_penalty: float = 0.0, lane_penalty: float = 0.0,
                 max_table_bytes: int = 2 * 1024 ** 3):
        if rollouts < 1 or horizon < 1 or priority_noise < 0 or max_agents < 0:
            raise ValueError("LookaheadPIBT: expected rollouts >= 1, horizon >= 1, priority_noise >= 0, "
                             "max_agents >= 0")
        super().__init__(corridor_penalty, lane_penalty, max_table_bytes)
        self.rollouts, self.horizon = int(rollouts), int(horizon)
        self.priority_noise, self.max_agents = float(priority_noise), int(max_agents)
        self.score_moves = bool(score_moves)

    def _joint_move(self, Q_from: np.ndarray, goal: np.ndarray, priority: np.ndarray | None = None) -> np.ndarray:
        if priority is not None or len(Q_from) > self.max_agents or self.rollouts == 1:
            return super()._joint_move(Q_from, goal, priority)
        return self._best_first_move(Q_from, goal)

    def _best_first_move(self, Q_from: np.ndarray, goal: np.ndarray) -> np.ndarray:
        slots = self._score_tables.slots(goal)
        best, best_score = None, -np.inf
        for r in range(self.rollouts):
            prio = self.priority
            if r:
                prio = prio + self.priority_noise * self.rng.random(len(prio))
            first = super()._joint_move(Q_from, goal, prio)
            score = self._score(first, goal, prio, slots)
            if score > best_score:
                best, best_score = first, score
        self.last_score = best_score
        return best

    def _score(self, q: np.ndarray, goal: np.ndarray, prio: np.ndarray, slots: np.ndarray) -> float:
        """Simulate PIBT from the joint move ``q`` (step 1) to the horizon, goals fixed: goals
        reached, weighted by how early, minus the remaining cost to go (moves) of the others."""
        score = 0.0
        reached = np.zeros(len(q), dtype=bool)
        for t in range(1, self.horizon + 1):
            hit = (q == goal) & ~reached
            score += (self.horizon + 1 - t) * int(hit.sum())
            reached |= hit
            if t == self.horizon:
                break
            prio = np.where(reached, self.eps, prio + 1.0)
            q = super()._joint_move(q, goal, prio)
        togo = self._score_tables.store[slots, q].astype(np.float64)
        return score - float(togo[~reached].sum()) / self._unit

    def reset(self, blocked: np.ndarray, starts: np.ndarray, goals: np.ndarray,
              rng: np.random.Generator) -> None:
        super().reset(blocked, starts, goals, rng)
        # the cost to go is scored in moves (BFS tables; the guided costs only order PIBT's
        # candidates) or, with score_moves=False, in guided costs over the cost of one move
        cost = self.edge_cost(self.graph)
        self._unit = 1.0 if cost is None or self.score_moves else float(cost[: self.graph.F, 1:].min())
        if cost is None or not self.score_moves:
            self._score_tables = self.tables
        elif getattr(self, "_score_graph", None) is not self.graph:
            from planners.mapf.distance import DistanceTables
            self._score_tables, self._score_graph = DistanceTables(self.graph, self.max_table_bytes), self.graph
