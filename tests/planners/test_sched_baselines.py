"""Baselines: FIFO, random priorities, CMA-ES (optimiser checked on test functions)."""
from __future__ import annotations

import numpy as np
import pytest

from planners.scheduling.baselines import CMAES, cma_es, fifo, random_priorities
from planners.scheduling.graph import build_graph
from planners.scheduling.instances import SchedulingInstance, warehouse_instance


@pytest.fixture(scope="module")
def graph():
    return build_graph(warehouse_instance(16, np.random.default_rng(4)))


def test_fifo_lets_the_earlier_robot_pass_first():
    # robot 1 reaches the crossing after 4.5 m, robot 0 after 5 m
    ins = SchedulingInstance(paths=[[[-5, 0], [5, 0]], [[0, -4.5], [0, 5]]], radius=0.3)
    g = build_graph(ins)
    r = fifo(g)
    assert r.choices.first.tolist() == [False] and r.schedule.feasible
    # robot 0 waits until robot 1 has left the crossing interval
    assert r.schedule.exit[1] > g.node_t_in[0]
    assert r.schedule.entry[0] == pytest.approx(r.schedule.exit[1])
    assert r.schedule.completion[1] == pytest.approx(9.5)


def test_random_priorities_deterministic_and_best_of_k(graph):
    a = random_priorities(graph, np.random.default_rng(1), k=8)
    b = random_priorities(graph, np.random.default_rng(1), k=8)
    assert a.objective == b.objective and np.array_equal(a.choices.first, b.choices.first)
    assert a.schedule.feasible and a.evaluations == 8
    one = random_priorities(graph, np.random.default_rng(1), k=1)
    assert a.objective <= one.objective
    with pytest.raises(ValueError, match="k must be >= 1"):
        random_priorities(graph, np.random.default_rng(1), k=0)


@pytest.mark.parametrize("modes", [False, True])
def test_cma_es_never_worse_than_fifo_and_deterministic(graph, modes):
    f = fifo(graph).objective
    a = cma_es(graph, np.random.default_rng(2), max_evals=300, optimize_modes=modes)
    b = cma_es(graph, np.random.default_rng(2), max_evals=300, optimize_modes=modes)
    assert a.schedule.feasible
    assert a.objective <= f + 1e-12
    assert a.objective == b.objective
    assert a.evaluations >= 300 and np.all(np.diff(a.history) <= 1e-12)


def test_cma_es_improves_on_a_congested_instance():
    g = build_graph(warehouse_instance(25, np.random.default_rng(1)))
    r = cma_es(g, np.random.default_rng(0), max_evals=600)
    assert r.objective < 0.95 * fifo(g).objective


@pytest.mark.parametrize("diagonal", [False, True])
def test_cmaes_minimises_test_functions(diagonal):
    rng = np.random.default_rng(0)
    c = rng.normal(size=8)
    scale = np.logspace(0, 2, 8)  # separable ellipsoid, condition 1e4
    es = CMAES(np.zeros(8), 1.0, np.random.default_rng(1), diagonal=diagonal)
    best = np.inf
    for _ in range(600):
        X = es.ask()
        f = ((scale * (X - c)) ** 2).sum(1)
        best = min(best, f.min())
        es.tell(f)
    assert best < 1e-8
    assert np.allclose(es.mean, c, atol=1e-4)


def test_cmaes_rejects_bad_setup():
    with pytest.raises(ValueError, match="sigma0"):
        CMAES(np.zeros(3), 0.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="at least one"):
        CMAES(np.zeros(0), 1.0, np.random.default_rng(0))
