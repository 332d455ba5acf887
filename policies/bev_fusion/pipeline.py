"""One perception frame end to end: messages (with attacks), defences, metrics against ground truth.

Used by the benchmark (:mod:`policies.bev_fusion.bench`) and the robocoord perception task. CAV 0 is
the ego; collaborators are 1..A-1. Defences (names used everywhere):

``none`` fuse everyone · ``oracle`` drop the true attackers · ``upper`` no attack at all (benign
messages) · ``lower`` ego only · ``pasac`` CP-Guard PASAC + CCLoss, fixed threshold · ``pasac_adaptive``
the same with :class:`AdaptiveThreshold` · ``robosac`` ROBOSAC sampling (Li et al., ICCV 2023).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from planners.consensus import pasac, robosac
from policies.bev_fusion.attacks import (FEATURE_ATTACKS, AttackSpec, adapt_to_threshold, feature_attack,
                                         phantom_site, removal_bev, spoof_bev, to_agent_frame)
from policies.bev_fusion.fusion import Fuser, seen_mask
from policies.bev_fusion.model import BevFusionNet, load_model

WEIGHTS = Path(__file__).parent / "weights"
DEFENCES = ("none", "oracle", "upper", "lower", "pasac", "pasac_adaptive", "robosac")


def default_model() -> BevFusionNet:
    return load_model(str(WEIGHTS / "bev_fusion.pt"), str(WEIGHTS / "bev_fusion.json"))


Threshold = "float | dict[str, float]"  # one CCLoss threshold, or one per subset size ("1".."5")


def default_threshold() -> "Threshold":
    """The shipped calibration: a CCLoss threshold per fused-subset size (weights/calibration.json)."""
    import json

    f = WEIGHTS / "calibration.json"
    if not f.exists():
        return 0.15
    t = json.loads(f.read_text())["threshold"]
    return {str(k): float(v) for k, v in t.items()} if isinstance(t, dict) else float(t)


def tau_of(threshold: "Threshold", size: int) -> float:
    """Threshold for a subset of ``size`` collaborators (a dict falls back to the nearest calibrated size)."""
    if isinstance(threshold, dict):
        sizes = sorted(int(k) for k in threshold)
        k = min(sizes, key=lambda s: (abs(s - size), s))
        return float(threshold[str(k)])
    return float(threshold)


def scale_threshold(threshold: "Threshold", factor: float) -> "Threshold":
    if isinstance(threshold, dict):
        return {k: v * factor for k, v in threshold.items()}
    return float(threshold) * factor


@dataclass
class AdaptiveThreshold:
    """Multiplier of the calibrated threshold that follows the benign level: ``clip(median + k * 1.4826
    MAD)`` of the ratios CCLoss / threshold of the checks recently judged consistent (last ``window``),
    within ``[lo, hi] x tau0``. Starts at ``tau0`` (1 = the calibration)."""
    tau0: float = 1.0
    k: float = 4.0
    window: int = 60
    lo: float = 0.5
    hi: float = 1.5
    history: list[float] = field(default_factory=list)

    @property
    def value(self) -> float:
        if len(self.history) < 10:
            return self.tau0
        h = np.asarray(self.history[-self.window:])
        med = float(np.median(h))
        mad = float(np.median(np.abs(h - med))) * 1.4826
        return float(np.clip(med + self.k * max(mad, 1e-3), self.lo * self.tau0, self.hi * self.tau0))

    def update(self, values: list[float]) -> None:
        self.history.extend(values)
        del self.history[:-self.window]


@dataclass
class Messages:
    feats: torch.Tensor  # (A, C, h, w) as received (attacked)
    benign: torch.Tensor  # (A, C, h, w) without attack
    rel: torch.Tensor  # (A, 3) reported poses in the ego frame (noisy)
    seen: np.ndarray  # (S, S) cells the ego observes
    target: np.ndarray  # (S, S) bool vehicles visible to at least one CAV (ego frame)
    gt_ids: np.ndarray  # (S, S) vehicle index per cell (-1 none)
    visible_any: np.ndarray  # (K,) bool
    attackers: list[int]
    phantom: np.ndarray | None  # ego-frame site of the phantom car (spoof), else None
    attack_ms: float


def _ids_in(scene_frame: dict, agent: int, size: int, res: float, length: float, width: float) -> np.ndarray:
    from sim.bev import BevSpec, rasterise_boxes

    pose = scene_frame["veh_pose"]
    n = len(scene_frame["poses"])
    k = len(pose)
    others = np.ones(k, bool)
    others[k - n + agent] = False
    idx = rasterise_boxes(pose[others, :2], pose[others, 2], length, width, scene_frame["poses"][agent],
                          BevSpec(size, res), return_ids=True)
    return np.where(idx >= 0, np.flatnonzero(others)[np.maximum(idx, 0)], -1)


def make_messages(net: BevFusionNet, frame: dict, attackers: list[int], spec: AttackSpec, rng: np.random.Generator,
                  sigma_xy: float = 0.0, sigma_yaw: float = 0.0, threshold: "Threshold | None" = None,
                  car: tuple[float, float] = (4.5, 1.8)) -> Messages:
    """Encode every CAV's BEV (``frame`` from :meth:`sim.intersection.IntersectionScene.frame`), apply the
    attack of ``attackers`` and report collaborator poses with Gaussian noise."""
    from sim.bev import relative_pose

    size, res = net.cfg.size, net.cfg.res
    poses = frame["poses"]
    a_n = len(poses)
    rel_true = np.stack([relative_pose(poses[0], poses[i]) for i in range(a_n)])
    rel_rep = rel_true.copy()
    if sigma_xy > 0:
        rel_rep[1:, :2] += rng.normal(0.0, sigma_xy, (a_n - 1, 2))
    if sigma_yaw > 0:
        rel_rep[1:, 2] += rng.normal(0.0, sigma_yaw, a_n - 1)
    rel = torch.from_numpy(rel_rep).float()
    bev = np.asarray(frame["bev"], np.float32)
    seen = seen_mask(bev[0])
    ids0 = frame["gt_ids"] if frame.get("gt_ids") is not None else _ids_in(frame, 0, size, res, *car)
    vis_any = frame["visible"].any(axis=0)
    target = (ids0 >= 0) & vis_any[np.maximum(ids0, 0)]
    t0 = time.perf_counter()
    with torch.no_grad():
        benign = net.encode(torch.from_numpy(bev))
    feats = benign
    phantom = None
    kind = spec.kind if attackers else "none"
    if kind in FEATURE_ATTACKS:
        feats = feature_attack(net, benign, rel, attackers, spec, rng, seen)
    elif kind == "noise":
        feats = benign.clone()
        noise = torch.from_numpy(rng.normal(0.0, spec.eps, size=tuple(benign[attackers].shape)).astype(np.float32))
        if spec.confine_unseen:
            from policies.bev_fusion.attacks import unseen_feature_mask

            noise = noise * unseen_feature_mask(net, seen, rel, attackers).float()
        feats[attackers] = benign[attackers] + noise
    elif kind in ("spoof", "removal"):
        bad = bev.copy()
        half = 0.5 * size * res - 3.0
        if kind == "spoof":
            from sim.bev import warp_bev, BevSpec

            reach = np.zeros((size, size), bool)
            for a in attackers:
                reach |= warp_bev(bev[a, 3:4], rel_true[a], BevSpec(size, res))[0] > 0
            phantom, yaw = phantom_site(seen, res, rng, spec.confine_unseen, occupied=ids0 >= 0, reach=reach)
            for a in attackers:
                loc = to_agent_frame(phantom, rel_true[a])
                if np.all(np.abs(loc) < half):
                    bad[a] = spoof_bev(bev[a], loc, yaw - rel_true[a, 2], res)
        else:
            for a in attackers:
                ids_a = _ids_in(frame, a, size, res, *car)
                erase = ids_a >= 0
                if spec.confine_unseen:
                    erase &= ~frame["visible"][0][np.maximum(ids_a, 0)]
                bad[a] = removal_bev(bev[a], erase)
        with torch.no_grad():
            feats = benign.clone()
            feats[attackers] = net.encode(torch.from_numpy(bad[attackers]))
    if spec.adaptive_threshold is not None and kind != "none":
        tau = tau_of(spec.adaptive_threshold, len(rel) - 1)  # the full-set check PASAC starts with
        feats = adapt_to_threshold(net, benign, feats, rel, seen, tau, spec.margin)
    attack_ms = 1e3 * (time.perf_counter() - t0)
    return Messages(feats.detach(), benign, rel, seen, target, ids0, vis_any, list(attackers), phantom, attack_ms)


def defend(method: str, fuser: Fuser, collaborators: list[int], threshold: "Threshold", rng: np.random.Generator,
           attackers: list[int] = (), adaptive: AdaptiveThreshold | None = None,
           robosac_attackers: int = 2) -> dict:
    """Accepted/flagged collaborators and the number of fused consistency checks of one defence."""
    if method in ("none", "upper"):
        return {"accepted": list(collaborators), "flagged": [], "checks": 0}
    if method == "oracle":
        return {"accepted": [c for c in collaborators if c not in attackers],
                "flagged": [c for c in collaborators if c in attackers], "checks": 0}
    if method == "lower":
        return {"accepted": [], "flagged": [], "checks": 0}
    if method in ("pasac", "pasac_adaptive"):
        mult = adaptive.value if (method == "pasac_adaptive" and adaptive is not None) else 1.0
        res = pasac(collaborators, lambda sub: fuser.ccloss(sub) < mult * tau_of(threshold, len(sub)))
        if method == "pasac_adaptive" and adaptive is not None:
            adaptive.update([fuser.ccloss(sub) / tau_of(threshold, len(sub)) for sub, ok in res.log if ok])
        return {"accepted": res.accepted, "flagged": res.flagged, "checks": res.checks, "threshold_scale": mult}
    if method == "robosac":
        res = robosac(collaborators, lambda sub: fuser.ccloss(sub) < tau_of(threshold, len(sub)), rng,
                      assumed_attackers=robosac_attackers)
        return {"accepted": res.accepted, "flagged": res.flagged, "checks": res.checks}
    raise ValueError(f"defend: unknown method {method!r}; expected one of {DEFENCES}")


def components(mask: np.ndarray, max_iter: int = 256) -> np.ndarray:
    """4-connected component labels (-1 background) by min-label propagation (vectorised)."""
    m = np.asarray(mask, bool)
    big = np.iinfo(np.int64).max
    lab = np.where(m, np.arange(m.size).reshape(m.shape), big)
    for _ in range(max_iter):
        p = np.pad(lab, 1, constant_values=big)
        nb = np.minimum.reduce([p[1:-1, 1:-1], p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]])
        nb = np.where(m, nb, big)
        if np.array_equal(nb, lab):
            break
        lab = nb
    return np.where(m, lab, -1)


def frame_metrics(pred: np.ndarray, msg: Messages, min_cover: float = 0.3) -> dict[str, float]:
    """IoU counts and object recall/precision counts of one prediction (bool S x S) in the ego frame.
    A target vehicle is recalled when ``min_cover`` of its cells are predicted; a predicted blob is a
    true positive when it touches any vehicle cell (visible or not)."""
    t = msg.target
    out = {"inter": float(np.logical_and(pred, t).sum()), "union": float(np.logical_or(pred, t).sum())}
    ids = np.where(t, msg.gt_ids, -1)
    tot = np.bincount(ids[ids >= 0], minlength=1)
    hit = np.bincount(ids[(ids >= 0) & pred], minlength=len(tot))
    present = tot > 0
    out["obj_gt"] = float(present.sum())
    out["obj_found"] = float(((hit[: len(tot)] >= min_cover * tot) & present).sum())
    lab = components(pred)
    blobs = np.unique(lab[lab >= 0])
    on_vehicle = np.unique(lab[(lab >= 0) & (msg.gt_ids >= 0)])
    out["obj_pred"] = float(len(blobs))
    out["obj_tp"] = float(len(on_vehicle))
    return out


__all__ = ["tau_of", "scale_threshold", "DEFENCES", "AdaptiveThreshold", "Messages", "make_messages", "defend", "frame_metrics", "components",
           "default_model", "default_threshold"]
