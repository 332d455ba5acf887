"""Closest points of polygonal obstacles to many agents at once (shapely 2, vectorised)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import shapely


def closest_points_polygons(pos: np.ndarray, polygons: Sequence[object], sense_radius: float) -> np.ndarray | None:
    """``(N, M, d)`` closest point of each of ``M`` shapely polygons to each agent (xy; a 3D ``pos``
    gets its own z so only the horizontal distance counts), NaN where the polygon is farther than
    ``sense_radius``; None when there are no polygons. An agent inside a polygon gets its own
    position (h < 0: its QP brakes)."""
    if not len(polygons):
        return None
    pos = np.asarray(pos, dtype=np.float64)
    pts = shapely.points(pos[:, :2])
    polys = np.asarray(polygons, dtype=object)
    lines = shapely.shortest_line(pts[:, None], polys[None, :])           # (N, M) from agent to polygon
    coords = shapely.get_coordinates(lines.ravel()).reshape(len(pos), len(polys), 2, 2)
    q = coords[:, :, 1, :]
    far = np.linalg.norm(q - pos[:, None, :2], axis=2) > sense_radius
    out = np.concatenate([q, np.broadcast_to(pos[:, None, 2:], (len(pos), len(polys), pos.shape[1] - 2))], axis=2)
    out[far] = np.nan
    return out
