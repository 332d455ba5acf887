"""Robot kinds: one module per dynamics model (VMAS-style), all behind :class:`RobotModel`."""
from __future__ import annotations

from sim.robots.base import RobotModel

ROBOT_KINDS: dict[str, str] = {
    "amr": "sim.robots.amr:AmrModel",
    "uav": "sim.robots.uav:UavModel",
    "cav": "sim.robots.cav:CavModel",
}


def robot_model_class(kind: str) -> type[RobotModel]:
    """Return the model class for a robot kind name (``amr``, ``uav``, ``cav``)."""
    import importlib

    if kind not in ROBOT_KINDS:
        raise KeyError(f"unknown robot kind {kind!r}; known: {', '.join(sorted(ROBOT_KINDS))}")
    module, attr = ROBOT_KINDS[kind].split(":")
    return getattr(importlib.import_module(module), attr)


__all__ = ["RobotModel", "ROBOT_KINDS", "robot_model_class"]
