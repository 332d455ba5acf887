"""From a validated scenario to concrete world data: map, obstacles, starts, goals (all seeded)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import numpy as np

from robocoord.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from shapely.geometry import Polygon

    from robocoord.scenario import Scenario
    from sim.maps import GridMap


@dataclass
class Layout:
    """Starts and goals in the fidelity's coordinates: cells (row, col) for grid, metres otherwise."""

    starts: np.ndarray
    goals: np.ndarray
    yaw: np.ndarray


# --- map and obstacles ----------------------------------------------------------------------------
def load_grid(sc: "Scenario") -> Optional["GridMap"]:
    """The scenario's grid map, or for grid fidelity on an arena, the arena rasterised into cells."""
    spec = sc.world.map
    if spec is not None:
        from sim.maps import MapError, load_map, parse_ascii

        try:
            if spec.file is not None:
                return load_map(sc.resolve_path(spec.file))
            return parse_ascii(spec.ascii, name=f"{sc.name}.world.map.ascii")
        except MapError as exc:
            raise UserError(str(exc)) from None
    if sc.fidelity == "grid":
        return rasterise_arena(sc)
    return None


def cell_size(sc: "Scenario") -> float:
    return sc.world.map.cell_size if sc.world.map is not None else sc.world.grid_cell


def rasterise_arena(sc: "Scenario") -> "GridMap":
    """Grid fidelity on a continuous arena: a cell is blocked when its centre lies in an obstacle."""
    import shapely
    from sim.maps import GridMap

    assert sc.world.arena is not None
    s = sc.world.grid_cell
    w, h = sc.world.arena
    cols, rows = int(w // s), int(h // s)
    if rows < 1 or cols < 1:
        raise UserError(f"world.grid_cell {s} is larger than the arena {w}x{h}")
    blocked = np.zeros((rows, cols), dtype=bool)
    polys = obstacle_polygons(sc)
    if polys:
        r, c = np.mgrid[0:rows, 0:cols]
        pts = shapely.points((c.ravel() + 0.5) * s, (rows - r.ravel() - 0.5) * s)
        union = shapely.union_all(polys)
        blocked = shapely.contains(union, pts).reshape(rows, cols)
    return GridMap(blocked=blocked, name=f"{sc.name}-arena", source=None, marks={})


def obstacle_polygons(sc: "Scenario") -> list["Polygon"]:
    from sim import obstacles as ob

    polys = []
    for i, o in enumerate(sc.world.obstacles):
        try:
            if o.type == "box":
                polys.append(ob.box(o.center, o.size, o.yaw))
            elif o.type == "circle":
                polys.append(ob.circle(o.center, o.radius))
            else:
                polys.append(ob.polygon(o.points))
        except ValueError as exc:
            raise UserError(f"world.obstacles.{i}: {exc}") from None
    return polys


def world_bounds(sc: "Scenario", grid: Optional["GridMap"]) -> tuple[float, float, float, float]:
    if sc.world.arena is not None:
        return (0.0, 0.0, float(sc.world.arena[0]), float(sc.world.arena[1]))
    assert grid is not None
    s = cell_size(sc)
    return (0.0, 0.0, grid.width * s, grid.height * s)


# --- capacity -------------------------------------------------------------------------------------
def capacity_problems(sc: "Scenario") -> list[tuple[str, str]]:
    """Impossible fleets: more robots than free cells / than a named cell set holds."""
    grid = load_grid(sc)
    n = sc.fleet.count
    problems = []
    if grid is not None:
        free = int((~grid.blocked).sum())
        if sc.fidelity == "grid" and n > free:
            problems.append(("fleet.count", f"{n} robots but the map has only {free} free cells"))
        for where, mark in (("fleet.start.mark", sc.fleet.start.mark), ("tasks.mark", getattr(sc.tasks, "mark", None))):
            if mark is not None and mark not in grid.marks:
                known = ", ".join(sorted(grid.marks)) or "none"
                problems.append((where, f"the map has no cell set {mark!r} (it has: {known})"))
        if sc.fleet.start.layout == "mark" and sc.fleet.start.mark in grid.marks:
            k = len(grid.marks[sc.fleet.start.mark])
            if n > k:
                problems.append(("fleet.count", f"{n} robots but the start set {sc.fleet.start.mark!r} has only {k} cells"))
    if sc.fleet.start.layout == "list" and len(sc.fleet.start.positions or []) != n:
        problems.append(("fleet.start.positions", f"expected {n} positions (fleet.count), got {len(sc.fleet.start.positions or [])}"))
    tasks = sc.tasks
    if getattr(tasks, "layout", None) == "list" and len(tasks.positions or []) != n:
        problems.append(("tasks.positions", f"expected {n} goals (fleet.count), got {len(tasks.positions or [])}"))
    if sc.fidelity != "grid" and sc.world.arena is not None and sc.fleet.start.layout == "random":
        from sim.robots import robot_model_class

        model_cls = robot_model_class(sc.fleet.kind)
        r = model_cls(model_cls.Params.model_validate(sc.fleet.params)).radius
        w, h = sc.world.arena
        area = w * h - sum(p.area for p in obstacle_polygons(sc))
        # Random packing rarely exceeds ~50% density of discs; beyond that placement cannot succeed.
        if n * np.pi * r * r > 0.5 * area:
            problems.append(("fleet.count", f"{n} robots of radius {r:g} m cannot be placed at random in {area:.1f} m² of free space"))
    return problems


# --- layouts --------------------------------------------------------------------------------------
def make_layout(sc: "Scenario", grid: Optional["GridMap"], radius: float, rng: np.random.Generator,
                altitude: float = 0.0) -> Layout:
    if sc.fidelity == "grid":
        assert grid is not None
        return _grid_layout(sc, grid, rng)
    return _continuous_layout(sc, grid, radius, rng, altitude)


def _grid_layout(sc: "Scenario", grid: "GridMap", rng: np.random.Generator) -> Layout:
    from sim.goals import sample_starts

    n, st = sc.fleet.count, sc.fleet.start
    if st.layout == "list":
        starts = np.asarray(st.positions, dtype=int)[:, :2]
        _check_cells(grid, starts, "fleet.start.positions")
        if len({tuple(c) for c in starts}) != n:
            raise UserError("fleet.start.positions: two robots share a start cell")
    elif st.layout in ("random", "mark", "cells"):
        starts = sample_starts(grid, n, rng, mark=st.mark if st.layout == "mark" else None)
    elif st.layout == "file":
        from sim.maps import MapError, load_lorr_agents

        try:
            starts = load_lorr_agents(sc.resolve_path(st.file), grid, n)
        except MapError as exc:
            raise UserError(f"fleet.start.file: {exc}") from None
    else:
        raise UserError(f"fleet.start.layout {st.layout!r} is not available in grid fidelity (use random, mark, list or file)")
    tasks = sc.tasks
    if tasks.type == "goals":
        if tasks.layout == "list":
            goals = np.asarray(tasks.positions, dtype=int)[:, :2]
            _check_cells(grid, goals, "tasks.positions")
        elif tasks.layout == "swap":
            goals = starts[_derangement(n, rng)]
        elif tasks.layout in ("random", "mark", "cells"):
            goals = sample_starts(grid, n, rng, mark=tasks.mark if tasks.layout == "mark" else None)
        else:
            raise UserError(f"tasks.layout {tasks.layout!r} is not available in grid fidelity (use random, swap, mark or list)")
        comp = grid.components()
        bad = np.flatnonzero(comp[starts[:, 0], starts[:, 1]] != comp[goals[:, 0], goals[:, 1]])
        if len(bad):
            raise UserError(f"tasks: goal of robot {bad[0]} {goals[bad[0]].tolist()} is not reachable from its start {starts[bad[0]].tolist()}")
    else:
        goals = starts.copy()  # lifelong: the goal stream assigns the first goals
    return Layout(starts=starts, goals=goals, yaw=np.zeros(n))


def _check_cells(grid: "GridMap", cells: np.ndarray, where: str) -> None:
    ok = grid.is_free(cells)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise UserError(f"{where}.{i}: cell {cells[i].tolist()} is an obstacle or outside the "
                        f"{grid.height}x{grid.width} map")


def _derangement(n: int, rng: np.random.Generator) -> np.ndarray:
    if n == 1:
        return np.zeros(1, dtype=int)
    while True:
        p = rng.permutation(n)
        if not np.any(p == np.arange(n)):
            return p


def _continuous_layout(sc: "Scenario", grid: Optional["GridMap"], radius: float,
                       rng: np.random.Generator, altitude: float) -> Layout:
    n, st = sc.fleet.count, sc.fleet.start
    bounds = world_bounds(sc, grid)
    free = FreeSpace(sc, grid, radius, bounds)
    spacing = st.spacing or 2.2 * radius
    cx, cy = st.center or [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2]
    if st.layout == "list":
        starts = _as_xyz(st.positions, altitude)
    elif st.layout == "circle":
        R = st.radius or 0.4 * min(bounds[2] - bounds[0], bounds[3] - bounds[1])
        a = 2 * np.pi * np.arange(n) / n
        starts = np.stack([cx + R * np.cos(a), cy + R * np.sin(a), np.full(n, altitude)], 1)
    elif st.layout == "line":
        x = cx + (np.arange(n) - (n - 1) / 2) * spacing
        starts = np.stack([x, np.full(n, cy), np.full(n, altitude)], 1)
    elif st.layout == "lattice":
        side = int(np.ceil(np.sqrt(n)))
        i = np.arange(n)
        starts = np.stack([cx + (i % side - (side - 1) / 2) * spacing,
                           cy + (i // side - (side - 1) / 2) * spacing, np.full(n, altitude)], 1)
    elif st.layout in ("mark", "cells"):
        from sim.goals import sample_starts
        from sim.maps import cell_to_xy

        if grid is None:
            raise UserError(f"fleet.start.layout {st.layout!r} needs world.map")
        cells = sample_starts(grid, n, rng, mark=st.mark if st.layout == "mark" else None)
        xy = cell_to_xy(cells, grid.height, cell_size(sc))
        starts = np.column_stack([xy, np.full(n, altitude)])
    else:
        starts = free.sample(n, spacing, rng, altitude, "fleet.start")
    _check_points(free, starts, "fleet.start")
    tasks = sc.tasks
    tol_layout = getattr(tasks, "layout", "random")
    if tasks.type == "lifelong":
        goals = free.sample(n, 0.0, rng, altitude, "tasks")
    elif tol_layout == "list":
        goals = _as_xyz(tasks.positions, altitude)
        _check_points(free, goals, "tasks.positions")
    elif tol_layout == "antipodal":
        goals = starts.copy()
        goals[:, 0] = 2 * cx - starts[:, 0]
        goals[:, 1] = 2 * cy - starts[:, 1]
        _check_points(free, goals, "tasks (antipodal goals)")
    elif tol_layout == "swap":
        goals = starts[_derangement(n, rng)].copy()
    elif tol_layout in ("mark", "cells"):
        from sim.goals import sample_starts
        from sim.maps import cell_to_xy

        if grid is None:
            raise UserError(f"tasks.layout {tol_layout!r} needs world.map")
        xy = cell_to_xy(sample_starts(grid, n, rng, mark=tasks.mark if tol_layout == "mark" else None),
                        grid.height, cell_size(sc))
        goals = np.column_stack([xy, np.full(n, altitude)])
    else:
        goals = free.sample(n, spacing, rng, altitude, "tasks")
    d = goals[:, :2] - starts[:, :2]
    yaw = np.arctan2(d[:, 1], d[:, 0]) if st.yaw == "face_goal" else np.full(n, float(st.yaw))
    return Layout(starts=starts, goals=goals, yaw=yaw)


def _as_xyz(points: list[list[float]] | None, altitude: float) -> np.ndarray:
    rows = [list(p) + [altitude] if len(p) == 2 else list(p) for p in points or []]
    return np.asarray(rows, dtype=float)


def _check_points(free: "FreeSpace", pts: np.ndarray, where: str) -> None:
    ok = free.contains(pts[:, :2])
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise UserError(f"{where}.{i}: point {np.round(pts[i, :2], 3).tolist()} is outside the world or "
                        f"inside an obstacle (robot radius {free.radius:g} m)")


class FreeSpace:
    """Where a robot centre may stand: inside the bounds, clear of obstacles and blocked cells."""

    def __init__(self, sc: "Scenario", grid: Optional["GridMap"], radius: float,
                 bounds: tuple[float, float, float, float]) -> None:
        import shapely

        self.radius = radius
        self.bounds = bounds
        self.grid = grid
        self.cell = cell_size(sc)
        polys = obstacle_polygons(sc)
        self.blocked = shapely.union_all([p.buffer(radius) for p in polys]) if polys else None

    def contains(self, xy: np.ndarray) -> np.ndarray:
        import shapely

        x0, y0, x1, y1 = self.bounds
        r = self.radius
        ok = (xy[:, 0] >= x0 + r) & (xy[:, 0] <= x1 - r) & (xy[:, 1] >= y0 + r) & (xy[:, 1] <= y1 - r)
        if self.blocked is not None:
            ok &= ~shapely.contains_xy(self.blocked, xy[:, 0], xy[:, 1])
        if self.grid is not None:
            from sim.maps import xy_to_cell

            # A disc clear of blocked cells: test the centre and the 4 extreme points of the disc.
            for dx, dy in ((0, 0), (r, 0), (-r, 0), (0, r), (0, -r)):
                cells = xy_to_cell(xy + np.array([dx * 0.999, dy * 0.999]), self.grid.height, self.cell)
                ok &= self.grid.is_free(cells)
        return ok

    def sample(self, n: int, spacing: float, rng: np.random.Generator, altitude: float, where: str) -> np.ndarray:
        x0, y0, x1, y1 = self.bounds
        pts: list[np.ndarray] = []
        tries = 0
        while len(pts) < n:
            tries += 1
            if tries > 200 * n + 2000:
                raise UserError(f"{where}: could only place {len(pts)} of {n} robots with {spacing:.2f} m spacing "
                                f"in the free space; use fewer robots or a larger world")
            cand = rng.uniform([x0, y0], [x1, y1], size=(64, 2))
            cand = cand[self.contains(cand)]
            for c in cand:
                if spacing <= 0 or not pts or np.min(np.linalg.norm(np.asarray(pts) - c, axis=1)) >= spacing:
                    pts.append(c)
                    if len(pts) == n:
                        break
        xy = np.asarray(pts)
        return np.column_stack([xy, np.full(n, altitude)])
