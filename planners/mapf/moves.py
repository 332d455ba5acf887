"""Grid moves in POGEMA's action order: 0 wait, 1 up (row-1), 2 down (row+1), 3 left (col-1), 4 right (col+1)."""
from __future__ import annotations

import numpy as np

MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.int64)
OPPOSITE = np.array([0, 2, 1, 4, 3])   # the action that undoes each action
_DELTA_TO_ACTION = {(0, 0): 0, (-1, 0): 1, (1, 0): 2, (0, -1): 3, (0, 1): 4}


def cells_to_actions(cur: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """(N,) actions taking each agent from ``cur`` to the 4-neighbour or same cell ``nxt``."""
    d = np.asarray(nxt, dtype=np.int64) - np.asarray(cur, dtype=np.int64)
    code = (d[:, 0] + 1) * 3 + (d[:, 1] + 1)  # unique code per delta in {-1,0,1}^2
    lut = np.full(9, -1, dtype=np.int64)
    for (dr, dc), a in _DELTA_TO_ACTION.items():
        lut[(dr + 1) * 3 + (dc + 1)] = a
    bad = (np.abs(d) > 1).any(axis=1)
    actions = np.where(bad, -1, lut[np.clip(code, 0, 8)])
    if (actions < 0).any():
        i = int(np.flatnonzero(actions < 0)[0])
        raise ValueError(f"agent {i}: {cur[i].tolist()} -> {nxt[i].tolist()} is not a wait or a 4-neighbour move")
    return actions


def check_conflicts(cur: np.ndarray, nxt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Conflicts of one joint move ``cur -> nxt`` (both ``(N, 2)`` cells).

    Returns ``(vertex, edge)``: ``(K, 2)`` agent pairs ``i < j`` that end in the same cell
    (three agents in one cell give two pairs), and ``(M, 2)`` pairs ``i < j`` that swap cells.
    Following into a cell vacated in the same step is allowed (standard MAPF; POGEMA ``soft``).
    """
    cur = np.asarray(cur, dtype=np.int64)
    nxt = np.asarray(nxt, dtype=np.int64)
    W = int(max(cur[:, 1].max(initial=0), nxt[:, 1].max(initial=0))) + 2   # row-major cell ids
    a = cur[:, 0] * W + cur[:, 1]
    b = nxt[:, 0] * W + nxt[:, 1]
    order = np.argsort(b, kind="stable")
    k = np.flatnonzero(b[order][1:] == b[order][:-1])
    vertex = np.sort(np.stack([order[k], order[k + 1]], axis=1), axis=1)
    # swap: i moves onto j's cell while j moves onto i's cell
    sa = np.argsort(a)
    pos = np.clip(np.searchsorted(a[sa], b), 0, len(a) - 1)
    j = sa[pos]
    swap = (a[j] == b) & (b[j] == a) & (a != b) & (np.arange(len(a)) < j)
    edge = np.stack([np.flatnonzero(swap), j[swap]], axis=1)
    return vertex.reshape(-1, 2), edge.reshape(-1, 2)
