"""Exact distance-to-goal tables on a 4-connected grid, computed lazily per goal and cached.

A table for goal ``g`` holds the BFS (unit-cost) distance from every free cell to ``g`` — or,
given per-move costs (static guidance, see `guidance.py`), the least cost to reach ``g``; PIBT,
the A* heuristics and the baselines all read them. Tables are computed on first use, many goals
at once (one frontier BFS over a ``(K, F)`` block), and kept in a least-recently-used cache whose
memory is capped; tables are indexed by node (free cell) so they cost ``F`` entries, and use
``uint16`` whenever every finite distance fits (fewer than 65,535 free cells).
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from planners.mapf.graph import GridGraph
from planners.mapf.moves import OPPOSITE

#: Value of unreachable and blocked cells in the full-grid tables returned by `DistanceTables.get`.
UNREACHABLE = np.iinfo(np.int32).max // 2


def bfs_distances(graph: GridGraph, goals: np.ndarray) -> np.ndarray:
    """Distances ``(K, F + 1)`` int32 from every node to each of ``K`` goal nodes (-1 unreachable,
    the sentinel column F too). One level-synchronous BFS for all goals: the frontier holds flat
    indices ``k * (F + 1) + v`` so each level is a handful of vectorised numpy operations."""
    goals = np.asarray(goals, dtype=np.int64).reshape(-1)
    K, S = goals.size, graph.F + 1
    dist = np.full((K, S), -1, dtype=np.int32)
    if K == 0:
        return dist
    flat = dist.reshape(-1)
    idx = np.int32 if K * S < 2 ** 31 else np.int64   # int32 indices halve the memory traffic
    nbr = graph.nbr[:, 1:].astype(idx)              # (S, 4), sentinel rows/entries point at F
    dist[:, graph.F] = -3                           # never enqueued: not -1
    frontier = (np.arange(K, dtype=np.int64) * S + goals).astype(idx)
    flat[frontier] = 0
    d = 0
    while frontier.size:
        d += 1
        v = frontier % S
        cand = ((frontier - v)[:, None] + nbr[v]).reshape(-1)
        cand = cand[flat[cand] == -1]
        # deduplicate without sorting: stamp each candidate with its position, keep the winners
        stamp = -4 - np.arange(cand.size, dtype=np.int32)
        flat[cand] = stamp
        cand = cand[flat[cand] == stamp]
        flat[cand] = d
        frontier = cand
    dist[:, graph.F] = -1
    return dist


def weighted_distances(graph: GridGraph, goals: np.ndarray, edge_cost: np.ndarray) -> np.ndarray:
    """Least costs ``(K, F + 1)`` int32 from every node to each goal node, where leaving node v
    by action a costs ``edge_cost[v, a] > 0`` (-1 unreachable). Batched label-correcting search
    (Bellman-Ford restricted to the nodes improved in the previous round), relaxing backwards
    from the goals: u's in-neighbour ``nbr[u, a]`` reaches u by the opposite action."""
    goals = np.asarray(goals, dtype=np.int64).reshape(-1)
    K, S, F = goals.size, graph.F + 1, graph.F
    INF = np.iinfo(np.int32).max
    dist = np.full((K, S), INF, dtype=np.int32)
    flat = dist.reshape(-1)
    pred = graph.nbr[:, 1:]
    pcost = np.where(pred < F, edge_cost[pred, OPPOSITE[1:]], INF // 2).astype(np.int64)
    frontier = np.arange(K, dtype=np.int64) * S + goals
    flat[frontier] = 0
    while frontier.size:
        u = frontier % S
        cand = ((frontier - u)[:, None] + pred[u]).reshape(-1)
        nd = flat[frontier][:, None].astype(np.int64) + pcost[u]
        nd = nd.reshape(-1)
        better = nd < flat[cand]
        cand = cand[better]
        np.minimum.at(flat, cand, nd[better].astype(np.int32))
        frontier = np.unique(cand)
    dist[dist == INF] = -1
    dist[:, F] = -1
    return dist


class DistanceTables:
    """LRU cache of BFS distance-to-goal tables over the free cells of ``blocked``.

    Node-indexed API (planners): `slots` / `store` / `table` / `dist`, where unreachable nodes
    and the sentinel node read ``self.unreachable`` (the dtype's maximum). Cell API (callers
    thinking in ``(row, col)``): `get` returns a full ``(H, W)`` int32 grid with `UNREACHABLE`
    on blocked and cut-off cells.

    ``max_bytes`` caps the memory of the cached tables (default 2 GiB: ~27,000 tables on the
    140x500 LoRR warehouse). Rows of `store` stay valid until the next call that computes tables
    (which may evict or move them). ``edge_cost`` (``(F + 1, 5)`` positive ints, cost of leaving
    node v by action a) turns the tables into least-cost tables.
    """

    def __init__(self, blocked: np.ndarray | GridGraph, max_bytes: int = 2 * 1024 ** 3,
                 edge_cost: np.ndarray | None = None):
        self.graph = blocked if isinstance(blocked, GridGraph) else GridGraph(blocked)
        F = self.graph.F
        max_step = 1
        if edge_cost is not None:
            edge_cost = np.asarray(edge_cost)
            if edge_cost.shape != (F + 1, 5) or edge_cost[:F, 1:].min(initial=1) < 1:
                raise ValueError(f"DistanceTables: edge_cost must be ({F + 1}, 5) ints >= 1, got "
                                 f"shape {edge_cost.shape}")
            max_step = int(edge_cost[:F, 1:].max(initial=1))
        self.edge_cost = edge_cost
        # every finite distance is below F * max_step: uint16 when that fits
        small = F * max_step < np.iinfo(np.uint16).max
        self.dtype = np.dtype(np.uint16) if small else np.dtype(np.int32)
        self.unreachable = int(np.iinfo(self.dtype).max)
        row_bytes = (F + 1) * self.dtype.itemsize
        self.capacity = int(max_bytes // row_bytes)
        if self.capacity < 1:
            raise ValueError(f"DistanceTables: max_bytes={max_bytes} is below one table ({row_bytes} bytes)")
        self.store = np.empty((min(self.capacity, 64), F + 1), dtype=self.dtype)
        self._slot: OrderedDict[int, int] = OrderedDict()   # goal node -> row of store, LRU first
        self._free_slots: list[int] = list(range(self.store.shape[0]))[::-1]
        self.n_bfs = 0

    def slots(self, goals: np.ndarray) -> np.ndarray:
        """Rows of `store` holding the tables of ``goals`` (node ids), computing missing ones."""
        goals = np.asarray(goals, dtype=np.int64).reshape(-1)
        uniq, inverse = np.unique(goals, return_inverse=True)
        if uniq.size > self.capacity:
            raise ValueError(f"DistanceTables: {uniq.size} distinct goals in one call exceed the cache "
                             f"capacity of {self.capacity} tables; raise max_bytes")
        if uniq.size and (uniq[0] < 0 or uniq[-1] >= self.graph.F):
            raise ValueError(f"DistanceTables: goal nodes must lie in [0, {self.graph.F}), got "
                             f"{uniq[0]}..{uniq[-1]}")
        out = np.empty(uniq.size, dtype=np.int64)
        missing = []
        for k, g in enumerate(uniq.tolist()):
            s = self._slot.get(g)
            if s is None:
                missing.append(k)
            else:
                self._slot.move_to_end(g)
                out[k] = s
        if missing:
            out[missing] = self._compute(uniq[missing])
        return out[inverse]

    def _compute(self, goals: np.ndarray) -> list[int]:
        need = len(goals) - len(self._free_slots)
        if need > 0 and self.store.shape[0] < self.capacity:   # grow geometrically up to the cap
            old = self.store.shape[0]
            new_rows = min(self.capacity, max(2 * old, old + need))
            grown = np.empty((new_rows, self.store.shape[1]), dtype=self.dtype)
            grown[:old] = self.store
            self._free_slots.extend(range(new_rows - 1, old - 1, -1))
            self.store = grown
        rows = []
        for g in goals.tolist():
            # evict the least recently used table; tables asked for in this call were just
            # moved to the end, so they survive as long as they fit (checked by `slots`)
            s = self._free_slots.pop() if self._free_slots else self._slot.popitem(last=False)[1]
            self._slot[g] = s
            rows.append(s)
        B = 32   # goals per BFS batch: measured fastest (the work array stays cache-sized)
        for lo in range(0, len(rows), B):
            d = (bfs_distances(self.graph, goals[lo: lo + B]) if self.edge_cost is None
                 else weighted_distances(self.graph, goals[lo: lo + B], self.edge_cost))
            d[d < 0] = self.unreachable
            self.store[rows[lo: lo + B]] = d.astype(self.dtype)
        self.n_bfs += len(rows)
        return rows

    def table(self, goal: int) -> np.ndarray:
        """Distance table ``(F + 1,)`` to one goal node (a row of `store`)."""
        slot = int(self.slots(np.array([goal]))[0])   # before reading self.store: it may grow
        return self.store[slot]

    def dist(self, goals: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """Elementwise distances (int64) from ``nodes[i]`` to ``goals[i]`` (node ids)."""
        s = self.slots(goals)
        return self.store[s, np.asarray(nodes, dtype=np.int64).reshape(-1)].astype(np.int64)

    def get(self, goal: tuple[int, int] | np.ndarray) -> np.ndarray:
        """``(H, W)`` int32 BFS distances to the cell ``goal = (row, col)``; `UNREACHABLE` on
        blocked or cut-off cells (everywhere when the goal itself is blocked)."""
        G = self.graph
        r, c = int(goal[0]), int(goal[1])
        if not (0 <= r < G.H and 0 <= c < G.W):
            raise ValueError(f"DistanceTables.get: goal {(r, c)} is outside the {G.H}x{G.W} grid")
        out = np.full(G.H * G.W, UNREACHABLE, dtype=np.int32)
        v = int(G.node_of[r * G.W + c])
        if v >= 0:
            t = self.table(v)[: G.F].astype(np.int32)
            t[t == self.unreachable] = UNREACHABLE
            out[G.node_of >= 0] = t
        return out.reshape(G.H, G.W)

    def __len__(self) -> int:
        return len(self._slot)
