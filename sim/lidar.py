"""Planar lidar for many robots at once with ``pybullet.rayTestBatch``.

Rays are cast in the horizontal plane through each origin, ``n_rays`` evenly over ``fov`` centred on
the robot's yaw (a full circle has no duplicate ray at +-pi). A ray that hits an excluded body (the
robot's own chassis via ``self_bodies``, or any id in ``exclude_bodies``) is re-cast from where it
leaves that body's axis-aligned bounding box: Bullet may report a hit at fraction 0 for a ray that
starts inside a shape, so stepping a hair past the hit point is not enough. Consequence: anything
inside an excluded body's bounding box is not seen either.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pybullet as p

MAX_RAYS_PER_CALL = 16383  # pybullet answers at most 16,383 rays per call (and fails above 16,384)
_EPS = 1e-4  # m stepped past an excluded body's box before re-casting
_MAX_RECASTS = 8


def _cast(client: int, start: np.ndarray, end: np.ndarray, num_threads: int) -> tuple[np.ndarray, np.ndarray]:
    """Cast rays start->end in chunks; returns (hit fraction (K,), body id (K,))."""
    k = len(start)
    frac = np.ones(k)
    ids = np.full(k, -1, dtype=np.int64)
    for a in range(0, k, MAX_RAYS_PER_CALL):
        b = min(a + MAX_RAYS_PER_CALL, k)
        res = p.rayTestBatch(start[a:b].tolist(), end[a:b].tolist(), numThreads=num_threads,
                             physicsClientId=client)
        ids[a:b] = [r[0] for r in res]
        frac[a:b] = [r[2] for r in res]
    frac[ids < 0] = 1.0
    return frac, ids


def _aabb(client: int, body: int, cache: dict[int, np.ndarray]) -> np.ndarray:
    """(2, 3) min/max corners of a body's bounding box over its base and links (cached per scan)."""
    box = cache.get(body)
    if box is None:
        n_links = p.getNumJoints(body, physicsClientId=client)
        boxes = np.array([p.getAABB(body, link, physicsClientId=client) for link in range(-1, n_links)])
        box = np.stack([boxes[:, 0].min(axis=0), boxes[:, 1].max(axis=0)])
        cache[body] = box
    return box


