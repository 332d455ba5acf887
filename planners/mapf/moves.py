"""Grid moves in POGEMA's action order: 0 wait, 1 up (row-1), 2 down (row+1), 3 left (col-1), 4 right (col+1)."""
from __future__ import annotations

import numpy as np

MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.int64)
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
