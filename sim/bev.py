"""Bird's-eye-view (BEV) grids around a vehicle: lidar rays and box footprints rasterised, vectorised.

Frame convention (shared with ``policies.bev_fusion``): a grid of ``size x size`` cells of ``res`` m is
centred on the vehicle, column index along the vehicle's forward axis (local x), row index along its
left axis (local y)::

    x = (col + 0.5 - size/2) * res,   y = (row + 0.5 - size/2) * res

so the normalised coordinates used by ``torch.nn.functional.affine_grid`` (align_corners=False) are
simply local metres divided by the half extent ``size * res / 2``.

Channels made from a planar multi-layer lidar (:func:`lidar_bev`):
``0`` hits of the low layer (cars and buildings), ``1`` hits of the high layer (only tall things:
buildings — a height cue), ``2`` free space (cells a low ray passed through before its hit),
``3`` observed (free or hit: the cells the vehicle can see).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHANNELS = ("hit_low", "hit_high", "free", "observed")


@dataclass(frozen=True)
class BevSpec:
    size: int = 128
    res: float = 0.5

    def __post_init__(self) -> None:
        if int(self.size) != self.size or self.size < 2:
            raise ValueError(f"BevSpec size: expected an integer >= 2, got {self.size!r}")
        if not (np.isfinite(self.res) and self.res > 0):
            raise ValueError(f"BevSpec res: expected a number > 0, got {self.res!r}")

    @property
    def half_extent(self) -> float:
        return 0.5 * self.size * self.res

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """(size, size) local x and y of every cell centre."""
        c = (np.arange(self.size) + 0.5 - 0.5 * self.size) * self.res
        x, y = np.meshgrid(c, c)  # x varies along columns, y along rows
        return x, y

    def to_cells(self, local_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Local metres (K, 2) -> (row, col, inside) int arrays."""
        col = np.floor(local_xy[:, 0] / self.res + 0.5 * self.size).astype(np.int64)
        row = np.floor(local_xy[:, 1] / self.res + 0.5 * self.size).astype(np.int64)
        inside = (row >= 0) & (row < self.size) & (col >= 0) & (col < self.size)
        return row, col, inside


