"""The viewer's server side without a browser: timeline, playback, selection, live pause/step, CLI errors."""
from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("viser", reason="the viewer needs the 'viser' package (pip install viser)")

from robocoord.errors import UserError  # noqa: E402
from robocoord.viewer.app import LiveViewer, ReplayViewer, check_port  # noqa: E402
from robocoord.viewer.cli import add_view_command, dispatch_view  # noqa: E402
from robocoord.viewer.demo import demo_scene, write_demo_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _wait(cond, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_replay_timeline_seek_play_and_select(tmp_path: Path) -> None:
    run = write_demo_run(tmp_path / "r", kind="cav", n=6, steps=40, size=60.0)
    v = ReplayViewer(run, port=0)
    try:
        assert v.port > 0 and v.url == f"http://127.0.0.1:{v.port}"
        assert np.allclose(v.body.batched_positions[:, :2], v.run.pos[0, :, :2])
        v.seek(25)
        assert v.current == 25 and int(v.gui_timeline.value) == 25
        assert np.allclose(v.body.batched_positions[:, :2], v.run.pos[25, :, :2])
        assert np.allclose(v.body.batched_positions[:, 2], 0.0)  # cars stay on the ground
        assert "step **25** / 40" in v.gui_step.content
        # flagged robot 0 (demo CAV overlay) is drawn red
        assert tuple(v.body.batched_colors[0]) != tuple(v.body.batched_colors[1])
        # select by index, as a click would
        v.select(3)
        info = v.selection_info()
        assert info["robot"] == 3 and info["step"] == 25 and info["flagged"] is False
        assert np.allclose(info["position"][:2], v.run.pos[25, 3, :2], atol=1e-3)
        assert v.ring.visible and "yaw_deg" in v.gui_info.content
        v.seek(30)
        assert np.allclose(v.ring.position[:2], v.run.pos[30, 3, :2], atol=1e-4)  # ring follows
        v.select(None)
        assert not v.ring.visible
        # playback advances by itself and stops at the end without loop
        v.gui_loop.value = False
        v.gui_speed.value = "32x"
        v.seek(0)
        v.play()
        assert _wait(lambda: v.current == 40 and not v.playing, 5.0), (v.current, v.playing)
        # a click event with an instance index selects that robot
        v._on_robot_click(SimpleNamespace(instance_index=5))
        assert v.selected == 5 and int(v.gui_select.value) == 5
    finally:
        v.close()


def test_replay_overlay_toggle_and_uav_shadow(tmp_path: Path) -> None:
    run = write_demo_run(tmp_path / "u", kind="uav", n=4, steps=20)
    v = ReplayViewer(run, port=0)
    try:
        assert v.shadow is not None
        assert np.allclose(v.body.batched_positions[:, 2], v.run.pos[0, :, 2])  # UAVs fly at their z
        assert np.allclose(v.shadow.batched_positions[:, 2], 0.0)
        assert {"users", "links", "paths", "rings"} <= set(v._layers)
        assert "users: 12" in v.gui_legend.content
        v.gui_overlays.value = False
        assert not v._layers and v.gui_legend.content == "overlays hidden"
    finally:
        v.close()


def test_live_viewer_pause_blocks_and_step_releases_one(tmp_path: Path) -> None:
    scene = demo_scene("amr", 3, 10.0)
    lv = LiveViewer(scene, port=0)
    done: list[int] = []

    def loop() -> None:
        for k in range(1, 30):
            pos = np.column_stack([np.full(3, 1.0 + 0.1 * k), [2.0, 5.0, 8.0], np.zeros(3)])
            lv.update(k, pos, np.zeros(3), {"alpha": [1.0, 2.0, 3.0]} if k == 1 else None)
            done.append(k)
            if len(done) >= 29:
                break

    try:
        lv.pause()
        t = threading.Thread(target=loop, daemon=True)
        t.start()
        assert _wait(lambda: len(done) == 0 and len(lv.frames) == 1, 2.0)
        time.sleep(0.3)
        assert done == [], "update() must block while paused"
        lv.step_once()
        assert _wait(lambda: done == [1] and len(lv.frames) == 2, 2.0), done
        time.sleep(0.3)
        assert done == [1], "Step lets exactly one step through"
        # scrubbing back while paused shows an older frame
        lv.gui_timeline.value = 1
        assert lv.current == 0
        lv.resume()
        assert _wait(lambda: len(done) == 29, 5.0)
        assert lv.frames.last_step == 29 and int(lv.gui_timeline.value) == 29
        assert np.allclose(lv.body.batched_positions[0, 0], 1.0 + 2.9)
        assert lv.overlays.at(29)["alpha"] == [1.0, 2.0, 3.0]  # in force until the next record
    finally:
        lv.close()
        t.join(2.0)


def test_live_viewer_on_step_builds_scene_from_world() -> None:
    class FakeWorld:
        n = 2
        step_count = 0
        goals = np.array([[1.0, 1.0], [2.0, 2.0]])

        def scene_description(self):
            return demo_scene("amr", 2, 10.0)

        def poses(self):
            return np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 0.0]]), np.array([0.0, 1.0])

    lv = LiveViewer(None, port=0, history=3)
    try:
        w = FakeWorld()
        for k in range(1, 6):
            w.step_count = k
            lv.on_step(w, None, SimpleNamespace(overlay={"flagged": [1]}))
        assert len(lv.frames) == 3 and lv.frames.first_step == 3  # history cap
        lv.select(1)
        info = lv.selection_info()
        assert info["goal"] == [2.0, 2.0] and info["flagged"] is True
    finally:
        lv.close()


