"""The scenario: one typed, validated description of a run (DESIGN.md §3).

Loaded with ``yaml.safe_load`` only; unknown keys are errors; every problem is reported with the file,
the field path and what was expected (:class:`~robocoord.errors.ScenarioError`). Nothing in a scenario
is executed: the controller is named from the registry, never imported from a path.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import yaml
from pydantic import (
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from robocoord.errors import ScenarioError, UserError
from robocoord.strict import Point, PosFloat, Strict
from robocoord.tasks import DomainTask, domain_task_specs

Fidelity = Literal["grid", "kinematic", "physics"]
RobotKind = Literal["amr", "uav", "cav"]


# --- world ----------------------------------------------------------------------------------------
class BoxObstacle(Strict):
    type: Literal["box"]
    center: Annotated[list[float], Field(min_length=2, max_length=2)]
    size: Annotated[list[PosFloat], Field(min_length=2, max_length=2)]
    yaw: float = 0.0


class CircleObstacle(Strict):
    type: Literal["circle"]
    center: Annotated[list[float], Field(min_length=2, max_length=2)]
    radius: PosFloat


class PolygonObstacle(Strict):
    type: Literal["polygon"]
    points: Annotated[list[Annotated[list[float], Field(min_length=2, max_length=2)]], Field(min_length=3)]


Obstacle = Annotated[Union[BoxObstacle, CircleObstacle, PolygonObstacle], Field(discriminator="type")]


class MapSpec(Strict):
    """A grid map: a file (MovingAI/LoRR ``.map``, POGEMA ``.yaml``) or inline ascii ('.' free, '#' blocked)."""

    file: Optional[str] = None
    ascii: Optional[str] = None
    cell_size: PosFloat = 1.0
    obstacle_height: PosFloat = 1.0

    @model_validator(mode="after")
    def _one_source(self) -> "MapSpec":
        if (self.file is None) == (self.ascii is None):
            raise ValueError("give exactly one of 'file' or 'ascii'")
        return self


class WorldSpec(Strict):
    arena: Optional[Annotated[list[PosFloat], Field(min_length=2, max_length=2)]] = Field(
        default=None, description="[width, height] in metres; the arena spans [0,w] x [0,h]")
    map: Optional[MapSpec] = None
    obstacles: list[Obstacle] = Field(default_factory=list)
    walls: bool = Field(default=True, description="solid walls around the arena")
    grid_cell: PosFloat = Field(default=1.0, description="cell size when an arena is rasterised for grid fidelity")

    @model_validator(mode="after")
    def _arena_or_map(self) -> "WorldSpec":
        if self.arena is None and self.map is None:
            raise ValueError("give an 'arena' [width, height] or a 'map'")
        if self.arena is not None and self.map is not None:
            raise ValueError("give either 'arena' or 'map', not both (a map defines its own extent)")
        return self


# --- fleet ----------------------------------------------------------------------------------------
class StartSpec(Strict):
    layout: Literal["random", "circle", "line", "lattice", "list", "mark", "file", "cells"] = Field(
        default="random", description="cells: distinct random free cells of the map, at their centres")
    file: Optional[str] = Field(default=None, description="layout 'file' (grid fidelity): a LoRR .agents file")
    positions: Optional[list[Point]] = Field(default=None, description="layout 'list': [x, y(, z)], or [row, col] in grid fidelity")
    center: Optional[Annotated[list[float], Field(min_length=2, max_length=2)]] = None
    radius: Optional[PosFloat] = Field(default=None, description="layout 'circle'")
    mark: Optional[str] = Field(default=None, description="layout 'mark': a named cell set of the map, e.g. 'starts'")
    spacing: Optional[PosFloat] = Field(default=None, description="minimum centre distance (random) or pitch (lattice, line)")
    yaw: Union[float, Literal["face_goal"]] = "face_goal"

    @model_validator(mode="after")
    def _layout_fields(self) -> "StartSpec":
        if self.layout == "list" and not self.positions:
            raise ValueError("layout 'list' needs 'positions'")
        if self.layout == "mark" and not self.mark:
            raise ValueError("layout 'mark' needs 'mark' (a named cell set of the map)")
        if self.layout == "file" and not self.file:
            raise ValueError("layout 'file' needs 'file' (a LoRR .agents file)")
        return self


class FleetSpec(Strict):
    kind: RobotKind
    count: Annotated[int, Field(ge=1, le=100_000)]
    params: dict[str, Any] = Field(default_factory=dict, description="dynamics parameters of the robot kind")
    start: StartSpec = Field(default_factory=StartSpec)


# --- tasks ----------------------------------------------------------------------------------------
class GoalsTask(Strict):
    """One goal per robot; a robot that reaches its goal is done (it may keep being pushed around)."""

    type: Literal["goals"] = "goals"
    layout: Literal["antipodal", "random", "swap", "list", "mark", "cells"] = "random"
    positions: Optional[list[Point]] = None
    mark: Optional[str] = None
    tolerance: PosFloat = Field(default=0.1, description="distance at which a continuous goal counts as reached (m)")

    @model_validator(mode="after")
    def _layout_fields(self) -> "GoalsTask":
        if self.layout == "list" and not self.positions:
            raise ValueError("layout 'list' needs 'positions'")
        if self.layout == "mark" and not self.mark:
            raise ValueError("layout 'mark' needs 'mark'")
        return self


class LifelongTask(Strict):
    """A new goal as soon as the current one is reached (POGEMA LMAPF protocol, DESIGN §4.1)."""

    type: Literal["lifelong"]
    stream: Literal["uniform", "mark", "tasks_file"] = "uniform"
    mark: Optional[str] = Field(default=None, description="stream 'mark': named cell set to draw goals from, e.g. 'goals'")
    tasks_file: Optional[str] = Field(default=None, description="stream 'tasks_file': a LoRR .tasks file")
    tolerance: PosFloat = 0.1

    @model_validator(mode="after")
    def _stream_fields(self) -> "LifelongTask":
        if self.stream == "mark" and not self.mark:
            raise ValueError("stream 'mark' needs 'mark'")
        if self.stream == "tasks_file" and not self.tasks_file:
            raise ValueError("stream 'tasks_file' needs 'tasks_file'")
        return self


# Core tasks plus every domain's (robocoord/tasks/<domain>.py), discriminated by `type`.
Task = Annotated[Union[(GoalsTask, LifelongTask, *domain_task_specs())], Field(discriminator="type")]


# --- controller, output ---------------------------------------------------------------------------
class ControllerSpec(Strict):
    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    label: Optional[str] = Field(default=None, description="row name in tables (default: the name)")

    @property
    def display(self) -> str:
        return self.label or self.name


class OutputSpec(Strict):
    replay: bool = Field(default=True, description="write replay.npz for the viewer")
    replay_every: Annotated[int, Field(ge=1)] = 1
    timeseries: bool = True


class Scenario(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    seed: Annotated[int, Field(ge=0)] = 0
    fidelity: Fidelity = "kinematic"
    dt: PosFloat = 0.1
    horizon: Annotated[int, Field(ge=1, le=10_000_000)] = Field(description="number of control steps")
    physics_dt: PosFloat = Field(default=1.0 / 240.0, description="pybullet substep in physics fidelity")
    world: WorldSpec
    fleet: FleetSpec
    tasks: Task = Field(default_factory=GoalsTask)
    controller: ControllerSpec
    baselines: list[ControllerSpec] = Field(default_factory=list)
    metrics: list[str] = Field(default_factory=list, description="summary metrics shown in the table (default: all)")
    output: OutputSpec = Field(default_factory=OutputSpec)

    _base_dir: Path = PrivateAttr(default=Path("."))
    _source: str = PrivateAttr(default="<scenario>")

    @model_validator(mode="after")
    def _physics_rate(self) -> "Scenario":
        if self.fidelity == "physics":
            ratio = self.dt / self.physics_dt
            if abs(ratio - round(ratio)) > 1e-6 or round(ratio) < 1:
                raise ValueError(f"dt ({self.dt}) must be a whole multiple of physics_dt ({self.physics_dt})")
        return self

    @property
    def base_dir(self) -> Path:
        return self._base_dir

    @property
    def source(self) -> str:
        return self._source

    def resolve_path(self, relative: str) -> Path:
        """Paths in a scenario are relative to the scenario file's folder."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else (self._base_dir / p)

    def resolved(self) -> dict[str, Any]:
        """The scenario as plain data with absolute file paths (written into run directories)."""
        data = self.model_dump(mode="json")
        if self.world.map and self.world.map.file:
            data["world"]["map"]["file"] = str(self.resolve_path(self.world.map.file).resolve())
        if isinstance(self.tasks, LifelongTask) and self.tasks.tasks_file:
            data["tasks"]["tasks_file"] = str(self.resolve_path(self.tasks.tasks_file).resolve())
        if self.fleet.start.file:
            data["fleet"]["start"]["file"] = str(self.resolve_path(self.fleet.start.file).resolve())
        if isinstance(self.tasks, DomainTask):
            data["tasks"] = self.tasks.resolved(self)
        return data

    def with_changes(self, **changes: Any) -> "Scenario":
        """A validated copy with top-level fields replaced (e.g. another controller or seed)."""
        data = self.model_dump(mode="python")
        data.update(changes)
        return scenario_from_dict(data, source=self._source, base_dir=self._base_dir)


