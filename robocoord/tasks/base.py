"""The contract between a domain task and the continuous world.

A :class:`DomainTask` is the validated ``tasks:`` block of a scenario (its ``type`` literal is the
discriminator). When the world is built it becomes a :class:`TaskRuntime`, which

- places the robots (``layout``) — e.g. at the start of their reference paths;
- adds what the domain needs to the pybullet scene (``setup``) — users, parked cars, buildings;
- adds domain data to each observation (``observe`` → ``obs.extras``) — paths, users, BEV grids;
- measures the domain's metrics after each step (``after_step``) from the world and the
  controller's ``Commands.decisions`` — the controller's own account of its performance is never
  used, the task recomputes it (rates from the channel model, IoU against ground truth, ...);
- summarises them (``summary``) and describes static extras for the viewer (``scene``).
"""
from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from robocoord.strict import Strict

if TYPE_CHECKING:  # pragma: no cover
    from robocoord.controller import Commands, Observation
    from robocoord.scenario import Scenario
    from robocoord.world import ContinuousWorld
    from robocoord.world_build import Layout


class TaskRuntime:
    """Per-run state of a domain task; override the hooks the domain needs."""

    lifelong: bool = False  # True: reaching a goal issues a new one (throughput counts them)
    tolerance: float = 0.1  # distance at which a goal counts as reached (m)

    @abstractmethod
    def layout(self, world: "ContinuousWorld", rng: np.random.Generator) -> "Layout":
        """Starts, goals and yaw of the fleet (metres). ``world`` has model, grid, bounds, polys, n, dim."""

    def setup(self, world: "ContinuousWorld") -> None:
        """Add bodies to ``world.scene`` once the robots exist."""

    def observe(self, world: "ContinuousWorld", obs: "Observation") -> None:
        """Fill ``obs.extras`` for this step."""

    def after_step(self, world: "ContinuousWorld", cmd: "Commands") -> dict[str, float]:
        """Per-step domain metrics (become time-series columns)."""
        return {}

    def summary(self) -> dict[str, Any]:
        """Domain summary metrics (deterministic: no wall-clock values)."""
        return {}

    def timing(self) -> dict[str, float]:
        """Wall-clock measurements (kept apart from the summary)."""
        return {}

    def scene(self) -> dict[str, Any]:
        """Static extras for the viewer (JSON-serialisable)."""
        return {}

    def close(self) -> None:
        pass


class DomainTask(Strict):
    """Base of a domain's ``tasks:`` block. Subclasses declare ``type: Literal["..."]``."""

    metrics: ClassVar[tuple[str, ...]] = ()  # summary keys the runtime produces (for `metrics:`)
    kinds: ClassVar[frozenset[str]] = frozenset({"amr", "uav", "cav"})
    fidelities: ClassVar[frozenset[str]] = frozenset({"kinematic", "physics"})

    def problems(self, sc: "Scenario") -> list[tuple[str, str]]:
        """Checks that need the whole scenario (files exist, counts agree); (field path, message)."""
        return []

    def resolved(self, sc: "Scenario") -> dict[str, Any]:
        """This block as plain data with absolute file paths (written into run directories)."""
        return self.model_dump(mode="json")

    @abstractmethod
    def runtime(self, sc: "Scenario", rng: np.random.Generator) -> TaskRuntime:
        """Build the per-run state (heavy imports go here)."""
