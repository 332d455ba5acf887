"""Grid plans executed by AMRs through the action dependency graph: nobody collides, everybody arrives."""
from __future__ import annotations

import json

import robocoord
from conftest import SCENARIOS, run_cli


def test_kinematic_execution_is_safe_and_complete(tmp_path):
    sc = robocoord.load_scenario(SCENARIOS / "warehouse_physics.yaml", ["fidelity=kinematic"])
    res = robocoord.run(sc, out_dir=tmp_path / "k")
    s = res.summary
    assert s["finish_rate"] == 1.0 and s["collisions"] == 0 and s["robot_contacts"] == 0
    assert s["min_clearance"] > 0
    last = (tmp_path / "k" / "overlays.jsonl").read_text().strip().splitlines()[-1]
    assert "path_cells" in json.loads(last)          # the plan is shown in the viewer


def test_physics_execution_has_no_contacts():
    res = robocoord.run(robocoord.load_scenario(SCENARIOS / "warehouse_physics.yaml"))
    s = res.summary
    assert s["robot_contacts"] == 0 and s["obstacle_contacts"] == 0 and s["finish_rate"] == 1.0


def test_continuous_starts_sharing_a_cell_are_a_clear_error():
    r = run_cli("run", str(SCENARIOS / "warehouse_physics.yaml"), "--quiet", "--set", "fidelity=kinematic",
                "--set", "fleet.count=2", "--set", "fleet.start.layout=list",
                "--set", "fleet.start.positions=[[0.3, 0.5], [0.75, 0.5]]")
    assert r.returncode == 2, r.stderr
    assert "same grid cell" in r.stderr and "Traceback" not in r.stderr
