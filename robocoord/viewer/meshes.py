"""Triangle meshes for the viewer, built with numpy only (no trimesh/earcut needed).

A mesh is a pair ``(vertices (V, 3) float32, faces (F, 3) uint32)`` with counter-clockwise faces seen
from outside. Static geometry (grid obstacles, polygon obstacles) is merged into ONE mesh so the
browser draws it in a single call; robots are one small local-frame mesh per part, instanced by
viser's batched meshes (one GPU draw per part whatever the fleet size).

Robot local frame: x forward, y left, z up; origin on the ground under the robot centre for ground
kinds, at the body centre for UAVs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

Mesh = tuple[np.ndarray, np.ndarray]

# Unit cube corners and its 6 faces as 12 triangles (outward normals).
_CUBE_V = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0],
                    [0, 0, 1], [1, 0, 1], [1, 1, 1], [0, 1, 1]], dtype=np.float32)
_CUBE_F_ALL = np.array([[0, 2, 1], [0, 3, 2],  # bottom (-z)
                        [4, 5, 6], [4, 6, 7],  # top (+z)
                        [0, 1, 5], [0, 5, 4],  # -y
                        [2, 3, 7], [2, 7, 6],  # +y
                        [1, 2, 6], [1, 6, 5],  # +x
                        [3, 0, 4], [3, 4, 7]],  # -x
                       dtype=np.uint32)
_CUBE_F_NO_BOTTOM = _CUBE_F_ALL[2:]


def merge(parts: Sequence[Mesh]) -> Mesh:
    """Concatenate meshes into one vertex/face array pair."""
    parts = [p for p in parts if len(p[1])]
    if not parts:
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint32)
    verts, faces, off = [], [], 0
    for v, f in parts:
        verts.append(np.asarray(v, np.float32))
        faces.append(np.asarray(f, np.int64) + off)
        off += len(v)
    return np.concatenate(verts), np.concatenate(faces).astype(np.uint32)


def box(size: Sequence[float], center: Sequence[float] = (0.0, 0.0, 0.0), bottom: bool = True) -> Mesh:
    """Axis-aligned box of ``size`` (sx, sy, sz) centred at ``center``."""
    s = np.asarray(size, np.float32)
    c = np.asarray(center, np.float32)
    return (_CUBE_V - 0.5) * s + c, (_CUBE_F_ALL if bottom else _CUBE_F_NO_BOTTOM).copy()


def boxes(lo: np.ndarray, hi: np.ndarray, bottom: bool = False) -> Mesh:
    """Many axis-aligned boxes (corners ``lo``/``hi``, shape (B, 3)) merged into one mesh, vectorised."""
    lo = np.asarray(lo, np.float32).reshape(-1, 3)
    hi = np.asarray(hi, np.float32).reshape(-1, 3)
    b = len(lo)
    f = _CUBE_F_ALL if bottom else _CUBE_F_NO_BOTTOM
    v = lo[:, None, :] + _CUBE_V[None] * (hi - lo)[:, None, :]
    faces = f[None].astype(np.int64) + (np.arange(b, dtype=np.int64) * 8)[:, None, None]
    return v.reshape(-1, 3), faces.reshape(-1, 3).astype(np.uint32)


def cylinder(radius: float, height: float, segments: int = 24, z0: float = 0.0, axis: str = "z",
             center: Sequence[float] = (0.0, 0.0, 0.0)) -> Mesh:
    """Closed cylinder along ``axis`` ('z' or 'y'); for 'z' it spans z0..z0+height above ``center``."""
    a = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    ring = np.stack([radius * np.cos(a), radius * np.sin(a)], axis=1)
    bot = np.column_stack([ring, np.full(segments, z0)])
    top = np.column_stack([ring, np.full(segments, z0 + height)])
    v = np.vstack([bot, top, [[0, 0, z0], [0, 0, z0 + height]]]).astype(np.float32)
    i = np.arange(segments)
    j = (i + 1) % segments
    cb, ct = 2 * segments, 2 * segments + 1
    side = np.concatenate([np.stack([i, j, j + segments], 1), np.stack([i, j + segments, i + segments], 1)])
    caps = np.concatenate([np.stack([np.full(segments, cb), j, i], 1),
                           np.stack([np.full(segments, ct), i + segments, j + segments], 1)])
    f = np.concatenate([side, caps]).astype(np.uint32)
    if axis == "y":  # rotate z -> y (x stays): (x, y, z) -> (x, -z, y) keeps faces outward
        v = np.column_stack([v[:, 0], -v[:, 2], v[:, 1]]).astype(np.float32)
    elif axis != "z":
        raise ValueError(f"axis must be 'z' or 'y', got {axis!r}")
    return v + np.asarray(center, np.float32), f


def annulus(r_in: float, r_out: float, segments: int = 48, z: float = 0.0) -> Mesh:
    """Flat ring in the z=const plane facing +z (selection marker)."""
    a = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    c, s = np.cos(a), np.sin(a)
    v = np.vstack([np.column_stack([r_in * c, r_in * s, np.full(segments, z)]),
                   np.column_stack([r_out * c, r_out * s, np.full(segments, z)])]).astype(np.float32)
    i = np.arange(segments)
    j = (i + 1) % segments
    f = np.concatenate([np.stack([i, j, j + segments], 1), np.stack([i, j + segments, i + segments], 1)])
    return v, f.astype(np.uint32)


def disc(radius: float, segments: int = 24, z: float = 0.0) -> Mesh:
    a = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    v = np.vstack([[0.0, 0.0, z], np.column_stack([radius * np.cos(a), radius * np.sin(a), np.full(segments, z)])])
    i = np.arange(segments)
    f = np.stack([np.zeros(segments, int), i + 1, (i + 1) % segments + 1], 1)
    return v.astype(np.float32), f.astype(np.uint32)


def prism(xy: np.ndarray, z0: float, z1: float) -> Mesh:
    """Extrude a simple polygon (any orientation, convex or not) from z0 to z1; no bottom face."""
    xy = np.asarray(xy, dtype=np.float64)[:, :2]
    if len(xy) > 1 and np.allclose(xy[0], xy[-1]):
        xy = xy[:-1]
    # Drop consecutive duplicates (shapely rings may contain them) so ear clipping stays well defined.
    keep = np.ones(len(xy), bool)
    keep[1:] = np.any(np.abs(np.diff(xy, axis=0)) > 1e-12, axis=1)
    xy = xy[keep]
    if len(xy) < 3:
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint32)
    if _signed_area(xy) < 0:
        xy = xy[::-1]
    n = len(xy)
    top_tris = triangulate(xy)
    v = np.vstack([np.column_stack([xy, np.full(n, z0)]), np.column_stack([xy, np.full(n, z1)])])
    i = np.arange(n)
    j = (i + 1) % n
    side = np.concatenate([np.stack([i, j, j + n], 1), np.stack([i, j + n, i + n], 1)])
    f = np.concatenate([side, top_tris + n])
    return v.astype(np.float32), f.astype(np.uint32)


def _signed_area(xy: np.ndarray) -> float:
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def triangulate(xy: np.ndarray) -> np.ndarray:
    """Ear clipping of a simple counter-clockwise polygon: (n-2, 3) vertex indices.

    O(n^2) in the vertex count, ample for obstacle outlines. Degenerate input (self-intersections)
    falls back to a fan so something is always drawn.
    """
    n = len(xy)
    idx = list(range(n))
    tris: list[tuple[int, int, int]] = []
    guard = 0
    while len(idx) > 3 and guard < n * n:
        guard += 1
        m = len(idx)
        for k in range(m):
            a, b, c = idx[k - 1], idx[k], idx[(k + 1) % m]
            pa, pb, pc = xy[a], xy[b], xy[c]
            cross = (pb[0] - pa[0]) * (pc[1] - pa[1]) - (pb[1] - pa[1]) * (pc[0] - pa[0])
            if cross <= 1e-12:
                continue  # reflex or collinear corner: not an ear
            others = [p for p in idx if p not in (a, b, c)]
            if others and _any_in_triangle(xy[others], pa, pb, pc):
                continue
            tris.append((a, b, c))
            idx.pop(k)
            break
        else:  # no ear found: degenerate polygon, finish with a fan
            break
    if len(idx) >= 3:
        tris.extend((idx[0], idx[k], idx[k + 1]) for k in range(1, len(idx) - 1))
    return np.asarray(tris, dtype=np.int64).reshape(-1, 3)


def _any_in_triangle(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> bool:
    def side(p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
        return (p2[0] - p1[0]) * (p[:, 1] - p1[1]) - (p2[1] - p1[1]) * (p[:, 0] - p1[0])

    d1, d2, d3 = side(a, b), side(b, c), side(c, a)
    return bool(np.any((d1 >= -1e-12) & (d2 >= -1e-12) & (d3 >= -1e-12)))


def grid_rectangles(rows: Sequence[str]) -> np.ndarray:
    """Cover the '#' cells with few rectangles: (R, 4) of (row0, col0, row1, col1), ends exclusive.

    Runs of blocked cells in a row are merged, then identical runs in consecutive rows are merged
    into one rectangle. Warehouse maps (shelf rows) shrink by 10-100x against one box per cell.
    """
    blocked = np.array([[ch in "#@TOW" for ch in r] for r in rows], dtype=bool) if rows else np.zeros((0, 0), bool)
    rects: list[list[int]] = []
    open_runs: dict[tuple[int, int], int] = {}  # (c0, c1) -> index in rects of the rectangle still growing
    for r in range(blocked.shape[0]):
        row = blocked[r]
        d = np.diff(np.concatenate([[0], row.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
        new_open: dict[tuple[int, int], int] = {}
        for c0, c1 in zip(starts.tolist(), ends.tolist()):
            key = (c0, c1)
            if key in open_runs:
                k = open_runs[key]
                rects[k][2] = r + 1
            else:
                k = len(rects)
                rects.append([r, c0, r + 1, c1])
            new_open[key] = k
        open_runs = new_open
    return np.asarray(rects, dtype=np.int64).reshape(-1, 4)


def grid_obstacle_mesh(rows: Sequence[str], cell: float, height: float) -> Mesh:
    """One mesh of boxes for the blocked cells (row 0 at the top: y = (H - row) * cell)."""
    rects = grid_rectangles(rows)
    if not len(rects):
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint32)
    h = len(rows)
    r0, c0, r1, c1 = rects.T
    lo = np.column_stack([c0 * cell, (h - r1) * cell, np.zeros(len(rects))])
    hi = np.column_stack([c1 * cell, (h - r0) * cell, np.full(len(rects), height)])
    return boxes(lo, hi)


def polygon_obstacle_mesh(polygons: Sequence[Any], height: float) -> Mesh:
    """Extruded obstacle polygons (lists of [x, y]) merged into one mesh."""
    return merge([prism(np.asarray(p, float), 0.0, height) for p in polygons])


# --- robots ----------------------------------------------------------------------------------------
@dataclass
class RobotShape:
    """Local-frame parts of one robot kind: ``body`` takes the per-robot colour, ``accent`` is dark."""

    kind: str
    body: Mesh
    accent: Mesh
    footprint: float  # radius of the ground footprint, for selection rings and shadows
    height: float  # top of the body above the robot origin (where labels go)
    on_ground: bool  # True: drawn at z = 0 whatever the replay's z (ground kinds)


def _param(robot: dict[str, Any], names: Sequence[str], default: float) -> float:
    for n in names:
        v = robot.get(n)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0:
            return float(v)
    return float(default)


def segments_for(n: int) -> int:
    """Round-part resolution for a fleet of ``n``: every instance costs its triangles each frame, and a
    software renderer (headless Chromium, no GPU) slows down ~linearly with them (measured: 1,000
    AMRs 1.4 fps with 32-gon discs, 11 fps with 8-gons)."""
    return 32 if n <= 64 else 16 if n <= 300 else 8


def robot_shape(scene: dict[str, Any], n: Optional[int] = None) -> RobotShape:
    """The drawn shape of the scene's robot kind, sized from ``scene['robot']`` / ``scene['radius']``.

    ``n`` (fleet size, default ``scene['n']``) picks the resolution of round parts.
    """
    kind = scene["kind"]
    seg = segments_for(int(n if n is not None else scene.get("n") or 1))
    robot = scene.get("robot") or {}
    r = _param(robot, ("radius",), float(scene.get("radius") or 0.3))
    if kind == "amr":
        h = _param(robot, ("height",), max(0.6 * r, 0.1))
        body = cylinder(r, h, seg)
        # Heading marker: a flat arrow on the lid pointing +x.
        tri = np.array([[0.85 * r, 0.0], [-0.25 * r, 0.5 * r], [-0.25 * r, -0.5 * r]])
        accent = prism(tri, h, h + 0.08 * r + 0.01)
        return RobotShape(kind, body, accent, r, h, True)
    if kind == "uav":
        arm = _param(robot, ("arm_length", "arm"), 0.7 * r)
        rotor = _param(robot, ("rotor_radius",), 0.42 * r)
        t = max(0.08 * r, 0.02)
        d = arm / np.sqrt(2.0)
        rotors = [cylinder(rotor, 0.04 * r + 0.005, max(seg * 5 // 8, 6), z0=0.5 * t, center=(sx * d, sy * d, 0.0))
                  for sx in (1, -1) for sy in (1, -1)]
        # Coloured: hub and rotor discs (what one sees from above); dark: arms and the nose (heading).
        body = merge([box((0.6 * r, 0.45 * r, 0.25 * r)), *rotors])
        accent = merge([
            box((0.22 * r, 0.18 * r, 0.14 * r), (0.38 * r, 0.0, 0.0)),
            _rotated_box((2 * arm, t, t), np.pi / 4),
            _rotated_box((2 * arm, t, t), -np.pi / 4),
        ])
        return RobotShape(kind, body, accent, arm + rotor, 0.3 * r, False)
    if kind == "cav":
        length = _param(robot, ("length",), 1.84 * r)
        width = _param(robot, ("width",), 0.44 * length)
        height = _param(robot, ("height",), 0.33 * length)
        wr = min(_param(robot, ("wheel_radius",), 0.2 * width), 0.3 * height)
        wb = min(_param(robot, ("wheelbase",), 0.6 * length), length - wr)
        clear = 0.5 * wr  # ground clearance
        top = 0.55 * height  # body slab top; the cabin fills the rest up to ``height``
        body = merge([
            box((length, width, top - clear), (0.0, 0.0, 0.5 * (clear + top))),
            box((0.5 * length, 0.88 * width, height - top), (-0.08 * length, 0.0, 0.5 * (top + height))),
        ])
        tw = min(0.16 * width, 0.5 * wr + 0.05)
        wheels = [cylinder(wr, tw, max(seg // 2, 6), z0=-0.5 * tw, axis="y", center=(sx * 0.5 * wb, sy * 0.5 * width, wr))
                  for sx in (1, -1) for sy in (1, -1)]
        # Windscreen: a dark slab at the front of the cabin tells the heading at a glance.
        screen = box((0.04 * length, 0.8 * width, 0.7 * (height - top)), (0.19 * length, 0.0, 0.5 * (top + height)))
        accent = merge([*wheels, screen])
        return RobotShape(kind, body, accent, 0.5 * float(np.hypot(length, width)), height, True)
    raise ValueError(f"unknown robot kind {kind!r}")


def _rotated_box(size: Sequence[float], angle: float) -> Mesh:
    v, f = box(size)
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], np.float32)
    return v @ rot.T, f


def yaw_to_wxyz(yaw: np.ndarray) -> np.ndarray:
    """(N,) yaw about +z -> (N, 4) unit quaternions (w, x, y, z), float32."""
    half = 0.5 * np.asarray(yaw, np.float32)
    q = np.zeros(half.shape + (4,), np.float32)
    q[..., 0] = np.cos(half)
    q[..., 3] = np.sin(half)
    return q


def distinct_colors(n: int, seed_hue: float = 0.08) -> np.ndarray:
    """(n, 3) uint8 colours with well-spread hues (golden-ratio steps), light enough on a white floor."""
    h = (seed_hue + np.arange(n) * 0.618033988749895) % 1.0
    s, v = 0.65, 0.92
    i = np.floor(h * 6).astype(int) % 6
    f = h * 6 - np.floor(h * 6)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = np.stack([np.stack([np.full(n, v), t, np.full(n, p)], 1), np.stack([q, np.full(n, v), np.full(n, p)], 1),
                      np.stack([np.full(n, p), np.full(n, v), t], 1), np.stack([np.full(n, p), q, np.full(n, v)], 1),
                      np.stack([t, np.full(n, p), np.full(n, v)], 1), np.stack([np.full(n, v), np.full(n, p), q], 1)])
    rgb = table[i, np.arange(n)]
    return np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)


def instance_colors(rgb: np.ndarray) -> np.ndarray:
    """sRGB uint8 colours -> the uint8 values viser's batched meshes expect.

    viser 1.x passes per-instance colours to three.js as linear values (``Color.setRGB`` without a
    colour space) while single-mesh colours are sRGB; without this conversion instanced robots look
    washed out next to the obstacles.
    """
    c = np.asarray(rgb, np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return np.clip(lin * 255.0 + 0.5, 0, 255).astype(np.uint8)
