"""Rank decoder: feasible by construction (property tests over random graphs and ranks)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from planners.scheduling.decode import (ranks_from_entry_times, ranks_to_choices,
                                        select_following)
from planners.scheduling.evaluate import Choices, evaluate
from planners.scheduling.graph import InfeasibleInstanceError, Sections, graph_from_sections
from planners.scheduling.instances import intersection_instance, open_area_instance
from planners.scheduling.graph import build_graph


@st.composite
def random_graphs(draw, forced: bool = False):
    """Random robots with random, often overlapping, critical sections (optionally with
    start / parked-goal flags that force orders)."""
    n = draw(st.integers(2, 7))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    length = rng.uniform(5, 30, n)
    rows = []
    for _ in range(draw(st.integers(1, 4 * n))):
        i, j = sorted(rng.choice(n, 2, replace=False).tolist())
        li = rng.uniform(0, length[i] - 0.5)
        lj = rng.uniform(0, length[j] - 0.5)
        ui = min(length[i], li + rng.uniform(0.3, 6))
        uj = min(length[j], lj + rng.uniform(0.3, 6))
        flags = (rng.random(4) < 0.15).tolist() if forced else [False] * 4
        rows.append((i, j, li, ui, lj, uj, bool(rng.random() < 0.5), *flags))
    try:
        g = graph_from_sections(length, rng.uniform(0.5, 2, n), rng.uniform(0, 3, n),
                                Sections.from_rows(rows), headway=rng.uniform(0.5, 2),
                                park_at_goal=bool(rng.random() < 0.5),
                                follow_cap_ratio=float(rng.choice([0.0, 0.3, 0.5, 1.0])))
    except InfeasibleInstanceError:
        assume(False)
    return g, rng


def _check_feasible(g, ch):
    s = evaluate(g, ch)
    assert not s.deadlock, "decoded choices deadlock"
    assert s.violations == [], s.violations
    used = np.bincount(g.edge_region[ch.follow], minlength=g.n_regions)
    assert np.all(used <= g.region_cap)
    assert not np.any(ch.follow & ~g.edge_follow_ok)
    return s


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(random_graphs(forced=False), st.sampled_from(["normal", "robot", "ties", "reverse"]))
def test_decoded_choices_are_always_feasible(graph_rng, kind):
    g, rng = graph_rng
    V, E = g.n_nodes, g.n_edges
    ranks = {"normal": rng.normal(size=V), "robot": rng.normal(size=g.n_robots)[g.node_robot],
             "ties": rng.integers(0, 3, V).astype(float), "reverse": -g.node_L}[kind]
    scores = rng.normal(size=E) if rng.random() < 0.7 else None
    _check_feasible(g, ranks_to_choices(g, ranks, scores))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(random_graphs(forced=True))
def test_decoded_choices_respect_forced_orders(graph_rng):
    g, rng = graph_rng
    ch = ranks_to_choices(g, rng.normal(size=g.n_nodes), rng.normal(size=g.n_edges))
    _check_feasible(g, ch)
    assert np.all(ch.first[g.edge_forced > 0]) and not np.any(ch.first[g.edge_forced < 0])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(random_graphs(forced=True))
def test_entry_times_of_a_schedule_decode_back_to_its_orders(graph_rng):
    """Ranks = entry times of a feasible schedule reproduce its orders (GNN-VAE labels)."""
    g, rng = graph_rng
    ch = ranks_to_choices(g, rng.normal(size=g.n_nodes), rng.normal(size=g.n_edges))
    s = evaluate(g, ch)
    back = ranks_to_choices(g, ranks_from_entry_times(s.entry), ch.follow.astype(float))
    assert np.array_equal(back.first, ch.first)
    assert np.array_equal(back.follow, ch.follow)
    assert evaluate(g, back).objective == pytest.approx(s.objective)


def test_lower_rank_goes_first_on_a_plain_crossing():
    g = build_graph(open_area_instance(2, np.random.default_rng(0)))
    if g.n_edges == 0:
        pytest.skip("no interference drawn")
    u, v = g.joint_edges[:, 0]
    free = g.edge_forced[0] == 0
    r = np.zeros(g.n_nodes)
    r[v] = -1.0
    if free:
        assert not ranks_to_choices(g, r).first[0]
        r[v] = 1.0
        assert ranks_to_choices(g, r).first[0]


def test_select_following_takes_the_best_scores_within_caps():
    rows = [(0, k, 1.0, 9.0, 1.0, 9.0, True) for k in range(1, 5)]  # 5 robots, one region
    g = graph_from_sections(np.full(5, 10.0), np.ones(5), np.zeros(5), Sections.from_rows(rows),
                            headway=1.0, follow_cap_ratio=0.5)
    assert g.n_regions == 1 and g.region_cap.tolist() == [2]
    f = select_following(g, np.array([0.1, 0.9, -1.0, 0.5]))
    assert f.tolist() == [False, True, False, True]
    f = select_following(g, np.array([-0.1, 0.9, -1.0, -0.5]))  # only positive scores
    assert f.tolist() == [False, True, False, False]
    with pytest.raises(ValueError, match=r"mode_scores: expected shape \(4,\)"):
        select_following(g, np.zeros(3))


def test_bad_ranks_are_rejected():
    g = build_graph(intersection_instance(4, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="ranks: expected shape"):
        ranks_to_choices(g, np.zeros(g.n_nodes + 1))
    with pytest.raises(ValueError, match="NaN"):
        ranks_to_choices(g, np.full(g.n_nodes, np.nan))


def test_dense_instances_decode_feasibly():
    for gen, n in ((intersection_instance, 30), (open_area_instance, 40)):
        g = build_graph(gen(n, np.random.default_rng(7)))
        rng = np.random.default_rng(0)
        for _ in range(5):
            _check_feasible(g, ranks_to_choices(g, rng.normal(size=g.n_nodes) * 10))
        assert isinstance(ranks_to_choices(g, g.node_t_in), Choices)
