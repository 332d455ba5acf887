"""Planar lidar via rayTestBatch: distances, ray geometry, chunking, exclusions."""
from __future__ import annotations

import numpy as np
import pytest

from sim import obstacles as ob
from sim.lidar import MAX_RAYS_PER_CALL, lidar_scan
from sim.robots.amr import AmrModel
from sim.scene import Scene
from sim.state import FleetState


@pytest.fixture
def box_scene():
    """A 2x2x1 m box centred at (5, 0): its near face is at x = 4."""
    with Scene() as s:
        s.add_ground()
        (box,) = s.add_polygons([ob.box([5.0, 0.0], [2.0, 2.0])], height=1.0)
        yield s, box


def test_box_at_known_distance(box_scene):
    s, box = box_scene
    d, ids = lidar_scan(s.client, np.array([[0.0, 0.0, 0.5]]), np.array([0.0]), n_rays=4, max_range=10.0)
    assert d.shape == (1, 4) and ids.shape == (1, 4)
    assert d[0, 0] == pytest.approx(4.0, abs=0.01) and ids[0, 0] == box  # straight ahead
    assert np.all(d[0, 1:] == 10.0) and np.all(ids[0, 1:] == -1)  # left, back, right: misses
    # the box seen from the other side, robot turned around
    d, ids = lidar_scan(s.client, np.array([[9.0, 0.0, 0.5]]), np.array([np.pi]), n_rays=4, max_range=10.0)
    assert d[0, 0] == pytest.approx(3.0, abs=0.01) and ids[0, 0] == box
    # out of range
    d, ids = lidar_scan(s.client, np.array([[0.0, 0.0, 0.5]]), np.array([0.0]), n_rays=4, max_range=3.0)
    assert d[0, 0] == 3.0 and ids[0, 0] == -1
    # above the box (z_offset) nothing is hit
    d, _ = lidar_scan(s.client, np.array([[0.0, 0.0, 0.5]]), np.array([0.0]), n_rays=4, max_range=10.0,
                      z_offset=1.0)
    assert d[0, 0] == 10.0


def test_fov_and_oblique_rays(box_scene):
    s, box = box_scene
    # 3 rays over 90 deg centred on yaw 0: -45, 0, +45 deg; the -45/+45 rays hit the box's near face
    # at x = 4 only if |y| <= 1 there, which they do not (y = 4): they miss
    d, ids = lidar_scan(s.client, np.array([[0.0, 0.0, 0.5]]), np.array([0.0]), n_rays=3, max_range=10.0,
                        fov=np.pi / 2)
    assert d[0, 1] == pytest.approx(4.0, abs=0.01)
    assert ids[0, 0] == -1 and ids[0, 2] == -1
    # from (3, 0) the +-45 deg rays hit the face at x = 4, y = +-1: distance sqrt(2)
    d, ids = lidar_scan(s.client, np.array([[3.0, 0.0, 0.5]]), np.array([0.0]), n_rays=3, max_range=10.0,
                        fov=np.pi / 2)
    assert d[0] == pytest.approx([np.sqrt(2), 1.0, np.sqrt(2)], abs=0.01)


def test_many_origins_are_chunked(box_scene):
    s, box = box_scene
    n, k = 100, 360  # 36,000 rays > 2 calls
    assert n * k > 2 * MAX_RAYS_PER_CALL
    origins = np.tile([0.0, 0.0, 0.5], (n, 1))
    d, ids = lidar_scan(s.client, origins, np.zeros(n), n_rays=k, max_range=10.0)
    assert d.shape == (n, k)
    assert np.all(d == d[0]) and np.all(ids == ids[0])  # same origin, same scan
    assert d[0, 0] == pytest.approx(4.0, abs=0.01) and d[-1, 180] == 10.0
    hits = np.flatnonzero(ids[0] == box)
    # the box subtends +-atan(1/4) ~ +-14 deg (near face)
    assert 25 <= len(hits) <= 31


def test_own_body_and_excluded_bodies():
    m = AmrModel()
    st = FleetState.at_rest(np.array([[0.0, 0.0, m.spawn_height], [0.0, 2.0, m.spawn_height]]))
    with Scene() as s:
        s.add_ground()
        (wall,) = s.add_polygons([ob.box([0.0, 5.0], [4.0, 0.2])])
        bodies = s.add_robots(m, st)
        origin = np.array([[0.0, 0.0, 0.075]])  # at wheel height: a ray to +y starts inside the left wheel
        yaw = np.array([np.pi / 2])
        d, ids = lidar_scan(s.client, origin, yaw, n_rays=1, max_range=10.0)
        assert ids[0, 0] == bodies[0] and d[0, 0] < 0.25  # sees its own wheel
        d, ids = lidar_scan(s.client, origin, yaw, n_rays=1, max_range=10.0, self_bodies=[bodies[0]])
        assert ids[0, 0] == bodies[1] and d[0, 0] == pytest.approx(1.7, abs=0.01)  # the other robot
        d, ids = lidar_scan(s.client, origin, yaw, n_rays=1, max_range=10.0, exclude_bodies=bodies)
        assert ids[0, 0] == wall and d[0, 0] == pytest.approx(4.9, abs=0.01)  # robots invisible
        d, ids = lidar_scan(s.client, origin, yaw, n_rays=1, max_range=10.0, min_range=m.radius)
        assert ids[0, 0] == bodies[1] and d[0, 0] == pytest.approx(1.7, abs=0.01)  # measured from origin


def test_bad_arguments():
    with Scene() as s:
        with pytest.raises(ValueError, match="origins"):
            lidar_scan(s.client, np.zeros((2, 2)), np.zeros(2))
        with pytest.raises(ValueError, match="yaws"):
            lidar_scan(s.client, np.zeros((2, 3)), np.zeros(3))
        with pytest.raises(ValueError, match="n_rays"):
            lidar_scan(s.client, np.zeros((1, 3)), np.zeros(1), n_rays=0)
        with pytest.raises(ValueError, match="self_bodies"):
            lidar_scan(s.client, np.zeros((2, 3)), np.zeros(2), self_bodies=[1])
        d, ids = lidar_scan(s.client, np.zeros((0, 3)), np.zeros(0), n_rays=5)
        assert d.shape == (0, 5) and ids.shape == (0, 5)
