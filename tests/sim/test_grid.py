from __future__ import annotations

import numpy as np
import pytest

from sim.grid import MOVES, GridEngine
from sim.maps import GridMap, parse_ascii


def test_swap_is_edge_conflict_and_blocked():
    e = GridEngine(parse_ascii("...."), np.array([[0, 1], [0, 2]]))
    info = e.step(np.array([4, 3]))
    assert info.edge_conflicts == 1 and info.vertex_conflicts == 0
    assert e.positions.tolist() == [[0, 1], [0, 2]]


def test_same_target_is_vertex_conflict():
    e = GridEngine(parse_ascii("..."), np.array([[0, 0], [0, 2]]))
    info = e.step(np.array([4, 3]))
    assert info.vertex_conflicts == 1 and not info.moved.any()


def test_following_is_allowed_and_cascade_stops_followers():
    e = GridEngine(parse_ascii("....."), np.array([[0, 0], [0, 1], [0, 2]]))
    info = e.step(np.array([4, 4, 4]))  # a train moves together
    assert info.moved.all() and info.vertex_conflicts == 0
    e = GridEngine(parse_ascii("...#."), np.array([[0, 0], [0, 1], [0, 2]]))
    info = e.step(np.array([4, 4, 4]))  # the leader hits the wall: everyone behind stops
    assert info.blocked_moves == 1 and not info.moved.any()
    assert e.positions.tolist() == [[0, 0], [0, 1], [0, 2]]


def test_rotation_of_four_is_allowed():
    e = GridEngine(parse_ascii("..\n.."), np.array([[0, 0], [0, 1], [1, 1], [1, 0]]))
    info = e.step(np.array([4, 2, 3, 1]))
    assert info.moved.all() and info.vertex_conflicts == info.edge_conflicts == 0


def test_bad_starts_and_actions():
    g = parse_ascii(".#.")
    with pytest.raises(ValueError, match="agent 1 starts on cell \\[0, 1\\]"):
        GridEngine(g, np.array([[0, 0], [0, 1]]))
    with pytest.raises(ValueError, match="start on the same cell"):
        GridEngine(g, np.array([[0, 0], [0, 0]]))
    with pytest.raises(ValueError, match="action 7"):
        GridEngine(g, np.array([[0, 0]])).step(np.array([7]))


def test_random_play_invariants():
    rng = np.random.default_rng(0)
    for trial in range(30):
        blocked = rng.random((12, 15)) < 0.25
        g = GridMap(blocked=blocked, name="r")
        free = g.free_cells()
        n = int(rng.integers(2, min(60, len(free))))
        e = GridEngine(g, free[rng.choice(len(free), n, replace=False)])
        for _ in range(40):
            before = e.positions.copy()
            a = rng.integers(0, 5, n)
            info = e.step(a)
            after = e.positions
            assert len({tuple(p) for p in after}) == n  # never two agents in one cell
            assert g.is_free(after).all()
            step = after - before
            assert (np.abs(step).sum(1) <= 1).all()
            assert (info.moved == (np.abs(step).sum(1) == 1)).all()
            # a moved agent went exactly where its action said
            assert (step[info.moved] == MOVES[a[info.moved]]).all()
            # no swaps happened
            pos_before = {tuple(p): i for i, p in enumerate(before)}
            for i in np.flatnonzero(info.moved):
                j = pos_before.get(tuple(after[i]))
                if j is not None:
                    assert tuple(after[j]) != tuple(before[i])


def test_conflict_free_moves_score_zero():
    e = GridEngine(parse_ascii("....\n...."), np.array([[0, 0], [1, 3]]))
    info = e.step(np.array([2, 1]))
    assert info.vertex_conflicts == info.edge_conflicts == info.blocked_moves == 0
