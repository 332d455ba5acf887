"""Domain tasks: what robots are asked to do beyond reaching goals (DESIGN.md §3 ``tasks``).

The core tasks (``goals``, ``lifelong``) live in :mod:`robocoord.scenario`. Each domain adds one
module here that defines a :class:`~robocoord.tasks.base.DomainTask` subclass and exports it as
``SPEC``; the scenario schema picks them all up, so a domain never edits the core schema. The
module must stay cheap to import (pydantic only): its heavy parts load in ``runtime()``.
"""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from robocoord.tasks.base import DomainTask, TaskRuntime

__all__ = ["DomainTask", "TaskRuntime", "domain_task_specs"]


@lru_cache(maxsize=1)
def domain_task_specs() -> tuple[type[DomainTask], ...]:
    specs = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name == "base" or info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        spec = getattr(mod, "SPEC", None)
        if spec is not None:
            specs.append(spec)
    return tuple(specs)