def world_to_local(xy: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """World points (..., 2) into the frame of ``pose`` = (x, y, yaw)."""
    c, s = np.cos(pose[2]), np.sin(pose[2])
    d = np.asarray(xy, dtype=float) - pose[:2]
    return np.stack([c * d[..., 0] + s * d[..., 1], -s * d[..., 0] + c * d[..., 1]], axis=-1)


def _splat(spec: BevSpec, local_xy: np.ndarray) -> np.ndarray:
    row, col, inside = spec.to_cells(local_xy)
    flat = np.bincount(row[inside] * spec.size + col[inside], minlength=spec.size * spec.size)
    return flat.reshape(spec.size, spec.size)


def lidar_bev(dist: np.ndarray, rel_angles: np.ndarray, max_range: float, spec: BevSpec,
              high_dist: np.ndarray | None = None) -> np.ndarray:
    """(4, size, size) float32 BEV of one scan in the sensor frame (see module doc for channels).

    ``dist``: (R,) low-layer ranges for rays at ``rel_angles`` (rad, relative to the heading);
    ``high_dist``: (R,) ranges of the high layer (same angles) or None. A range ``>= max_range`` is a
    miss. Free space is sampled every ``res/2`` along each ray up to its hit (vectorised over rays).
    """
    dist = np.asarray(dist, dtype=float).reshape(-1)
    ang = np.asarray(rel_angles, dtype=float).reshape(-1)
    if dist.shape != ang.shape:
        raise ValueError(f"lidar_bev: {dist.shape[0]} ranges but {ang.shape[0]} angles")
    u = np.stack([np.cos(ang), np.sin(ang)], axis=-1)
    out = np.zeros((4, spec.size, spec.size), np.float32)
    hit = dist < max_range - 1e-6
    out[0] = np.minimum(_splat(spec, dist[hit, None] * u[hit]), 3) / 3.0
    if high_dist is not None:
        hd = np.asarray(high_dist, dtype=float).reshape(-1)
        hh = hd < max_range - 1e-6
        out[1] = np.minimum(_splat(spec, hd[hh, None] * u[hh]), 3) / 3.0
    reach = min(max_range, spec.half_extent * np.sqrt(2.0))
    step = 0.5 * spec.res
    t = np.arange(step, reach, step)  # (S,)
    keep = t[None, :] < np.minimum(dist, reach)[:, None] - 0.5 * spec.res  # (R, S) strictly before the hit
    pts = (t[None, :, None] * u[:, None, :])[keep]
    out[2] = (_splat(spec, pts) > 0).astype(np.float32)
    out[3] = np.maximum(out[2], out[0] > 0)
    return out


def box_corners(centres: np.ndarray, yaws: np.ndarray, lengths: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """(K, 4, 2) world corners of oriented rectangles."""
    c, s = np.cos(yaws), np.sin(yaws)
    hl, hw = 0.5 * np.asarray(lengths, float), 0.5 * np.asarray(widths, float)
    loc = np.stack([np.stack([hl, hw], -1), np.stack([-hl, hw], -1), np.stack([-hl, -hw], -1),
                    np.stack([hl, -hw], -1)], axis=1)  # (K, 4, 2)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], axis=1)  # (K, 2, 2)
    return np.einsum("kij,kcj->kci", rot, loc) + np.asarray(centres, float)[:, None, :2]


def rasterise_boxes(centres: np.ndarray, yaws: np.ndarray, lengths: np.ndarray, widths: np.ndarray,
                    pose: np.ndarray, spec: BevSpec, return_ids: bool = False) -> np.ndarray:
    """Footprints of K oriented boxes (world) in the BEV of ``pose``: (size, size) float32 occupancy
    (a cell is occupied when its centre lies inside a box), or int ids (-1 = none) with ``return_ids``.
    Vectorised over boxes x the cells of a patch around each box."""
    centres = np.asarray(centres, float)
    centres = centres.reshape(len(centres), -1) if centres.size else np.zeros((0, 2))
    k = len(centres)
    ids = np.full((spec.size, spec.size), -1, np.int64)
    if k:
        lengths = np.broadcast_to(np.asarray(lengths, float), (k,))
        widths = np.broadcast_to(np.asarray(widths, float), (k,))
        loc = world_to_local(centres[:, :2], np.asarray(pose, float))  # (K, 2) box centres in the grid frame
        rel_yaw = np.asarray(yaws, float) - pose[2]
        # only the cells of a square patch around each box are tested: (K, P) instead of (K, size^2)
        reach = int(np.ceil(0.5 * float(np.hypot(lengths, widths).max()) / spec.res)) + 1
        off = np.arange(-reach, reach + 1)
        orow, ocol = np.meshgrid(off, off, indexing="ij")
        crow, ccol, _ = spec.to_cells(loc)
        row = crow[:, None] + orow.reshape(1, -1)
        col = ccol[:, None] + ocol.reshape(1, -1)
        cx = (col + 0.5 - 0.5 * spec.size) * spec.res - loc[:, 0:1]
        cy = (row + 0.5 - 0.5 * spec.size) * spec.res - loc[:, 1:2]
        c, s = np.cos(rel_yaw)[:, None], np.sin(rel_yaw)[:, None]
        a = c * cx + s * cy  # along each box
        b = -s * cx + c * cy
        inside = (np.abs(a) <= 0.5 * lengths[:, None]) & (np.abs(b) <= 0.5 * widths[:, None])
        inside &= (row >= 0) & (row < spec.size) & (col >= 0) & (col < spec.size)
        kk = np.broadcast_to(np.arange(k)[:, None], inside.shape)[inside]
        # reversed so the lowest box index wins where footprints overlap
        ids[row[inside][::-1], col[inside][::-1]] = kk[::-1]
    if return_ids:
        return ids
    return (ids >= 0).astype(np.float32)


def relative_pose(ego: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Pose of ``other`` (x, y, yaw) expressed in the frame of ``ego``."""
    xy = world_to_local(np.asarray(other, float)[:2], np.asarray(ego, float))
    return np.array([xy[0], xy[1], np.arctan2(np.sin(other[2] - ego[2]), np.cos(other[2] - ego[2]))])


def warp_bev(grid: np.ndarray, rel: np.ndarray, spec: BevSpec) -> np.ndarray:
    """Nearest-neighbour warp of an agent's (C, size, size) grid into the ego frame, given the agent's
    pose ``rel`` in the ego frame (numpy twin of the torch warp; cells nobody maps to are 0)."""
    x, y = spec.cell_centres()
    c, s = np.cos(rel[2]), np.sin(rel[2])
    dx, dy = x - rel[0], y - rel[1]
    ax, ay = c * dx + s * dy, -s * dx + c * dy  # ego cell centre in the agent frame
    row, col, inside = spec.to_cells(np.stack([ax.reshape(-1), ay.reshape(-1)], -1))
    out = np.zeros_like(grid)
    flat = out.reshape(grid.shape[0], -1)
    flat[:, inside] = grid[:, row[inside], col[inside]]
    return out


__all__ = ["BevSpec", "CHANNELS", "lidar_bev", "rasterise_boxes", "box_corners", "world_to_local",
           "relative_pose", "warp_bev"]
