"""PASAC, ROBOSAC and the CCLoss consistency score (see the package docstring for the papers)."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

Check = Callable[[tuple[int, ...]], bool]  # subset of collaborator ids -> consistent with the ego?


@dataclass
class ConsensusResult:
    accepted: list[int]
    flagged: list[int]
    checks: int
    log: list[tuple[tuple[int, ...], bool]] = field(default_factory=list)  # (subset, consistent) per check


def generalized_dice(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None, eps: float = 1e-6) -> float:
    """Generalised Dice of two foreground-probability maps over foreground and background
    (Sudre et al., DLMIA 2017): class weights ``1 / (sum of b's class mass)^2`` so the rare vehicle class
    counts as much as the background; squared terms in the denominator (Milletari et al., V-Net, 3DV
    2016) so two identical soft maps score exactly 1. ``mask`` restricts the cells compared."""
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    if a.shape != b.shape:
        raise ValueError(f"generalized_dice: shapes differ {a.shape} vs {b.shape}")
    if mask is not None:
        m = np.asarray(mask, bool)
        a, b = a[m], b[m]
    num = den = 0.0
    for pa, pb in ((a, b), (1 - a, 1 - b)):
        w = 1.0 / (pb.sum() ** 2 + eps)
        num += w * (pa * pb).sum()
        den += w * (pa * pa + pb * pb).sum()
    return float(2 * num / den) if den > 0 else 1.0


def ccloss(ego: np.ndarray, fused: np.ndarray, mask: np.ndarray | None = None) -> float:
    """CP-Guard's collaborative consistency loss between the ego-only and the fused result:
    ``1 - generalized_dice``; 0 = fully consistent."""
    return 1.0 - generalized_dice(fused, ego, mask)


def pasac(collaborators: Sequence[int], check: Check, check_all_first: bool = True) -> ConsensusResult:
    """Probability-agnostic sample consensus (CP-Guard, Alg. 1): check the whole set (accept it if
    consistent), else split it into halves and recurse: a consistent half is accepted, an inconsistent
    single collaborator is flagged. Every check is a node of a binary tree over ``n`` leaves, so at
    most ``2n - 1`` checks (``2n - 2`` with ``check_all_first=False``); the attacker ratio is not needed.
    With an exact consistency function (inconsistent iff the subset holds an attacker) it flags exactly
    the attackers."""
    ids = list(collaborators)
    res = ConsensusResult([], [], 0)

    def visit(sub: list[int], known_bad: bool) -> None:
        if not sub:
            return
        if not known_bad:
            ok = bool(check(tuple(sub)))
            res.checks += 1
            res.log.append((tuple(sub), ok))
            if ok:
                res.accepted.extend(sub)
                return
        if len(sub) == 1:
            res.flagged.extend(sub)
            return
        half = (len(sub) + 1) // 2
        visit(sub[:half], False)
        visit(sub[half:], False)

    visit(ids, known_bad=not check_all_first)
    res.accepted.sort()
    res.flagged.sort()
    return res


def robosac_trials(n: int, n_attackers: int, sample_size: int, p_success: float = 0.99) -> int:
    """RANSAC trial count: ``ceil(log(1 - p) / log(1 - w))`` with ``w = C(n-m, s) / C(n, s)`` the
    probability that a sample of ``s`` of ``n`` collaborators holds none of the ``m`` attackers."""
    if not (0 <= n_attackers <= n and 1 <= sample_size <= n):
        raise ValueError(f"robosac_trials: need 0 <= m <= n and 1 <= s <= n, got n={n} m={n_attackers} s={sample_size}")
    if not 0 < p_success < 1:
        raise ValueError(f"robosac_trials p_success: expected 0 < p < 1, got {p_success}")
    w = math.comb(n - n_attackers, sample_size) / math.comb(n, sample_size)
    if w >= 1.0:
        return 1
    if w <= 0.0:
        raise ValueError(f"robosac_trials: no attacker-free sample of {sample_size} exists (n={n}, m={n_attackers})")
    return int(math.ceil(math.log(1 - p_success) / math.log(1 - w)))


def robosac(collaborators: Sequence[int], check: Check, rng: np.random.Generator, assumed_attackers: int = 1,
            sample_size: int | None = None, p_success: float = 0.99, max_trials: int | None = None) -> ConsensusResult:
    """ROBOSAC (Li et al., ICCV 2023): sample ``s`` collaborators (default ``n - assumed_attackers``,
    the largest possibly benign set), fuse with the ego and check consistency; the first consistent
    sample is the consensus set (accepted), the rest are flagged. Up to :func:`robosac_trials` samples
    (distinct subsets, drawn without replacement); none consistent: ego only, all flagged."""
    ids = list(collaborators)
    n = len(ids)
    res = ConsensusResult([], [], 0)
    if n == 0:
        return res
    m = min(max(int(assumed_attackers), 0), n - 1) if n > 1 else 0
    s = int(sample_size) if sample_size is not None else n - m
    s = min(max(s, 1), n)
    trials = robosac_trials(n, m, s, p_success) if n - m >= s else 1
    if max_trials is not None:
        trials = min(trials, int(max_trials))
    subsets = list(combinations(range(n), s))
    order = rng.permutation(len(subsets))
    for t in range(min(trials, len(subsets))):
        sub = tuple(ids[i] for i in subsets[order[t]])
        ok = bool(check(sub))
        res.checks += 1
        res.log.append((sub, ok))
        if ok:
            res.accepted = sorted(sub)
            res.flagged = sorted(set(ids) - set(sub))
            return res
    res.flagged = sorted(ids)
    return res


__all__ = ["ConsensusResult", "Check", "pasac", "robosac", "robosac_trials", "generalized_dice", "ccloss"]
