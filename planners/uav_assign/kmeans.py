"""Static UAV placement by k-means (Lloyd) on user positions, k-means++ seeding from a passed Generator."""
from __future__ import annotations

import numpy as np


def kmeans(points: np.ndarray, k: int, rng: np.random.Generator, iters: int = 50) -> np.ndarray:
    """(k, d) centroids of ``points`` (n, d); empty clusters are re-seeded at the farthest point."""
    x = np.asarray(points, dtype=float)
    if len(x) < k:
        raise ValueError(f"kmeans: need at least k={k} points, got {len(x)}")
    c = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d2 = np.min(((x[:, None, :] - np.array(c)[None]) ** 2).sum(-1), axis=1)
        c.append(x[rng.choice(len(x), p=d2 / d2.sum())] if d2.sum() > 0 else x[rng.integers(len(x))])
    c = np.array(c)
    for _ in range(iters):
        lab = np.argmin(((x[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        new = c.copy()
        for j in range(k):
            pts = x[lab == j]
            if len(pts):
                new[j] = pts.mean(axis=0)
            else:
                far = np.argmax(np.min(((x[:, None, :] - c[None]) ** 2).sum(-1), axis=1))
                new[j] = x[far]
        if np.allclose(new, c):
            break
        c = new
    return c
