"""Malicious collaborators: what 1 or 2 of them do to the messages they send the ego.

Feature-level (white-box on our model, the attackers perturb their own shared feature maps
``delta`` with ``|delta|_inf <= eps`` to maximise the BCE of the ego's fused output against the
benign fused prediction): FGSM (Goodfellow et al., ICLR 2015), BIM (Kurakin et al., 2017), PGD
(Madry et al., ICLR 2018; random start) and C&W (Carlini & Wagner, S&P 2017; L2 penalty, Adam,
clipped to eps). Defaults as in CP-Guard (Hu et al., AAAI 2025): eps 0.5, 15 steps of 0.1.
Message-level: ``spoof`` (a phantom car drawn into the attacker's lidar BEV, by default on the ego's
lane 8..18 m ahead), ``removal`` (the vehicles the attacker sees erased from its BEV and marked free),
``noise`` (Gaussian, std eps, on the features).

``confine_unseen``: perturb only what lands on cells the ego cannot observe (feature attacks are
masked there; the phantom is placed there; only vehicles the ego does not see are removed) — such
attacks cannot be caught by a consistency check against the ego's own view.
``adaptive_threshold``: the attacker knows the defence's CCLoss threshold and blends its message
with the benign one, ``benign + a (attacked - benign)``, with the largest ``a`` (bisection) that keeps
the full fusion's CCLoss under ``margin x threshold`` — just under detection.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from planners.consensus import ccloss
from policies.bev_fusion.model import BevFusionNet

FEATURE_ATTACKS = ("fgsm", "bim", "pgd", "cw")
MESSAGE_ATTACKS = ("spoof", "removal", "noise")
ATTACKS = ("none",) + FEATURE_ATTACKS + MESSAGE_ATTACKS


@dataclass
class AttackSpec:
    kind: str = "pgd"
    eps: float = 0.5
    steps: int = 15
    alpha: float = 0.1
    cw_c: float = 10.0
    confine_unseen: bool = False
    adaptive_threshold: float | dict | None = None
    margin: float = 0.9

    def __post_init__(self) -> None:
        if self.kind not in ATTACKS:
            raise ValueError(f"AttackSpec kind: expected one of {ATTACKS}, got {self.kind!r}")
        if not (self.eps >= 0 and self.steps >= 1 and self.alpha > 0):
            raise ValueError("AttackSpec: need eps >= 0, steps >= 1, alpha > 0")


def _fused_logits(net: BevFusionNet, feats: torch.Tensor, rel: torch.Tensor) -> torch.Tensor:
    warped, mask = net.warp(feats, rel)
    return net.decode(net.fuse(warped, mask))


def unseen_feature_mask(net: BevFusionNet, seen: np.ndarray, rel: torch.Tensor, agents: list[int]) -> torch.Tensor:
    """(len(agents), 1, h, w) 1 where an attacker's feature cell maps onto a cell the ego does not observe."""
    h = net.cfg.size // 2
    unseen = torch.from_numpy((~np.asarray(seen, bool)).astype(np.float32))[None, None]
    unseen = F.adaptive_max_pool2d(1 - unseen, h)  # a feature cell counts as seen if any of its cells is
    unseen = 1 - unseen
    out = []
    for a in agents:
        r = rel[a]
        c, s = torch.cos(r[2]), torch.sin(r[2])
        # pose of the ego in the attacker's frame
        inv = torch.stack([-(c * r[0] + s * r[1]), -(-s * r[0] + c * r[1]), -r[2]])
        w, m = net.warp(unseen, inv[None])
        out.append(torch.where(m > 0, w, torch.zeros_like(w))[0])  # outside the ego's grid: irrelevant
    return torch.stack(out) > 0.5


def feature_attack(net: BevFusionNet, feats: torch.Tensor, rel: torch.Tensor, attackers: list[int],
                   spec: AttackSpec, rng: np.random.Generator, seen: np.ndarray | None = None) -> torch.Tensor:
    """Perturbed copy of ``feats`` (A, C, h, w): the attackers' maps moved within the eps-ball."""
    feats = feats.detach()
    with torch.no_grad():
        target = (_fused_logits(net, feats, rel) > 0).float()  # benign fused prediction as the label
    idx = torch.tensor(attackers, dtype=torch.long)
    allow = torch.ones_like(feats[idx][:, :1])
    if spec.confine_unseen and seen is not None:
        allow = unseen_feature_mask(net, seen, rel, attackers).float()
    eps = spec.eps
    if spec.kind == "pgd":
        delta = torch.from_numpy(rng.uniform(-eps, eps, size=tuple(feats[idx].shape)).astype(np.float32))
    else:
        delta = torch.zeros_like(feats[idx])
    delta = delta * allow
    steps = 1 if spec.kind == "fgsm" else spec.steps
    step_size = eps if spec.kind == "fgsm" else spec.alpha
    pos_w = torch.tensor(4.0)
    if spec.kind == "cw":
        delta.requires_grad_(True)
        opt = torch.optim.Adam([delta], lr=spec.alpha)
    for _ in range(steps):
        delta.requires_grad_(True)
        f = feats.clone()
        f[idx] = feats[idx] + delta * allow
        logits = _fused_logits(net, f, rel)
        loss = F.binary_cross_entropy_with_logits(logits, target, pos_weight=pos_w)
        if spec.kind == "cw":  # minimise ||delta||^2 - c * loss
            obj = (delta ** 2).sum() / delta.numel() - spec.cw_c * loss
            opt.zero_grad()
            obj.backward()
            opt.step()
            with torch.no_grad():
                delta.clamp_(-eps, eps)
            continue
        (g,) = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            delta = (delta + step_size * g.sign()).clamp(-eps, eps)
    out = feats.clone()
    out[idx] = feats[idx] + delta.detach() * allow
    return out


