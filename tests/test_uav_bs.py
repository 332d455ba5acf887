"""Domain task uav_bs and the uav_* controllers: rates measured by the task, determinism, safety."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import robocoord
from conftest import SCENARIOS
from robocoord.controller import Commands, Observation
from robocoord.controllers.uav_common import separation_filter
from robocoord.scenario import ControllerSpec
from sim.radio import link_gain, rates

URBAN = SCENARIOS / "uav_bs_urban.yaml"


def _runtime(overrides=()):
    sc = robocoord.load_scenario(URBAN, list(overrides))
    rt = sc.tasks.runtime(sc, np.random.default_rng(0))
    world = SimpleNamespace(bounds=(0.0, 0.0, 1000.0, 1000.0), n=sc.fleet.count,
                            model=SimpleNamespace(spawn_height=100.0))
    lay = rt.layout(world, np.random.default_rng(0))
    world.state = SimpleNamespace(pos=lay.starts.copy(), vel=np.zeros_like(lay.starts))
    return sc, rt, world


def test_layout_ring_at_altitude_and_users_in_area():
    sc, rt, world = _runtime()
    pos = world.state.pos
    assert pos.shape == (4, 3) and np.allclose(pos[:, 2], 100.0)
    assert np.allclose(np.linalg.norm(pos[:, :2] - 500.0, axis=1), 100.0)
    obs = Observation(step=0, time=0.0, goals=pos.copy(), reached=np.zeros(4, bool))
    rt.observe(world, obs)
    ex = obs.extras["uav_bs"]
    assert ex["users"].shape == (40, 2) and ex["gain"].shape == (4, 40)
    assert ex["users"].min() >= 0 and ex["users"].max() <= 1000
    assert np.allclose(ex["gain"], link_gain(pos, ex["users"], rt.radio))


def test_task_measures_rates_itself():
    sc, rt, world = _runtime()
    obs = Observation(step=0, time=0.0, goals=world.state.pos.copy(), reached=np.zeros(4, bool))
    rt.observe(world, obs)
    users = obs.extras["uav_bs"]["users"]
    assoc = np.arange(40) % 4
    sub = (np.arange(40) // 4) % 8
    expect, _ = rates(link_gain(world.state.pos, users, rt.radio), assoc, sub, rt.radio)
    # a controller's own claims in decisions are ignored; only the assignment counts
    m = rt.after_step(world, Commands(velocity=np.zeros((4, 3)), decisions={
        "assoc": assoc, "subchannel": sub, "sum_rate_mbps": 1e9}))
    assert m["sum_rate_mbps"] == pytest.approx(expect.sum() / 1e6)
    assert m["served"] == 40 and m["sep_violations"] == 0
    assert m["power_w"] == pytest.approx(4 * 168.49)  # hovering, Zeng et al. P0 + Pi
    # no decision -> nobody served, counted
    m = rt.after_step(world, Commands(velocity=np.zeros((4, 3))))
    assert m["sum_rate_mbps"] == 0 and m["served"] == 0
    s = rt.summary()
    assert s["missing_decisions"] == 1
    assert s["mean_sum_rate_mbps"] == pytest.approx(expect.sum() / 2e6, rel=1e-5)
    assert s["energy_kj"] == pytest.approx(2 * 4 * 168.49 / 1e3, rel=1e-5)
    with pytest.raises(ValueError, match="decisions"):
        rt.after_step(world, Commands(velocity=np.zeros((4, 3)), decisions={"assoc": np.zeros(3)}))


def test_separation_violations_counted():
    sc, rt, world = _runtime()
    world.state.pos[1, :2] = world.state.pos[0, :2] + [10.0, 0.0]
    m = rt.after_step(world, Commands(velocity=np.zeros((4, 3)), decisions={"assoc": np.full(40, -1)}))
    assert m["sep_violations"] == 1 and rt.summary()["min_uav_separation"] == pytest.approx(10.0)


def test_layout_seed_changes_users_only():
    _, a, _ = _runtime()
    _, b, _ = _runtime(["tasks.users.layout_seed=7"])
    assert not np.allclose(a.users_xy(), b.users_xy())


def test_bad_altitude_is_a_user_error():
    with pytest.raises(robocoord.errors.UserError, match="altitude"):
        robocoord.load_scenario(URBAN, ["tasks.altitude=300"])


@pytest.mark.parametrize("name", ["uav_ga_matr", "uav_mappo_mlp", "uav_kmeans_milp", "uav_milp_oracle",
                                  "uav_random_walk"])
def test_controllers_run_safely(name):
    sc = robocoord.load_scenario(URBAN, ["horizon=15"])
    s = robocoord.run(sc, controller=ControllerSpec(name=name)).summary
    assert s["sep_violations"] == 0 and s["collisions"] == 0 and s["missing_decisions"] == 0
    assert s["mean_sum_rate_mbps"] > 0 and 0 < s["jain_avg"] <= 1


def test_policy_uses_its_training_layer():
    from robocoord.controllers.uav_policy import GaMatr

    sc = robocoord.load_scenario(URBAN, ["horizon=2"])
    for weights, layer in [("gat", "fair"), ("gat_sumrate", "greedy_sumrate")]:
        c = GaMatr(GaMatr.Params(weights=weights))
        c.reset(SimpleNamespace(scenario=sc, model=SimpleNamespace(params=SimpleNamespace(max_speed=10.0))))
        assert c.resource_mode == layer
    c = GaMatr(GaMatr.Params(weights="gat", resources="milp_sumrate"))
    c.reset(SimpleNamespace(scenario=sc, model=SimpleNamespace(params=SimpleNamespace(max_speed=10.0))))
    assert c.resource_mode == "milp_sumrate"


def test_same_seed_same_summary():
    sc = robocoord.load_scenario(URBAN, ["horizon=10", "tasks.users.mobility=hotspot"])
    a = robocoord.run(sc, controller=ControllerSpec(name="uav_random_walk")).summary
    b = robocoord.run(sc, controller=ControllerSpec(name="uav_random_walk")).summary
    assert a == b


def test_physics_fidelity_holds_altitude():
    sc = robocoord.load_scenario(SCENARIOS / "uav_bs_physics.yaml", ["horizon=6"])
    res = robocoord.run(sc, controller=ControllerSpec(name="uav_ga_matr"))
    assert res.summary["sep_violations"] == 0 and res.summary["mean_sum_rate_mbps"] > 0
    assert res.summary["energy_kj"] > 0


def test_separation_filter_head_on():
    pos = np.array([[0.0, 0.0], [100.0, 0.0], [50.0, 60.0]])
    v = np.array([[10.0, 0.0], [-10.0, 0.0], [0.0, -10.0]])
    p = pos.copy()
    dmin = 40.0
    for _ in range(20):
        v_safe = separation_filter(p, v, 1.0, dmin, 10.0)
        p = p + v_safe
        d = np.linalg.norm(p[:, None] - p[None], axis=-1)[np.triu_indices(3, 1)]
        assert d.min() >= 0.95 * dmin  # approximate filter; controllers add a 20 m margin on top
    assert np.allclose(separation_filter(pos, v * 0.1, 1.0, dmin, 10.0), v * 0.1)  # far apart: untouched
