"""The classic antipodal-swap scenario in plain numpy (no simulator): N single integrators on a
circle each drive to the diametrically opposite point with a proportional nominal controller,
``u_nom = kp (goal - p)`` clipped to ``u_max``, integrated with exact Euler steps ``p += u dt``.

Used by the tests and the benchmark to check (a) safety — with the filter and ``alpha dt <= 1`` the
minimum separation never drops below ``D = 2 r`` — and (b) liveness: the perfectly symmetric swap
deadlocks at the centre for every fixed alpha (all agents push straight at each other, the filter
only slows them to a symmetric standstill), which DESIGN §4.3 reports and ``bias``/``perturb``
break (Wang et al. T-RO 2017 and Gao et al. MRS 2023 both note the deadlock of CBF-QP filters).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planners.cbf.central import centralized_cbf_filter
from planners.cbf.filter import cbf_filter

__all__ = ["SwapResult", "antipodal_swap"]


@dataclass(frozen=True)
class SwapResult:
    """min_sep: (T,) smallest centre distance over all pairs after each step; reached: (N,) agents
    within ``goal_tol`` of their goal at the end; steps_to_all: first step at which all agents were
    within goal_tol (None if never); infeasible: total infeasible QPs over the run;
    final_pos: (N, d); D: required separation (2 r); alpha_clamped: entries clamped per step."""

    min_sep: np.ndarray
    reached: np.ndarray
    steps_to_all: int | None
    infeasible: int
    final_pos: np.ndarray
    D: float
    alpha_clamped: int


def antipodal_swap(n: int = 8, *, circle_radius: float = 2.0, agent_radius: float = 0.2,
                   alpha: float | np.ndarray = 1.0, dt: float = 0.05, u_max: float = 1.0,
                   kp: float = 1.0, steps: int = 600, mode: str = "decentralized",
                   bias: float = 0.0, perturb: float = 0.0, rng: np.random.Generator | None = None,
                   goal_tol: float = 0.05, clamp_alpha: bool = True, k: int = 8,
                   dim: int = 2) -> SwapResult:
    """Run the swap. ``mode``: "decentralized" (:func:`cbf_filter`), "central"
    (:func:`centralized_cbf_filter`) or "none" (nominal only). ``bias``: rotate every nominal
    input by this angle (radians, 2D) — a right-hand-rule symmetry breaker. ``perturb``: std of
    Gaussian noise on the start positions (needs ``rng``). ``dim=3`` puts the circle in z = 0 of 3D.
    """
    if n < 2:
        raise ValueError(f"antipodal_swap: need n >= 2 agents, got {n}")
    if mode not in ("decentralized", "central", "none"):
        raise ValueError(f"antipodal_swap: mode must be 'decentralized', 'central' or 'none', got {mode!r}")
    if dim not in (2, 3):
        raise ValueError(f"antipodal_swap: dim must be 2 or 3, got {dim}")
    th = 2 * np.pi * np.arange(n) / n
    start = circle_radius * np.stack([np.cos(th), np.sin(th)], axis=1)
    goal = -start
    if perturb > 0:
        if rng is None:
            raise ValueError("antipodal_swap: perturb > 0 needs a seeded rng")
        start = start + rng.normal(scale=perturb, size=start.shape)
    if dim == 3:
        start = np.concatenate([start, np.zeros((n, 1))], axis=1)
        goal = np.concatenate([goal, np.zeros((n, 1))], axis=1)
    cb, sb = np.cos(bias), np.sin(bias)
    D = 2 * agent_radius
    pos = start.copy()
    min_sep = np.empty(steps)
    steps_to_all = None
    infeasible = 0
    clamped = 0
    iu = np.triu_indices(n, 1)
    for t in range(steps):
        u_nom = kp * (goal - pos)
        if bias:
            x, y = u_nom[:, 0].copy(), u_nom[:, 1].copy()
            u_nom[:, 0], u_nom[:, 1] = cb * x - sb * y, sb * x + cb * y
        norm = np.linalg.norm(u_nom, axis=1, keepdims=True)
        u_nom = u_nom * np.minimum(1.0, u_max / np.maximum(norm, 1e-12))
        if mode == "decentralized":
            res = cbf_filter(pos, u_nom, radius=agent_radius, alpha=alpha, dt=dt, u_max=u_max,
                             sense_radius=4 * circle_radius, k=min(k, n - 1), clamp_alpha=clamp_alpha)
            u = res.u
            infeasible += int(res.infeasible.sum())
            clamped = res.alpha_clamped
        elif mode == "central":
            cres = centralized_cbf_filter(pos, u_nom, radius=agent_radius, alpha=alpha, dt=dt,
                                          u_max=u_max, sense_radius=4 * circle_radius,
                                          clamp_alpha=clamp_alpha)
            u = cres.u
            infeasible += int(cres.status != "Optimal")
            clamped = cres.alpha_clamped
        else:
            u = u_nom
        pos = pos + u * dt
        diff = pos[:, None, :] - pos[None, :, :]
        min_sep[t] = np.sqrt(np.min(np.sum(diff * diff, axis=2)[iu]))
        if steps_to_all is None and np.all(np.linalg.norm(pos - goal, axis=1) <= goal_tol):
            steps_to_all = t + 1
    reached = np.linalg.norm(pos - goal, axis=1) <= goal_tol
    return SwapResult(min_sep=min_sep, reached=reached, steps_to_all=steps_to_all,
                      infeasible=infeasible, final_pos=pos, D=D, alpha_clamped=clamped)
