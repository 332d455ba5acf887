"""Coordination graph: interfering intervals, edge types, forced orders, blocks, regions."""
from __future__ import annotations

import numpy as np
import pytest

from planners.scheduling.geometry import resample
from planners.scheduling.graph import (InfeasibleInstanceError, Sections, build_graph,
                                       find_sections, graph_from_sections)
from planners.scheduling.instances import SchedulingInstance, open_area_instance

R, MARGIN = 0.3, 0.1
THR = 2 * R + MARGIN


def inst(paths, **kw):
    return SchedulingInstance(paths=paths, radius=R, margin=MARGIN, **kw)


def test_perpendicular_crossing_interval():
    g = build_graph(inst([[[-5, 0], [5, 0]], [[0, -5], [0, 5]]]))
    assert g.n_edges == 1 and g.n_nodes == 2
    ds = R / 2
    for v in range(2):  # both cross at arc length 5: interfere within 5 +- THR (plus padding)
        assert 5 - THR - ds - 1e-9 <= g.node_L[v] <= 5 - THR + 1e-9
        assert 5 + THR - 1e-9 <= g.node_U[v] <= 5 + THR + ds + 1e-9
    assert not g.edge_follow_ok[0] and g.edge_forced[0] == 0
    assert g.node_t_in[0] == pytest.approx(g.node_L[0] / 1.0)
    ei, kind = g.edge_index()
    assert ei.shape == (2, 2) and list(kind) == [1, 2]


def test_same_and_opposite_direction_sharing_a_corridor():
    merge = [[[0, 0], [10, 0], [20, 0]], [[10, -5], [10, 0], [20, 0]]]  # merge at (10, 0)
    g = build_graph(inst(merge))
    assert g.n_edges == 1 and g.edge_follow_ok[0]
    opposite = [[[0, 0], [20, 0]], [[15, 5], [15, 0.0], [5, 0], [5, 5]]]
    g = build_graph(inst(opposite))
    assert g.n_edges == 1 and not g.edge_follow_ok[0]
    far = [[[0, 0], [20, 0]], [[0, 1], [20, 1]]]  # parallel lanes 1 m apart > THR
    assert build_graph(inst(far)).n_edges == 0


def test_intervals_cover_every_close_sample_pair():
    """Safety: any two path points closer than 2r + margin lie in one section's interval pair."""
    for seed in range(3):
        ins = open_area_instance(12, np.random.default_rng(seed), n_obstacles=2)
        sec = find_sections(list(ins.paths), ins.radius, ins.margin)
        samples = [resample(p, 0.05) for p in ins.paths]
        for i in range(ins.n_robots):
            for j in range(i + 1, ins.n_robots):
                si, pi, _ = samples[i]
                sj, pj, _ = samples[j]
                d = np.linalg.norm(pi[:, None] - pj[None], axis=-1)
                a, b = np.nonzero(d < THR - 0.02)  # 0.02: sampling slack of the builder
                if len(a) == 0:
                    continue
                rows = np.nonzero((sec.i == i) & (sec.j == j))[0]
                assert len(rows), (seed, i, j)
                inside = np.zeros(len(a), bool)
                for k in rows:
                    inside |= ((si[a] >= sec.Li[k]) & (si[a] <= sec.Ui[k]) &
                               (sj[b] >= sec.Lj[k]) & (sj[b] <= sec.Uj[k]))
                assert inside.all(), (seed, i, j)


def test_two_separate_crossings_give_two_sections_and_blocks():
    # robot 1 zig-zags across robot 0's path twice, 10 m apart
    paths = [[[0, 0], [30, 0]], [[5, -5], [5, 5], [15, 5], [15, -5]]]
    g = build_graph(inst(paths))
    assert g.n_edges == 2
    assert g.n_blocks == 4 and g.n_regions == 2
    assert g.prec_edges.shape == (2, 2)  # one per robot (two nodes each)
    # a third robot crossing robot 0 right next to the first crossing overlaps it: same block
    paths.append([[6.5, 8], [6.5, -8]])
    g = build_graph(inst(paths))
    r0 = np.nonzero(g.node_robot == 0)[0]
    assert len(r0) == 3
    assert len(np.unique(g.node_block[r0])) == 2


