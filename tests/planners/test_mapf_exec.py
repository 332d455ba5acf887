"""The action dependency graph: right dependencies, and safe execution under any delays."""
from __future__ import annotations

import numpy as np
import pytest

from planners.mapf import PIBT, check_conflicts
from planners.mapf.bench_lifelong import WFI, load_pogema_ascii
from planners.mapf_exec import build_adg


def test_hand_example_dependencies():
    # A moves right along row 0 through (0,1); B comes down column 1 through (0,1) right after A.
    A = [[0, 0], [0, 1], [0, 2], [0, 2]]
    B = [[1, 1], [1, 1], [0, 1], [-1, 1]]
    paths = np.array([A, B]) + [1, 0]                     # keep rows non-negative
    adg = build_adg(paths)
    assert adg.n_moves(0) == 2 and adg.n_moves(1) == 2
    # B's move into (0,1) (its move 0) waits for A's move out of (0,1) (A's move 1)
    assert (0, 1) in adg.deps[(1, 0)]
    assert adg.enabled(0) and not adg.enabled(1)
    adg.complete(0)
    assert not adg.enabled(1)
    adg.complete(0)
    assert adg.enabled(1)
    with pytest.raises(RuntimeError):
        adg2 = build_adg(paths)
        adg2.complete(1)


def test_rejects_conflicting_plans():
    with pytest.raises(ValueError, match="not conflict-free"):
        build_adg(np.array([[[0, 0], [0, 1]], [[0, 2], [0, 1]]]))


def _pibt_plan(n: int, steps: int, seed: int) -> np.ndarray:
    grid = load_pogema_ascii(WFI)
    blocked = grid == "#"
    rng = np.random.default_rng(seed)
    free = np.argwhere(~blocked)
    pick = rng.choice(len(free), 2 * n, replace=False)
    pos, goals = free[pick[:n]], free[pick[n:]]
    pl = PIBT()
    pl.reset(blocked, pos, goals, np.random.default_rng(seed))
    traj = [pos]
    for _ in range(steps):
        pos = pl.step(pos, goals)
        traj.append(pos)
    return np.stack(traj, axis=1)


@pytest.mark.parametrize("seed", [0, 1])
def test_random_delays_never_collide_and_finish(seed):
    paths = _pibt_plan(40, 40, seed)
    adg = build_adg(paths)
    rng = np.random.default_rng(seed)
    pos = paths[:, 0].copy()
    for _ in range(2000):
        if adg.finished().all():
            break
        nxt = pos.copy()
        for i in rng.permutation(adg.n):          # robots act in random order, each slow at random
            if adg.enabled(i) and rng.random() < 0.3:
                nxt[i] = adg.target_cell(i)
        v, e = check_conflicts(pos, nxt)
        assert len(v) == 0 and len(e) == 0, "delayed execution put two robots in one cell"
        for i in range(adg.n):
            if (nxt[i] != pos[i]).any():
                adg.complete(i)
        pos = nxt
    assert adg.finished().all()
    assert (pos == paths[:, -1]).all()
