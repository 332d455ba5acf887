"""Windowed centralised planning in the RHCR family, with prioritised planning.

J. Li, A. Tinka, S. Kiesel, J. W. Durham, T. K. S. Kumar, S. Koenig, "Lifelong Multi-Agent Path
Finding in Large-Scale Warehouses", AAAI 2021 (Rolling-Horizon Collision Resolution).

Every ``replan_every`` (h) steps, plan paths that are conflict-free for the next ``window`` (w)
steps and execute them until the next replan. The windowed solver here is *prioritised
planning* (Silver 2005; Erdmann & Lozano-Pérez 1987) — agents plan one after another with
windowed space-time A* around the reservations of those before — with *random restarts* over
priority orders (not PBS): the first order puts agents far from their goals first, later ones
are random; the order with the fewest failed agents wins (then the smallest total cost).

A failing agent waits in place for the whole window and its cell is reserved; higher-priority
agents whose paths crossed that cell are replanned right away (and may fail in turn), so the
executed plans never conflict, with each other or with agents that have no plan.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from planners.mapf.astar import ReservationTable, space_time_astar
from planners.mapf.base import GridPlannerBase
from planners.mapf.graph import GridGraph


def prioritised_plan(graph: GridGraph, Q: list[int], goal: list[int], h: list[list[int]],
                     order: list[int], window: int
                     ) -> tuple[list[list[int]], set[int], ReservationTable]:
    """Windowed prioritised planning: paths ``(N, window + 1)`` of node ids, conflict-free for
    t = 0..window, the set of agents that failed and wait in place, and the reservations."""
    res = ReservationTable(graph.F)
    paths: list[list[int] | None] = [None] * len(Q)
    failed: set[int] = set()
    queue = deque(order)
    while queue:
        i = queue.popleft()
        path = space_time_astar(graph, Q[i], goal[i], h[i], res, window)
        if path is None:
            failed.add(i)
            path = [Q[i]] * (window + 1)
            # agents already planned through Q[i] lose their plan and are replanned next
            for j, pj in enumerate(paths):
                if pj is not None and j not in failed and Q[i] in pj:
                    res.release(pj)
                    paths[j] = None
                    queue.appendleft(j)
        paths[i] = path
        res.reserve(path)
    return paths, failed, res


class WindowedPlanner(GridPlannerBase):
    """RHCR-style lifelong planner (see module docstring); implements `LifelongPlanner`.

    ``window`` w >= ``replan_every`` h >= 1; ``restarts``: extra priority orders tried when some
    agent fails; ``max_table_bytes``: memory cap of the distance cache.
    """

    def __init__(self, window: int = 10, replan_every: int = 5, restarts: int = 2,
                 max_table_bytes: int = 2 * 1024 ** 3):
        if not 1 <= replan_every <= window:
            raise ValueError(f"WindowedPlanner: need 1 <= replan_every <= window, got "
                             f"replan_every={replan_every}, window={window}")
        if restarts < 0:
            raise ValueError(f"WindowedPlanner: restarts must be >= 0, got {restarts}")
        self.window, self.replan_every, self.restarts = int(window), int(replan_every), int(restarts)
        super().__init__(max_table_bytes)

    def reset(self, blocked: np.ndarray, starts: np.ndarray, goals: np.ndarray,
              rng: np.random.Generator) -> None:
        self.prepare(blocked, starts, goals, rng)
        self.paths: list[list[int]] | None = None   # node at t = 0..window of the current plan
        self.goals: np.ndarray | None = None        # goals the current paths lead to
        self.res: ReservationTable | None = None
        self.k = 0                                  # steps executed since the last replan
        self.n_failed: list[int] = []               # failed agents at each replan (diagnostics)

    def step(self, positions: np.ndarray, goals: np.ndarray) -> np.ndarray:
        Q = self.graph.nodes(positions, "positions")
        goal = self.graph.nodes(goals, "goals")
        k = self.k
        if (self.paths is None or k >= self.replan_every or len(Q) != len(self.paths)
                or any(p[k] != q for p, q in zip(self.paths, Q.tolist()))):
            self._replan(Q, goal)
            k = 0
        else:
            for i in np.flatnonzero(goal != self.goals).tolist():
                self._replan_one(i, int(goal[i]), k)
        self.k = k + 1
        return self.graph.cells(np.array([p[k + 1] for p in self.paths], dtype=np.int64))

    def _heuristics(self, goal: np.ndarray) -> list[list[int]]:
        slots = self.tables.slots(goal)
        return [self.tables.store[s].tolist() for s in slots.tolist()]

    def _replan(self, Q: np.ndarray, goal: np.ndarray) -> None:
        UNR = self.tables.unreachable
        d = self.tables.dist(goal, Q)
        self.goals = goal.copy()
        goal = np.where(d >= UNR, Q, goal)          # unreachable goal: plan to park instead
        h = self._heuristics(goal)
        Ql, gl = Q.tolist(), goal.tolist()
        order = np.argsort(-np.minimum(d, UNR - 1), kind="stable").tolist()   # far first
        best = None
        for attempt in range(self.restarts + 1):
            paths, failed, res = prioritised_plan(self.graph, Ql, gl, h, order, self.window)
            cost = sum(_cost(p, g, hh) for p, g, hh in zip(paths, gl, h))
            if best is None or (len(failed), cost) < best[0]:
                best = ((len(failed), cost), paths, res)
            if not failed:
                break
            order = [i for i in order if i in failed] + [i for i in order if i not in failed]
        self.n_failed.append(best[0][0])
        self.paths, self.res = best[1], best[2]

    def _replan_one(self, i: int, goal: int, k: int) -> None:
        """Agent i got a new goal at step k of the plan: replan it alone for t = k..window."""
        self.goals[i] = goal
        old = self.paths[i]
        h = self._heuristics(np.array([goal]))[0]
        if h[old[k]] >= self.tables.unreachable:    # unreachable goal: park instead
            goal = old[k]
            h = self._heuristics(np.array([goal]))[0]
        self.res.release(old)
        new = space_time_astar(self.graph, old[k], goal, h, self.res, self.window, t0=k)
        self.paths[i] = old if new is None else old[:k] + new
        self.res.reserve(self.paths[i])

    def planned_paths(self) -> list[np.ndarray] | None:
        """Remaining planned cells of each agent (from its current cell to the window's end)."""
        if self.paths is None:
            return None
        return [self.graph.cells(np.array(p[self.k:])) for p in self.paths]


def _cost(path: list[int], goal: int, h: list[int]) -> int:
    """First arrival time at goal, else window length + cost-to-go (as `space_time_astar`)."""
    return path.index(goal) if goal in path else len(path) - 1 + h[path[-1]]
