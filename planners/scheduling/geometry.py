"""Polyline helpers shared by the instance generators and the coordination-graph builder.

All paths are ``(K, 2)`` float arrays in metres, traversed from row 0 to row K-1.
"""
from __future__ import annotations

import numpy as np


def check_path(path: object, robot: int) -> np.ndarray:
    """Return ``path`` as a float ``(K, 2)`` array or raise ``ValueError`` naming ``robot``."""
    try:
        arr = np.asarray(path, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"robot {robot}: path is not numeric ({exc})") from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"robot {robot}: path must have shape (K, 2), got {arr.shape}")
    if arr.shape[0] < 2:
        raise ValueError(f"robot {robot}: path needs at least 2 points, got {arr.shape[0]}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"robot {robot}: path contains NaN or infinite coordinates")
    if path_length(arr) <= 1e-9:
        raise ValueError(f"robot {robot}: zero-length path (start == goal at {arr[0].tolist()})")
    return arr


def cumulative_length(path: np.ndarray) -> np.ndarray:
    """Arc length at every vertex, starting at 0."""
    seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(seg)])


def path_length(path: np.ndarray) -> float:
    return float(np.sum(np.linalg.norm(np.diff(path, axis=0), axis=1)))


def drop_duplicates(path: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Remove consecutive repeated vertices (they have no tangent)."""
    keep = np.ones(len(path), dtype=bool)
    keep[1:] = np.linalg.norm(np.diff(path, axis=0), axis=1) > tol
    return path[keep]


def simplify_collinear(path: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Drop interior vertices that lie on the straight line through their neighbours
    (grid paths become a few corner points)."""
    path = drop_duplicates(np.asarray(path, dtype=float))
    if len(path) <= 2:
        return path
    keep = [0]
    for k in range(1, len(path) - 1):
        a, b, c = path[keep[-1]], path[k], path[k + 1]
        cross = (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])
        dot = (b[0] - a[0]) * (c[0] - b[0]) + (b[1] - a[1]) * (c[1] - b[1])
        if abs(cross) > tol or dot < 0:
            keep.append(k)
    keep.append(len(path) - 1)
    return path[keep]


def resample(path: np.ndarray, ds: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample the polyline at uniform arc-length steps of at most ``ds`` (both ends included).

    Returns ``(s, points, tangents)``: arc length ``(n,)``, positions ``(n, 2)`` and unit
    tangents ``(n, 2)`` of the segment each sample lies on.
    """
    path = drop_duplicates(path)
    cum = cumulative_length(path)
    total = cum[-1]
    n = max(2, int(np.ceil(total / ds)) + 1)
    s = np.linspace(0.0, total, n)
    seg = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(path) - 2)
    d = path[seg + 1] - path[seg]
    seg_len = np.linalg.norm(d, axis=1)
    frac = (s - cum[seg]) / seg_len
    pts = path[seg] + d * frac[:, None]
    tang = d / seg_len[:, None]
    return s, pts, tang


def point_at(path: np.ndarray, s: np.ndarray | float) -> np.ndarray:
    """Position(s) at arc length ``s`` (clipped to the path)."""
    path = drop_duplicates(path)
    cum = cumulative_length(path)
    s_arr = np.clip(np.atleast_1d(np.asarray(s, dtype=float)), 0.0, cum[-1])
    seg = np.clip(np.searchsorted(cum, s_arr, side="right") - 1, 0, len(path) - 2)
    d = path[seg + 1] - path[seg]
    frac = (s_arr - cum[seg]) / np.linalg.norm(d, axis=1)
    out = path[seg] + d * frac[:, None]
    return out[0] if np.ndim(s) == 0 else out


def arc(center: np.ndarray, radius: float, a0: float, a1: float, step: float = 0.25) -> np.ndarray:
    """Circular arc from angle ``a0`` to ``a1`` (radians, sign gives the turn direction)."""
    n = max(3, int(np.ceil(abs(a1 - a0) * radius / step)) + 1)
    a = np.linspace(a0, a1, n)
    return np.asarray(center, dtype=float) + radius * np.stack([np.cos(a), np.sin(a)], axis=1)
