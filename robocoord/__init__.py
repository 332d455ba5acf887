"""robocoord: multi-robot coordination on pybullet worlds, evaluated against MILP baselines.

Python API::

    import robocoord
    sc = robocoord.load_scenario("scenarios/amr_goto.yaml")
    result = robocoord.run(sc)
    print(result.summary)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["load_scenario", "run", "Result", "Scenario", "Controller", "Commands", "Observation", "Context"]

if TYPE_CHECKING:  # pragma: no cover
    from robocoord.controller import Commands, Context, Controller, Observation
    from robocoord.runner import Result, run
    from robocoord.scenario import Scenario, load_scenario

_LAZY = {
    "load_scenario": "robocoord.scenario", "Scenario": "robocoord.scenario",
    "run": "robocoord.runner", "Result": "robocoord.runner",
    "Controller": "robocoord.controller", "Commands": "robocoord.controller",
    "Observation": "robocoord.controller", "Context": "robocoord.controller",
}


def __getattr__(name: str) -> Any:  # lazy: `import robocoord` must not pull in pybullet or torch
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
