"""Overlay conventions: what a controller may put in ``Commands.overlay`` and how the viewer draws it.

The runner writes each step's ``Commands.overlay`` dict as one line of ``overlays.jsonl``
(``{"step": k, ...}``); the live viewer receives the same dict. An overlay stays in force until the
next one is recorded, so a planner that re-plans every ``w`` steps only needs to emit on those steps.
All keys are optional; unknown keys are shown as text in the selection panel when they are per-agent
lists of length N, and ignored otherwise. Values are plain JSON (numpy arrays are converted by the
run-directory writer).

Coordinates are world metres ``[x, y]`` or ``[x, y, z]`` unless a key says *cells*. Grid cells are
``[row, col]`` with row 0 at the top of the map: ``x = (col + 0.5) * cell``,
``y = (H - row - 0.5) * cell`` (``H`` rows, ``cell`` = ``scene.json`` ``cell_size``).
"Per-agent" means a list of length N indexed by robot, or a JSON object ``{"<index>": value}`` for a
sparse subset.

==================  ===============================================  =========================================
key                 value                                            drawn as
==================  ===============================================  =========================================
``paths``           per-agent list of points ``[[x, y(, z)], ...]``  polyline along the plan, in the robot's
                    (planned path, MAPF / trajectory planners)       colour (include the current position)
``path_cells``      per-agent list of cells ``[[row, col], ...]``    same, converted from grid cells
``goals``           per-agent goal ``[x, y(, z)]``                   diamond in the robot's colour; shown in
                                                                     the selection panel
``goal_cells``      per-agent goal cell ``[row, col]``               same, converted from a grid cell
``order``           per-agent rank, int (0 = goes first);            robots coloured by rank (blue = early,
(``passing_order``) GNN-VAE / MILP passing orders                    red = late); rank labels for N <= 64
``alpha``           per-agent float (CBF class-K gain)               robots coloured by alpha on a log scale
``safety_radius``   float, or per-agent floats (CBF radius D)        magenta ring of that radius, moving with
                                                                     each robot
``edges``           list of ``[i, j]`` robot pairs (coordination     grey segments between the two robots
                    graph, communication links, joint-action edges)
``coverage``        per-UAV ground coverage radius (float)           ring on the ground under each UAV
``users``           list of user positions ``[x, y(, z)]``           points on the ground
``association``     per-user index of the serving UAV, -1 = none     users coloured like their UAV, line from
                                                                     the UAV to each served user
``flagged``         list of robot indices (CP-Guard: collaborators   robots drawn red, "flagged" in the panel
                    judged malicious)
``text``            free-form string                                 shown under the timeline
==================  ===============================================  =========================================

Per-agent colour keys take precedence in this order: ``flagged`` > ``order`` > ``alpha``.
The functions here are pure (numpy in, numpy out) so they are tested without a browser.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

FLAG_RED = np.array([230, 40, 40], np.uint8)
SAFETY_MAGENTA = np.array([200, 60, 160], np.uint8)
MAX_SEGMENTS = 200_000  # beyond this the overlay is thinned: the browser stays responsive
MAX_LABELS = 64


@dataclass
class OverlayGeometry:
    """What one overlay record turns into.

    Record-level parts (paths, goals, users, ring sets, colours) are built once per record and sent
    once; only :func:`dynamic_segments` (lines whose ends are robots) and the ring positions follow
    the robots every frame, so playback re-sends little more than the robot transforms.
    """

    segments: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 3), np.float32))  # static (paths)
    segment_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 3), np.uint8))
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))  # users
    point_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.uint8))
    goal_points: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    goal_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.uint8))
    ring_index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # robot of each ring
    ring_radius: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    ring_ground: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # coverage: on the ground
    ring_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.uint8))
    edges: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))  # robot pairs
    user_uav: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # serving UAV per user, -1
    robot_colors: Optional[np.ndarray] = None  # (N, 3) uint8 when the overlay recolours robots
    labels: list[tuple[int, str]] = field(default_factory=list)
    legend: str = ""
    text: str = ""

    @property
    def empty(self) -> bool:
        return not (len(self.segments) or len(self.points) or len(self.goal_points) or len(self.ring_index)
                    or len(self.edges) or self.robot_colors is not None or self.labels or self.text)


def per_agent(value: Any, n: int) -> dict[int, Any]:
    """Normalise a per-agent value (list of length N, or {"i": v}) to {index: value} with 0 <= i < N."""
    if value is None:
        return {}
    if isinstance(value, dict):
        out: dict[int, Any] = {}
        for k, v in value.items():
            try:
                i = int(k)
            except (TypeError, ValueError):
                continue
            if 0 <= i < n and v is not None:
                out[i] = v
        return out
    if isinstance(value, (list, tuple, np.ndarray)):
        return {i: v for i, v in enumerate(list(value)[:n]) if v is not None}
    return {}


def cells_to_xy(cells: Any, grid_rows: int, cell: float) -> np.ndarray:
    """[[row, col], ...] -> (K, 2) world metres (row 0 at the top)."""
    rc = np.asarray(cells, dtype=float).reshape(-1, 2)
    return np.column_stack([(rc[:, 1] + 0.5) * cell, (grid_rows - rc[:, 0] - 0.5) * cell])


def _as_points(value: Any, z: float) -> Optional[np.ndarray]:
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    if a.ndim == 1 and a.shape[0] in (2, 3):
        a = a[None]
    if a.ndim != 2 or a.shape[1] not in (2, 3) or not np.isfinite(a).all():
        return None
    if a.shape[1] == 2:
        a = np.column_stack([a, np.full(len(a), z)])
    return a


def _positive(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0


def rank_colors(ranks: np.ndarray) -> np.ndarray:
    """Blue (early) -> red (late) ramp for ranks normalised to [0, 1]."""
    t = np.asarray(ranks, float)
    t = (t - t.min()) / max(t.max() - t.min(), 1e-9) if len(t) else t
    c0, c1 = np.array([40, 110, 230.0]), np.array([230, 70, 40.0])
    return (c0 + t[:, None] * (c1 - c0)).astype(np.uint8)


def build(overlay: Optional[dict[str, Any]], *, n: int, base_colors: np.ndarray, scene: dict[str, Any],
          line_z: float = 0.05) -> OverlayGeometry:
    """Turn one overlay record into drawable geometry (independent of the robots' positions)."""
    g = OverlayGeometry()
    if not overlay:
        return g
    grid = scene.get("grid")
    rows = len(grid) if grid else 0
    cell = float(scene.get("cell_size") or 1.0)
    legend: list[str] = []

    # Planned paths: polylines in the robot's colour.
    paths: dict[int, np.ndarray] = {}
    for i, p in per_agent(overlay.get("paths"), n).items():
        pts = _as_points(p, line_z)
        if pts is not None:
            paths[i] = pts
    if rows:
        for i, p in per_agent(overlay.get("path_cells"), n).items():
            try:
                xy = cells_to_xy(p, rows, cell)
            except (TypeError, ValueError):
                continue
            paths[i] = np.column_stack([xy, np.full(len(xy), line_z)])
    segs = [np.stack([pts[:-1], pts[1:]], axis=1) for pts in paths.values() if len(pts) >= 2]
    if segs:
        counts = [len(pts) - 1 for pts in paths.values() if len(pts) >= 2]
        owners = np.repeat([i for i, pts in paths.items() if len(pts) >= 2], counts)
        s = np.concatenate(segs).astype(np.float32)
        c = np.repeat(base_colors[owners][:, None, :], 2, axis=1)
        if len(s) > MAX_SEGMENTS:  # keep an evenly thinned subset: the browser stays responsive
            keep = np.linspace(0, len(s) - 1, MAX_SEGMENTS).astype(np.int64)
            s, c = s[keep], c[keep]
        g.segments, g.segment_colors = s, c.astype(np.uint8)
    if paths:
        legend.append(f"paths: {len(paths)} planned")

    # Goals: diamonds in the robot's colour.
    goals: dict[int, np.ndarray] = {}
    for i, p in per_agent(overlay.get("goals"), n).items():
        pts = _as_points(p, line_z)
        if pts is not None:
            goals[i] = pts[0]
    if rows:
        for i, p in per_agent(overlay.get("goal_cells"), n).items():
            try:
                goals[i] = np.array([*cells_to_xy(p, rows, cell)[0], line_z])
            except (TypeError, ValueError):
                continue
    if goals:
        idx = np.array(sorted(goals))
        g.goal_points = np.array([goals[i] for i in idx], np.float32)
        g.goal_colors = base_colors[idx].astype(np.uint8)
        legend.append(f"goals: {len(goals)} (diamonds)")

    # Coordination / communication edges.
    edges = overlay.get("edges")
    if isinstance(edges, (list, tuple)) and edges:
        e = np.asarray([p for p in edges if isinstance(p, (list, tuple)) and len(p) == 2
                        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in p)],
                       dtype=np.int64).reshape(-1, 2)
        g.edges = e[(e >= 0).all(1) & (e < n).all(1)]
        if len(g.edges):
            legend.append(f"edges: {len(g.edges)}")

    # Rings: CBF safety radius (magenta, at the robot), UAV coverage (robot colour, on the ground).
    ring_i: list[np.ndarray] = []
    ring_r: list[np.ndarray] = []
    ring_ground: list[np.ndarray] = []
    sr = overlay.get("safety_radius")
    if _positive(sr):
        ring_i.append(np.arange(n))
        ring_r.append(np.full(n, float(sr)))
        ring_ground.append(np.zeros(n, bool))
        legend.append(f"safety radius: {float(sr):.3g} m")
    else:
        d = {i: float(v) for i, v in per_agent(sr, n).items() if _positive(v)}
        if d:
            ring_i.append(np.fromiter(d.keys(), np.int64, len(d)))
            ring_r.append(np.fromiter(d.values(), float, len(d)))
            ring_ground.append(np.zeros(len(d), bool))
            legend.append("safety radius: per agent")
    cov = {i: float(v) for i, v in per_agent(overlay.get("coverage"), n).items() if _positive(v)}
    if cov:
        ring_i.append(np.fromiter(cov.keys(), np.int64, len(cov)))
        ring_r.append(np.fromiter(cov.values(), float, len(cov)))
        ring_ground.append(np.ones(len(cov), bool))
        legend.append("coverage: rings on the ground")
    if ring_i:
        g.ring_index = np.concatenate(ring_i).astype(np.int64)
        g.ring_radius = np.concatenate(ring_r).astype(np.float32)
        g.ring_ground = np.concatenate(ring_ground)
        g.ring_colors = np.where(g.ring_ground[:, None], base_colors[g.ring_index],
                                 SAFETY_MAGENTA[None]).astype(np.uint8)

    # Users and their association to UAVs.
    users = _as_points(overlay.get("users"), 0.05) if overlay.get("users") is not None else None
    if users is not None and len(users):
        ucol = np.tile(np.array([90, 90, 90], np.uint8), (len(users), 1))
        assoc = overlay.get("association")
        if isinstance(assoc, (list, tuple)) and len(assoc) == len(users):
            a = np.array([int(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else -1 for x in assoc])
            a[(a < 0) | (a >= n)] = -1
            ucol[a >= 0] = base_colors[a[a >= 0]]
            g.user_uav = a
            legend.append(f"users: {len(users)} ({int((a >= 0).sum())} served)")
        else:
            legend.append(f"users: {len(users)}")
        g.points = users.astype(np.float32)
        g.point_colors = ucol

    # Robot colours: flagged > order > alpha.
    colors = None
    order = overlay.get("order", overlay.get("passing_order"))
    ranks = {i: v for i, v in per_agent(order, n).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if ranks:
        colors = base_colors.copy()
        idx = np.array(sorted(ranks))
        colors[idx] = rank_colors(np.array([ranks[i] for i in idx]))
        legend.append("order: blue = early, red = late")
        if n <= MAX_LABELS:
            g.labels = [(i, f"#{int(ranks[i])}") for i in idx.tolist()]
    alpha = {i: float(v) for i, v in per_agent(overlay.get("alpha"), n).items() if _positive(v)}
    if alpha and not ranks:
        colors = base_colors.copy()
        idx = np.array(sorted(alpha))
        colors[idx] = rank_colors(np.log10(np.array([alpha[i] for i in idx])))
        legend.append(f"alpha: blue = {min(alpha.values()):.3g} … red = {max(alpha.values()):.3g}")
    flagged = overlay.get("flagged")
    if isinstance(flagged, (list, tuple)) and flagged:
        f = np.array([int(x) for x in flagged if isinstance(x, (int, float)) and not isinstance(x, bool)
                      and 0 <= int(x) < n], dtype=np.int64)
        if len(f):
            colors = base_colors.copy() if colors is None else colors
            colors[f] = FLAG_RED
            legend.append(f"flagged: {len(f)} (red)")
    g.robot_colors = colors
    if isinstance(overlay.get("text"), str):
        g.text = overlay["text"]
    g.legend = "; ".join(legend)
    return g


def dynamic_segments(g: OverlayGeometry, pos: np.ndarray, scene: dict[str, Any],
                     line_z: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Lines whose ends are robots (edges, UAV-user links) at the current positions ``pos`` (N, 3)."""
    segs, cols = [], []
    z = pos[:, 2] if scene.get("kind") == "uav" else np.full(len(pos), line_z)
    p3 = np.column_stack([pos[:, :2], z]).astype(np.float32)
    if len(g.edges):
        segs.append(np.stack([p3[g.edges[:, 0]], p3[g.edges[:, 1]]], axis=1))
        cols.append(np.broadcast_to(np.array([120, 120, 120], np.uint8), (len(g.edges), 2, 3)))
    served = np.flatnonzero(g.user_uav >= 0)
    if len(served):
        u = g.user_uav[served]
        segs.append(np.stack([p3[u], g.points[served]], axis=1))
        cols.append(np.repeat(g.point_colors[served][:, None, :], 2, axis=1))
    if not segs:
        return np.zeros((0, 2, 3), np.float32), np.zeros((0, 2, 3), np.uint8)
    return np.concatenate(segs).astype(np.float32), np.concatenate(cols).astype(np.uint8)


def ring_positions(g: OverlayGeometry, pos: np.ndarray, scene: dict[str, Any], line_z: float = 0.02) -> np.ndarray:
    """(R, 3) ring centres: under the robot on the ground for coverage, at the robot otherwise."""
    p = pos[g.ring_index].astype(np.float32).copy()
    if scene.get("kind") != "uav":
        p[:, 2] = line_z
    p[g.ring_ground, 2] = 0.03
    return p


def agent_info(overlay: Optional[dict[str, Any]], i: int, n: int, scene: dict[str, Any]) -> dict[str, Any]:
    """Per-agent overlay values of robot ``i`` for the selection panel."""
    out: dict[str, Any] = {}
    if not overlay:
        return out
    grid = scene.get("grid")
    for key, value in overlay.items():
        if key in ("step", "users", "association", "edges", "text"):
            continue  # not per robot
        if key == "safety_radius" and isinstance(value, (int, float)):
            out[key] = value
            continue
        if key == "flagged":
            if isinstance(value, (list, tuple)):
                out["flagged"] = i in {int(x) for x in value if isinstance(x, (int, float))}
            continue
        d = per_agent(value, n)
        if i not in d:
            continue
        v = d[i]
        if key in ("paths", "path_cells"):
            try:
                out[f"{key} (points)"] = len(v)
                out[f"{key} next"] = v[0] if len(v) else None
            except TypeError:
                pass
            continue
        if key == "goal_cells" and grid:
            out["goal_cells"] = v
            try:
                out["goal"] = cells_to_xy(v, len(grid), float(scene.get("cell_size") or 1.0))[0].round(3).tolist()
            except (TypeError, ValueError):
                pass
            continue
        if isinstance(v, (int, float, str, bool)) or (isinstance(v, list) and len(v) <= 4):
            out[key] = v
    return out
