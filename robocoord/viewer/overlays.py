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
``paths``           per-agent list of points ``[[x, y(, z)], ...]``  polyline from the robot along its plan,
                    (planned path, MAPF / trajectory planners)       in the robot's colour
``path_cells``      per-agent list of cells ``[[row, col], ...]``    same, converted from grid cells
``goals``           per-agent goal ``[x, y(, z)]``                   small marker + dashed line robot->goal;
                                                                     shown in the selection panel
``goal_cells``      per-agent goal cell ``[row, col]``               same, converted from a grid cell
``order``           per-agent rank, int (0 = goes first);            robots coloured by rank (blue = early,
(``passing_order``) GNN-VAE / MILP passing orders                    red = late); rank labels for N <= 64
``alpha``           per-agent float (CBF class-K gain)               robots coloured by alpha on a log scale
``safety_radius``   float, or per-agent floats (CBF radius D)        ring of that radius around each robot
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
GOAL_GREEN = (40, 170, 70)
MAX_SEGMENTS = 200_000  # beyond this the overlay is thinned: the browser stays responsive
MAX_LABELS = 64


@dataclass
class OverlayGeometry:
    """What one overlay record turns into, ready for the scene."""

    segments: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 3), np.float32))
    segment_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 3), np.uint8))
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    point_colors: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.uint8))
    goal_points: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))
    robot_colors: Optional[np.ndarray] = None  # (N, 3) uint8 when the overlay recolours robots
    labels: list[tuple[int, str]] = field(default_factory=list)
    legend: str = ""
    text: str = ""


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


def rank_colors(ranks: np.ndarray) -> np.ndarray:
    """Blue (early) -> red (late) ramp for ranks normalised to [0, 1]."""
    t = np.asarray(ranks, float)
    t = (t - t.min()) / max(t.max() - t.min(), 1e-9) if len(t) else t
    c0, c1 = np.array([40, 110, 230.0]), np.array([230, 70, 40.0])
    return (c0 + t[:, None] * (c1 - c0)).astype(np.uint8)


