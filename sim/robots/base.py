"""The contract every robot kind fulfils, in both continuous fidelities.

``kinematic``: the runner integrates :meth:`RobotModel.step_kinematic` (vectorised numpy) and only
mirrors poses into pybullet for collision and ray queries.
``physics``: :meth:`apply_physics` sets motors/forces, pybullet steps the dynamics, and
:meth:`read_physics` reads the state back.

Controllers speak in *desired world-frame velocities* (``dim`` components); each kind turns them into
its native controls with :meth:`velocity_to_control` (e.g. a unicycle via a near-identity
diffeomorphism, a car via a bicycle-model tracking law). Controllers may also send native controls.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from sim.state import FleetState


class RobotParams(BaseModel):
    """Base of each kind's parameter model; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class RobotModel(ABC):
    kind: ClassVar[str]
    dim: ClassVar[int]  # components of a velocity command: 2 (ground) or 3 (UAV)
    control_names: ClassVar[tuple[str, ...]]  # native control vector, e.g. ("v", "omega")
    Params: ClassVar[type[RobotParams]]

    def __init__(self, params: RobotParams | None = None) -> None:
        self.params = params if params is not None else self.Params()

    # --- geometry -------------------------------------------------------------------------------
    @property
    @abstractmethod
    def radius(self) -> float:
        """Radius of the bounding circle (ground) / sphere (UAV) used for separation metrics."""

    @property
    def spawn_height(self) -> float:
        """z of the body centre when standing on the ground (UAVs override with their altitude)."""
        return 0.0

    # --- kinematic fidelity ---------------------------------------------------------------------
    @abstractmethod
    def velocity_to_control(self, state: FleetState, v_des: np.ndarray) -> np.ndarray:
        """(N, dim) desired world velocity -> (N, len(control_names)) native controls, clamped."""

    @abstractmethod
    def step_kinematic(self, state: FleetState, control: np.ndarray, dt: float) -> FleetState:
        """Integrate the kind's model over ``dt`` (vectorised over N); returns a new state."""

    # --- physics fidelity -----------------------------------------------------------------------
    @abstractmethod
    def spawn(self, client: int, state: FleetState) -> list[int]:
        """Create one pybullet body per robot at ``state``; returns body ids."""

    @abstractmethod
    def apply_physics(self, client: int, bodies: list[int], state: FleetState,
                      control: np.ndarray, dt: float) -> None:
        """Set motors / forces for the next physics step(s) from native controls."""

    def physics_substep(self, client: int, bodies: list[int], physics_dt: float) -> None:
        """Called before every pybullet substep; re-apply forces that pybullet clears after each
        ``stepSimulation`` (a quadrotor's thrust). Default: nothing to do (motors persist)."""

    @abstractmethod
    def read_physics(self, client: int, bodies: list[int], previous: FleetState) -> FleetState:
        """Read the state of the bodies back from pybullet."""
