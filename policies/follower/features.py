"""Per-agent input of the Follower-style policy: ``(4, 2r+1, 2r+1)`` windows.

Channels: 0 obstacles (off-map = obstacle), 1 other agents, 2 the agent's own goal (projected onto
the window border when outside), 3 the agent's planned path: the next ``2r`` cells of a shortest
path to its goal on the static map (a descent along the BFS distance table, ties broken towards the
lower action index), inside the window. Everything but channel 3 is local; channel 3 uses only the
static map, which every agent knows, and its own goal.
"""
from __future__ import annotations

import numpy as np

from planners.mapf.distance import DistanceTables
from planners.mapf.graph import GridGraph
from planners.mapf.local_view import local_windows


class FollowerFeatures:
    def __init__(self, blocked: np.ndarray, radius: int = 5) -> None:
        self.blocked = np.asarray(blocked, bool)
        self.radius = int(radius)
        self.graph = GridGraph(self.blocked)
        self.tables = DistanceTables(self.graph)

    def path_nodes(self, cells: np.ndarray, goals: np.ndarray, steps: int) -> np.ndarray:
        """``(N, steps + 1)`` node ids of each agent's shortest path, from its cell (stays at the goal)."""
        G = self.graph
        q = G.nodes(cells, "cells")
        slot = self.tables.slots(G.nodes(goals, "goals"))
        out = np.empty((len(q), steps + 1), np.int64)
        out[:, 0] = q
        for k in range(steps):
            cand = G.nbr[q]                                        # (N, 5), col 0 = stay
            d = self.tables.store[slot[:, None], cand].astype(np.int64)
            q = cand[np.arange(len(q)), np.argmin(d, axis=1)]
            out[:, k + 1] = q
        return out

    def __call__(self, cells: np.ndarray, goals: np.ndarray) -> np.ndarray:
        r = self.radius
        base = local_windows(self.blocked, cells, goals, r)
        n, k = len(cells), 2 * r + 1
        path = self.graph.cells(self.path_nodes(cells, goals, 2 * r)[:, 1:].ravel()).reshape(n, 2 * r, 2)
        rel = path - cells[:, None, :] + r
        inside = (rel >= 0).all(axis=2) & (rel < k).all(axis=2)
        chan = np.zeros((n, 1, k, k), np.float32)
        a, j = np.nonzero(inside)
        chan[a, 0, rel[a, j, 0], rel[a, j, 1]] = 1.0
        return np.concatenate([base, chan], axis=1)

    def first_path_action(self, cells: np.ndarray, goals: np.ndarray) -> np.ndarray:
        """The action that follows the planned path (0 when on the goal)."""
        from planners.mapf.moves import cells_to_actions

        nxt = self.graph.cells(self.path_nodes(cells, goals, 1)[:, 1])
        return cells_to_actions(cells, nxt)
