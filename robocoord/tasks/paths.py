"""Domain task ``paths``: robots follow fixed reference paths and must agree on a passing order
(passing-order scheduling, DESIGN.md §4.2; Meng et al., ICRA 2025).

The paths come from a generator of :mod:`planners.scheduling.instances` (``generator.kind``:
``open_area``, ``warehouse`` or ``intersection``; ``N = fleet.count``) or are listed explicitly
(``paths``). The runtime places every robot at its path start facing along the path, builds the
coordination graph once, and shows controllers ``obs.extras["paths"]``:

* ``instance``: the `SchedulingInstance` (paths, radius, speed, headway, margin);
* ``graph``: its `CoordGraph`;
* ``progress``: (N,) arc length of each robot's projection on its path [m] (tracked locally, so a
  path that passes near itself is not confused).

It measures, itself: each robot's **completion time** (first time the robot is within
``tolerance`` of its path end with progress within ``tolerance`` of the length), the mean and
max; and, when the controller states its plan (``Commands.decisions["planned_completion"]``,
(N,) seconds), the largest gap between planned and measured completion (in steps, a measure of
how faithfully the plan is executed). Planning wall time given in
``decisions["plan_wall_s"]`` goes to ``timing()``, never to the summary.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, Optional

import numpy as np
from pydantic import Field, model_validator

from robocoord.strict import PosFloat, Strict
from robocoord.tasks.base import DomainTask, TaskRuntime

if TYPE_CHECKING:  # pragma: no cover
    from robocoord.controller import Commands, Observation
    from robocoord.scenario import Scenario
    from robocoord.world import ContinuousWorld


class PathGenerator(Strict):
    kind: Literal["open_area", "warehouse", "intersection"]
    density: PosFloat = Field(default=0.6, description="open_area: swept density (load factor)")
    obstacles: int = Field(default=0, ge=0, description="open_area: number of box obstacles")
    occupancy: float = Field(default=0.08, gt=0, le=0.5,
                             description="warehouse: robots per aisle cell")
    trip_length: tuple[PosFloat, PosFloat] = Field(default=(6.0, 12.0),
                                                   description="open_area: start-goal distance")
    offset: tuple[float, float] = Field(default=(0.0, 0.0),
                                        description="shift of the generated layout (m)")


class PathsTask(DomainTask):
    """``tasks: {type: paths, generator: {...} | paths: [[[x, y], ...], ...], speed, ...}``"""

    type: Literal["paths"]
    generator: Optional[PathGenerator] = None
    paths: Optional[list[list[list[float]]]] = Field(
        default=None, description="one polyline [[x, y], ...] per robot (instead of generator)")
    speed: PosFloat = Field(default=0.8, description="nominal speed of every robot (m/s)")
    headway: Optional[PosFloat] = Field(default=None, description="following headway (s)")
    margin: float = Field(default=0.1, ge=0, description="extra clearance between robots (m)")
    follow_cap_ratio: float = Field(default=0.5, ge=0, le=1)
    tolerance: PosFloat = Field(default=0.1, description="distance at which a path end counts "
                                                         "as reached (m)")

    metrics: ClassVar[tuple[str, ...]] = ("mean_completion", "max_completion", "completed",
                                          "planned_mean_completion", "completion_error_steps")
    kinds: ClassVar[frozenset[str]] = frozenset({"amr", "cav"})

    @model_validator(mode="after")
    def _one_source(self) -> "PathsTask":
        if (self.generator is None) == (self.paths is None):
            raise ValueError("give exactly one of 'generator' and 'paths'")
        return self

    def problems(self, sc: "Scenario") -> list[tuple[str, str]]:
        out = []
        if self.paths is not None:
            if len(self.paths) != sc.fleet.count:
                out.append(("paths", f"expected {sc.fleet.count} paths (fleet.count), got "
                                     f"{len(self.paths)}"))
            from planners.scheduling.geometry import check_path

            for k, p in enumerate(self.paths):
                try:
                    check_path(np.asarray(p, float), k)
                except ValueError as exc:
                    out.append((f"paths.{k}", str(exc)))
        max_speed = sc.fleet.params.get("max_speed")
        if max_speed is not None and self.speed > max_speed:
            out.append(("speed", f"{self.speed} m/s exceeds fleet.params.max_speed "
                                 f"{max_speed} m/s"))
        if self.generator is not None and self.generator.kind == "intersection" and \
                sc.fleet.kind != "cav":
            out.append(("generator.kind", "intersection needs fleet.kind cav"))
        return out

    def runtime(self, sc: "Scenario", rng: np.random.Generator) -> "PathsRuntime":
        return PathsRuntime(self, sc, rng)


def _instance(task: PathsTask, sc: "Scenario", radius: float, rng: np.random.Generator):
    from planners.scheduling.instances import (SchedulingInstance, intersection_instance,
                                               open_area_instance, warehouse_instance)
    from robocoord.errors import UserError

    n = sc.fleet.count
    spd = (task.speed, task.speed)
    try:
        if task.paths is not None:
            inst = SchedulingInstance(paths=tuple(np.asarray(p, float) for p in task.paths),
                                      radius=radius, speed=task.speed, headway=task.headway,
                                      margin=task.margin, park_at_goal=True, kind="custom")
        else:
            g = task.generator
            if g.kind == "open_area":
                inst = open_area_instance(n, rng, density=g.density, n_obstacles=g.obstacles,
                                          trip_length=tuple(g.trip_length), radius=radius,
                                          speed=spd, margin=task.margin, headway=task.headway,
                                          park_at_goal=True)
            elif g.kind == "warehouse":
                inst = warehouse_instance(n, rng, occupancy=g.occupancy, radius=radius, speed=spd,
                                          margin=task.margin, headway=task.headway)
            else:
                inst = intersection_instance(n, rng, radius=radius, margin=task.margin,
                                             speed=spd, headway=task.headway)
            if any(g.offset):
                from dataclasses import replace

                off = np.asarray(g.offset, float)
                inst = replace(inst, paths=tuple(p + off for p in inst.paths),
                               obstacles=tuple(o + off for o in inst.obstacles))
    except ValueError as exc:  # bad paths: NaN, zero length, shared starts, ...
        raise UserError(f"{sc.name}: tasks.{'paths' if task.paths is not None else 'generator'}"
                        f": {exc}") from None
    return inst


class PathsRuntime(TaskRuntime):
    lifelong = False

    def __init__(self, task: PathsTask, sc: "Scenario", rng: np.random.Generator):
        self.task, self.sc, self.rng = task, sc, rng
        self.tolerance = task.tolerance
        self.instance = None
        self.graph = None
        self.planned: np.ndarray | None = None
        self.plan_wall_s: float | None = None

    def layout(self, world: "ContinuousWorld", rng: np.random.Generator):
        from planners.scheduling.geometry import cumulative_length
        from planners.scheduling.graph import InfeasibleInstanceError, build_graph
        from robocoord.errors import UserError
        from robocoord.world_build import Layout

        inst = _instance(self.task, self.sc, world.model.radius, rng)
        try:
            self.graph = build_graph(inst, follow_cap_ratio=self.task.follow_cap_ratio)
        except InfeasibleInstanceError as exc:
            raise UserError(f"{self.sc.name}: tasks.paths: {exc}") from None
        self.instance = inst
        xmin, ymin, xmax, ymax = world.bounds
        pts = np.concatenate(inst.paths)
        if (pts[:, 0] < xmin).any() or (pts[:, 0] > xmax).any() or \
                (pts[:, 1] < ymin).any() or (pts[:, 1] > ymax).any():
            raise UserError(f"{self.sc.name}: world: the paths span x {pts[:, 0].min():.1f}.."
                            f"{pts[:, 0].max():.1f}, y {pts[:, 1].min():.1f}.."
                            f"{pts[:, 1].max():.1f} m, outside the world bounds {world.bounds} "
                            f"(enlarge world.arena or set tasks.generator.offset)")
        self.cum = [cumulative_length(p) for p in inst.paths]
        n = inst.n_robots
        z = world.model.spawn_height
        starts = np.array([[p[0, 0], p[0, 1], z] for p in inst.paths])
        goals = np.array([[p[-1, 0], p[-1, 1], z] for p in inst.paths])
        d = np.array([p[1] - p[0] for p in inst.paths])
        yaw = np.arctan2(d[:, 1], d[:, 0])
        self.progress = np.zeros(n)
        self.completion = np.full(n, np.nan)
        self.step = 0
        return Layout(starts=starts, goals=goals, yaw=yaw)

    def setup(self, world: "ContinuousWorld") -> None:
        if self.instance is not None and len(self.instance.obstacles):
            from shapely.geometry import Polygon

            world.scene.add_polygons([Polygon(o) for o in self.instance.obstacles])

    def _project(self, xy: np.ndarray) -> None:
        """Advance each robot's progress to its nearest point on the path within a window of
        [s - 1 m, s + 2 m] (never jumps to a far part of a self-crossing path)."""
        for i, p in enumerate(self.instance.paths):
            cum = self.cum[i]
            s0 = self.progress[i]
            lo = max(0, int(np.searchsorted(cum, s0 - 1.0)) - 1)
            hi = min(len(p) - 1, int(np.searchsorted(cum, s0 + 2.0)) + 1)
            a, b = p[lo:hi], p[lo + 1:hi + 1]
            if len(a) == 0:
                continue
            ab = b - a
            L2 = np.maximum((ab ** 2).sum(1), 1e-18)
            t = np.clip(((xy[i] - a) * ab).sum(1) / L2, 0, 1)
            q = a + t[:, None] * ab
            k = int(np.argmin(((q - xy[i]) ** 2).sum(1)))
            self.progress[i] = cum[lo + k] + t[k] * np.sqrt(L2[k])

    def observe(self, world: "ContinuousWorld", obs: "Observation") -> None:
        obs.extras["paths"] = {"instance": self.instance, "graph": self.graph,
                               "progress": self.progress.copy()}

    def after_step(self, world: "ContinuousWorld", cmd: "Commands") -> dict[str, float]:
        self.step += 1
        xy = world.state.pos[:, :2]
        self._project(xy)
        if cmd.decisions:
            if "planned_completion" in cmd.decisions:
                self.planned = np.asarray(cmd.decisions["planned_completion"], float)
            if "plan_wall_s" in cmd.decisions:
                self.plan_wall_s = float(cmd.decisions["plan_wall_s"])
        ends = np.array([p[-1] for p in self.instance.paths])
        done = (np.linalg.norm(xy - ends, axis=1) <= self.tolerance) & \
            (self.progress >= self.instance.lengths - self.tolerance) & np.isnan(self.completion)
        self.completion[done] = self.step * self.sc.dt
        return {"completed": float(np.sum(~np.isnan(self.completion)))}

    def summary(self) -> dict[str, Any]:
        c = self.completion
        ok = ~np.isnan(c)
        out = {"completed": int(ok.sum()),
               "mean_completion": float(c.mean()) if ok.all() else float("nan"),
               "max_completion": float(c.max()) if ok.all() else float("nan")}
        if self.planned is not None and len(self.planned) == len(c):
            out["planned_mean_completion"] = float(self.planned.mean())
            out["completion_error_steps"] = (float(np.max(np.abs(c - self.planned))) / self.sc.dt
                                             if ok.all() else float("nan"))
        return out

    def timing(self) -> dict[str, float]:
        return {"plan_wall_s": self.plan_wall_s} if self.plan_wall_s is not None else {}

    def scene(self) -> dict[str, Any]:
        if self.instance is None:
            return {}
        return {"paths": [p.tolist() for p in self.instance.paths],
                "obstacles": [o.tolist() for o in self.instance.obstacles]}


SPEC = PathsTask
