"""Runtime worlds the runner steps: the grid engine, or robots in a pybullet scene.

Both expose ``observe() -> Observation`` and ``apply(commands) -> StepEvents``; the runner measures
safety from the events and the state, never from the controller.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from robocoord.controller import Commands, Context, Observation
from robocoord.errors import UserError
from robocoord.world_build import (
    Layout,
    cell_size,
    load_grid,
    make_layout,
    obstacle_polygons,
    world_bounds,
)

if TYPE_CHECKING:  # pragma: no cover
    from robocoord.scenario import Scenario


@dataclass
class StepEvents:
    """What happened in one step, as measured by the world itself."""

    goals_reached: int = 0  # goals completed this step (lifelong: new goals were issued)
    vertex_conflicts: int = 0
    edge_conflicts: int = 0
    blocked_moves: int = 0
    robot_contacts: int = 0  # pybullet contact pairs robot-robot
    obstacle_contacts: int = 0  # pybullet contact pairs robot-obstacle
    extra: dict[str, float] = field(default_factory=dict)


class World:
    """Common bookkeeping of goals and arrivals for both world kinds."""

    n: int
    goals: np.ndarray
    reached: np.ndarray
    arrival_step: np.ndarray  # first step at which a one-shot goal was reached (-1: not yet)
    lifelong: bool
    step_count: int = 0
    context: Context

    def observe(self) -> Observation:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply(self, cmd: Commands) -> StepEvents:  # pragma: no cover - abstract
        raise NotImplementedError

    def poses(self) -> tuple[np.ndarray, np.ndarray]:
        """(N, 3) positions in metres and (N,) yaw, for replay files."""
        raise NotImplementedError  # pragma: no cover

    def scene_description(self) -> dict[str, Any]:
        """Static description of the world for the viewer (map, obstacles, robot shape)."""
        raise NotImplementedError  # pragma: no cover

    def task_summary(self) -> tuple[dict[str, Any], dict[str, float]]:
        return {}, {}

    def close(self) -> None:
        pass


def _goal_stream(sc: "Scenario", grid: Any, rng: np.random.Generator) -> Any:
    from sim import goals as g

    t = sc.tasks
    if t.stream == "uniform":
        return g.UniformGoals(grid, rng)
    if t.stream == "mark":
        return g.MarkedGoals(grid, rng, mark=t.mark)
    from sim.maps import MapError, load_lorr_tasks

    try:
        return g.TaskListGoals(load_lorr_tasks(sc.resolve_path(t.tasks_file), grid))
    except MapError as exc:
        raise UserError(str(exc)) from None


class GridWorld(World):
    """Discrete cells, no physics: the vectorised grid engine plus a goal stream."""

    def __init__(self, sc: "Scenario", rng: np.random.Generator) -> None:
        from sim.grid import GridEngine

        self.sc = sc
        self.grid = load_grid(sc)
        assert self.grid is not None
        self.cell = cell_size(sc)
        layout: Layout = make_layout(sc, self.grid, 0.5, rng)
        self.n = sc.fleet.count
        try:
            self.engine = GridEngine(self.grid, layout.starts)
        except ValueError as exc:
            raise UserError(f"fleet.start: {exc}") from None
        self.lifelong = sc.tasks.type == "lifelong"
        self.stream = _goal_stream(sc, self.grid, rng) if self.lifelong else None
        self.goals = (self.stream.next(np.arange(self.n), self.engine.positions.copy())
                      if self.lifelong else layout.goals.copy())
        self.reached = np.zeros(self.n, dtype=bool)
        self.arrival_step = np.full(self.n, -1)
        self._update_reached(0)
        self.context = Context(
            scenario=sc, rng=rng, n=self.n, dt=sc.dt, fidelity="grid", kind=sc.fleet.kind, dim=2,
            radius=0.5 * self.cell, grid=self.grid, cell_size=self.cell, obstacles=obstacle_polygons(sc),
            bounds=world_bounds(sc, self.grid),
        )

    def _update_reached(self, step: int) -> int:
        at = np.all(self.engine.positions == self.goals, axis=1)
        if self.lifelong:
            done = np.flatnonzero(at)
            if len(done):
                self.goals[done] = self.stream.next(done, self.engine.positions[done].copy())
            self.reached = np.zeros(self.n, dtype=bool)
            return len(done)
        # One-shot MAPF: arrival = the step from which the agent stays on its goal (sum of costs).
        self.arrival_step[~at] = -1
        self.arrival_step[at & (self.arrival_step < 0)] = step
        newly = int(np.sum(at & ~self.reached))
        self.reached = at
        return newly

    def observe(self) -> Observation:
        return Observation(step=self.step_count, time=self.step_count * self.sc.dt, goals=self.goals.copy(),
                           reached=self.reached.copy(), cells=self.engine.positions.copy())

    def apply(self, cmd: Commands) -> StepEvents:
        if cmd.which() != "actions":
            raise TypeError("grid fidelity takes Commands(actions=...)")
        actions = np.asarray(cmd.actions, dtype=np.int64).reshape(self.n)
        info = self.engine.step(actions)
        self.step_count += 1
        done = self._update_reached(self.step_count)
        return StepEvents(goals_reached=done, vertex_conflicts=info.vertex_conflicts,
                          edge_conflicts=info.edge_conflicts, blocked_moves=info.blocked_moves)

    def poses(self) -> tuple[np.ndarray, np.ndarray]:
        from sim.maps import cell_to_xy

        xy = cell_to_xy(self.engine.positions, self.grid.height, self.cell)
        return np.column_stack([xy, np.zeros(self.n)]), np.zeros(self.n)

    def scene_description(self) -> dict[str, Any]:
        return {"fidelity": "grid", "kind": self.sc.fleet.kind, "n": self.n, "radius": 0.4 * self.cell,
                "cell_size": self.cell, "grid": _grid_rows(self.grid), "obstacles": [],
                "bounds": list(self.context.bounds or ())}


def _grid_rows(grid: Any) -> list[str]:
    return ["".join("#" if b else "." for b in row) for row in grid.blocked]


class ContinuousWorld(World):
    """Robots integrated by their model (kinematic) or by pybullet (physics) in a pybullet scene."""

    def __init__(self, sc: "Scenario", rng: np.random.Generator, gui: bool = False) -> None:
        from sim.robots import robot_model_class
        from sim.scene import Scene
        from sim.state import FleetState

        self.sc = sc
        cls = robot_model_class(sc.fleet.kind)
        self.model = cls(cls.Params.model_validate(sc.fleet.params))
        self.grid = load_grid(sc)
        self.cell = cell_size(sc)
        self.n = sc.fleet.count
        self.dim = self.model.dim
        self.polys = obstacle_polygons(sc)
        self.bounds = world_bounds(sc, self.grid)
        from robocoord.tasks import DomainTask

        self.task = sc.tasks.runtime(sc, rng) if isinstance(sc.tasks, DomainTask) else None
        if self.task is not None:
            layout = self.task.layout(self, rng)
            self.lifelong, self.tolerance = self.task.lifelong, self.task.tolerance
        else:
            layout = make_layout(sc, self.grid, self.model.radius, rng, altitude=self.model.spawn_height)
            self.lifelong, self.tolerance = sc.tasks.type == "lifelong", sc.tasks.tolerance
        self.state = FleetState.at_rest(layout.starts, layout.yaw)
        self.goals = layout.goals[:, : self.dim].copy()
        self.reached = np.zeros(self.n, dtype=bool)
        self.arrival_step = np.full(self.n, -1)
        self.rng = rng
        self._free = None  # free-space sampler for lifelong goals, built on first use

        self.scene = Scene(gui=gui, physics_dt=sc.physics_dt, seed=sc.seed)
        self.scene.add_ground()
        if self.polys:
            self.scene.add_polygons(self.polys)
        if self.grid is not None:
            self.scene.add_grid_obstacles(self.grid.blocked, self.cell, sc.world.map.obstacle_height)
        if sc.world.arena is not None and sc.world.walls:
            self.scene.add_polygons(_walls(self.bounds), height=1.0)
        self.bodies = self.scene.add_robots(self.model, self.state)
        if self.task is not None:
            self.task.setup(self)
        self.physics = sc.fidelity == "physics"
        self.context = Context(
            scenario=sc, rng=rng, n=self.n, dt=sc.dt, fidelity=sc.fidelity, kind=sc.fleet.kind,
            dim=self.dim, radius=self.model.radius, model=self.model, grid=self.grid, cell_size=self.cell,
            # the arena's walls are obstacles too: a safety filter must see them
            obstacles=self.polys + (_walls(self.bounds) if sc.world.arena is not None and sc.world.walls else []),
            bounds=self.bounds,
        )
        self._update_reached(0)

    def _update_reached(self, step: int) -> int:
        d = np.linalg.norm(self.state.pos[:, : self.dim] - self.goals, axis=1)
        at = d <= self.tolerance
        if self.lifelong:
            done = np.flatnonzero(at)
            if len(done):
                if self._free is None:
                    from robocoord.world_build import FreeSpace

                    self._free = FreeSpace(self.sc, self.grid, self.model.radius, self.bounds)
                new = self._free.sample(len(done), 0.0, self.rng, self.model.spawn_height, "tasks")
                self.goals[done] = new[:, : self.dim]
            return len(done)
        newly = at & ~self.reached
        self.arrival_step[newly] = step
        self.reached |= at  # one-shot goals stay reached
        return int(newly.sum())

    def observe(self) -> Observation:
        obs = Observation(step=self.step_count, time=self.step_count * self.sc.dt, goals=self.goals.copy(),
                          reached=self.reached.copy(), state=self.state.copy())
        if self.task is not None:
            self.task.observe(self, obs)
        return obs

    def apply(self, cmd: Commands) -> StepEvents:
        kind = cmd.which()
        if kind == "actions":
            raise TypeError(f"{self.sc.fidelity} fidelity takes Commands(velocity=...) or Commands(control=...)")
        if kind == "velocity":
            v = np.asarray(cmd.velocity, dtype=float).reshape(self.n, self.dim)
            control = self.model.velocity_to_control(self.state, v)
        else:
            control = np.asarray(cmd.control, dtype=float).reshape(self.n, len(self.model.control_names))
        dt = self.sc.dt
        if self.physics:
            self.model.apply_physics(self.scene.client, self.bodies, self.state, control, dt)
            self.scene.step(dt)
            self.state = self.model.read_physics(self.scene.client, self.bodies, self.state)
        else:
            self.state = self.model.step_kinematic(self.state, control, dt)
            self.scene.set_poses(self.bodies, self.state)
        rr, ro = self.scene.count_contacts(self.bodies)
        self.step_count += 1
        done = self._update_reached(self.step_count)
        extra = self.task.after_step(self, cmd) if self.task is not None else {}
        return StepEvents(goals_reached=done, robot_contacts=rr, obstacle_contacts=ro, extra=extra)

    def poses(self) -> tuple[np.ndarray, np.ndarray]:
        return self.state.pos.copy(), self.state.yaw.copy()

    def scene_description(self) -> dict[str, Any]:
        import shapely

        p = self.model.params.model_dump()
        return {
            "fidelity": self.sc.fidelity, "kind": self.sc.fleet.kind, "n": self.n,
            "radius": self.model.radius, "robot": p, "bounds": list(self.bounds),
            "obstacles": [list(map(list, shapely.get_coordinates(poly.exterior))) for poly in self.polys],
            "grid": _grid_rows(self.grid) if self.grid is not None else None, "cell_size": self.cell,
            "task": self.task.scene() if self.task is not None else None,
        }

    def task_summary(self) -> tuple[dict[str, Any], dict[str, float]]:
        """Domain summary metrics and domain timings (empty without a domain task)."""
        return (self.task.summary(), self.task.timing()) if self.task is not None else ({}, {})

    def close(self) -> None:
        if self.task is not None:
            self.task.close()
        self.scene.close()


def _walls(bounds: tuple[float, float, float, float], t: float = 0.1) -> list[Any]:
    from shapely.geometry import box

    x0, y0, x1, y1 = bounds
    return [box(x0 - t, y0 - t, x1 + t, y0), box(x0 - t, y1, x1 + t, y1 + t),
            box(x0 - t, y0, x0, y1), box(x1, y0, x1 + t, y1)]


def build_world(sc: "Scenario", rng: np.random.Generator, gui: bool = False) -> World:
    if sc.fidelity == "grid":
        if gui:
            raise UserError("--gui shows pybullet's window, which grid fidelity does not use; "
                            "run with fidelity kinematic or physics, or use `robocoord view RUN_DIR`")
        return GridWorld(sc, rng)
    return ContinuousWorld(sc, rng, gui=gui)

