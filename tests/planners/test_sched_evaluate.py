"""Exact evaluator: hand-computed schedules, deadlock detection, rule checks."""
from __future__ import annotations

import numpy as np
import pytest

from planners.scheduling.evaluate import Choices, check_choices, evaluate
from planners.scheduling.graph import Sections, graph_from_sections


def two_robots(follow_ok=True, release=(0.0, 0.0), headway=1.0):
    # robot 0: 10 m at 1 m/s, interval [4, 6]; robot 1: 10 m at 2 m/s, interval [1, 9]
    sec = Sections.from_rows([(0, 1, 4.0, 6.0, 1.0, 9.0, follow_ok)])
    return graph_from_sections(np.array([10.0, 10.0]), np.array([1.0, 2.0]), np.array(release),
                               sec, headway=headway)


def test_exclusive_schedules_by_hand():
    g = two_robots()
    s = evaluate(g, Choices.of(g, [True], [False]))  # robot 0 first
    assert not s.deadlock and s.feasible
    # robot 1 reaches its interval at 0.5 s but waits for robot 0 to leave (6 s), 4 s inside
    assert s.entry.tolist() == pytest.approx([4.0, 6.0])
    assert s.exit.tolist() == pytest.approx([6.0, 10.0])
    assert s.completion.tolist() == pytest.approx([10.0, 10.5])
    assert s.objective == pytest.approx(10.25)
    s = evaluate(g, Choices.of(g, [False], [False]))  # robot 1 first: robot 0 waits until 4.5 s
    assert s.completion.tolist() == pytest.approx([10.5, 5.0])
    assert s.objective == pytest.approx(7.75)


def test_following_schedule_by_hand():
    g = two_robots(headway=1.0)
    s = evaluate(g, Choices.of(g, [True], [True]))
    # robot 1 enters 1 s after robot 0 entered (5 s), must leave 1 s after robot 0 left (7 s)
    # but needs 4 s inside at its speed: exits at 9 s, done at 9.5 s
    assert s.entry.tolist() == pytest.approx([4.0, 5.0])
    assert s.exit.tolist() == pytest.approx([6.0, 9.0])
    assert s.objective == pytest.approx((10.0 + 9.5) / 2)


def test_release_times_shift_the_schedule():
    g = two_robots(release=(2.0, 0.0))
    s = evaluate(g, Choices.of(g, [True], [False]))
    assert s.completion.tolist() == pytest.approx([12.0, 12.5])
    assert g.nominal_completion.tolist() == pytest.approx([12.0, 5.0])


def test_crossing_twice_in_opposite_orders_deadlocks():
    # robot 0 meets robot 1 at s in [2, 3] then [7, 8]; robot 1 meets them in reverse order
    sec = Sections.from_rows([(0, 1, 2.0, 3.0, 7.0, 8.0, False), (0, 1, 7.0, 8.0, 2.0, 3.0, False)])
    g = graph_from_sections(np.array([10.0, 10.0]), np.ones(2), np.zeros(2), sec, headway=1.0)
    ok = evaluate(g, Choices.of(g, [True, False]))
    assert not ok.deadlock and np.isfinite(ok.objective)
    bad = evaluate(g, Choices.of(g, [False, True]))  # each waits at s=2 for the other to reach 8
    assert bad.deadlock and bad.objective == float("inf")
    assert np.isnan(bad.completion).all()


def test_overlapping_intervals_deadlock_that_the_node_graph_misses():
    """Robot 0's intervals b=[4,6] and c=[5,8] overlap. Robot 0 first at b, robot 1 first at c:
    the node graph b->c, b->b', b'->c', c'->c is acyclic, yet robot 0 must enter c (s=5) before
    leaving b (s=6), i.e. wait for robot 1 to pass c', which robot 1 reaches only after b'."""
    sec = Sections.from_rows([(0, 1, 4.0, 6.0, 2.0, 3.0, False), (0, 1, 5.0, 8.0, 6.0, 7.0, False)])
    g = graph_from_sections(np.array([10.0, 10.0]), np.ones(2), np.zeros(2), sec, headway=1.0)
    assert g.n_blocks == 3  # b and c form one block on robot 0
    first = np.array([True, False])  # edge 0: (b, b') robot 0 first; edge 1: (c, c') robot 1 first
    assert evaluate(g, Choices.of(g, first)).deadlock
    assert not evaluate(g, Choices.of(g, [True, True])).deadlock


def test_rule_violations_are_reported_not_raised():
    sec = Sections.from_rows([
        (0, 1, 0.0, 2.0, 4.0, 6.0, False, True, False, False, False),  # robot 0 starts in the way
        (0, 2, 5.0, 7.0, 5.0, 7.0, True),
        (1, 2, 8.0, 9.0, 1.0, 2.0, True)])
    g = graph_from_sections(np.full(3, 10.0), np.ones(3), np.zeros(3), sec, headway=1.0,
                            follow_cap_ratio=0.0)
    assert g.edge_forced.tolist() == [1, 0, 0]
    assert check_choices(g, Choices.of(g, [True, True, True])) == []
    v = check_choices(g, Choices.of(g, [False, True, True], [True, True, False]))
    assert len(v) == 3
    assert "forced order" in v[0] and "do not share a direction" in v[1] and "cap" in v[2]
    s = evaluate(g, Choices.of(g, [False, True, True], [True, True, False]))
    assert not s.feasible and not s.deadlock


def test_choices_shape_is_checked():
    g = two_robots()
    with pytest.raises(ValueError, match=r"expected first/follow of shape \(1,\)"):
        Choices.of(g, [True, False])
