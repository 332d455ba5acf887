"""The ego's side of collaborative perception: fuse received feature messages over any subset.

:class:`Fuser` holds one frame (the ego's BEV, every collaborator's message, reported poses) and
answers ``probs(subset)`` — the vehicle probability map of ego + subset — and ``ccloss(subset)``
against the ego-only map, restricted to the cells the ego observes (CP-Guard's consistency check,
Hu et al., AAAI 2025). Results are cached per subset, so several defences querying the same
subsets in one frame pay for each fusion once (``decodes`` counts the real ones).

:func:`logodds_fusion` is the non-learned path: occupancy log-odds from every lidar BEV (hits of the
low layer not matched by the high layer count as vehicle evidence, free space against), warped into
the ego frame and summed.
"""
from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np
import torch
import torch.nn.functional as F

from planners.consensus import ccloss as _ccloss
from policies.bev_fusion.model import BevFusionNet


def seen_mask(ego_bev: np.ndarray, dilate: int = 2) -> np.ndarray:
    """Cells the ego observes (free or hit), dilated by ``dilate`` cells so the bodies of the cars it
    hits count as observed. ``ego_bev``: (4, S, S) lidar BEV (channel 3 = observed)."""
    m = torch.from_numpy(np.asarray(ego_bev[3] > 0, np.float32))[None, None]
    if dilate > 0:
        m = F.max_pool2d(m, 2 * dilate + 1, stride=1, padding=dilate)
    return m[0, 0].numpy() > 0


class Fuser:
    """One frame at the ego. ``feats``: (A, C, h, w) messages as received (agent 0 = the ego's own),
    ``rel``: (A, 3) reported poses in the ego frame, ``seen``: (S, S) bool cells the ego observes.
    ``binary``: CCLoss between the binarised (p > 0.5) maps — measured here to separate attacked from
    benign subsets better than the soft maps, whose benign discrepancy is large where the ego alone is
    unsure (see docs/benchmarks/cpguard.md)."""

    def __init__(self, net: BevFusionNet, feats: torch.Tensor, rel: torch.Tensor, seen: np.ndarray,
                 binary: bool = True) -> None:
        self.net = net
        self.binary = bool(binary)  # compare the 0.5-thresholded maps (default) or the soft probabilities
        self.n_agents = int(feats.shape[0])
        self.seen = np.asarray(seen, bool)
        with torch.no_grad():
            self.warped, self.mask = net.warp(feats, rel)
        self._cache: dict[tuple[int, ...], np.ndarray] = {}
        self._ccl: dict[tuple[int, ...], float] = {}
        self.decodes = 0
        self.decode_ms = 0.0

    def probs(self, subset: Iterable[int]) -> np.ndarray:
        """(S, S) vehicle probabilities of the ego fused with the collaborators in ``subset`` (ids 1..A-1)."""
        key = tuple(sorted(set(int(i) for i in subset) - {0}))
        hit = self._cache.get(key)
        if hit is None:
            t0 = time.perf_counter()
            w = torch.zeros(self.n_agents)
            w[0] = 1.0
            if key:
                w[list(key)] = 1.0
            with torch.no_grad():
                hit = torch.sigmoid(self.net.decode(self.net.fuse(self.warped, self.mask, w))).numpy()
            self._cache[key] = hit
            self.decodes += 1
            self.decode_ms += 1e3 * (time.perf_counter() - t0)
        return hit

    def ccloss(self, subset: Iterable[int]) -> float:
        """CCLoss of ego + subset against ego only, over the cells the ego observes."""
        key = tuple(sorted(set(int(i) for i in subset) - {0}))
        v = self._ccl.get(key)
        if v is None:
            a, b = self.probs(()), self.probs(key)
            if self.binary:
                a, b = (a > 0.5).astype(np.float64), (b > 0.5).astype(np.float64)
            v = _ccloss(a, b, self.seen)
            self._ccl[key] = v
        return v


def logodds_fusion(bevs: np.ndarray, rel: np.ndarray, include: Iterable[int], res: float = 0.5,
                   l_hit: float = 2.0, l_free: float = -1.0, l_tall: float = -3.0) -> np.ndarray:
    """Non-learned fusion: (S, S) vehicle log-odds in the ego frame from the (A, 4, S, S) lidar BEVs
    of the agents in ``include`` (0 = ego), each warped with its reported pose ``rel`` (A, 3) (metres,
    grid of ``res`` m). A low-layer hit scores ``l_hit`` (spread over its 3x3 neighbourhood: a lidar
    sees the outline of a car, not its body), a high-layer hit (buildings) ``l_tall``, free space ``l_free``."""
    from sim.bev import BevSpec, warp_bev

    s = bevs.shape[-1]
    spec = BevSpec(s, res)
    total = np.zeros((s, s), np.float32)
    for i in include:
        g = bevs[i]
        hit = F.max_pool2d(torch.from_numpy((g[0] > 0).astype(np.float32))[None, None], 3, 1, 1)[0, 0].numpy()
        ev = l_hit * hit + l_tall * (g[1] > 0) + l_free * (g[2] > 0)
        if i == 0:
            total += ev
        else:
            total += warp_bev(ev[None].astype(np.float32), np.asarray(rel[i], float), spec)[0]
    return total


__all__ = ["Fuser", "seen_mask", "logodds_fusion"]
