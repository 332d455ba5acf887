"""The 4-connected grid as a graph on its free cells.

Cells are ``(row, col)`` with row 0 at the top. Free cells are numbered ``0..F-1`` in row-major
order ("nodes"); node ``F`` is a sentinel standing for "off the map / blocked", whose neighbours
are itself, so neighbour lookups never need a bounds check.
Neighbour columns follow POGEMA's action order (see `moves.py`).
"""
from __future__ import annotations

import numpy as np

from planners.mapf.moves import MOVES


class GridGraph:
    """Free cells of a ``(H, W)`` bool ``blocked`` grid as nodes ``0..F-1`` (row-major).

    ``nbr[v, a]`` is the node reached from ``v`` by action ``a`` (``nbr[v, 0] == v``), or the
    sentinel ``F`` when that move leaves the map or hits an obstacle; ``nbr`` has ``F + 1`` rows.
    """

    def __init__(self, blocked: np.ndarray):
        blocked = np.asarray(blocked)
        if blocked.ndim != 2 or blocked.size == 0:
            raise ValueError(f"blocked: expected a non-empty (H, W) bool array, got shape {blocked.shape}")
        self.blocked = blocked.astype(bool, copy=True)
        self.blocked.setflags(write=False)
        self.H, self.W = self.blocked.shape
        free_flat = np.flatnonzero(~self.blocked.ravel())
        self.F = int(free_flat.size)
        self.node_of = np.full(self.H * self.W, -1, dtype=np.int64)   # flat cell -> node, -1 blocked
        self.node_of[free_flat] = np.arange(self.F)
        self.cell_of = np.stack(np.divmod(free_flat, self.W), axis=1)  # node -> (row, col)
        nbr = np.full((self.F + 1, 5), self.F, dtype=np.int64)
        nbr[: self.F, 0] = np.arange(self.F)
        for a in range(1, 5):
            r = self.cell_of[:, 0] + MOVES[a, 0]
            c = self.cell_of[:, 1] + MOVES[a, 1]
            inside = (r >= 0) & (r < self.H) & (c >= 0) & (c < self.W)
            tgt = np.full(self.F, -1, dtype=np.int64)
            tgt[inside] = self.node_of[r[inside] * self.W + c[inside]]
            nbr[: self.F, a] = np.where(tgt >= 0, tgt, self.F)
        self.nbr = nbr

    def nodes(self, cells: np.ndarray, what: str = "cells") -> np.ndarray:
        """``(N, 2)`` (row, col) -> ``(N,)`` node ids; raises if a cell is off the map or blocked."""
        cells = np.asarray(cells)
        if cells.ndim != 2 or cells.shape[1] != 2:
            raise ValueError(f"{what}: expected an (N, 2) int array of (row, col), got shape {cells.shape}")
        r, c = cells[:, 0].astype(np.int64), cells[:, 1].astype(np.int64)
        inside = (r >= 0) & (r < self.H) & (c >= 0) & (c < self.W)
        if not inside.all():
            k = int(np.flatnonzero(~inside)[0])
            raise ValueError(f"{what}[{k}] = {tuple(cells[k])} is outside the {self.H}x{self.W} grid")
        v = self.node_of[r * self.W + c]
        if (v < 0).any():
            k = int(np.flatnonzero(v < 0)[0])
            raise ValueError(f"{what}[{k}] = {tuple(cells[k])} is a blocked cell")
        return v

    def cells(self, nodes: np.ndarray) -> np.ndarray:
        """``(N,)`` node ids -> ``(N, 2)`` (row, col)."""
        return self.cell_of[np.asarray(nodes, dtype=np.int64)]