def test_start_in_the_way_forces_order_and_swap_is_infeasible():
    # robot 0 starts on robot 1's path -> robot 0 must go first
    g = build_graph(inst([[[0, 0], [0, 10]], [[-5, 0], [5, 0]]]))
    assert g.edge_forced.tolist() == [1]
    g = build_graph(inst([[[-5, 0], [5, 0]], [[0, 0], [0, 10]]]))
    assert g.edge_forced.tolist() == [-1]
    # starts 0.69 m apart (>= 2r + sampling slack, < THR), each within THR of the other's path
    # but only robot 1's path sweeps over robot 0's start: one-sided forcing, not infeasible
    g = build_graph(inst([[[0, 0], [0, 10]], [[0.69, 0], [-5, 0]]]))
    assert g.edge_forced.tolist() == [1]
    # head-on in one corridor, each starting on the other's path: no order exists
    with pytest.raises(InfeasibleInstanceError, match="robots 0 and 1") as exc:
        build_graph(inst([[[0, 0], [10, 0]], [[5, 0], [-5, 0]]]))
    assert isinstance(exc.value, ValueError) and exc.value.robots == (0, 1)


def test_parked_goal_forces_going_second():
    paths = [[[0, 5], [0, 0]], [[-5, 0], [5, 0]]]  # robot 0 parks on robot 1's path
    assert build_graph(inst(paths)).edge_forced.tolist() == [0]
    assert build_graph(inst(paths, park_at_goal=True)).edge_forced.tolist() == [-1]


def test_regions_and_caps():
    # five robots merging onto one lane: one region with 5 robots
    paths = [[[x, -10 - 2 * k], [x, 0], [40, 0]] for k, x in enumerate([0, 3, 6, 9, 12])]
    g = build_graph(inst(paths), follow_cap_ratio=0.5)
    assert g.n_regions == 1
    assert g.region_n_robots.tolist() == [5] and g.region_cap.tolist() == [2]
    assert g.edge_follow_ok.all()
    g0 = build_graph(inst(paths), follow_cap_ratio=0.0)
    assert g0.region_cap.tolist() == [0]


def test_graph_from_sections_validates_rows():
    length, speed, rel = np.array([10.0, 10.0]), np.ones(2), np.zeros(2)
    with pytest.raises(ValueError, match="robot i < robot j"):
        graph_from_sections(length, speed, rel, Sections.from_rows([(1, 0, 1, 2, 1, 2, False)]),
                            headway=1.0)
    with pytest.raises(ValueError, match="L < U"):
        graph_from_sections(length, speed, rel, Sections.from_rows([(0, 1, 2, 1, 1, 2, False)]),
                            headway=1.0)
    g = graph_from_sections(length, speed, rel, Sections.from_rows([]), headway=1.0)
    assert g.n_nodes == 0 and g.n_edges == 0 and g.nominal_completion.tolist() == [10, 10]


def test_node_arrays_are_consistent():
    g = build_graph(open_area_instance(20, np.random.default_rng(1)))
    V = g.n_nodes
    assert np.all(np.diff(g.node_robot) >= 0)
    assert np.all(g.node_L < g.node_U)
    u, v = g.joint_edges
    assert np.all(g.node_robot[u] < g.node_robot[v])
    assert np.array_equal(g.node_edge[u], np.arange(g.n_edges))
    assert np.array_equal(g.node_edge[v], np.arange(g.n_edges))
    assert np.all(g.node_region[u] == g.node_region[v])
    assert g.node_features().shape == (V, 6)
    # precedence edges join consecutive nodes of one robot
    a, b = g.prec_edges
    assert np.all(b == a + 1) and np.all(g.node_robot[a] == g.node_robot[b])
    # one chain per robot through its 2 events per node and its goal: 2V arcs, never backwards
    assert len(g.chain_src) == 2 * V
    assert np.all(g.chain_w >= 0)
    assert np.all(g.event_base[g.chain_dst] >= g.event_base[g.chain_src])
