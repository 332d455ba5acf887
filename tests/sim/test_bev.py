import numpy as np
import pytest

from sim.bev import BevSpec, lidar_bev, rasterise_boxes, relative_pose, warp_bev, world_to_local


def test_box_raster_counts_cells_and_frames():
    spec = BevSpec(64, 0.5)
    occ = rasterise_boxes(np.array([[5.0, 0.0]]), np.array([0.0]), 4.0, 2.0, np.zeros(3), spec)
    assert occ.sum() == pytest.approx(8 * 4, abs=6)  # 4 m x 2 m at 0.5 m, centres on the boundary count
    rows, cols = np.nonzero(occ)
    assert cols.min() > spec.size // 2 and abs(rows.mean() - (spec.size / 2 - 0.5)) < 1  # ahead, on the axis
    # the same box seen from a CAV at (5, -5) heading +y lies straight ahead (+x local)
    occ2 = rasterise_boxes(np.array([[5.0, 0.0]]), np.array([0.0]), 4.0, 2.0, np.array([5.0, -5.0, np.pi / 2]), spec)
    r2, c2 = np.nonzero(occ2)
    assert abs(c2.mean() - (spec.size / 2 - 0.5 + 10)) < 1 and abs(r2.mean() - (spec.size / 2 - 0.5)) < 1
    ids = rasterise_boxes(np.zeros((0, 2)), np.zeros(0), 4.0, 2.0, np.zeros(3), spec, return_ids=True)
    assert (ids == -1).all()


def test_lidar_bev_free_space_stops_before_hit():
    spec = BevSpec(64, 0.5)
    ang = np.linspace(0, 2 * np.pi, 360, endpoint=False)
    dist = np.full(360, 40.0)
    dist[:6] = dist[-5:] = 10.0  # a wall 10 m ahead blocks a 10 degree wedge
    g = lidar_bev(dist, ang, 40.0, spec)
    r, c = spec.to_cells(np.array([[10.0, 0.0]]))[:2]
    assert g[0, r[0], c[0]] > 0 and g[3, r[0], c[0]] == 1
    r, c = spec.to_cells(np.array([[12.0, 0.0]]))[:2]
    assert g[2, r[0], c[0]] == 0  # behind the hit: in its shadow, not free
    r, c = spec.to_cells(np.array([[-12.0, 0.0]]))[:2]
    assert g[2, r[0], c[0]] == 1 and g[0].sum() > 0


def test_warp_matches_relative_pose():
    spec = BevSpec(64, 0.5)
    world_box = np.array([[10.0, 3.0]])
    ego, other = np.array([0.0, 0.0, 0.3]), np.array([6.0, 4.0, -1.0])
    in_other = rasterise_boxes(world_box, np.array([0.2]), 4.0, 2.0, other, spec)
    in_ego = rasterise_boxes(world_box, np.array([0.2]), 4.0, 2.0, ego, spec)
    warped = warp_bev(in_other[None], relative_pose(ego, other), spec)[0]
    inter = np.logical_and(warped > 0, in_ego > 0).sum()
    assert inter / max(in_ego.sum(), 1) > 0.7
    assert np.allclose(world_to_local(other[:2], other), 0)


def test_bad_spec():
    with pytest.raises(ValueError, match="size"):
        BevSpec(1, 0.5)
