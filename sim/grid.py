"""The grid engine: 4-connected moves + wait, vectorised over all agents.

Actions follow POGEMA's order: 0 wait, 1 up (row-1), 2 down (row+1), 3 left (col-1), 4 right (col+1).
Moves are simultaneous. A move into an obstacle or off the map becomes a wait. Two agents that would
end in the same cell (a *vertex conflict*, which includes moving into the cell of an agent that stays)
or swap cells (an *edge conflict*) are stopped; stopping one agent can stop the agent following it,
so resolution repeats until nothing changes. Following into a cell vacated in the same step, and
rotations of three or more agents, are allowed (standard MAPF semantics, Stern et al. SoCS 2019).
Conflicts are counted as proposed by the controller, so a conflict-free plan scores zero.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.maps import GridMap

MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.int64)


@dataclass
class GridStepInfo:
    moved: np.ndarray  # (N,) bool
    vertex_conflicts: int  # cells claimed by two or more agents
    edge_conflicts: int  # pairs of agents that tried to swap
    blocked_moves: int  # moves into obstacles or off the map


class GridEngine:
    def __init__(self, grid: GridMap, starts: np.ndarray) -> None:
        starts = np.asarray(starts, dtype=np.int64).reshape(-1, 2)
        ok = grid.is_free(starts)
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise ValueError(f"agent {i} starts on cell {starts[i].tolist()}, which is an obstacle or off the map")
        ids = starts[:, 0] * grid.width + starts[:, 1]
        uniq, first, counts = np.unique(ids, return_index=True, return_counts=True)
        if (counts > 1).any():
            cell = uniq[counts > 1][0]
            who = np.flatnonzero(ids == cell)[:2].tolist()
            raise ValueError(f"agents {who[0]} and {who[1]} start on the same cell {starts[who[0]].tolist()}")
        self.grid = grid
        self.H, self.W = grid.height, grid.width
        self._free = ~grid.blocked.ravel()
        self.positions = starts.copy()

    @property
    def n(self) -> int:
        return len(self.positions)

    def step(self, actions: np.ndarray) -> GridStepInfo:
        a = np.asarray(actions, dtype=np.int64).reshape(self.n)
        if a.size and (a.min() < 0 or a.max() > 4):
            bad = int(np.flatnonzero((a < 0) | (a > 4))[0])
            raise ValueError(f"agent {bad}: action {a[bad]} is not one of 0 wait, 1 up, 2 down, 3 left, 4 right")
        W = self.W
        cur = self.positions
        tgt = cur + MOVES[a]
        inside = (tgt[:, 0] >= 0) & (tgt[:, 0] < self.H) & (tgt[:, 1] >= 0) & (tgt[:, 1] < W)
        cur_id = cur[:, 0] * W + cur[:, 1]
        tid = np.where(inside, tgt[:, 0] * W + tgt[:, 1], cur_id)
        legal = inside & self._free[tid]
        blocked_moves = int(np.sum(~legal & (a != 0)))
        tid = np.where(legal, tid, cur_id)

        # Edge conflicts: i wants j's cell while j wants i's.
        occupant = np.full(self.H * W, -1, dtype=np.int64)
        occupant[cur_id] = np.arange(self.n)
        moving = tid != cur_id
        j = occupant[tid]
        swap = moving & (j >= 0) & (tid[np.maximum(j, 0)] == cur_id)
        edge_conflicts = int(swap.sum()) // 2
        tid[swap] = cur_id[swap]

        # Vertex conflicts, resolved until a fixed point (a stopped agent may block its follower).
        counts = np.bincount(tid, minlength=self.H * W)
        vertex_conflicts = int(np.sum(counts > 1))
        while True:
            clash = (counts[tid] > 1) & (tid != cur_id)
            if not clash.any():
                break
            tid[clash] = cur_id[clash]
            counts = np.bincount(tid, minlength=self.H * W)

        moved = tid != cur_id
        self.positions = np.column_stack([tid // W, tid % W])
        return GridStepInfo(moved=moved, vertex_conflicts=vertex_conflicts, edge_conflicts=edge_conflicts,
                            blocked_moves=blocked_moves)