def test_live_viewer_close_releases_blocked_caller() -> None:
    lv = LiveViewer(demo_scene("amr", 1, 10.0), port=0, start_paused=True)
    out: list[str] = []
    t = threading.Thread(target=lambda: (lv.update(1, np.zeros((1, 3)), np.zeros(1)), out.append("x")), daemon=True)
    t.start()
    time.sleep(0.2)
    assert out == []
    lv.close()
    t.join(2.0)
    assert out == ["x"]


def test_port_in_use_is_a_user_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        with pytest.raises(UserError, match=f"cannot listen on 127.0.0.1:{port}.*--port"):
            check_port("127.0.0.1", port)
        run = write_demo_run(tmp_path / "r", n=2, steps=3)
        r = subprocess.run([sys.executable, "-m", "robocoord.viewer", str(run), "--port", str(port), "--no-browser"],
                           capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 2
    assert f"robocoord: error: cannot listen on 127.0.0.1:{port}" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("setup, message", [
    (lambda d: d / "missing", "no such run directory"),
    (lambda d: (d / "x").mkdir() or d / "x", "not a run directory (missing scene.json and replay.npz"),
])
def test_cli_bad_run_dir_exits_2(tmp_path: Path, setup, message: str) -> None:
    r = subprocess.run([sys.executable, "-m", "robocoord.viewer", str(setup(tmp_path)), "--no-browser"],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1  # one clear message


def test_add_view_command_and_dispatch(tmp_path: Path) -> None:
    ap = argparse.ArgumentParser(prog="robocoord")
    sub = ap.add_subparsers(dest="command")
    add_view_command(sub)
    sub.add_parser("other")
    args = ap.parse_args(["view", str(tmp_path / "nope"), "--port", "0", "--no-browser"])
    assert args.host == "127.0.0.1" and args.port == 0 and args.no_browser
    assert dispatch_view(ap.parse_args(["other"])) is None
    with pytest.raises(UserError, match="no such run directory"):
        dispatch_view(args)


def test_cli_serves_until_interrupted(tmp_path: Path) -> None:
    run = write_demo_run(tmp_path / "r", n=2, steps=3)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # The child must react to Ctrl-C as a user's shell would, whatever an earlier test (or the test
    # runner) did to this process's SIGINT disposition: an ignored SIGINT is inherited across exec.
    p = subprocess.Popen([sys.executable, "-m", "robocoord.viewer", str(run), "--port", str(port), "--no-browser"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(p.stderr.readline, "")), daemon=True)
    reader.start()
    try:
        # generous waits: a loaded CI machine can take long to import viser and start serving
        assert _wait(lambda: any("in a browser" in ln for ln in lines), 120.0), lines
        import urllib.request

        html = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read(4000).lower()
        assert b"<html" in html
    finally:
        p.send_signal(2)  # Ctrl-C
        p.wait(timeout=90)
        reader.join(5)
    err = "".join(lines)
    assert p.returncode == 0, err
    assert f"open http://127.0.0.1:{port} in a browser" in err and "Traceback" not in err


def test_real_run_directory_and_live_hook(tmp_path: Path) -> None:
    """A run directory written by the real runner opens in the viewer; the live hook follows a real run."""
    from robocoord.runner import run
    from robocoord.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "amr_goto.yaml", ["horizon=40"])
    res = run(sc, out_dir=tmp_path / "amr")
    v = ReplayViewer(res.run_dir, port=0)
    try:
        assert v.n == sc.fleet.count and v.scene["kind"] == "amr" and v.obstacle_triangles > 0
        v.seek(40)
        assert np.allclose(v.body.batched_positions[:, :2], v.run.pos[-1, :, :2])
    finally:
        v.close()

    lv = LiveViewer(None, port=0, title="amr_goto live")
    seen: list[int] = []
    try:
        def hook(world, obs, cmd) -> None:
            lv.on_step(world, obs, cmd)
            seen.append(len(lv.frames))

        res2 = run(sc, on_step=hook)
        assert seen == list(range(1, 41))
        assert np.allclose(lv.body.batched_positions[:, :2], v.run.pos[-1, :, :2], atol=1e-5)
        lv.select(0)
        assert lv.selection_info()["goal"] == pytest.approx(
            np.asarray(sc.tasks.positions[0], float).tolist(), abs=1e-6)
        assert res2.summary == res.summary  # watching does not change the run
    finally:
        lv.close()
