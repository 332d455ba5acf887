"""Fast (no solver) user association and subchannel assignment at fixed UAV positions.

- :func:`fair_assign`: every user joins the UAV with the strongest mean channel; each UAV spreads its
  users over its K subchannels round-robin in order of channel strength, so users on one resource
  block time-share it (``sim.radio`` rate model). O(MU + U log U).
- :func:`greedy_sumrate`: each (UAV, subchannel) resource block goes to at most one user; blocks are
  filled greedily in decreasing order of the interference-free rate (a 1/2-approximation of the
  b-matching that :func:`planners.uav_assign.milp.sumrate_assignment` solves exactly).
"""
from __future__ import annotations

import numpy as np


def fair_assign(gain: np.ndarray, n_sub: int) -> tuple[np.ndarray, np.ndarray]:
    """(assoc, subchannel) arrays of shape (U,) for gains (M, U)."""
    M, U = gain.shape
    assoc = np.argmax(gain, axis=0)
    sub = np.zeros(U, dtype=int)
    for m in range(M):
        idx = np.flatnonzero(assoc == m)
        if len(idx):
            order = idx[np.argsort(-gain[m, idx], kind="stable")]
            sub[order] = np.arange(len(order)) % n_sub
    return assoc.astype(int), sub


def greedy_sumrate(rate: np.ndarray, n_sub: int) -> tuple[np.ndarray, np.ndarray]:
    """Greedy block assignment on an (M, U) interference-free rate matrix; unserved users get -1."""
    M, U = rate.shape
    assoc = np.full(U, -1, dtype=int)
    sub = np.full(U, -1, dtype=int)
    used = np.zeros(M, dtype=int)
    for flat in np.argsort(-rate, axis=None, kind="stable"):
        m, u = divmod(int(flat), U)
        if assoc[u] < 0 and used[m] < n_sub and rate[m, u] > 0:
            assoc[u], sub[u] = m, used[m]
            used[m] += 1
    return assoc, sub