# --- loading --------------------------------------------------------------------------------------
def _loc(loc: tuple[Any, ...]) -> str:
    # Drop pydantic's union-tag segments ("GoalsTask", "function-after[...]") so paths read as YAML keys.
    parts = []
    for p in loc:
        s = str(p)
        if s[:1].isupper() or "[" in s or s in {"str", "int", "float", "list", "dict"}:
            continue
        parts.append(s)
    return ".".join(parts)


def _message(err: dict[str, Any]) -> str:
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        return "unknown key (not part of the scenario schema; check the spelling)"
    if err["type"] == "missing":
        return "required field is missing"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    inp = err.get("input")
    if err["type"] not in {"missing"} and not isinstance(inp, (dict, list)) and inp is not None:
        msg += f" (got {inp!r})"
    return msg


def _problems(exc: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    out = []
    for err in exc.errors():
        loc = _loc(err["loc"])
        out.append(((prefix + "." + loc).strip(".") if prefix else loc, _message(err)))
    return out


def scenario_from_dict(data: Any, *, source: str = "<scenario>", base_dir: Path | str = ".") -> Scenario:
    """Validate plain data into a :class:`Scenario`, including controller, robot and world checks."""
    if not isinstance(data, dict):
        raise ScenarioError(source, [("", f"expected a mapping of scenario fields, got {type(data).__name__}")])
    try:
        sc = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(source, _problems(exc)) from None
    sc._base_dir = Path(base_dir)
    sc._source = source
    problems = _semantic_problems(sc)
    if problems:
        raise ScenarioError(source, problems)
    return sc


def _semantic_problems(sc: Scenario) -> list[tuple[str, str]]:
    """Checks that need more than one field: robot params, controllers, files, capacity."""
    from robocoord.registry import check_controller

    problems: list[tuple[str, str]] = []
    # Robot dynamics parameters against the kind's own model.
    try:
        from sim.robots import robot_model_class

        robot_model_class(sc.fleet.kind).Params.model_validate(sc.fleet.params)
    except ValidationError as exc:
        problems += _problems(exc, "fleet.params")
    for where, spec in [("controller", sc.controller)] + [
        (f"baselines.{i}", b) for i, b in enumerate(sc.baselines)
    ]:
        problems += [(f"{where}.{loc}".rstrip("."), msg) for loc, msg in check_controller(spec, sc)]
    from robocoord.metrics import KNOWN_METRICS

    known = KNOWN_METRICS | set(getattr(sc.tasks, "metrics", ()))
    for i, m in enumerate(sc.metrics):
        if m not in known and not m.startswith("diag_"):  # diag_<name>: a controller's own counters
            problems.append((f"metrics.{i}", f"unknown metric {m!r}; known: {', '.join(sorted(known))}"))
    if isinstance(sc.tasks, DomainTask):
        t = sc.tasks
        if sc.fleet.kind not in t.kinds:
            problems.append(("tasks.type", f"task {t.type!r} is for {sorted(t.kinds)} robots, not {sc.fleet.kind!r}"))
        if sc.fidelity not in t.fidelities:
            problems.append(("tasks.type", f"task {t.type!r} runs in fidelity {sorted(t.fidelities)}, not {sc.fidelity!r}"))
        problems += [(f"tasks.{loc}".rstrip("."), msg) for loc, msg in t.problems(sc)]
    if sc.fidelity == "grid" and sc.fleet.kind == "uav":
        problems.append(("fidelity", "grid fidelity is for ground robots (amr, cav); UAVs need kinematic or physics"))
    # Files and capacity (loading the map is the only way to know its free cells).
    if sc.world.map is not None and sc.world.map.file is not None:
        path = sc.resolve_path(sc.world.map.file)
        if not path.is_file():
            problems.append(("world.map.file", f"map file not found: {path}"))
            return problems
    if isinstance(sc.tasks, LifelongTask) and sc.tasks.tasks_file:
        path = sc.resolve_path(sc.tasks.tasks_file)
        if not path.is_file():
            problems.append(("tasks.tasks_file", f"tasks file not found: {path}"))
    if sc.fleet.start.file:
        path = sc.resolve_path(sc.fleet.start.file)
        if not path.is_file():
            problems.append(("fleet.start.file", f"agents file not found: {path}"))
    if problems:
        return problems
    try:
        from robocoord.world_build import capacity_problems

        problems += capacity_problems(sc)
    except UserError as exc:
        problems.append(("world.map", str(exc)))
    return problems


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping with ``safe_load``; errors name the file and the line."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path}: is a directory, expected a scenario YAML file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a text file (UTF-8 expected)") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{path}:{where}: not valid YAML: {problem}") from None
    if data is None:
        raise UserError(f"{path}: the file is empty; expected a scenario mapping")
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of scenario fields at the top level, got {type(data).__name__}")
    return data


def load_scenario(path: str | Path, overrides: list[str] | None = None) -> Scenario:
    """Load, override (``a.b=value``) and validate a scenario file."""
    from robocoord.overrides import apply_overrides

    path = Path(path)
    data = load_yaml(path)
    if overrides:
        data = apply_overrides(data, overrides)
    return scenario_from_dict(data, source=str(path), base_dir=path.resolve().parent)


def json_schema() -> dict[str, Any]:
    return Scenario.model_json_schema()
