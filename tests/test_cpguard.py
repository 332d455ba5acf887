"""CP-Guard perception task + defences in the runner: metrics from ground truth, decisions honoured."""
from __future__ import annotations

import pytest

import robocoord
from conftest import SCENARIOS
from robocoord.errors import UserError
from robocoord.scenario import ControllerSpec

FAST = ["horizon=4", "tasks.every=1", "tasks.n_traffic=4", "tasks.n_parked=4", "tasks.attack=noise",
        "tasks.eps=3.0", "tasks.attackers=2"]


def _run(name, extra=()):
    sc = robocoord.load_scenario(SCENARIOS / "cpguard_intersection.yaml", FAST + list(extra))
    return robocoord.run(sc, controller=ControllerSpec(name=name)).summary


def test_oracle_and_no_defence_detection_rates_measured_by_the_task():
    s = _run("fusion_oracle")
    assert s["frames"] == 4 and s["tpr"] == 1.0 and s["fpr"] == 0.0 and s["checks_per_frame"] == 0
    assert 0 <= s["vehicle_iou"] <= 100 and len(s["attacker_ids"].split(",")) == 2
    n = _run("fusion_none")
    assert n["tpr"] == 0.0 and n["fpr"] == 0.0
    assert n["attacker_ids"] == s["attacker_ids"]  # same seed, same attackers


def test_cpguard_checks_bounded_and_deterministic():
    a = _run("cpguard")
    b = _run("cpguard")
    assert a == b
    assert 1 <= a["checks_per_frame"] <= 9  # <= 2n - 1 for n = 5


def test_perception_task_validation():
    with pytest.raises(UserError, match="fleet.count"):
        robocoord.load_scenario(SCENARIOS / "cpguard_intersection.yaml", ["fleet.count=4"])
