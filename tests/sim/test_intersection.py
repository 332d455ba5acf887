import numpy as np

from sim.bev import BevSpec
from sim.intersection import IntersectionConfig, IntersectionScene, noisy_poses


def test_scene_frame_shapes_ground_truth_and_determinism():
    cfg = IntersectionConfig(n_parked=6, n_traffic=6, lidar_rays=360, bev=BevSpec(64, 1.0))
    frames = []
    for _ in range(2):
        sc = IntersectionScene(cfg, np.random.default_rng(3))
        try:
            for _ in range(5):
                sc.step()
            frames.append(sc.frame())
            assert len(sc.buildings) > 4 and len(sc.parked) == 6
        finally:
            sc.close()
    f = frames[0]
    assert f["bev"].shape == (6, 4, 64, 64) and f["gt"].shape == (6, 64, 64)
    assert f["visible"].shape == (6, 6 + 6 + 6)
    assert f["bev"][:, 3].mean() > 0.05  # every CAV observes part of its grid
    assert f["gt"][0].sum() > 0 and (f["gt_ids"] >= 0).sum() == f["gt"][0].sum()
    # CAVs never see themselves
    assert not f["visible"][np.arange(6), 12 + np.arange(6)].any()
    np.testing.assert_array_equal(frames[0]["bev"], frames[1]["bev"])
    np.testing.assert_allclose(frames[0]["poses"], frames[1]["poses"])


def test_traffic_stops_at_red_and_cavs_move_with_bicycle_model():
    cfg = IntersectionConfig(n_parked=0, n_traffic=8)
    sc = IntersectionScene(cfg, np.random.default_rng(0))
    try:
        start = sc.cav_poses().copy()
        for _ in range(50):
            sc.step()
            v = sc.target_speeds(sc.m_s)
            red = ~sc.green()[sc.lane_dir[sc.m_lane]]
            near = red & (sc.m_s <= cfg.stop_s) & (cfg.stop_s - sc.m_s < 0.3)
            assert np.all(v[near] < 1.5)  # held at the stop line
        moved = np.linalg.norm(sc.cav_poses()[:, :2] - start[:, :2], axis=1)
        assert moved.max() > 10
        assert "speed" in sc.cav_state.extra
    finally:
        sc.close()


def test_noisy_poses_seeded():
    p = np.zeros((4, 3))
    a = noisy_poses(p, 0.5, 0.1, np.random.default_rng(1))
    b = noisy_poses(p, 0.5, 0.1, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a).max() > 0 and np.all(noisy_poses(p, 0, 0, np.random.default_rng(1)) == 0)