def build(overlay: Optional[dict[str, Any]], *, pos: np.ndarray, base_colors: np.ndarray,
          scene: dict[str, Any], line_z: float = 0.05) -> OverlayGeometry:
    """Turn one overlay record into drawable geometry given the robots' current positions ``pos``."""
    g = OverlayGeometry()
    if not overlay:
        return g
    n = len(pos)
    grid = scene.get("grid")
    rows = len(grid) if grid else 0
    cell = float(scene.get("cell_size") or 1.0)
    segs: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    legend: list[str] = []

    def robot_z(i: int) -> float:
        return float(pos[i, 2]) if scene.get("kind") == "uav" else line_z

    def add_polyline(pts: np.ndarray, color: np.ndarray) -> None:
        if len(pts) < 2:
            return
        s = np.stack([pts[:-1], pts[1:]], axis=1)
        segs.append(s)
        cols.append(np.broadcast_to(color, (len(s), 2, 3)))

    # Planned paths, from the robot's current position along the plan.
    paths: dict[int, np.ndarray] = {}
    for i, p in per_agent(overlay.get("paths"), n).items():
        pts = _as_points(p, line_z)
        if pts is not None:
            paths[i] = pts
    if rows:
        for i, p in per_agent(overlay.get("path_cells"), n).items():
            try:
                paths[i] = np.column_stack([cells_to_xy(p, rows, cell), np.full(len(np.atleast_2d(p)), line_z)])
            except (TypeError, ValueError):
                continue
    for i, pts in paths.items():
        start = np.array([[pos[i, 0], pos[i, 1], robot_z(i)]])
        add_polyline(np.vstack([start, pts]), base_colors[i])
    if paths:
        legend.append(f"paths: {len(paths)} planned")

    # Goals.
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
        gp = np.array([goals[i] for i in idx])
        g.goal_points = gp.astype(np.float32)
        start = np.column_stack([pos[idx, 0], pos[idx, 1], [robot_z(i) for i in idx]])
        segs.append(np.stack([start, gp], axis=1))
        cols.append(np.broadcast_to(np.array(GOAL_GREEN, np.uint8), (len(idx), 2, 3)))
        legend.append("goals: green")

    # Coordination / communication edges.
    edges = overlay.get("edges")
    if isinstance(edges, (list, tuple)) and edges:
        e = np.asarray([p for p in edges if isinstance(p, (list, tuple)) and len(p) == 2], dtype=np.int64).reshape(-1, 2)
        e = e[(e >= 0).all(1) & (e < n).all(1)]
        if len(e):
            zz = pos[:, 2] if scene.get("kind") == "uav" else np.full(n, line_z)
            p3 = np.column_stack([pos[:, :2], zz])
            segs.append(np.stack([p3[e[:, 0]], p3[e[:, 1]]], axis=1))
            cols.append(np.broadcast_to(np.array([120, 120, 120], np.uint8), (len(e), 2, 3)))
            legend.append(f"edges: {len(e)}")

    # Rings: CBF safety radius, UAV coverage.
    rings: list[tuple[int, float, np.ndarray, float]] = []
    sr = overlay.get("safety_radius")
    if isinstance(sr, (int, float)) and not isinstance(sr, bool) and sr > 0:
        rings += [(i, float(sr), np.array([200, 60, 160], np.uint8), robot_z(i)) for i in range(n)]
        legend.append(f"safety radius: {float(sr):.3g} m")
    else:
        for i, v in per_agent(sr, n).items():
            if isinstance(v, (int, float)) and v > 0:
                rings.append((i, float(v), np.array([200, 60, 160], np.uint8), robot_z(i)))
        if rings:
            legend.append("safety radius: per agent")
    cov = per_agent(overlay.get("coverage"), n)
    for i, v in cov.items():
        if isinstance(v, (int, float)) and v > 0:
            rings.append((i, float(v), base_colors[i], 0.03))
    if cov:
        legend.append("coverage: rings on the ground")
    if rings:
        k = 48 if len(rings) <= 2000 else 16
        a = np.linspace(0, 2 * np.pi, k + 1)
        unit = np.column_stack([np.cos(a), np.sin(a)])
        for i, r, c, z in rings:
            ring = np.column_stack([pos[i, 0] + r * unit[:, 0], pos[i, 1] + r * unit[:, 1], np.full(k + 1, z)])
            add_polyline(ring, c)

    # Users and their association to UAVs.
    users = _as_points(overlay.get("users"), 0.05) if overlay.get("users") is not None else None
    if users is not None and len(users):
        ucol = np.tile(np.array([90, 90, 90], np.uint8), (len(users), 1))
        assoc = overlay.get("association")
        if isinstance(assoc, (list, tuple)) and len(assoc) == len(users):
            a = np.array([int(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else -1 for x in assoc])
            ok = (a >= 0) & (a < n)
            ucol[ok] = base_colors[a[ok]]
            if ok.any():
                src = pos[a[ok]].astype(float)
                segs.append(np.stack([src, users[ok]], axis=1))
                cols.append(np.stack([base_colors[a[ok]], base_colors[a[ok]]], axis=1))
            legend.append(f"users: {len(users)} ({int(ok.sum())} served)")
        else:
            legend.append(f"users: {len(users)}")
        g.points = users.astype(np.float32)
        g.point_colors = ucol

    # Robot colours: flagged > order > alpha.
    colors = None
    order = overlay.get("order", overlay.get("passing_order"))
    ranks = per_agent(order, n)
    ranks = {i: v for i, v in ranks.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if ranks:
        colors = base_colors.copy()
        idx = np.array(sorted(ranks))
        colors[idx] = rank_colors(np.array([ranks[i] for i in idx]))
        legend.append("order: blue = early, red = late")
        if n <= MAX_LABELS:
            g.labels = [(i, f"#{int(ranks[i])}") for i in idx.tolist()]
    alpha = per_agent(overlay.get("alpha"), n)
    alpha = {i: v for i, v in alpha.items() if isinstance(v, (int, float)) and v > 0}
    if alpha and not ranks:
        colors = base_colors.copy()
        idx = np.array(sorted(alpha))
        la = np.log10(np.array([alpha[i] for i in idx], float))
        colors[idx] = rank_colors(la)
        lo, hi = min(alpha.values()), max(alpha.values())
        legend.append(f"alpha: blue = {lo:.3g} … red = {hi:.3g}")
    flagged = overlay.get("flagged")
    if isinstance(flagged, (list, tuple)) and flagged:
        f = np.array([int(x) for x in flagged if isinstance(x, (int, float)) and 0 <= int(x) < n], dtype=np.int64)
        if len(f):
            colors = base_colors.copy() if colors is None else colors
            colors[f] = FLAG_RED
            legend.append(f"flagged: {len(f)} (red)")
    g.robot_colors = colors

    if segs:
        s = np.concatenate(segs).astype(np.float32)
        c = np.concatenate(cols).astype(np.uint8)
        if len(s) > MAX_SEGMENTS:  # keep an evenly thinned subset
            keep = np.linspace(0, len(s) - 1, MAX_SEGMENTS).astype(np.int64)
            s, c = s[keep], c[keep]
        g.segments, g.segment_colors = s, c
    if isinstance(overlay.get("text"), str):
        g.text = overlay["text"]
    g.legend = "; ".join(legend)
    return g


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
