"""The learned decentralised planner: what it sees, that it sees nothing else, and that it plans legally."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from planners.mapf import check_conflicts  # noqa: E402
from planners.mapf.bench_lifelong import WFI, load_pogema_ascii  # noqa: E402
from policies.follower import FollowerFeatures, load_policy  # noqa: E402
from policies.follower.planner import FollowerPlanner  # noqa: E402

GRID = load_pogema_ascii(WFI)
BLOCKED = GRID == "#"


def test_features_obstacles_agents_goal_and_path():
    blocked = np.zeros((15, 15), bool)
    blocked[5, 9] = True                                        # (-2, +2) from the agent at (7, 7)
    f = FollowerFeatures(blocked, radius=5)
    cells = np.array([[7, 7], [7, 10]])
    goals = np.array([[7, 12], [0, 0]])
    x = f(cells, goals)
    assert x.shape == (2, 4, 11, 11)
    assert x[0, 0, 3, 7] == 1 and x[0, 0].sum() == 1            # the one obstacle, nothing off-map
    assert x[0, 1, 5, 8] == 1                                   # the other agent at (0, +3)
    assert x[0, 2, 5, 10] == 1                                  # goal (0, +5): on the window's edge
    path = np.argwhere(x[0, 3] == 1)
    assert [5, 6] in path.tolist() and [5, 10] in path.tolist()  # straight along the row to the goal


def test_weights_load_safely_and_actions_are_valid(tmp_path: Path):
    net = load_policy()                                         # weights_only=True inside
    n_params = sum(p.numel() for p in net.parameters())
    assert n_params < 1_000_000
    with pytest.raises(FileNotFoundError, match="no Follower weights"):
        load_policy(path=tmp_path / "missing.pt")
    rng = np.random.default_rng(0)
    free = np.argwhere(~BLOCKED)
    cells = free[rng.choice(len(free), 64, replace=False)]
    goals = free[rng.choice(len(free), 64, replace=False)]
    pl = FollowerPlanner(net, resolve="none")
    pl.reset(BLOCKED, cells, goals, np.random.default_rng(1))
    nxt = pl.step(cells, goals)
    assert (np.abs(nxt - cells).sum(axis=1) <= 1).all() and not BLOCKED[nxt[:, 0], nxt[:, 1]].any()


def test_decision_ignores_agents_outside_the_window():
    net = load_policy()
    pl = FollowerPlanner(net)
    free = np.argwhere(~BLOCKED)
    me, goal = np.array([[16, 20]]), np.array([[3, 30]])
    far = free[(np.abs(free - me).max(axis=1) > 6)][:40]       # all outside the 11x11 window
    pl.reset(BLOCKED, me, goal, np.random.default_rng(0))
    alone = pl.logits(me, goal)[0]
    crowd = pl.logits(np.vstack([me, far]), np.vstack([goal, far[::-1]]))[0]
    assert np.allclose(alone, crowd)


def test_local_resolution_is_conflict_free_and_productive():
    rng = np.random.default_rng(3)
    starts, goal_cells = np.argwhere(GRID == "$"), np.argwhere(GRID == "@")
    n = 64
    pos = starts[rng.choice(len(starts), n, replace=False)]
    goals = goal_cells[rng.choice(len(goal_cells), n, replace=False)]
    pl = FollowerPlanner()
    pl.reset(BLOCKED, pos, goals, np.random.default_rng(4))
    reached = 0
    for _ in range(60):
        nxt = pl.step(pos, goals)
        v, e = check_conflicts(pos, nxt)
        assert len(v) == 0 and len(e) == 0
        assert not BLOCKED[nxt[:, 0], nxt[:, 1]].any()
        pos = nxt
        hit = np.flatnonzero((pos == goals).all(axis=1))
        reached += len(hit)
        for i in hit:
            goals[i] = goal_cells[rng.integers(len(goal_cells))]
    assert reached >= 20
