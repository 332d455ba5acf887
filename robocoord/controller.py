"""The controller contract (DESIGN.md §3): ``reset(context)``, then ``act(observation) -> Commands``.

A controller is small enough to read whole::

    class Hold(Controller):
        name = "hold"
        def act(self, obs):
            return Commands(velocity=np.zeros((obs.n, self.context.dim)))

Centralised controllers may read the whole :class:`Observation`. Controllers with
``decentralised = True`` promise to use only per-agent local information
(:meth:`Observation.neighbours`, own state and goal); the runner computes safety itself and never
trusts a controller's own account of it.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Optional

import numpy as np
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:  # pragma: no cover
    from shapely.geometry import Polygon

    from robocoord.scenario import Scenario
    from sim.maps import GridMap
    from sim.robots.base import RobotModel
    from sim.state import FleetState


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass
class Context:
    """What a controller may know before the first step."""

    scenario: "Scenario"
    rng: np.random.Generator
    n: int
    dt: float
    fidelity: str
    kind: str
    dim: int  # 2 for ground robots, 3 for UAVs; grid fidelity: 2 (row, col)
    radius: float  # robot bounding radius (m); grid: 0.5 cell
    model: Optional["RobotModel"] = None  # None in grid fidelity
    grid: Optional["GridMap"] = None  # the map (grid fidelity, or continuous worlds built from a map)
    cell_size: float = 1.0
    obstacles: list["Polygon"] = field(default_factory=list)  # static obstacles in world coordinates
    bounds: tuple[float, float, float, float] | None = None  # xmin, ymin, xmax, ymax of the world


@dataclass
class Observation:
    """What the world shows at one step.

    Grid fidelity: ``cells`` (N, 2) int (row, col) and ``goals`` as cells; ``state`` is None.
    Continuous fidelities: ``state`` (positions, yaw, velocities) and ``goals`` (N, dim) in metres.
    """

    step: int
    time: float
    goals: np.ndarray
    reached: np.ndarray  # (N,) bool: reached its current goal (one-shot tasks: stays True)
    state: Optional["FleetState"] = None
    cells: Optional[np.ndarray] = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.goals.shape[0])

    @property
    def positions(self) -> np.ndarray:
        """(N, dim) positions: cells in grid fidelity, metres otherwise (xy for ground robots)."""
        if self.cells is not None:
            return self.cells
        assert self.state is not None
        return self.state.pos[:, : self.goals.shape[1]]

    def neighbours(self, radius: float, k: int | None = None) -> list[np.ndarray]:
        """Indices of the agents within ``radius`` of each agent (nearest first, at most ``k``)."""
        p = self.positions.astype(float)
        out: list[np.ndarray] = []
        for start in range(0, len(p), 1024):  # chunked: O(N^2) memory would explode at 10k agents
            d = np.linalg.norm(p[start:start + 1024, None, :] - p[None, :, :], axis=-1)
            for row, i in enumerate(range(start, min(start + 1024, len(p)))):
                d[row, i] = np.inf
                idx = np.flatnonzero(d[row] <= radius)
                idx = idx[np.argsort(d[row, idx], kind="stable")]
                out.append(idx[:k] if k is not None else idx)
        return out


@dataclass
class Commands:
    """A controller's output for one step; give exactly one of ``velocity``, ``control``, ``actions``.

    - ``velocity``: (N, dim) desired world-frame velocities; each robot kind tracks them.
    - ``control``: (N, k) native controls of the robot kind (``model.control_names``).
    - ``actions``: (N,) grid actions, POGEMA order 0 wait, 1 up, 2 down, 3 left, 4 right.
    ``decisions`` carries non-motion choices a domain task acts on (UAV user/subchannel assignment,
    collaborators the ego accepts in fusion...); the task measures their effect itself.
    ``diagnostics`` are the controller's own counters for this step (e.g. ``{"infeasible_qp": 3}``),
    summed into the summary as ``diag_<name>``: for diagnosis only, never a safety metric.
    ``overlay`` is recorded for the viewer (planned paths, alphas, flags...); keep it JSON-serialisable.
    """

    velocity: Optional[np.ndarray] = None
    control: Optional[np.ndarray] = None
    actions: Optional[np.ndarray] = None
    decisions: Optional[dict[str, Any]] = None
    diagnostics: Optional[dict[str, float]] = None
    overlay: Optional[dict[str, Any]] = None

    def which(self) -> str:
        given = [k for k in ("velocity", "control", "actions") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"Commands needs exactly one of velocity/control/actions, got {given or 'none'}")
        return given[0]


class Controller(ABC):
    """Base class of every controller; subclasses set ``name`` and implement :meth:`act`."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = NoParams
    kinds: ClassVar[frozenset[str]] = frozenset({"amr", "uav", "cav"})
    fidelities: ClassVar[frozenset[str]] = frozenset({"grid", "kinematic", "physics"})
    decentralised: ClassVar[bool] = False

    def __init__(self, params: BaseModel | None = None) -> None:
        self.params = params if params is not None else self.Params()
        self.context: Context

    def reset(self, context: Context) -> None:
        """Called once before the first step; keep ``context`` and precompute what you need."""
        self.context = context

    @abstractmethod
    def act(self, obs: Observation) -> Commands:
        """Return the commands for this step."""

    def close(self) -> None:
        """Release resources (solver processes, worker pools)."""
