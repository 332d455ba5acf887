"""Run-directory reading, mesh builders and overlay geometry: pure functions, no server, no browser."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from robocoord.errors import UserError
from robocoord.viewer import meshes, overlays
from robocoord.viewer.demo import demo_scene, write_demo_run, write_run
from robocoord.viewer.rundata import OverlayLog, load_run


# --- run directories --------------------------------------------------------------------------------
def test_load_run_reads_all_parts(tmp_path: Path) -> None:
    run = write_demo_run(tmp_path / "r", kind="uav", n=5, steps=30)
    data = load_run(run)
    assert data.pos.shape == (31, 5, 3) and data.yaw.shape == (31, 5)
    assert data.n == 5 and data.dt == pytest.approx(0.1) and data.name == "demo-uav-5"
    assert data.scene["kind"] == "uav" and data.scene["bounds"] == [0.0, 0.0, 10.0, 10.0]
    assert data.overlays.steps == [0, 10, 20, 30]
    # An overlay stays in force until the next record.
    assert data.overlays.at(15)["step"] == 10
    assert data.overlays.at(30)["step"] == 30
    assert data.frame_of_step(12) == 12


def test_overlay_log_index_is_lazy_and_handles_unsorted_lines(tmp_path: Path) -> None:
    p = tmp_path / "overlays.jsonl"
    p.write_text('{"step": 5, "flagged": [1]}\n\n{"text": "late key order", "step": 2}\n{"step": 9, "x": 1}\n')
    log = OverlayLog(p)
    assert log.steps == [2, 5, 9]
    assert log.at(1) is None
    assert log.at(3)["text"] == "late key order"
    assert log.at(7)["flagged"] == [1]


def test_overlay_log_reports_bad_line(tmp_path: Path) -> None:
    p = tmp_path / "overlays.jsonl"
    p.write_text('{"step": 1}\nnot json\n')
    with pytest.raises(UserError, match=r"overlays.jsonl:2: not a JSON object"):
        OverlayLog(p)


@pytest.mark.parametrize("make, message", [
    (lambda d: d / "nope", "no such run directory"),
    (lambda d: (d / "f.txt").write_text("x") and d / "f.txt", "not a directory"),
    (lambda d: (d / "empty").mkdir() or d / "empty", "not a run directory (missing scene.json and replay.npz"),
])
def test_bad_run_dir_messages(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        load_run(make(tmp_path))


def test_bad_replay_and_scene_messages(tmp_path: Path) -> None:
    run = write_demo_run(tmp_path / "r", n=3, steps=5, with_overlays=False)
    np.savez(run / "replay.npz", pos=np.zeros((4, 3, 3)), yaw=np.zeros((4, 2)))
    with pytest.raises(UserError, match=r"'yaw' must have shape \(4, 3\)"):
        load_run(run)
    np.savez(run / "replay.npz", pos=np.zeros((4, 3, 3)), yaw=np.zeros((4, 3)), step=[0, 2, 2, 3])
    with pytest.raises(UserError, match="strictly increasing"):
        load_run(run)
    np.savez(run / "replay.npz", pos=np.zeros((4, 3, 3)), yaw=np.zeros((4, 3)))
    (run / "scene.json").write_text(json.dumps({"kind": "boat"}))
    with pytest.raises(UserError, match="'kind' must be one of amr, uav, cav"):
        load_run(run)
    (run / "scene.json").write_text("{")
    with pytest.raises(UserError, match="scene.json: not valid JSON"):
        load_run(run)
    (run / "scene.json").write_text(json.dumps({**demo_scene("amr", 3, 10.0), "n": 7}))
    with pytest.raises(UserError, match="n=7 robots but replay.npz holds 3"):
        load_run(run)
    (run / "replay.npz").write_bytes(b"garbage")
    with pytest.raises(UserError, match="cannot read the replay file"):
        load_run(run)


# --- meshes -----------------------------------------------------------------------------------------
def _volume(v: np.ndarray, f: np.ndarray) -> float:
    a, b, c = v[f[:, 0]].astype(float), v[f[:, 1]].astype(float), v[f[:, 2]].astype(float)
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def test_closed_meshes_have_outward_faces() -> None:
    v, f = meshes.box((2, 3, 4), (1, 1, 1))
    assert _volume(v, f) == pytest.approx(24.0)
    v, f = meshes.cylinder(1.0, 2.0, 64)
    assert _volume(v, f) == pytest.approx(np.pi * 2.0, rel=0.01)
    v, f = meshes.cylinder(1.0, 2.0, 64, z0=-1.0, axis="y")  # wheels: same volume, lying along y
    assert _volume(v, f) == pytest.approx(np.pi * 2.0, rel=0.01)
    assert np.ptp(v[:, 1]) == pytest.approx(2.0) and np.ptp(v[:, 2]) == pytest.approx(2.0, rel=0.01)


def test_triangulate_concave_polygon_covers_its_area() -> None:
    # An L shape (concave), given clockwise: the prism flips it and the top faces up.
    l_shape = np.array([[0, 0], [0, 2], [1, 2], [1, 1], [2, 1], [2, 0]], float)
    v, f = meshes.prism(l_shape, 0.0, 1.0)
    top = f[np.all(v[f][:, :, 2] == 1.0, axis=1)]
    a, b, c = (v[top[:, k]][:, :2] for k in range(3))
    areas = 0.5 * ((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
    assert len(top) == 4 and np.all(areas > 0) and areas.sum() == pytest.approx(3.0)


def test_grid_obstacles_merge_into_few_boxes() -> None:
    rows = ["..........",
            ".####.###.",
            ".####.###.",
            "..........",
            "#........#"]
    rects = meshes.grid_rectangles(rows)
    assert len(rects) == 4  # two 2-row shelves + two single cells
    covered = np.zeros((5, 10), bool)
    for r0, c0, r1, c1 in rects:
        assert not covered[r0:r1, c0:c1].any()
        covered[r0:r1, c0:c1] = True
    assert (covered == np.array([[ch == "#" for ch in r] for r in rows])).all()
    v, f = meshes.grid_obstacle_mesh(rows, 0.5, 1.0)
    # Row 0 is at the top: the lone cell in the last row sits at y in [0, 0.5].
    assert v[:, 1].min() == 0.0 and v[:, 1].max() == pytest.approx(2.0)  # shelves: rows 1-2 -> y in [1, 2]
    assert len(f) == 4 * 10  # 10 triangles per box without bottom


def test_robot_shapes_per_kind() -> None:
    amr = meshes.robot_shape({"kind": "amr", "radius": 0.3, "robot": {"radius": 0.3}})
    assert amr.on_ground and amr.body[0][:, :2].max() == pytest.approx(0.3, rel=1e-3)
    assert amr.accent[0][:, 0].max() > 0.2  # heading marker points +x
    uav = meshes.robot_shape({"kind": "uav", "radius": 0.4, "robot": {}})
    assert not uav.on_ground and len(uav.body[1]) >= 4 * 20  # hub + four rotor discs
    cav = meshes.robot_shape({"kind": "cav", "radius": 2.4, "robot": {"length": 4.5, "width": 1.8}})
    ext = cav.body[0].max(0) - cav.body[0].min(0)
    assert ext[0] == pytest.approx(4.5) and ext[1] == pytest.approx(1.8)


def test_yaw_quaternions_rotate_x_axis() -> None:
    q = meshes.yaw_to_wxyz(np.array([0.0, np.pi / 2]))
    w, z = q[1, 0], q[1, 3]
    # Rotating +x by the quaternion gives +y.
    x_rot = np.array([1 - 2 * z * z, 2 * w * z])
    assert np.allclose(x_rot, [0, 1], atol=1e-6) and np.allclose(q[0], [1, 0, 0, 0])


def test_distinct_colors_and_instance_colors() -> None:
    c = meshes.distinct_colors(50)
    assert c.shape == (50, 3) and len({tuple(x) for x in c}) == 50
    lin = meshes.instance_colors(np.array([[0, 128, 255]], np.uint8))
    assert lin.tolist() == [[0, 55, 255]]


# --- overlays ---------------------------------------------------------------------------------------
SCENE = {"kind": "amr", "grid": None, "cell_size": 1.0}


def test_overlay_paths_goals_edges_rings() -> None:
    pos = np.array([[0, 0, 0], [5, 5, 0], [9, 9, 0]], np.float32)
    base = meshes.distinct_colors(3)
    g = overlays.build({"paths": {"1": [[5, 5], [6, 5], [7, 5]]}, "goals": [[1, 1], None, [9, 0]],
                        "edges": [[0, 2], [0, 7]], "safety_radius": 0.5}, n=3, base_colors=base, scene=SCENE)
    # path of robot 1 along its plan, in robot 1's colour
    assert np.allclose(g.segments[:, :, :2], [[[5, 5], [6, 5]], [[6, 5], [7, 5]]])
    assert (g.segment_colors == base[1]).all()
    assert np.allclose(g.goal_points[:, :2], [[1, 1], [9, 0]]) and (g.goal_colors == base[[0, 2]]).all()
    assert g.edges.tolist() == [[0, 2]]  # 0-7 is out of range
    segs, _ = overlays.dynamic_segments(g, pos, SCENE)
    assert np.allclose(segs[:, :, :2], [[[0, 0], [9, 9]]])  # the edge follows the robots
    assert g.ring_index.tolist() == [0, 1, 2] and np.allclose(g.ring_radius, 0.5)
    assert np.allclose(overlays.ring_positions(g, pos + 1, SCENE)[:, :2], (pos + 1)[:, :2])
    assert "paths: 1 planned" in g.legend and "safety radius: 0.5 m" in g.legend


def test_overlay_grid_cells_and_colour_precedence() -> None:
    scene = {"kind": "amr", "grid": ["....", "....", "...."], "cell_size": 2.0}
    base = meshes.distinct_colors(3)
    g = overlays.build({"path_cells": [[[0, 0], [2, 3]]], "order": [2, 0, 1], "alpha": [1, 2, 3], "flagged": [1]},
                       n=3, base_colors=base, scene=scene)
    # cell (0,0) -> top-left centre (1, 5); cell (2,3) -> bottom-right centre (7, 1)
    assert np.allclose(g.segments[0, :, :2], [[1.0, 5.0], [7.0, 1.0]])
    assert g.robot_colors is not None
    assert tuple(g.robot_colors[1]) == tuple(overlays.FLAG_RED)  # flagged beats order
    assert g.robot_colors[2][0] < g.robot_colors[0][0]  # rank 1 bluer than rank 2
    assert dict(g.labels) == {0: "#2", 1: "#0", 2: "#1"}


def test_overlay_uav_users_and_association() -> None:
    pos = np.array([[0, 0, 5], [10, 0, 5]], np.float32)
    base = meshes.distinct_colors(2)
    scene = {"kind": "uav"}
    g = overlays.build({"users": [[1, 1], [9, 1], [5, 5]], "association": [0, 1, -1], "coverage": [3, 3]},
                       n=2, base_colors=base, scene=scene)
    assert g.points.shape == (3, 3)
    assert tuple(g.point_colors[0]) == tuple(base[0]) and tuple(g.point_colors[1]) == tuple(base[1])
    assert tuple(g.point_colors[2]) == (90, 90, 90)  # unserved
    segs, _ = overlays.dynamic_segments(g, pos, scene)
    assert len(segs) == 2 and np.allclose(segs[0], [[0, 0, 5], [1, 1, 0.05]])
    rp = overlays.ring_positions(g, pos, scene)
    assert np.allclose(rp, [[0, 0, 0.03], [10, 0, 0.03]])  # coverage rings lie on the ground under the UAV
    assert "users: 3 (2 served)" in g.legend


def test_agent_info_and_empty_overlay() -> None:
    ov = {"step": 3, "alpha": [0.5, 2.0], "flagged": [1], "paths": [[[1, 1], [2, 2]], []], "text": "x",
          "goal_cells": [[0, 0], [1, 1]]}
    info = overlays.agent_info(ov, 1, 2, {"grid": ["..", ".."], "cell_size": 1.0})
    assert info["alpha"] == 2.0 and info["flagged"] is True and info["goal"] == [1.5, 0.5]
    assert overlays.build(None, n=2, base_colors=meshes.distinct_colors(2), scene=SCENE).empty
