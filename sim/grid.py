"""The grid engine: 4-connected moves + wait, simultaneous, vectorised over all agents.

Actions follow POGEMA's order (Skrynnik et al., ICLR 2025): 0 wait, 1 up (row-1), 2 down (row+1),
3 left (col-1), 4 right (col+1). One `GridEngine.step`:

1. A move into an obstacle or off the map becomes a wait (``blocked_moves``).
2. The remaining joint move is checked as in MAPF (Stern et al., SoCS 2019): a *vertex conflict*
   is a cell where two or more agents would end (this includes moving into the cell of an agent that
   stays, whether by choice or because its move was blocked in step 1); an *edge conflict* is a
   pair of agents swapping cells. ``vertex_conflicts`` counts cells, ``edge_conflicts`` pairs, so a
   conflict-free joint move scores zero on both.
3. Resolution: the movers into a conflicted cell wait, both agents of a swap wait; an agent that
   now waits may block the agent following it into its cell, so stops cascade along follower chains
   until nothing changes. Those cascaded stops are consequences, not further conflicts, and are
   not counted. Following into a cell vacated in the same step and rotations of three or more
   agents are allowed.

After a step all positions are distinct and on free cells. Cost is O(N) per step, independent of
the map size: the per-cell buffers are allocated once and only the touched entries are reset.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.maps import GridMap

#: ``MOVES[a]`` is the (drow, dcol) of action ``a``: 0 wait, 1 up, 2 down, 3 left, 4 right.
MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.int64)
MOVES.flags.writeable = False


@dataclass
class GridStepInfo:
    moved: np.ndarray  # (N,) bool: the agent changed cell this step
    vertex_conflicts: int  # cells that two or more agents tried to end in
    edge_conflicts: int  # pairs of agents that tried to swap cells
    blocked_moves: int  # moves into obstacles or off the map (the agent waited)


class GridEngine:
    """Positions of ``N`` agents on a `GridMap` and the simultaneous-move rule above."""

    def __init__(self, grid: GridMap, starts: np.ndarray) -> None:
        starts = np.asarray(starts)
        if starts.size == 0:
            starts = starts.reshape(0, 2)
        if starts.ndim != 2 or starts.shape[1] != 2:
            raise ValueError(f"starts must be an (N, 2) array of (row, col) cells, got shape {starts.shape}")
        if not np.issubdtype(starts.dtype, np.integer):
            if not np.array_equal(starts, np.round(starts)):
                raise ValueError("starts must be integer (row, col) cells")
        starts = starts.astype(np.int64)
        ok = grid.is_free(starts)
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise ValueError(f"agent {i} starts on cell {starts[i].tolist()}, which is an obstacle or outside the "
                             f"{grid.height}x{grid.width} map {grid.name!r}")
        ids = starts[:, 0] * grid.width + starts[:, 1]
        uniq, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            who = np.flatnonzero(ids == uniq[counts > 1][0])[:2].tolist()
            raise ValueError(f"agents {who[0]} and {who[1]} start on the same cell {starts[who[0]].tolist()}")
        self.grid = grid
        self.H, self.W = grid.height, grid.width
        self._free = ~grid.blocked.ravel()
        n = len(starts)
        self._idx = np.arange(n, dtype=np.int64)
        # Per-cell scratch buffers, -1 everywhere between steps except _occ (agent on each cell).
        self._occ = np.full(self.H * self.W, -1, dtype=np.int64)
        self._stamp = np.full(self.H * self.W, -1, dtype=np.int64)
        self._set_ids(ids)

    def _set_ids(self, ids: np.ndarray) -> None:
        self._cur = ids
        self._occ[ids] = self._idx
        pos = np.column_stack([ids // self.W, ids % self.W])
        pos.flags.writeable = False  # edit positions only through step(): the buffers must agree
        self._pos = pos

    @property
    def positions(self) -> np.ndarray:
        """``(N, 2)`` int64 ``(row, col)`` of every agent (read-only)."""
        return self._pos

    @property
    def n(self) -> int:
        return len(self._cur)

    def step(self, actions: np.ndarray) -> GridStepInfo:
        """Apply one joint action ``(N,)`` in 0..4 and return what happened (see module doc)."""
        a = self._check_actions(actions)
        n, W = self.n, self.W
        idx, cur, pos = self._idx, self._cur, self._pos
        tr, tc = pos[:, 0] + MOVES[a, 0], pos[:, 1] + MOVES[a, 1]
        inside = (tr >= 0) & (tr < self.H) & (tc >= 0) & (tc < W)
        tid = np.where(inside, tr * W + tc, cur)
        legal = inside & self._free[tid]
        blocked_moves = int(np.count_nonzero(~legal & (a != 0)))
        tid = np.where(legal, tid, cur)
        moving = tid != cur

        # Vertex conflicts of the proposed joint move: stamp every target cell with one claimant;
        # an agent that lost the stamp shares its cell with the winner.
        stamp = self._stamp
        stamp[tid] = idx
        losers = stamp[tid] != idx
        contested_cells = np.unique(tid[losers])
        vertex_conflicts = int(contested_cells.size)
        stamp[tid] = -1
        stop = np.zeros(n, dtype=bool)
        if vertex_conflicts:
            stamp[contested_cells] = 0
            stop = (stamp[tid] == 0) & moving
            stamp[contested_cells] = -1

        # Edge conflicts: i enters j's cell while j enters i's.
        j = self._occ[tid]
        jj = np.maximum(j, 0)
        swap = moving & (j >= 0) & (j != idx) & (tid[jj] == cur)
        edge_conflicts = int(np.count_nonzero(swap)) // 2
        stop |= swap

        # Cascade: a mover whose target is the cell of a stopped agent stops too. After the pass
        # above every remaining target has exactly one claimant, so follower links are unique.
        go = moving & ~stop
        follower = self._stamp  # reused as cell -> the remaining mover entering it
        follower[tid[go]] = idx[go]
        frontier = np.flatnonzero(stop)
        while frontier.size:
            nxt = follower[cur[frontier]]
            nxt = nxt[nxt >= 0]
            nxt = nxt[go[nxt]]
            go[nxt] = False
            frontier = nxt
        follower[tid[moving & ~stop]] = -1

        new = np.where(go, tid, cur)
        if go.any():
            self._occ[cur[go]] = -1
            self._occ[new[go]] = idx[go]
            self._set_ids(new)
        return GridStepInfo(moved=go, vertex_conflicts=vertex_conflicts, edge_conflicts=edge_conflicts,
                            blocked_moves=blocked_moves)

    def _check_actions(self, actions: np.ndarray) -> np.ndarray:
        a = np.asarray(actions)
        if a.shape != (self.n,):
            if a.size == self.n:
                a = a.reshape(self.n)
            else:
                raise ValueError(f"actions must have one entry per agent ({self.n}), got shape {a.shape}")
        if not np.issubdtype(a.dtype, np.integer):
            if a.dtype == bool or not np.all(np.isfinite(a)) or not np.array_equal(a, np.round(a)):
                raise ValueError("actions must be integers 0 wait, 1 up, 2 down, 3 left, 4 right")
        a = a.astype(np.int64)
        if a.size and (a.min() < 0 or a.max() > 4):
            bad = int(np.flatnonzero((a < 0) | (a > 4))[0])
            raise ValueError(f"agent {bad}: action {a[bad]} is not one of 0 wait, 1 up, 2 down, 3 left, 4 right")
        return a
