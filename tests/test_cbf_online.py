"""The online_cbf controller in the runner: the learned policy only picks alpha and a nominal
rotation, the exact CBF-QP keeps every step safe (measured by the runner, not the controller)."""
from __future__ import annotations

import pytest

import robocoord
from conftest import SCENARIOS
from robocoord.errors import UserError
from robocoord.scenario import ControllerSpec


def test_online_cbf_keeps_separation_on_random_swaps():
    sc = robocoord.load_scenario(SCENARIOS / "cbf_random_swap.yaml", ["horizon=120"])
    res = robocoord.run(sc, controller=ControllerSpec(name="online_cbf"))
    s = res.summary
    assert s["collisions"] == 0 and s["safe_rate"] == 1.0 and s["min_clearance"] >= -1e-9
    assert s["diag_infeasible_qp"] == 0


def test_online_cbf_uavs_keep_separation():
    sc = robocoord.load_scenario(SCENARIOS / "cbf_circle_uav.yaml", ["horizon=80"])
    res = robocoord.run(sc, controller=ControllerSpec(name="online_cbf"))
    assert res.summary["collisions"] == 0 and res.summary["safe_rate"] == 1.0


def test_missing_weights_is_a_user_error(tmp_path):
    sc = robocoord.load_scenario(SCENARIOS / "cbf_circle_8.yaml", ["horizon=3"])
    with pytest.raises(UserError, match="weights not found"):
        robocoord.run(sc, controller=ControllerSpec(name="online_cbf", params={"weights": str(tmp_path)}))


def test_online_cbf_treats_arena_walls_as_obstacles():
    sc = robocoord.load_scenario(SCENARIOS / "cbf_obstacle_field.yaml", ["horizon=150"])
    res = robocoord.run(sc, controller=ControllerSpec(name="online_cbf"))
    assert res.summary["obstacle_contacts"] == 0 and res.summary["collisions"] == 0
