"""Passing-order scheduling instances: robots with fixed reference paths in dense traffic.

Three seeded generators (every random choice comes from the ``numpy.random.Generator`` passed
in):

* `warehouse_instance`: A* paths on a small warehouse grid (shelf blocks, aisles, stations on
  both sides) between stations and shelf-access cells, converted to polylines;
* `open_area_instance`: free-form start-goal pairs in an open square, optionally around polygon
  obstacles (shortest paths in a visibility graph of the inflated obstacles);
* `intersection_instance`: CAVs queued on the four approaches of a 4-way intersection with
  straight / left / right turns (arcs), one lane per direction, right-hand traffic.

Traffic density (`SchedulingInstance.density`), two numbers:

* ``swept_density`` = sum over robots of the area swept by the robot's disc along its path,
  divided by the region area (free floor for the warehouse, the square minus obstacles for the
  open area, the lane surface for the intersection). A load factor: > 1 means the paths cover
  the floor more than once on average.
* ``interference_degree`` = mean number of *other* robots whose path comes within
  ``2 r + margin`` of a robot's path (= 2 * interfering pairs / N).
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import shapely
import shapely.affinity
from shapely.geometry import LineString, Point, Polygon, box
from shapely.ops import unary_union

from planners.scheduling.geometry import arc, check_path, path_length, simplify_collinear


@dataclass(frozen=True, eq=False)
class SchedulingInstance:
    """Robots with fixed reference paths. Lengths in metres, times in seconds.

    ``speed`` may be a scalar or one value per robot. ``headway`` (following time gap) defaults
    to ``1.25 * (2r + margin) / min(speed)`` and must keep a follower at least ``2r`` behind:
    ``headway * min(speed) >= 2r``. ``park_at_goal``: robots stay on their goal (warehouse) or
    leave the area there (vehicles). ``area`` is the region area used for the density (default:
    bounding box of the paths)."""

    paths: tuple
    radius: float
    speed: np.ndarray | float = 1.0
    headway: float | None = None
    margin: float = 0.1
    release: np.ndarray | None = None
    area: float | None = None
    obstacles: tuple = ()
    park_at_goal: bool = False
    kind: str = "custom"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        paths = list(self.paths)
        if len(paths) == 0:
            raise ValueError("instance: paths is empty (need at least one robot)")
        paths = tuple(check_path(p, k) for k, p in enumerate(paths))
        n = len(paths)
        r = float(self.radius)
        if not np.isfinite(r) or r <= 0:
            raise ValueError(f"instance: radius must be a positive number, got {self.radius}")
        margin = float(self.margin)
        if not np.isfinite(margin) or margin < 0:
            raise ValueError(f"instance: margin must be >= 0, got {self.margin}")
        speed = np.broadcast_to(np.asarray(self.speed, dtype=float), (n,)).copy() \
            if np.ndim(self.speed) == 0 else np.asarray(self.speed, dtype=float)
        if speed.shape != (n,):
            raise ValueError(f"instance: speed must be a scalar or have shape ({n},), got "
                             f"{speed.shape}")
        bad = np.nonzero(~np.isfinite(speed) | (speed <= 0))[0]
        if len(bad):
            raise ValueError(f"robot {int(bad[0])}: speed must be positive, got "
                             f"{speed[bad[0]]}")
        release = np.zeros(n) if self.release is None else np.asarray(self.release, float)
        if release.shape != (n,):
            raise ValueError(f"instance: release must have shape ({n},), got {release.shape}")
        bad = np.nonzero(~np.isfinite(release) | (release < 0))[0]
        if len(bad):
            raise ValueError(f"robot {int(bad[0])}: release time must be >= 0, got "
                             f"{release[bad[0]]}")
        h = 1.25 * (2 * r + margin) / speed.min() if self.headway is None else float(self.headway)
        if not np.isfinite(h) or h * speed.min() < 2 * r - 1e-12:
            raise ValueError(f"instance: headway {h} s is too short: a follower at the slowest "
                             f"speed {speed.min()} m/s must stay 2*radius = {2 * r} m behind "
                             f"(need headway >= {2 * r / speed.min():.3f} s)")
        _check_endpoints(paths, r, 0, "start")
        if self.park_at_goal:
            _check_endpoints(paths, r, -1, "goal")
        area = self.area
        if area is None:
            pts = np.concatenate(paths)
            ext = pts.max(0) - pts.min(0) + 2 * r
            area = float(ext[0] * ext[1])
        if not np.isfinite(area) or area <= 0:
            raise ValueError(f"instance: area must be positive, got {area}")
        object.__setattr__(self, "paths", paths)
        object.__setattr__(self, "radius", r)
        object.__setattr__(self, "margin", margin)
        object.__setattr__(self, "speed", speed)
        object.__setattr__(self, "release", release)
        object.__setattr__(self, "headway", h)
        object.__setattr__(self, "area", float(area))
        object.__setattr__(self, "obstacles", tuple(np.asarray(o, float) for o in self.obstacles))

    @property
    def n_robots(self) -> int:
        return len(self.paths)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([path_length(p) for p in self.paths])

    def density(self) -> dict[str, float]:
        """``swept_density`` and ``interference_degree`` (module docstring), plus ``area``."""
        lines = [LineString(p) for p in self.paths]
        swept = float(sum(ln.buffer(self.radius).area for ln in lines))
        tree = shapely.STRtree(lines)
        a, b = tree.query(lines, predicate="dwithin", distance=2 * self.radius + self.margin)
        pairs = int(np.sum(a < b))
        return {"swept_density": swept / self.area,
                "interference_degree": 2.0 * pairs / self.n_robots,
                "area": self.area}


def _check_endpoints(paths: tuple, r: float, idx: int, what: str) -> None:
    pts = np.array([p[idx] for p in paths])
    d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    d[np.diag_indices(len(pts))] = np.inf
    i, j = np.unravel_index(np.argmin(d), d.shape)
    if d[i, j] < 2 * r:
        i, j = sorted((int(i), int(j)))
        raise ValueError(f"robots {i} and {j} share a {what}: their {what} points are "
                         f"{d[i, j]:.3f} m apart, closer than 2*radius = {2 * r:.3f} m")


def _repair(paths: list, resample: Callable[[int], np.ndarray],
            make: Callable[[list], SchedulingInstance],
            rng: np.random.Generator, max_repairs: int) -> SchedulingInstance:
    """Build the instance and its coordination graph; while forced orders contradict each other
    (robots standing in each other's way), redraw one of the robots involved."""
    from planners.scheduling.graph import InfeasibleInstanceError, build_graph

    last = None
    for attempt in range(max_repairs + 1):
        inst = make(paths)
        try:
            build_graph(inst)
            inst.meta["redraws"] = attempt
            return inst
        except InfeasibleInstanceError as exc:
            last = exc
            redraw: set = set()
            for pair in exc.pairs:
                if not redraw.intersection(pair):
                    redraw.add(int(rng.choice(pair)))
            for k in sorted(redraw):
                paths[k] = resample(k)
    raise RuntimeError(f"could not draw a feasible instance in {max_repairs} redraws ({last}); "
                       f"lower the density")


# ------------------------------------------------------------------------------ warehouse
def warehouse_grid(n_block_cols: int, n_block_rows: int, block_w: int = 6, block_h: int = 2
                   ) -> tuple[np.ndarray, list[tuple[int, int]], list[tuple[int, int]]]:
    """Warehouse layout: ``free`` (H, W) bool grid of aisle cells (row = y), station cells
    (left and right wall columns) and shelf slots (cells of the ``block_h x block_w`` shelf
    blocks, separated by 1-cell aisles). Stations and slots are not ``free``: a robot only
    enters its own start and goal there (it drives under a shelf pod or into a station bay),
    so a robot standing there never blocks another robot's path."""
    W = 2 + 1 + n_block_cols * (block_w + 1)
    H = 1 + n_block_rows * (block_h + 1)
    free = np.zeros((H, W), bool)
    free[:, 1:W - 1] = True
    slots = []
    for by in range(n_block_rows):
        y0 = 1 + by * (block_h + 1)
        for bx in range(n_block_cols):
            x0 = 2 + bx * (block_w + 1)
            free[y0:y0 + block_h, x0:x0 + block_w] = False
            slots.extend((y, x) for y in range(y0, y0 + block_h) for x in range(x0, x0 + block_w))
    stations = [(y, x) for y in range(H) for x in (0, W - 1)]
    return free, stations, slots


def grid_astar(free: np.ndarray, start: tuple[int, int], goal: tuple[int, int]
               ) -> list[tuple[int, int]] | None:
    """Shortest 4-connected path on a boolean grid (A*, Manhattan heuristic); the start and
    goal cells may be blocked (entered only by this robot). None if there is no path."""
    H, W = free.shape

    def h(c: tuple[int, int]) -> int:
        return abs(c[0] - goal[0]) + abs(c[1] - goal[1])

    g = {start: 0}
    parent: dict = {start: None}
    heap = [(h(start), 0, start)]
    while heap:
        _, gc, c = heapq.heappop(heap)
        if c == goal:
            out = []
            while c is not None:
                out.append(c)
                c = parent[c]
            return out[::-1]
        if gc > g[c]:
            continue
        for dy, dx in ((0, 1), (1, 0), (0, -1), (-1, 0)):
            nb = (c[0] + dy, c[1] + dx)
            if (0 <= nb[0] < H and 0 <= nb[1] < W and (free[nb] or nb == goal)
                    and gc + 1 < g.get(nb, 1 << 30)):
                g[nb] = gc + 1
                parent[nb] = c
                heapq.heappush(heap, (gc + 1 + h(nb), gc + 1, nb))
    return None


def warehouse_instance(n_robots: int, rng: np.random.Generator, *, occupancy: float = 0.08,
                       cell: float = 1.0, radius: float = 0.3,
                       speed: tuple[float, float] = (1.0, 1.0), margin: float = 0.1,
                       headway: float | None = None, park_at_goal: bool = True,
                       max_task_distance: int | None = None, max_repairs: int = 200
                       ) -> SchedulingInstance:
    """Robots move pods and totes: 40% station to shelf slot, 40% slot to station, 20% slot to
    slot, on A* paths through the aisles (cell centres, collinear points dropped). The layout
    grows until ``n_robots <= occupancy * aisle cells`` and there are ``n_robots`` stations.
    Starts are distinct cells, goals are distinct cells. ``max_task_distance`` (Manhattan, in
    cells) keeps tasks local so density stays flat as the layout grows."""
    if n_robots < 1:
        raise ValueError(f"warehouse: n_robots must be >= 1, got {n_robots}")
    if not 0 < occupancy <= 0.5:
        raise ValueError(f"warehouse: occupancy must be in (0, 0.5], got {occupancy}")
    nbx = nby = 1
    while True:
        free, stations, slots = warehouse_grid(nbx, nby)
        if n_robots <= occupancy * free.sum() and len(stations) >= n_robots:
            break
        if nbx <= nby:
            nbx += 1
        else:
            nby += 1
    used: set = set()  # start and goal cells in use (a cell is either one robot's start or goal)
    cells: dict[int, tuple] = {}

    def to_poly(cs: list) -> np.ndarray:
        return simplify_collinear(np.array([((c[1] + 0.5) * cell, (c[0] + 0.5) * cell)
                                            for c in cs]))

    def draw(k: int) -> np.ndarray:
        if k in cells:
            used.difference_update(cells.pop(k))
        for _ in range(5000):
            u = rng.random()
            a = stations[rng.integers(len(stations))]
            b = slots[rng.integers(len(slots))]
            c = slots[rng.integers(len(slots))]
            s, g = (a, b) if u < 0.4 else (b, a) if u < 0.8 else (b, c)
            if s in used or g in used or s == g:
                continue
            if max_task_distance is not None and \
                    abs(s[0] - g[0]) + abs(s[1] - g[1]) > max_task_distance:
                continue
            path = grid_astar(free, s, g)
            if path is None:
                continue
            used.update((s, g))
            cells[k] = (s, g)
            return to_poly(path)
        raise RuntimeError("warehouse: no free start/goal cells left; lower occupancy")

    paths = [draw(k) for k in range(n_robots)]
    spd = rng.uniform(speed[0], speed[1], n_robots)
    area = float(free.sum() + len(stations) + len(slots)) * cell * cell

    def make(ps: list) -> SchedulingInstance:
        return SchedulingInstance(paths=tuple(ps), radius=radius, speed=spd, headway=headway,
                                  margin=margin, area=area, park_at_goal=park_at_goal,
                                  kind="warehouse",
                                  meta={"grid_shape": free.shape, "blocks": (nbx, nby)})

    return _repair(paths, draw, make, rng, max_repairs)


# ------------------------------------------------------------------------------ open area
def _random_obstacles(rng: np.random.Generator, side: float, n: int, size: tuple[float, float],
                      gap: float) -> list[Polygon]:
    obs: list[Polygon] = []
    for _ in range(200 * max(n, 1)):
        if len(obs) >= n:
            break
        w, h = rng.uniform(*size, 2)
        c = rng.uniform(0.15 * side, 0.85 * side, 2)
        ang = rng.uniform(0, np.pi)
        rect = shapely.affinity.rotate(box(-w / 2, -h / 2, w / 2, h / 2), ang, use_radians=True)
        rect = shapely.affinity.translate(rect, *c)
        if all(rect.distance(o) >= gap for o in obs):
            obs.append(rect)
    return obs


class _VisibilityGraph:
    """Shortest paths around inflated polygon obstacles (visibility graph + Dijkstra)."""

    def __init__(self, obstacles: list[Polygon], inflate: float):
        self.block = [o.buffer(inflate * 0.999, join_style="mitre", mitre_limit=10.0)
                      for o in obstacles]
        self.union = unary_union(self.block) if self.block else None
        verts = []
        for o in obstacles:
            ring = o.buffer(inflate * 1.02, join_style="mitre", mitre_limit=10.0).exterior.coords
            verts.extend(list(ring)[:-1])
        self.verts = [np.array(v) for v in verts if self.free(np.array(v))]
        n = len(self.verts)
        self.adj = {k: [] for k in range(n)}
        for a in range(n):
            for b in range(a + 1, n):
                if self.visible(self.verts[a], self.verts[b]):
                    d = float(np.linalg.norm(self.verts[a] - self.verts[b]))
                    self.adj[a].append((b, d))
                    self.adj[b].append((a, d))

    def free(self, p: np.ndarray) -> bool:
        return self.union is None or not self.union.contains(Point(p))

    def visible(self, p: np.ndarray, q: np.ndarray) -> bool:
        return self.union is None or not self.union.intersects(LineString([p, q]))

    def shortest(self, s: np.ndarray, g: np.ndarray) -> np.ndarray | None:
        if self.visible(s, g):
            return np.array([s, g])
        n = len(self.verts)
        S, G = n, n + 1
        pts = self.verts + [s, g]
        extra = {S: [], G: []}
        for k in range(n):
            for e, p in ((S, s), (G, g)):
                if self.visible(p, self.verts[k]):
                    extra[e].append((k, float(np.linalg.norm(p - self.verts[k]))))
        g_adj = {k: [(b, d) for b, d in self.adj[k]] for k in range(n)}
        for k, d in extra[G]:
            g_adj[k].append((G, d))
        g_adj[S] = extra[S]
        dist = {S: 0.0}
        prev: dict = {}
        heap = [(0.0, S)]
        while heap:
            d, a = heapq.heappop(heap)
            if a == G:
                break
            if d > dist.get(a, np.inf):
                continue
            for b, w in g_adj.get(a, []):
                if d + w < dist.get(b, np.inf):
                    dist[b] = d + w
                    prev[b] = a
                    heapq.heappush(heap, (d + w, b))
        if G not in dist:
            return None
        out, a = [G], G
        while a != S:
            a = prev[a]
            out.append(a)
        return np.array([pts[k] for k in out[::-1]])


def open_area_instance(n_robots: int, rng: np.random.Generator, *, density: float = 0.6,
                       trip_length: tuple[float, float] = (6.0, 12.0), n_obstacles: int = 0,
                       obstacle_size: tuple[float, float] = (1.0, 3.0), radius: float = 0.3,
                       speed: tuple[float, float] = (0.8, 1.2), margin: float = 0.1,
                       headway: float | None = None, park_at_goal: bool = False,
                       max_repairs: int = 200) -> SchedulingInstance:
    """Free-form crossing paths in a square whose side is chosen so that the swept density is
    about ``density`` (start-goal distance uniform in ``trip_length``, so local traffic stays
    the same as ``n_robots`` grows; for so few robots that the square would be smaller than
    1.3 x the longest trip, trips are scaled down with the square instead). Optional
    rotated-rectangle obstacles; paths go around them
    (visibility graph of the obstacles inflated by ``radius + 0.05``)."""
    if n_robots < 1:
        raise ValueError(f"open_area: n_robots must be >= 1, got {n_robots}")
    if density <= 0:
        raise ValueError(f"open_area: density must be > 0, got {density}")
    mean_len = 1.05 * float(np.mean(trip_length))
    swept = 2 * radius * mean_len + np.pi * radius ** 2
    obs_area = n_obstacles * float(np.mean(obstacle_size)) ** 2
    side = float(np.sqrt(n_robots * swept / density + obs_area))
    if side < 1.3 * trip_length[1]:
        # few robots: a square this small cannot hold the trips, so trips shrink with the
        # square (factor side / (1.3 max trip)), solving side^2 = N swept(side) / density + obs
        b = n_robots * 2 * radius * mean_len / (1.3 * trip_length[1] * density)
        c = n_robots * np.pi * radius ** 2 / density + obs_area
        side = float((b + np.sqrt(b * b + 4 * c)) / 2)
        scale = side / (1.3 * trip_length[1])
        trip_length = (trip_length[0] * scale, trip_length[1] * scale)
    inflate = radius + 0.05
    obstacles = _random_obstacles(rng, side, n_obstacles, obstacle_size, 2 * inflate + 2 * radius)
    vis = _VisibilityGraph(obstacles, inflate)
    lo, hi = radius + 0.05, side - radius - 0.05
    sep = 2 * radius + margin
    starts: dict[int, np.ndarray] = {}
    goals: dict[int, np.ndarray] = {}

    def ok(p: np.ndarray, others: dict, k: int) -> bool:
        return (lo <= p[0] <= hi and lo <= p[1] <= hi and vis.free(p) and
                all(np.linalg.norm(p - q) >= sep for j, q in others.items() if j != k))

    def draw(k: int) -> np.ndarray:
        starts.pop(k, None)
        goals.pop(k, None)
        for _ in range(5000):
            s = rng.uniform(lo, hi, 2)
            if not ok(s, starts, k):
                continue
            d = rng.uniform(*trip_length)
            a = rng.uniform(0, 2 * np.pi)
            g = s + d * np.array([np.cos(a), np.sin(a)])
            if not ok(g, goals if park_at_goal else {}, k):
                continue
            p = vis.shortest(s, g)
            if p is None or path_length(p) > 1.5 * trip_length[1]:
                continue
            starts[k], goals[k] = s, g
            return p
        raise RuntimeError("open_area: could not place a robot; lower the density")

    paths = [draw(k) for k in range(n_robots)]
    spd = rng.uniform(speed[0], speed[1], n_robots)
    area = side * side - sum(o.area for o in obstacles)
    obs_arr = tuple(np.asarray(o.exterior.coords)[:-1] for o in obstacles)

    def make(ps: list) -> SchedulingInstance:
        return SchedulingInstance(paths=tuple(ps), radius=radius, speed=spd, headway=headway,
                                  margin=margin, area=area, obstacles=obs_arr,
                                  park_at_goal=park_at_goal, kind="open_area",
                                  meta={"side": side})

    return _repair(paths, draw, make, rng, max_repairs)


# ------------------------------------------------------------------------------ intersection
def _rot(k: int) -> np.ndarray:
    c, s = np.cos(k * np.pi / 2), np.sin(k * np.pi / 2)
    return np.array([[c, -s], [s, c]])


def intersection_path(arm: int, turn: str, queue_dist: float, lane_width: float,
                      exit_length: float) -> np.ndarray:
    """Path of a vehicle approaching on ``arm`` (0 = from the south heading north, then
    counter-clockwise) ``queue_dist`` metres before the stop line, turning ``'left'``,
    ``'straight'`` or ``'right'`` and driving ``exit_length`` metres out of the box."""
    w = lane_width
    start = np.array([w / 2, -w - queue_dist])
    stop = np.array([w / 2, -w])
    if turn == "straight":
        pts = np.array([start, stop, [w / 2, w + exit_length]])
    elif turn == "right":
        a = arc([w, -w], w / 2, np.pi, np.pi / 2)
        pts = np.vstack([start, a, [w + exit_length, -w / 2]])
    elif turn == "left":
        a = arc([-w, -w], 1.5 * w, 0.0, np.pi / 2)
        pts = np.vstack([start, a, [-w - exit_length, w / 2]])
    else:
        raise ValueError(f"intersection: turn must be 'left', 'straight' or 'right', got {turn!r}")
    return simplify_collinear(pts @ _rot(arm).T)


def intersection_instance(n_robots: int, rng: np.random.Generator, *, lane_width: float = 3.5,
                          radius: float = 1.0, margin: float = 0.5,
                          speed: tuple[float, float] = (8.0, 12.0), headway: float | None = None,
                          turn_probs: tuple[float, float, float] = (0.25, 0.5, 0.25),
                          gap: tuple[float, float] = (1.0, 6.0), exit_length: float = 30.0
                          ) -> SchedulingInstance:
    """CAVs queued on the four approaches (arm uniform at random, bumper gaps uniform in
    ``gap``), turning left / straight / right with ``turn_probs``; they leave the area at the
    end of their exit lane (``park_at_goal=False``). Queue order forces who goes first."""
    if n_robots < 1:
        raise ValueError(f"intersection: n_robots must be >= 1, got {n_robots}")
    p = np.asarray(turn_probs, float)
    if p.shape != (3,) or (p < 0).any() or p.sum() <= 0:
        raise ValueError(f"intersection: turn_probs must be 3 non-negative weights, got "
                         f"{turn_probs}")
    arms = rng.integers(0, 4, n_robots)
    turns = rng.choice(["left", "straight", "right"], size=n_robots, p=p / p.sum())
    queue = np.zeros(4)
    paths = []
    for k in range(n_robots):
        a = int(arms[k])
        if queue[a] == 0:
            d = rng.uniform(0.5, 3.0)
        else:
            d = queue[a] + 2 * radius + margin + rng.uniform(*gap)
        queue[a] = d
        paths.append(intersection_path(a, str(turns[k]), d, lane_width, exit_length))
    spd = rng.uniform(speed[0], speed[1], n_robots)
    lanes = unary_union([LineString(pth).buffer(lane_width / 2, cap_style="flat")
                         for pth in paths])
    inst = SchedulingInstance(paths=tuple(paths), radius=radius, speed=spd, headway=headway,
                              margin=margin, area=float(lanes.area), park_at_goal=False,
                              kind="intersection",
                              meta={"arms": arms.tolist(), "turns": turns.tolist()})
    return _repair(list(paths), lambda k: paths[k], lambda ps: inst, rng, 0)
