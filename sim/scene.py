"""One pybullet world: ground, static obstacles, robot bodies, stepping and contact counting.

Each :class:`Scene` owns its own physics client (``p.DIRECT`` unless ``gui=True``), so several scenes
can live in one process (the gym-pybullet-drones pattern: every call passes ``physicsClientId``).

Both continuous fidelities use it:
- kinematic: the runner integrates states itself and mirrors poses with :meth:`set_poses`; contacts
  come from :meth:`count_contacts` (which then runs collision detection without stepping dynamics,
  and ignores the ground, which is dropped from collision detection in that mode);
- physics: the robot model sets motors/forces, :meth:`step` advances ``dt`` in ``physics_dt``
  substeps, calling each robot model's ``physics_substep`` hook (if it has one, e.g. the UAV's
  attitude controller) before every substep, since pybullet clears external forces after each one.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pybullet as p
import shapely
from shapely.geometry import Polygon

from sim.display import gui_available
from sim.robots._pb import yaw_to_quat
from sim.state import FleetState

if TYPE_CHECKING:
    from sim.robots.base import RobotModel

_BATCH = 256  # bodies per createMultiBody(batchPositions=...) call; huge batches get super-linear
_OBSTACLE_RGBA = [0.45, 0.47, 0.5, 1.0]


class Scene:
    """A pybullet world with static obstacles and robots.

    ``physics_dt`` is the pybullet substep; ``seed`` is kept for callers that want it (pybullet's
    own solver is deterministic and draws no random numbers here).
    """

    def __init__(self, *, gui: bool = False, physics_dt: float = 1 / 240, gravity: float = -9.81,
                 seed: int = 0) -> None:
        if not (math.isfinite(physics_dt) and physics_dt > 0):
            raise ValueError(f"Scene physics_dt: expected a number > 0, got {physics_dt!r}")
        self.gui = bool(gui)
        if self.gui:
            ok, why = gui_available()
            if not ok:
                raise RuntimeError(f"--gui needs a display: {why}")
        self.client: int = p.connect(p.GUI if self.gui else p.DIRECT)
        if self.client < 0:
            raise RuntimeError("pybullet could not open a physics client")
        self.physics_dt = float(physics_dt)
        self.seed = int(seed)
        self.ground: int | None = None
        self.obstacle_bodies: set[int] = set()
        self.robot_bodies: set[int] = set()
        self._substep_hooks: list[Callable[[], None]] = []
        self._kinematic = False  # set by set_poses: no dynamics, contacts need collision detection
        self._closed = False
        p.setGravity(0, 0, gravity, physicsClientId=self.client)
        p.setPhysicsEngineParameter(fixedTimeStep=self.physics_dt, numSubSteps=0, physicsClientId=self.client)
        if self.gui:
            p.configureDebugVisualizer(p.COV_ENABLE_GUI, 0, physicsClientId=self.client)

    # --- static world ----------------------------------------------------------------------------
    def add_ground(self) -> int:
        """Infinite plane at z = 0 (friction 1)."""
        shape = p.createCollisionShape(p.GEOM_PLANE, physicsClientId=self.client)
        vis = p.createVisualShape(p.GEOM_PLANE, rgbaColor=[0.9, 0.9, 0.88, 1], physicsClientId=self.client) \
            if self.gui else -1
        self.ground = p.createMultiBody(0, shape, vis, [0, 0, 0], physicsClientId=self.client)
        p.changeDynamics(self.ground, -1, lateralFriction=1.0, physicsClientId=self.client)
        if self._kinematic:
            self._drop_ground_collisions()
        return self.ground

    def add_polygons(self, polygons: list[Polygon], height: float = 1.0) -> list[int]:
        """Static prisms extruded from z = 0 to ``height``; one body per polygon.

        Convex polygons become one convex hull; non-convex ones (and polygons with holes) are split
        into constrained-Delaunay triangles, each a convex prism of one compound body.
        """
        if not (math.isfinite(height) and height > 0):
            raise ValueError(f"add_polygons height: expected a number > 0, got {height!r}")
        ids = []
        for i, poly in enumerate(polygons):
            if not isinstance(poly, Polygon) or poly.is_empty or not poly.is_valid or poly.area <= 0:
                raise ValueError(f"add_polygons: polygon {i} must be a valid shapely Polygon with area > 0")
            ids.append(self._add_prism_body(poly, height))
        self.obstacle_bodies.update(ids)
        return ids

    def _add_prism_body(self, poly: Polygon, height: float) -> int:
        kw = {"physicsClientId": self.client}
        cx, cy = poly.centroid.x, poly.centroid.y
        hull = poly.convex_hull
        if hull.area - poly.area <= 1e-9 * max(1.0, poly.area) and not poly.interiors:
            pieces = [poly]
        else:
            tris = shapely.get_parts(shapely.constrained_delaunay_triangles(poly))
            pieces = [t for t in tris if t.area > 1e-12]
        cols = []
        for piece in convex_pieces(pieces):
            ring = np.asarray(piece.exterior.coords)[:-1] - [cx, cy]
            bottom = np.column_stack([ring, np.zeros(len(ring))])
            top = np.column_stack([ring, np.full(len(ring), height)])
            cols.append(p.createCollisionShape(p.GEOM_MESH, vertices=np.vstack([bottom, top]).tolist(), **kw))
        vis = self._prism_visual(pieces, height, cx, cy) if self.gui else -1
        # pybullet has no compound of convex meshes: extra pieces are fixed, massless links.
        k = len(cols) - 1
        body = p.createMultiBody(
            0, cols[0], vis, [cx, cy, 0.0],
            linkMasses=[0.0] * k, linkCollisionShapeIndices=cols[1:], linkVisualShapeIndices=[-1] * k,
            linkPositions=[[0, 0, 0]] * k, linkOrientations=[[0, 0, 0, 1]] * k,
            linkInertialFramePositions=[[0, 0, 0]] * k, linkInertialFrameOrientations=[[0, 0, 0, 1]] * k,
            linkParentIndices=[0] * k, linkJointTypes=[p.JOINT_FIXED] * k, linkJointAxis=[[0, 0, 1]] * k,
            **kw)
        return body

    def _prism_visual(self, pieces: list[Polygon], height: float, cx: float, cy: float) -> int:
        verts: list[list[float]] = []
        idx: list[int] = []
        for piece in pieces:
            ring = np.asarray(piece.exterior.coords)[:-1] - [cx, cy]
            if shapely.is_ccw(piece.exterior) is False:
                ring = ring[::-1]
            k, base = len(ring), len(verts)
            verts += [[x, y, 0.0] for x, y in ring] + [[x, y, height] for x, y in ring]
            for j in range(1, k - 1):  # fan-triangulated caps (pieces are convex)
                idx += [base, base + j + 1, base + j, base + k, base + k + j, base + k + j + 1]
            for j in range(k):  # side quads
                a, b = base + j, base + (j + 1) % k
                idx += [a, b, b + k, a, b + k, a + k]
        return p.createVisualShape(p.GEOM_MESH, vertices=verts, indices=idx, rgbaColor=_OBSTACLE_RGBA,
                                   physicsClientId=self.client)

    def add_grid_obstacles(self, blocked: np.ndarray, cell_size: float, height: float = 1.0) -> list[int]:
        """Boxes for the blocked cells of an (H, W) grid (row 0 = top, world y grows upwards).

        Cell (row, col) covers x in [col, col+1]*cell, y in [H-row-1, H-row]*cell. Blocked cells are
        merged into rectangles (runs within a row, then identical runs stacked over rows), and
        same-sized boxes are created in batches, so a 140x500 warehouse takes well under a second.
        """
        grid = np.asarray(blocked)
        if grid.ndim != 2:
            raise ValueError(f"add_grid_obstacles blocked: expected a 2-D (H, W) array, got shape {grid.shape}")
        if not (math.isfinite(cell_size) and cell_size > 0):
            raise ValueError(f"add_grid_obstacles cell_size: expected a number > 0, got {cell_size!r}")
        if not (math.isfinite(height) and height > 0):
            raise ValueError(f"add_grid_obstacles height: expected a number > 0, got {height!r}")
        rects = merge_blocked_cells(grid.astype(bool))
        if len(rects) == 0:
            return []
        h = grid.shape[0]
        kw = {"physicsClientId": self.client}
        ids: list[int] = []
        sizes = rects[:, 2:4]
        uniq, inverse = np.unique(sizes, axis=0, return_inverse=True)
        for k, (nr, nc) in enumerate(uniq):
            sel = rects[inverse.reshape(-1) == k]
            half = [0.5 * nc * cell_size, 0.5 * nr * cell_size, 0.5 * height]
            col = p.createCollisionShape(p.GEOM_BOX, halfExtents=half, **kw)
            vis = p.createVisualShape(p.GEOM_BOX, halfExtents=half, rgbaColor=_OBSTACLE_RGBA, **kw) \
                if self.gui else -1
            cx = (sel[:, 1] + 0.5 * sel[:, 3]) * cell_size
            cy = (h - sel[:, 0] - 0.5 * sel[:, 2]) * cell_size
            centres = np.column_stack([cx, cy, np.full(len(sel), 0.5 * height)])
            for start in range(0, len(centres), _BATCH):
                chunk = centres[start:start + _BATCH]
                if len(chunk) == 1:
                    ids.append(p.createMultiBody(0, col, vis, chunk[0].tolist(), **kw))
                else:
                    out = p.createMultiBody(0, col, vis, [0, 0, 0], batchPositions=chunk.tolist(), **kw)
                    ids.extend(out)
        self.obstacle_bodies.update(ids)
        return ids

    # --- robots ------------------------------------------------------------------------------------
    def add_robots(self, model: "RobotModel", state: FleetState) -> list[int]:
        """Spawn one body per robot (``model.spawn``) and hook the model's per-substep controller."""
        bodies = list(model.spawn(self.client, state))
        if len(bodies) != state.n:
            raise RuntimeError(f"{type(model).__name__}.spawn returned {len(bodies)} bodies for {state.n} robots")
        self.robot_bodies.update(bodies)
        hook = getattr(model, "physics_substep", None)
        if callable(hook):
            client, dt = self.client, self.physics_dt
            self._substep_hooks.append(lambda: hook(client, bodies, dt))
        return bodies

    def set_poses(self, bodies: list[int], state: FleetState) -> None:
        """Kinematic mirror: put every body at its state pose (yaw only; no velocities)."""
        if len(bodies) != state.n:
            raise ValueError(f"set_poses: {len(bodies)} bodies but the state has {state.n} robots")
        if not self._kinematic:
            self._kinematic = True
            self._drop_ground_collisions()
        pos = state.pos.tolist()
        quat = yaw_to_quat(state.yaw).tolist()
        reset = p.resetBasePositionAndOrientation
        c = self.client
        for b, x, q in zip(bodies, pos, quat):
            reset(b, x, q, physicsClientId=c)

    def _drop_ground_collisions(self) -> None:
        # In kinematic mode nothing rests on the ground; leaving it out of the broadphase saves one
        # contact manifold per robot (and the ground is ignored by count_contacts anyway).
        if self.ground is not None:
            p.setCollisionFilterGroupMask(self.ground, -1, 0, 0, physicsClientId=self.client)

    def step(self, dt: float) -> None:
        """Advance the dynamics by ``dt`` in substeps of ``physics_dt`` (``dt`` must be a multiple)."""
        ratio = dt / self.physics_dt
        n = int(round(ratio))
        if n < 1 or abs(ratio - n) > 1e-6 * max(1.0, ratio):
            raise ValueError(f"Scene.step: dt ({dt!r}) must be a whole multiple (>= 1) of physics_dt "
                             f"({self.physics_dt!r}); got {ratio:.6g} substeps")
        for _ in range(n):
            for hook in self._substep_hooks:
                hook()
            p.stepSimulation(physicsClientId=self.client)

    def count_contacts(self, robot_bodies: list[int]) -> tuple[int, int]:
        """(robot-robot pairs, robot-obstacle pairs) touching or penetrating now; ground ignored.

        A pair counts once however many contact points it has. "Obstacle" is any non-robot body
        other than the ground (static obstacles and anything else in the scene).
        """
        if self._kinematic:
            p.performCollisionDetection(physicsClientId=self.client)
        robots = set(robot_bodies)
        ground = self.ground
        pairs = set()
        for c in p.getContactPoints(physicsClientId=self.client):
            a, b = c[1], c[2]
            if a == b or c[8] > 0.0 or a == ground or b == ground:
                continue
            if a in robots or b in robots:
                pairs.add((a, b) if a < b else (b, a))
        rr = sum(1 for a, b in pairs if a in robots and b in robots)
        return rr, len(pairs) - rr

    # --- lifetime ------------------------------------------------------------------------------------
    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                p.disconnect(physicsClientId=self.client)
            except p.error:
                pass

    def __enter__(self) -> "Scene":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


