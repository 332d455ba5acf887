"""Walk the registry (VMAS/Gymnasium style): every controller loads, is exercised by a shipped
scenario, and runs a few steps of each shipped scenario that names it."""
from __future__ import annotations

import pytest

import robocoord
from conftest import SCENARIOS
from robocoord.registry import controller_class, controller_names
from robocoord.scenario import load_yaml


def _shipped() -> dict[str, list[str]]:
    users: dict[str, list[str]] = {}
    for f in sorted(SCENARIOS.glob("*.yaml")):
        data = load_yaml(f)
        for spec in [data.get("controller", {})] + list(data.get("baselines", [])):
            users.setdefault(spec.get("name"), []).append(f.stem)
    return users


@pytest.mark.parametrize("name", controller_names())
def test_controller_loads_and_declares_itself(name):
    cls = controller_class(name)
    assert cls.name == name
    assert cls.kinds and cls.fidelities
    cls.Params()  # defaults must validate: a scenario may omit params


def test_no_controller_forgotten():
    missing = set(controller_names()) - set(_shipped())
    assert not missing, f"controllers without a shipped scenario: {sorted(missing)}"


@pytest.mark.parametrize("scenario", sorted(p.stem for p in SCENARIOS.glob("*.yaml")))
def test_every_shipped_scenario_validates_and_steps(scenario):
    sc = robocoord.load_scenario(SCENARIOS / f"{scenario}.yaml", ["horizon=3"])
    for spec in [sc.controller] + sc.baselines:
        res = robocoord.run(sc, controller=spec)
        assert res.summary["steps"] >= 1