def _exit_distance(start: np.ndarray, dirs: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Distance along each ray (start + t * dir) at which it leaves the box [lo, hi] (slab method)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (lo - start) / dirs
        t2 = (hi - start) / dirs
    t_far = np.where(dirs == 0, np.inf, np.maximum(t1, t2))
    return np.maximum(np.min(t_far, axis=1), 0.0)


def lidar_scan(client: int, origins: np.ndarray, yaws: np.ndarray, n_rays: int = 360,
               max_range: float = 30.0, fov: float = 2 * np.pi, z_offset: float = 0.0,
               exclude_bodies: Iterable[int] | None = None, self_bodies: Iterable[int] | None = None,
               min_range: float = 0.0, num_threads: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Scan from N origins; returns ``(distances (N, n_rays), hit_body_ids (N, n_rays))``.

    Ray ``j`` of robot ``i`` points at ``yaws[i] + j * 2pi / n_rays`` for the full circle (ray 0 straight
    ahead, counter-clockwise), else at ``yaws[i] - fov/2 + j * fov / (n_rays - 1)`` (first and last rays
    on the edges of the fov). Misses give ``max_range`` and id -1. ``exclude_bodies``: ids invisible to every
    ray; ``self_bodies``: (N,) one id per origin invisible to that origin's rays (its own body; -1
    for none). ``min_range``: rays start this far from the origin (a cheaper way to ignore the
    robot's own body: its bounding radius); distances are still measured from the origin.
    ``num_threads``: 0 lets Bullet choose.
    """
    o = np.asarray(origins, dtype=float)
    if o.ndim != 2 or o.shape[1] != 3:
        raise ValueError(f"lidar_scan origins: expected shape (N, 3), got {o.shape}")
    n = len(o)
    y = np.asarray(yaws, dtype=float).reshape(-1)
    if y.shape != (n,):
        raise ValueError(f"lidar_scan yaws: expected shape ({n},), got {np.asarray(yaws).shape}")
    if int(n_rays) != n_rays or n_rays < 1:
        raise ValueError(f"lidar_scan n_rays: expected an integer >= 1, got {n_rays!r}")
    if not (np.isfinite(max_range) and max_range > 0):
        raise ValueError(f"lidar_scan max_range: expected a number > 0, got {max_range!r}")
    if not (np.isfinite(min_range) and 0 <= min_range < max_range):
        raise ValueError(f"lidar_scan min_range: expected 0 <= min_range < max_range, got {min_range!r}")
    if not (0 < fov <= 2 * np.pi + 1e-12):
        raise ValueError(f"lidar_scan fov: expected 0 < fov <= 2*pi, got {fov!r}")
    n_rays = int(n_rays)
    excl = np.asarray(sorted(set(int(b) for b in exclude_bodies)) if exclude_bodies is not None else [],
                      dtype=np.int64)
    own = None
    if self_bodies is not None:
        own = np.asarray(list(self_bodies), dtype=np.int64).reshape(-1)
        if own.shape != (n,):
            raise ValueError(f"lidar_scan self_bodies: expected {n} body ids (one per origin), got {own.size}")
    if n == 0:
        return np.zeros((0, n_rays)), np.zeros((0, n_rays), dtype=np.int64)

    if fov >= 2 * np.pi - 1e-12:
        rel = np.arange(n_rays) * (2 * np.pi / n_rays)
    elif n_rays == 1:
        rel = np.zeros(1)
    else:
        rel = np.linspace(-0.5 * fov, 0.5 * fov, n_rays)
    ang = y[:, None] + rel[None, :]
    dirs = np.stack([np.cos(ang), np.sin(ang), np.zeros_like(ang)], axis=-1).reshape(-1, 3)
    start = np.repeat(o + [0.0, 0.0, z_offset], n_rays, axis=0)
    travelled = np.full(len(start), float(min_range))  # distance already covered (min range, re-casts)
    aabbs: dict[int, np.ndarray] = {}
    dist = np.full(len(start), float(max_range))
    hit = np.full(len(start), -1, dtype=np.int64)
    owner = np.repeat(own, n_rays) if own is not None else None
    todo = np.arange(len(start))
    for attempt in range(_MAX_RECASTS + 1):
        done = travelled[todo] >= max_range  # re-cast ran out of range: a miss
        todo = todo[~done]
        if len(todo) == 0:
            break
        remaining = max_range - travelled[todo]
        s = start[todo] + dirs[todo] * travelled[todo, None]
        e = start[todo] + dirs[todo] * max_range
        frac, ids = _cast(client, s, e, num_threads)
        d = travelled[todo] + frac * remaining
        skip = np.isin(ids, excl) if len(excl) else np.zeros(len(todo), dtype=bool)
        if owner is not None:
            skip |= (ids == owner[todo]) & (ids >= 0)
        keep = ~skip
        dist[todo[keep]] = np.where(ids[keep] >= 0, d[keep], max_range)
        hit[todo[keep]] = ids[keep]
        todo = todo[skip]
        if len(todo) == 0:
            break
        # jump to where each re-cast ray leaves the bounding box of the excluded body it hit
        sk_ids = ids[skip]
        exit_d = np.empty(len(todo))
        for body in np.unique(sk_ids):
            sel = sk_ids == body
            lo, hi = _aabb(client, int(body), aabbs)
            exit_d[sel] = _exit_distance(start[todo[sel]], dirs[todo[sel]], lo, hi)
        travelled[todo] = np.maximum(exit_d, d[skip]) + _EPS
        if attempt == _MAX_RECASTS:  # give up: report the excluded body's far side as a miss
            dist[todo] = max_range
            hit[todo] = -1
    return dist.reshape(n, n_rays), hit.reshape(n, n_rays)


__all__ = ["lidar_scan", "MAX_RAYS_PER_CALL"]
