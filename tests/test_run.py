"""`robocoord run` end to end: every robot kind in every fidelity, determinism across processes, GUI check."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import robocoord
from conftest import SCENARIOS, run_cli
from robocoord.cli import main


@pytest.mark.parametrize("name", ["amr_goto", "uav_goto", "cav_goto"])
@pytest.mark.parametrize("fidelity", ["kinematic", "physics"])
def test_run_every_kind_headless(tmp_path, capsys, name, fidelity):
    out = tmp_path / "run"
    code = main(["run", name, "--quiet", "--out", str(out), "--set", f"fidelity={fidelity}"])
    text = capsys.readouterr().out
    assert code == 0, text
    for f in ("scenario.yaml", "summary.json", "timing.json", "timeseries.csv", "scene.json", "replay.npz"):
        assert (out / f).is_file(), f
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] > 0 and summary["agents"] >= 3
    # goto drives every robot of these scenarios to its goal with nobody in the way.
    assert summary["finish_rate"] == 1.0, summary
    assert summary["robot_contacts"] == 0 and summary["collisions"] == 0
    replay = np.load(out / "replay.npz")
    assert replay["pos"].shape[1:] == (summary["agents"], 3)
    assert "goto" in text and "finish_rate" in text


def test_run_grid_lifelong(tmp_path):
    res = robocoord.run(robocoord.load_scenario(SCENARIOS / "grid_goto.yaml"), out_dir=tmp_path / "g")
    assert res.summary["goals_reached"] > 0
    assert res.summary["vertex_conflicts"] + res.summary["edge_conflicts"] >= 0
    assert (tmp_path / "g" / "summary.json").is_file()


def test_grid_positions_stay_distinct_and_on_free_cells(tmp_path):
    sc = robocoord.load_scenario(SCENARIOS / "grid_goto.yaml", ["fleet.count=64", "horizon=40"])
    res = robocoord.run(sc, out_dir=tmp_path / "g")
    pos = np.load(tmp_path / "g" / "replay.npz")["pos"]
    for frame in pos:
        assert len({tuple(p) for p in np.round(frame[:, :2], 3)}) == 64
    assert res.summary["steps"] == 40


def test_baselines_run_side_by_side(tmp_path, capsys):
    code = main(["run", "amr_goto", "--quiet", "--out", str(tmp_path / "r"), "--set",
                 "baselines=[{name: goto, label: slow_goto, params: {max_speed: 0.3}}]", "--set", "horizon=30"])
    text = capsys.readouterr().out
    assert code == 0 and "slow_goto" in text
    fast = json.loads((tmp_path / "r" / "summary.json").read_text())
    slow = json.loads((tmp_path / "r" / "baselines" / "slow_goto" / "summary.json").read_text())
    assert slow["path_length"] < fast["path_length"]


@pytest.mark.parametrize("name, sets", [("grid_goto", []), ("amr_goto", ["horizon=60"]),
                                        ("uav_goto", ["fidelity=physics", "horizon=40"])])
def test_same_seed_same_summary_in_two_processes(tmp_path, name, sets):
    outs = []
    for k in range(2):
        args = ["run", name, "--quiet", "--out", str(tmp_path / f"r{k}"), "--seed", "7"]
        for s in sets:
            args += ["--set", s]
        proc = run_cli(*args)
        assert proc.returncode == 0, proc.stderr
        outs.append((tmp_path / f"r{k}" / "summary.json").read_bytes())
    assert outs[0] == outs[1]


def test_other_seed_other_layout(tmp_path):
    sc = robocoord.load_scenario(SCENARIOS / "grid_goto.yaml", ["horizon=30"])
    a = robocoord.run(sc, seed=1).summary
    b = robocoord.run(sc, seed=2).summary
    assert a != b


def test_gui_without_display_says_so(tmp_path):
    proc = run_cli("run", "amr_goto", "--gui", "--out", str(tmp_path / "x"))
    assert proc.returncode == 2
    assert "--gui needs a display" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x").exists()


@pytest.fixture
def display():
    """A display for --gui: the session's own, or a private Xvfb when one is installed."""
    import shutil
    import subprocess
    import time

    from sim.display import gui_available

    if gui_available()[0]:
        yield os.environ["DISPLAY"]
        return
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip(f"no display here ({gui_available()[1]}) and no Xvfb to make one")
    num = f":{90 + os.getpid() % 100}"
    proc = subprocess.Popen([xvfb, num, "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    try:
        yield num
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.gui
def test_gui_with_display(tmp_path, display, monkeypatch):
    monkeypatch.setenv("DISPLAY", display)
    proc = run_cli("run", "amr_goto", "--gui", "--quiet", "--set", "horizon=5", "--out", str(tmp_path / "x"),
                   keep_display=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "x" / "summary.json").is_file()


def test_list_and_schema(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "goto" in out and "amr_goto" in out and "uav" in out
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert {"world", "fleet", "controller", "horizon"} <= set(schema["properties"])


def test_view_flag_port_in_use_is_a_clear_error(tmp_path):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        proc = run_cli("run", "amr_goto", "--view", "--port", str(port), "--out", str(tmp_path / "v"))
    finally:
        s.close()
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert str(port) in proc.stderr
    assert not (tmp_path / "v").exists()


def test_view_flag_streams_a_live_run(tmp_path):
    pytest.importorskip("viser")
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = run_cli("run", "amr_goto", "--view", "--port", str(port), "--quiet", "--set", "horizon=10",
                   "--out", str(tmp_path / "v"))
    assert proc.returncode == 0, proc.stderr
    assert f"http://127.0.0.1:{port}" in proc.stderr
    assert (tmp_path / "v" / "summary.json").is_file()


def test_deadlock_flag_measured_by_the_runner():
    # Robots creeping at 0.5 mm/s make < 1 cm progress in 10 s: the runner flags a deadlock at 10 s.
    sc = robocoord.load_scenario(SCENARIOS / "amr_goto.yaml", ["horizon=120", "dt=0.1"])
    stuck = sc.controller.model_copy(update={"params": {"max_speed": 0.0005}})
    res = robocoord.run(sc, controller=stuck)
    assert res.summary["deadlock"] is True
    assert res.summary["deadlock_time"] == pytest.approx(10.0)
    free = robocoord.run(sc)
    assert free.summary["deadlock"] is False and free.summary["deadlock_time"] is None


def test_grid_starts_from_a_lorr_agents_file(tmp_path):
    (tmp_path / "m.map").write_text("type octile\nheight 3\nwidth 4\nmap\n....\n.@@.\n....\n")
    (tmp_path / "a.agents").write_text("3\n0\n3\n11\n")
    sc_text = ("name: f\nfidelity: grid\ndt: 1.0\nhorizon: 4\nworld: {map: {file: m.map}}\n"
               "fleet: {kind: amr, count: 3, start: {layout: file, file: a.agents}}\n"
               "tasks: {type: lifelong}\ncontroller: {name: pibt}\n")
    (tmp_path / "s.yaml").write_text(sc_text)
    res = robocoord.run(robocoord.load_scenario(tmp_path / "s.yaml"), out_dir=tmp_path / "out")
    replay = np.load(tmp_path / "out" / "replay.npz")
    # cell ids 0, 3, 11 on a 4-wide map: (0,0), (0,3), (2,3) -> x = col + 0.5, y = H - row - 0.5
    assert replay["pos"][0, :, :2].tolist() == [[0.5, 2.5], [3.5, 2.5], [3.5, 0.5]]
    assert res.summary["vertex_conflicts"] == 0
    (tmp_path / "a.agents").write_text("3\n0\n0\n11\n")
    r = run_cli("run", str(tmp_path / "s.yaml"), "--quiet")
    assert r.returncode == 2 and "fleet.start.file" in r.stderr and "same cell" in r.stderr
    assert "Traceback" not in r.stderr
