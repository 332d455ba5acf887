"""Static 2-D obstacles as shapely polygons, and vectorised closest-point queries against them.

The scene extrudes these polygons into pybullet bodies (:meth:`sim.scene.Scene.add_polygons`); the
CBF filter uses :func:`closest_points` / :func:`nearby_closest_points` to build obstacle constraints
(the closest boundary point of each obstacle acts as a static "neighbour").
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import Point, Polygon


def _finite(values: Sequence[float], n: int, what: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected {n} numbers, got {values!r}") from None
    if arr.shape != (n,):
        raise ValueError(f"{what}: expected {n} numbers, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what}: expected finite numbers, got {values!r}")
    return arr


def box(center: Sequence[float], size: Sequence[float], yaw: float = 0.0) -> Polygon:
    """Rectangle with the given centre (x, y), size (length along x, width along y) and yaw (rad)."""
    c = _finite(center, 2, "box center")
    s = _finite(size, 2, "box size")
    if np.any(s <= 0):
        raise ValueError(f"box size: both sides must be > 0, got {s.tolist()}")
    if not np.isfinite(yaw):
        raise ValueError(f"box yaw: expected a finite angle in radians, got {yaw!r}")
    hx, hy = 0.5 * s
    corners = np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]])
    cy, sy = np.cos(yaw), np.sin(yaw)
    rot = np.array([[cy, -sy], [sy, cy]])
    return Polygon(corners @ rot.T + c)


def circle(center: Sequence[float], r: float, resolution: int = 8) -> Polygon:
    """Regular polygon approximating a disc; ``resolution`` segments per quarter circle.

    The polygon is inscribed in the circle (shapely's buffer), so it under-approximates by at most
    ``r * (1 - cos(pi / (4 * resolution)))`` (0.5 % of r at the default 8).
    """
    c = _finite(center, 2, "circle center")
    if not (np.isfinite(r) and r > 0):
        raise ValueError(f"circle radius: expected a number > 0, got {r!r}")
    if int(resolution) != resolution or resolution < 1:
        raise ValueError(f"circle resolution: expected an integer >= 1, got {resolution!r}")
    return Point(c).buffer(float(r), quad_segs=int(resolution))


def polygon(points: Sequence[Sequence[float]]) -> Polygon:
    """Simple polygon from (x, y) vertices (open or closed ring); must be valid with non-zero area."""
    try:
        pts = np.asarray(points, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"polygon points: expected a list of [x, y] pairs, got {points!r}") from None
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"polygon points: expected a list of [x, y] pairs, got shape {pts.shape}")
    if not np.all(np.isfinite(pts)):
        raise ValueError("polygon points: expected finite coordinates")
    if len(pts) > 1 and np.array_equal(pts[0], pts[-1]):
        pts = pts[:-1]
    if len(pts) < 3:
        raise ValueError(f"polygon points: expected at least 3 distinct vertices, got {len(pts)}")
    if np.linalg.matrix_rank(pts - pts.mean(axis=0), tol=1e-12) < 2:
        raise ValueError("polygon points: the polygon has zero area (all vertices collinear)")
    poly = Polygon(pts)
    if not poly.is_valid:
        raise ValueError(f"polygon points: not a valid simple polygon ({shapely.is_valid_reason(poly)})")
    if poly.area <= 0:
        raise ValueError("polygon points: the polygon has zero area")
    return poly


def closest_points(polygons: Sequence[Polygon], points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every point and every polygon, the closest point of the polygon and the distance.

    Returns ``(closest (N, M, 2), distance (N, M))``. A point inside a polygon (or on its boundary)
    gets itself as closest point and distance 0. Dense: O(N*M) shapely calls, vectorised in C; use
    :func:`nearby_closest_points` when only obstacles within a radius matter (large maps).
    """
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    polys = np.asarray(list(polygons), dtype=object)
    n, m = len(pts), len(polys)
    if n == 0 or m == 0:
        return np.zeros((n, m, 2)), np.zeros((n, m))
    geoms = shapely.points(pts)
    lines = shapely.shortest_line(geoms[:, None], polys[None, :])  # (N, M), starts at the point
    ends = shapely.get_coordinates(lines).reshape(n, m, 2, 2)[:, :, 1, :]
    dist = np.linalg.norm(ends - pts[:, None, :], axis=2)
    return ends, dist


def nearby_closest_points(polygons: Sequence[Polygon], points: np.ndarray, radius: float
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sparse :func:`closest_points`: only (point, polygon) pairs closer than ``radius``.

    Returns ``(point_index (K,), polygon_index (K,), closest (K, 2), distance (K,))``, sorted by
    point index. Uses an STR-tree, so the cost grows with the pairs found, not with N*M.
    """
    if not (np.isfinite(radius) and radius >= 0):
        raise ValueError(f"nearby_closest_points radius: expected a number >= 0, got {radius!r}")
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    polys = list(polygons)
    if len(pts) == 0 or len(polys) == 0:
        e = np.zeros(0, dtype=int)
        return e, e.copy(), np.zeros((0, 2)), np.zeros(0)
    tree = shapely.STRtree(polys)
    geoms = shapely.points(pts)
    pi, qi = tree.query(geoms, predicate="dwithin", distance=float(radius))
    order = np.lexsort((qi, pi))
    pi, qi = pi[order], qi[order]
    if len(pi) == 0:
        return pi, qi, np.zeros((0, 2)), np.zeros(0)
    lines = shapely.shortest_line(geoms[pi], np.asarray(polys, dtype=object)[qi])
    ends = shapely.get_coordinates(lines).reshape(-1, 2, 2)[:, 1, :]
    dist = np.linalg.norm(ends - pts[pi], axis=1)
    return pi, qi, ends, dist


__all__ = ["box", "circle", "polygon", "closest_points", "nearby_closest_points"]
