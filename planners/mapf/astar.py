"""A* on the grid, space-time A* against a reservation table, and the independent-A* baseline.

P. E. Hart, N. J. Nilsson, B. Raphael, "A Formal Basis for the Heuristic Determination of
Minimum Cost Paths", IEEE TSSC 4(2), 1968. Space-time A* with a reservation table:
D. Silver, "Cooperative Pathfinding", AIIDE 2005.

Paths are lists of node ids of a `GridGraph` (see `graph.py`); a space-time path lists the node
at t = 0, 1, ..., horizon.
"""
from __future__ import annotations

import heapq
from typing import Sequence

import numpy as np

from planners.mapf.base import GridPlannerBase
from planners.mapf.graph import GridGraph


def manhattan(graph: GridGraph, goal: int) -> np.ndarray:
    """Admissible heuristic: Manhattan distance of every node (and 0 for the sentinel) to goal."""
    d = np.abs(graph.cell_of - graph.cell_of[goal]).sum(axis=1)
    return np.append(d, 0)


def astar(graph: GridGraph, start: int, goal: int, h: Sequence[float] | None = None) -> list[int] | None:
    """Shortest path ``[start, ..., goal]`` (node ids) by A*, or None if goal is unreachable.
    ``h`` (indexed by node) defaults to the Manhattan distance."""
    h = manhattan(graph, goal).tolist() if h is None else h
    nbr = graph.nbr
    F = graph.F
    g = {start: 0}
    parent = {start: start}
    open_ = [(h[start], 0, start)]        # (f, -g, node): deeper first among equal f
    closed = set()
    while open_:
        _, _, v = heapq.heappop(open_)
        if v in closed:
            continue
        if v == goal:
            path = [v]
            while v != start:
                v = parent[v]
                path.append(v)
            return path[::-1]
        closed.add(v)
        gv = g[v] + 1
        for u in nbr[v, 1:].tolist():
            if u != F and u not in closed and gv < g.get(u, 1 << 62):
                g[u] = gv
                parent[u] = v
                heapq.heappush(open_, (gv + h[u], -gv, u))
    return None


class ReservationTable:
    """Cells and moves taken by already planned agents: vertex ``(v, t)`` and edge
    ``(u -> v arriving at t)``, stored as integer keys in two sets."""

    def __init__(self, n_nodes: int):
        self.S = n_nodes + 1
        self.vertex: set[int] = set()
        self.edge: set[int] = set()

    def _keys(self, path: Sequence[int]):
        S = self.S
        vk = [t * S + v for t, v in enumerate(path)]
        ek = [(t * S + path[t - 1]) * S + path[t] for t in range(1, len(path)) if path[t] != path[t - 1]]
        return vk, ek

    def reserve(self, path: Sequence[int]) -> None:
        vk, ek = self._keys(path)
        self.vertex.update(vk)
        self.edge.update(ek)

    def release(self, path: Sequence[int]) -> None:
        vk, ek = self._keys(path)
        self.vertex.difference_update(vk)
        self.edge.difference_update(ek)

    def vertex_free(self, v: int, t: int) -> bool:
        return t * self.S + v not in self.vertex

    def move_free(self, u: int, v: int, t: int) -> bool:
        """May an agent move u -> v arriving at t (no vertex conflict at v, no swap)?"""
        S = self.S
        return t * S + v not in self.vertex and (u == v or (t * S + v) * S + u not in self.edge)


def space_time_astar(graph: GridGraph, start: int, goal: int, h: Sequence[float],
                     res: ReservationTable, horizon: int, t0: int = 0) -> list[int] | None:
    """Windowed space-time A* (Silver 2005; windowing as in RHCR, Li et al. AAAI 2021).

    Returns the node at t = t0..horizon (length ``horizon - t0 + 1``) avoiding ``res``. Cost:
    the first arrival time at ``goal`` (in lifelong MAPF a reached goal is replaced at once, so
    the agent only has to *touch* it; the rest of the path merely has to be conflict-free, and
    staying on the goal is preferred), or ``horizon + h[node at horizon]`` when the goal is not
    reached within the window (conflicts beyond it are not considered). None when every state
    is blocked. ``h`` must be consistent with ``h[goal] = 0`` (e.g. a BFS distance table).
    """
    S, F = graph.F + 1, graph.F
    nbr = graph.nbr
    if not res.vertex_free(start, t0):
        return None
    # state = (node, time, goal visited?), key ((t * S + v) << 1) | visited; g is fixed by t
    vis = int(start == goal)
    key = ((t0 * S + start) << 1) | vis
    parent = {key: -1}
    # (f, -t, off goal, v, t, visited): deeper first among equal f, then staying on the goal
    open_ = [(t0 if vis else t0 + h[start], -t0, 0, start, t0, vis)]
    while open_:
        f, _, _, v, t, vis = heapq.heappop(open_)
        key = ((t * S + v) << 1) | vis
        if t == horizon:
            path = []
            while key >= 0:
                path.append((key >> 1) % S)
                key = parent[key]
            return path[::-1]
        nt = t + 1
        for u in nbr[v].tolist():
            nvis = vis | (u == goal)
            nk = ((nt * S + u) << 1) | nvis
            if u == F or nk in parent or not res.move_free(v, u, nt):
                continue
            parent[nk] = key
            nf = f if vis else (nt if nvis else nt + h[u])
            heapq.heappush(open_, (nf, -nt, u != goal, u, nt, nvis))
    return None


class IndependentAStar(GridPlannerBase):
    """Naive baseline: every step each agent replans a shortest path to its goal ignoring the
    others and takes its first move, so joint moves may conflict (the engine resolves them).

    The first move of a shortest path found by A* with the exact (BFS) heuristic is a neighbour
    one step closer to the goal; that is what is computed, vectorised over agents, ties broken by
    the seeded generator. `planned_paths` returns the full shortest paths (by `astar`).
    """

    def reset(self, blocked: np.ndarray, starts: np.ndarray, goals: np.ndarray,
              rng: np.random.Generator) -> None:
        self.prepare(blocked, starts, goals, rng)
        self._last: tuple[np.ndarray, np.ndarray] | None = None

    def step(self, positions: np.ndarray, goals: np.ndarray) -> np.ndarray:
        G = self.graph
        v, g = G.nodes(positions, "positions"), G.nodes(goals, "goals")
        cand = G.nbr[v]                                               # (N, 5), col 0 = stay
        slots = self.tables.slots(g)                                  # may grow the store
        key = self.tables.store[slots[:, None], cand].astype(np.float64)
        key[:, 1:] += self.rng.random((len(v), 4)) * 0.5              # moves: random tie-break
        nxt = cand[np.arange(len(v)), key.argmin(axis=1)]
        self._last = (v, g)
        return G.cells(nxt)

    def planned_paths(self) -> list[np.ndarray] | None:
        if self._last is None:
            return None
        out = []
        for v, g in zip(*(q.tolist() for q in self._last)):
            p = astar(self.graph, v, g, self.tables.table(g).tolist())
            out.append(self.graph.cells(np.array(p if p else [v])))
        return out
