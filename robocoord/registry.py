"""Controllers registered by name: built-ins plus the entry-point group ``robocoord.controllers``.

A scenario names a controller; it never carries an import path, so no scenario can run code of its
choosing. Third-party packages register in their ``pyproject.toml``::

    [project.entry-points."robocoord.controllers"]
    my_planner = "my_package.controllers:MyPlanner"
"""
from __future__ import annotations

import importlib
from functools import lru_cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from pydantic import ValidationError

from robocoord.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from robocoord.controller import Controller
    from robocoord.scenario import ControllerSpec, Scenario

ENTRY_POINT_GROUP = "robocoord.controllers"

# name -> "module:Class"; imported lazily so `robocoord list` stays fast and torch loads only when used.
BUILTINS: dict[str, str] = {
    "goto": "robocoord.controllers.goto:GoTo",
}


@lru_cache(maxsize=1)
def _builtin_catalogue() -> dict[str, str]:
    """BUILTINS plus each domain's ``robocoord/controllers/catalogue_<domain>.py`` ``CONTROLLERS`` dict.

    One small catalogue file per domain keeps the domains independent; the files hold only strings
    (no imports), so reading them stays cheap.
    """
    import pkgutil

    import robocoord.controllers as pkg

    found = dict(BUILTINS)
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("catalogue_"):
            mod = importlib.import_module(f"{pkg.__name__}.{info.name}")
            for name, target in mod.CONTROLLERS.items():
                if name in found:
                    raise RuntimeError(f"controller {name!r} registered twice ({info.name})")
                found[name] = target
    return found


@lru_cache(maxsize=1)
def _plugins() -> dict[str, str]:
    found = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in _builtin_catalogue():  # built-ins win: a plug-in cannot shadow them
            found[ep.name] = ep.value
    return found


def controller_names() -> list[str]:
    return sorted({**_builtin_catalogue(), **_plugins()})


def controller_class(name: str) -> type["Controller"]:
    target = _builtin_catalogue().get(name) or _plugins().get(name)
    if target is None:
        raise UserError(f"unknown controller {name!r}; registered: {', '.join(controller_names())}")
    module, _, attr = target.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise UserError(f"controller {name!r} is registered as {target!r} but cannot be loaded: {exc}") from None
    return cls


def check_controller(spec: "ControllerSpec", sc: "Scenario") -> list[tuple[str, str]]:
    """Problems with a controller entry: unknown name, bad params, unsupported kind or fidelity."""
    from robocoord.scenario import _problems

    try:
        cls = controller_class(spec.name)
    except UserError as exc:
        return [("name", str(exc))]
    problems = []
    try:
        cls.Params.model_validate(spec.params)
    except ValidationError as exc:
        problems += _problems(exc, "params")
    if sc.fleet.kind not in cls.kinds:
        problems.append(("name", f"controller {spec.name!r} drives {sorted(cls.kinds)}, not {sc.fleet.kind!r} robots"))
    if sc.fidelity not in cls.fidelities:
        problems.append(("name", f"controller {spec.name!r} supports fidelity {sorted(cls.fidelities)}, not {sc.fidelity!r}"))
    return problems


def make_controller(spec: "ControllerSpec") -> "Controller":
    cls = controller_class(spec.name)
    return cls(cls.Params.model_validate(spec.params))