def convex_pieces(triangles: list[Polygon]) -> list[Polygon]:
    """Greedily merge edge-sharing convex pieces while the union stays convex (Hertel-Mehlhorn-like).

    Fewer pieces mean fewer collision shapes; the result is still an exact convex partition.
    """
    pieces = list(triangles)
    merged = True
    while merged and len(pieces) > 1:
        merged = False
        for i in range(len(pieces)):
            for j in range(i + 1, len(pieces)):
                a, b = pieces[i], pieces[j]
                if a.intersection(b).length <= 1e-9:  # must share an edge, not just a vertex
                    continue
                u = shapely.union(a, b)
                if isinstance(u, Polygon) and not u.interiors and \
                        u.convex_hull.area - u.area <= 1e-9 * max(1.0, u.area):
                    pieces[i] = shapely.normalize(shapely.simplify(u, 0.0))
                    del pieces[j]
                    merged = True
                    break
            if merged:
                break
    return pieces


def merge_blocked_cells(blocked: np.ndarray) -> np.ndarray:
    """Cover the True cells of an (H, W) bool grid with disjoint rectangles.

    Returns (K, 4) int rows ``(row0, col0, n_rows, n_cols)``: horizontal runs per row, then runs with
    the same column span in consecutive rows are stacked. Exact cover (tested cell by cell).
    """
    g = np.asarray(blocked, dtype=bool)
    h, w = g.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = g
    d = np.diff(padded, axis=1)
    sr, sc = np.nonzero(d == 1)  # run starts (row-major order)
    er, ec = np.nonzero(d == -1)  # run ends (exclusive), same order
    assert np.array_equal(sr, er)
    open_runs: dict[tuple[int, int], list[int]] = {}  # (c0, c1) -> [row0, n_rows] still growing
    out: list[tuple[int, int, int, int]] = []
    row_runs: dict[int, list[tuple[int, int]]] = {}
    for r, c0, c1 in zip(sr.tolist(), sc.tolist(), ec.tolist()):
        row_runs.setdefault(r, []).append((c0, c1))
    for r in range(h):
        runs = row_runs.get(r, [])
        still: dict[tuple[int, int], list[int]] = {}
        for span in runs:
            rec = open_runs.pop(span, None)
            if rec is not None and rec[0] + rec[1] == r:
                rec[1] += 1
                still[span] = rec
            else:
                if rec is not None:
                    out.append((rec[0], span[0], rec[1], span[1] - span[0]))
                still[span] = [r, 1]
        for (c0, c1), (r0, nr) in open_runs.items():
            out.append((r0, c0, nr, c1 - c0))
        open_runs = still
    for (c0, c1), (r0, nr) in open_runs.items():
        out.append((r0, c0, nr, c1 - c0))
    return np.asarray(sorted(out), dtype=int).reshape(-1, 4)


__all__ = ["Scene", "merge_blocked_cells"]
