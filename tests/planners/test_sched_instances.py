"""Instances: seeded generators, density, and input validation."""
from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import LineString, Polygon

from planners.scheduling.graph import build_graph
from planners.scheduling.instances import (SchedulingInstance, grid_astar, intersection_instance,
                                           intersection_path, open_area_instance,
                                           warehouse_grid, warehouse_instance)

GENERATORS = [warehouse_instance, open_area_instance, intersection_instance]


@pytest.mark.parametrize("gen", GENERATORS)
def test_generators_are_seeded_and_buildable(gen):
    a = gen(12, np.random.default_rng(3))
    b = gen(12, np.random.default_rng(3))
    c = gen(12, np.random.default_rng(4))
    assert a.n_robots == 12
    assert all(np.array_equal(p, q) for p, q in zip(a.paths, b.paths))
    assert np.array_equal(a.speed, b.speed)
    assert not all(p.shape == q.shape and np.allclose(p, q) for p, q in zip(a.paths, c.paths))
    d = a.density()
    assert d["swept_density"] > 0 and d["interference_degree"] > 0 and d["area"] == a.area
    g = build_graph(a)
    assert g.n_edges > 0


def test_density_definitions_on_a_hand_made_instance():
    # two crossing 10 m paths and one far away; radius 0.5 -> swept area of a path = 10 + pi/4
    paths = [[[0, 5], [10, 5]], [[5, 0], [5, 10]], [[50, 50], [60, 50]]]
    inst = SchedulingInstance(paths=paths, radius=0.5, area=200.0)
    d = inst.density()
    assert d["swept_density"] == pytest.approx(3 * (10 + np.pi * 0.25) / 200, rel=1e-2)
    assert d["interference_degree"] == pytest.approx(2 * 1 / 3)


def test_warehouse_paths_follow_aisles():
    inst = warehouse_instance(20, np.random.default_rng(0))
    free, stations, slots = warehouse_grid(*inst.meta["blocks"])
    endpoints = set(map(tuple, stations)) | set(map(tuple, slots))
    starts, goals = set(), set()
    for p in inst.paths:
        seg = np.diff(p, axis=0)
        assert np.all((np.abs(seg[:, 0]) < 1e-9) | (np.abs(seg[:, 1]) < 1e-9))  # axis-aligned
        cells = np.floor(p).astype(int)
        assert np.allclose(p, cells + 0.5)  # vertices at cell centres
        s, g = (cells[0][1], cells[0][0]), (cells[-1][1], cells[-1][0])
        assert s in endpoints and g in endpoints
        starts.add(s)
        goals.add(g)
        # interior of the path only uses aisle cells
        for a, b in zip(p[:-1], p[1:]):
            n = int(round(np.abs(b - a).sum()))
            for t in np.linspace(0, 1, n + 1)[1:-1]:
                x, y = np.floor(a + t * (b - a)).astype(int)
                assert free[y, x]
    assert len(starts) == 20 and len(goals) == 20 and not starts & goals


def test_grid_astar_shortest_and_unreachable():
    free = np.ones((5, 5), bool)
    free[1:4, 2] = False
    path = grid_astar(free, (2, 0), (2, 4))
    assert path[0] == (2, 0) and path[-1] == (2, 4)
    assert len(path) - 1 == 8  # around the wall
    free[:, 2] = False
    assert grid_astar(free, (2, 0), (2, 4)) is None


def test_open_area_paths_avoid_obstacles():
    inst = open_area_instance(15, np.random.default_rng(2), n_obstacles=4)
    assert len(inst.obstacles) == 4
    polys = [Polygon(o) for o in inst.obstacles]
    for p in inst.paths:
        line = LineString(p)
        for poly in polys:
            assert line.distance(poly) >= inst.radius - 1e-6


def test_intersection_geometry_and_queue_order():
    w = 3.5
    straight = intersection_path(0, "straight", 2.0, w, 30.0)
    assert LineString(straight).length == pytest.approx(2.0 + 2 * w + 30.0)
    right = intersection_path(0, "right", 2.0, w, 30.0)
    assert LineString(right).length == pytest.approx(2.0 + np.pi / 2 * w / 2 + 30.0, rel=2e-3)
    left = intersection_path(1, "left", 0.0, w, 10.0)  # from the east, heading west, turns south
    assert LineString(left).length == pytest.approx(np.pi / 2 * 1.5 * w + 10.0, rel=2e-3)
    assert left[0] == pytest.approx([w, w / 2])
    assert left[-1] == pytest.approx([-w / 2, -w - 10.0])
    inst = intersection_instance(16, np.random.default_rng(5))
    g = build_graph(inst)
    arms = np.array(inst.meta["arms"])
    u, v = g.joint_edges
    ru, rv = g.node_robot[u], g.node_robot[v]
    same_arm = arms[ru] == arms[rv]
    # cars on one approach: the one ahead (lower index, drawn first) must go first
    assert same_arm.any()
    assert np.all(g.edge_forced[same_arm] == 1)
    assert np.all(g.edge_forced[~same_arm] == 0)


@pytest.mark.parametrize("bad,msg", [
    ([[0, 0], [1, np.nan]], "robot 1: path contains NaN"),
    ([[0, 0], [0, 0]], "robot 1: zero-length path"),
    ([[0, 0]], "robot 1: path needs at least 2 points"),
    ([[0, 0, 0], [1, 1, 1]], "robot 1: path must have shape"),
])
def test_bad_paths_name_the_robot(bad, msg):
    with pytest.raises(ValueError, match=msg):
        SchedulingInstance(paths=[[[5, 5], [9, 9]], bad], radius=0.3)


def test_shared_start_and_goal_rejected():
    with pytest.raises(ValueError, match="robots 0 and 2 share a start"):
        SchedulingInstance(paths=[[[0, 0], [5, 0]], [[3, 3], [3, 9]], [[0.2, 0], [0, 5]]],
                           radius=0.3)
    # goals only matter when robots park there
    paths = [[[0, 0], [5, 0]], [[5, 5], [5.1, 0]]]
    SchedulingInstance(paths=paths, radius=0.3)
    with pytest.raises(ValueError, match="robots 0 and 1 share a goal"):
        SchedulingInstance(paths=paths, radius=0.3, park_at_goal=True)


def test_parameter_validation():
    paths = [[[0, 0], [5, 0]], [[3, 3], [3, 9]]]
    with pytest.raises(ValueError, match="robot 1: speed must be positive"):
        SchedulingInstance(paths=paths, radius=0.3, speed=[1.0, 0.0])
    with pytest.raises(ValueError, match="headway"):
        SchedulingInstance(paths=paths, radius=0.3, speed=1.0, headway=0.1)
    with pytest.raises(ValueError, match="radius"):
        SchedulingInstance(paths=paths, radius=-1)
    with pytest.raises(ValueError, match="robot 0: release"):
        SchedulingInstance(paths=paths, radius=0.3, release=[-1.0, 0.0])
    inst = SchedulingInstance(paths=paths, radius=0.3, speed=2.0, margin=0.1)
    assert inst.headway == pytest.approx(1.25 * 0.7 / 2.0)
    assert inst.speed.shape == (2,)
