"""Passing-order schedules executed in the world: measured completion times agree with the exact
evaluator within one step, zero contacts; malformed paths give one clear error."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from robocoord.errors import UserError
from robocoord.runner import run
from robocoord.scenario import ControllerSpec, scenario_from_dict

BASE = {
    "name": "sched_test", "seed": 1, "fidelity": "kinematic", "dt": 0.1, "horizon": 300,
    "world": {"arena": [14, 14]},
    "fleet": {"kind": "amr", "count": 6, "params": {"radius": 0.3, "max_speed": 1.0}},
    "tasks": {"type": "paths", "generator": {"kind": "open_area", "density": 0.8},
              "speed": 0.8, "tolerance": 0.05},
    "controller": {"name": "schedule_fifo"},
}


def _sc(**changes):
    d = copy.deepcopy(BASE)
    for k, v in changes.items():
        d[k] = v
    return scenario_from_dict(d)


@pytest.mark.parametrize("ctrl", [("schedule_fifo", {}), ("schedule_milp", {"time_limit": 5}),
                                  ("schedule_random", {"k": 8})])
def test_measured_completion_matches_the_evaluator_without_contacts(ctrl):
    name, params = ctrl
    r = run(_sc(), controller=ControllerSpec(name=name, params=params))
    s = r.summary
    assert s["completed"] == 6
    assert s["completion_error_steps"] <= 1.0 + 1e-9
    assert s["robot_contacts"] == 0
    assert s["mean_completion"] == pytest.approx(s["planned_mean_completion"], abs=0.1)


def test_waiting_actually_happens_and_matches():
    """A dense instance where the plan makes robots wait (planned > nominal) is still met."""
    r = run(_sc(), controller=ControllerSpec(name="schedule_fifo"))
    assert r.summary["completion_error_steps"] <= 1.0 + 1e-9
    assert r.summary["min_clearance"] > 0


def _paths_task(paths):
    d = copy.deepcopy(BASE)
    d["fleet"]["count"] = len(paths)
    d["tasks"] = {"type": "paths", "paths": paths, "speed": 0.8}
    return d


@pytest.mark.parametrize("paths, field, words", [
    ([[[1, 1], [5, float("nan")]], [[1, 5], [5, 5]]], "tasks.paths.0", "NaN"),
    ([[[1, 1], [1, 1]], [[1, 5], [5, 5]]], "tasks.paths.0", "length"),
])
def test_malformed_paths_name_the_field(paths, field, words):
    with pytest.raises(UserError) as exc:
        scenario_from_dict(_paths_task(paths))
    msg = str(exc.value)
    assert field in msg and words.lower() in msg.lower()


def test_robots_sharing_a_start_are_rejected():
    sc = scenario_from_dict(_paths_task([[[1, 1], [6, 6]], [[1.1, 1], [6, 1]]]))
    with pytest.raises(UserError, match=r"tasks.paths: robots 0 and 1 share a start"):
        run(sc)


def test_path_count_must_match_the_fleet():
    d = _paths_task([[[1, 1], [6, 6]], [[1, 5], [6, 1]]])
    d["fleet"]["count"] = 3
    with pytest.raises(UserError, match=r"tasks.paths.*expected 3 paths"):
        scenario_from_dict(d)


def test_explicit_crossing_paths_keep_their_order_and_distance():
    # two robots cross at (5, 5); the schedule lets one pass first
    sc = scenario_from_dict(_paths_task([[[1, 5], [9, 5]], [[5, 1], [5, 9]]]))
    r = run(sc, controller=ControllerSpec(name="schedule_fifo"))
    assert r.summary["completed"] == 2
    assert r.summary["robot_contacts"] == 0
    assert r.summary["completion_error_steps"] <= 1.0 + 1e-9
    assert r.summary["max_completion"] > 8 / 0.8  # one of them waited


@pytest.mark.slow
@pytest.mark.xfail(reason="known shortfall: in physics the AMRs lag their timetable (wheel "
                          "dynamics, drift ~0.1 m) and touch (clearance ~ -1e-4 m) at a few "
                          "crossings; the interlock only guards event order", strict=False)
def test_physics_runs_the_plan_without_contacts():
    r = run(_sc(fidelity="physics"), controller=ControllerSpec(name="schedule_fifo"))
    assert r.summary["completed"] == 6
    assert r.summary["robot_contacts"] == 0
    assert np.isfinite(r.summary["completion_error_steps"])