def _car_cells(size: int, res: float, centre: np.ndarray, yaw: float, length: float = 4.5,
               width: float = 1.8) -> tuple[np.ndarray, np.ndarray]:
    """(outline, body) boolean (S, S) masks of a car at ``centre`` (local metres) in a BEV grid."""
    from sim.bev import BevSpec, rasterise_boxes

    spec = BevSpec(size, res)
    body = rasterise_boxes(np.asarray(centre, float)[None], np.array([yaw]), length, width, np.zeros(3), spec) > 0
    inner = rasterise_boxes(np.asarray(centre, float)[None], np.array([yaw]), length - 2 * res, width - 2 * res,
                            np.zeros(3), spec) > 0
    return body & ~inner, body


def spoof_bev(bev: np.ndarray, centre_local: np.ndarray, yaw_local: float, res: float) -> np.ndarray:
    """The attacker's (4, S, S) BEV with a phantom car: outline hits, body no longer free."""
    out = bev.copy()
    outline, body = _car_cells(bev.shape[-1], res, centre_local, yaw_local)
    out[0][outline] = 1.0
    out[2][body] = 0.0
    out[3][body | outline] = 1.0
    return out


def removal_bev(bev: np.ndarray, vehicles: np.ndarray) -> np.ndarray:
    """The attacker's BEV with the cells of ``vehicles`` (S, S bool, its own frame, dilated) erased."""
    v = torch.from_numpy(vehicles.astype(np.float32))[None, None]
    v = F.max_pool2d(v, 3, 1, 1)[0, 0].numpy() > 0
    out = bev.copy()
    out[0][v] = 0.0
    out[2][v] = 1.0
    out[3][v] = 1.0
    return out


def to_agent_frame(xy_ego: np.ndarray, rel_agent: np.ndarray) -> np.ndarray:
    """Ego-frame point -> the frame of an agent whose pose in the ego frame is ``rel_agent``."""
    c, s = np.cos(rel_agent[2]), np.sin(rel_agent[2])
    d = np.asarray(xy_ego, float) - rel_agent[:2]
    return np.array([c * d[0] + s * d[1], -s * d[0] + c * d[1]])


def phantom_site(seen: np.ndarray, res: float, rng: np.random.Generator, confine_unseen: bool,
                 occupied: np.ndarray | None = None, reach: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Where to put the phantom (ego-frame metres, yaw): ahead on the ego's lane (8..18 m), or with
    ``confine_unseen`` at a random site whose whole footprint the ego cannot observe (``reach``: cells
    the attacker can draw into). Falls back to ahead of the ego when no unseen site exists."""
    size = seen.shape[0]
    if confine_unseen:
        from sim.bev import BevSpec

        spec = BevSpec(size, res)
        bad = torch.from_numpy((seen | (occupied if occupied is not None else False)).astype(np.float32))[None, None]
        bad = F.max_pool2d(bad, 11, 1, 5)[0, 0].numpy() > 0  # the car's whole footprint must be unseen
        ok = ~bad
        if reach is not None:
            ok &= reach
        ok[:6], ok[-6:], ok[:, :6], ok[:, -6:] = False, False, False, False
        cand = np.argwhere(ok)
        if len(cand):
            r, c = cand[int(rng.integers(len(cand)))]
            x = (c + 0.5 - 0.5 * size) * spec.res
            y = (r + 0.5 - 0.5 * size) * spec.res
            return np.array([x, y]), float(rng.choice([0.0, np.pi / 2]))
    return np.array([rng.uniform(8.0, 18.0), 0.0]), 0.0


__all__ = ["AttackSpec", "ATTACKS", "FEATURE_ATTACKS", "MESSAGE_ATTACKS", "feature_attack", "spoof_bev",
           "removal_bev", "phantom_site", "to_agent_frame", "unseen_feature_mask", "adapt_to_threshold"]


def adapt_to_threshold(net: BevFusionNet, benign: torch.Tensor, attacked: torch.Tensor, rel: torch.Tensor,
                       seen: np.ndarray, threshold: float, margin: float = 0.9, iters: int = 7,
                       binary: bool = True) -> torch.Tensor:
    """Blend attacked and benign messages with the largest factor whose full-fusion CCLoss (binarised
    maps, as the defence measures it) against the ego-only map stays below ``margin * threshold``
    (bisection over [0, 1])."""
    with torch.no_grad():
        ego = torch.sigmoid(_fused_logits(net, benign[:1], rel[:1])).numpy()

        def score(a: float) -> float:
            f = benign + a * (attacked - benign)
            fused = torch.sigmoid(_fused_logits(net, f, rel)).numpy()
            if binary:
                return ccloss((ego > 0.5).astype(np.float64), (fused > 0.5).astype(np.float64), seen)
            return ccloss(ego, fused, seen)

        if score(1.0) < margin * threshold:
            return attacked
        lo, hi = 0.0, 1.0
        for _ in range(iters):
            mid = 0.5 * (lo + hi)
            if score(mid) < margin * threshold:
                lo = mid
            else:
                hi = mid
        return benign + lo * (attacked - benign)
