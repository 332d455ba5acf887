"""What one agent sees on a grid: a local window around it (POGEMA / Follower style observations).

Used by the PettingZoo adapter (robocoord.rl) and the learned decentralised planner
(policies.follower); pure numpy.
"""
from __future__ import annotations

import numpy as np


def local_windows(blocked: np.ndarray, cells: np.ndarray, goals: np.ndarray, radius: int) -> np.ndarray:
    """``(N, 3, 2r+1, 2r+1)`` float32 observation windows (channels: obstacles, agents, goal)."""
    n = len(cells)
    k = 2 * radius + 1
    H, W = blocked.shape
    pad = np.pad(blocked, radius, constant_values=True)
    occ = np.zeros((H + 2 * radius, W + 2 * radius), bool)
    occ[cells[:, 0] + radius, cells[:, 1] + radius] = True
    d = np.arange(k)
    rows = cells[:, 0, None] + d[None]            # padded coordinates of each window row / col
    cols = cells[:, 1, None] + d[None]
    out = np.zeros((n, 3, k, k), np.float32)
    out[:, 0] = pad[rows[:, :, None], cols[:, None, :]]
    out[:, 1] = occ[rows[:, :, None], cols[:, None, :]]
    out[:, 1, radius, radius] = 0.0               # not itself
    rel = np.clip(goals - cells, -radius, radius) + radius
    out[np.arange(n), 2, rel[:, 0], rel[:, 1]] = 1.0
    return out
