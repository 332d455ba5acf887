"""Per-slot user association + subchannel assignment at fixed UAV positions (pulp; HiGHS default, CBC
selectable), on an interference-free rate matrix ``rate[m, u] = B log2(1 + SNR_mu)`` (bit/s on one
subchannel; flat fading, so a user's rate does not depend on which subchannel it gets).

- :func:`sumrate_assignment`: each (UAV, subchannel) block carries at most one user; maximise the sum
  rate. Binary ``x[m, u]``, ``sum_m x <= 1`` per user, ``sum_u x <= K`` per UAV: a bipartite
  b-matching, totally unimodular, so the LP relaxation is integral (DESIGN.md §4.4).
- :func:`maxmin_assignment`: every user is served; users of a UAV time-share its K subchannels with
  time fractions ``s_u``; maximise the minimum rate ``t``. For a fixed ``t`` a user on UAV ``m`` needs the
  fraction ``t / rate[m, u]`` of one subchannel, so feasibility is a generalised assignment problem
  ``sum_u x[m,u] t / rate[m,u] <= K``, ``sum_m x[m,u] = 1`` (binary, NP-hard); ``t`` is found by
  bisection. The per-UAV fractions are then packed into the K subchannels by LPT (largest first onto
  the least-loaded subchannel); the returned ``share`` is each user's time fraction of its block.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pulp

from planners.milp_solve import check_solver_args, new_variable_factory, solve


@dataclass
class AssignResult:
    assoc: np.ndarray          # (U,) serving UAV, -1 = unserved
    sub: np.ndarray            # (U,) subchannel, -1 = unserved
    share: np.ndarray | None   # (U,) time fraction of the block (None: equal split)
    objective: float           # sum rate (sum-rate) or min rate t (max-min), bit/s
    status: str                # optimal | time_limit_feasible | no_solution | infeasible (max-min: of the bisection)
    gap: float                 # relative gap (max-min: bisection interval (hi - lo) / hi)
    solve_s: float
    info: dict = field(default_factory=dict)


def sumrate_assignment(rate: np.ndarray, n_sub: int, solver: str = "highs", time_limit: float = 10.0) -> AssignResult:
    """Maximise the interference-free sum rate with at most one user per (UAV, subchannel) block."""
    check_solver_args(solver, time_limit)
    rate = np.asarray(rate, dtype=float)
    M, U = rate.shape
    t0 = time.perf_counter()
    prob = pulp.LpProblem("uav_sumrate", pulp.LpMaximize)
    var = new_variable_factory(prob)
    pairs = [(m, u) for m in range(M) for u in range(U) if rate[m, u] > 0]
    x = {(m, u): var(f"x_{m}_{u}", cat="Binary") for m, u in pairs}
    scale = max(float(rate.max()), 1.0)  # bit/s -> O(1) coefficients for the solver
    prob += pulp.lpSum((rate[m, u] / scale) * x[m, u] for m, u in pairs)
    for u in range(U):
        prob += pulp.lpSum(x[m, u] for m in range(M) if (m, u) in x) <= 1, f"user_{u}"
    for m in range(M):
        prob += pulp.lpSum(x[m, u] for u in range(U) if (m, u) in x) <= n_sub, f"uav_{m}"
    out = solve(prob, solver=solver, time_limit=time_limit, minimise=False)
    assoc = np.full(U, -1, dtype=int)
    sub = np.full(U, -1, dtype=int)
    if out.has_solution:
        used = np.zeros(M, dtype=int)
        for (m, u), v in x.items():
            if (v.varValue or 0) > 0.5:
                assoc[u], sub[u] = m, used[m]
                used[m] += 1
    obj = float(rate[assoc[assoc >= 0], np.flatnonzero(assoc >= 0)].sum())
    return AssignResult(assoc, sub, None, obj, out.status, out.gap, time.perf_counter() - t0,
                        {"bound": out.bound * scale})


def _gap_feasible(rate: np.ndarray, n_sub: int, t: float, solver: str, time_limit: float):
    M, U = rate.shape
    ok = rate >= t  # a user cannot need more than one whole subchannel
    if not ok.any(axis=0).all():
        return "infeasible", None
    prob = pulp.LpProblem("uav_maxmin_gap", pulp.LpMinimize)
    var = new_variable_factory(prob)
    x = {(m, u): var(f"x_{m}_{u}", cat="Binary") for m in range(M) for u in range(U) if ok[m, u]}
    prob += pulp.lpSum([])  # pure feasibility
    for u in range(U):
        prob += pulp.lpSum(x[m, u] for m in range(M) if (m, u) in x) == 1, f"user_{u}"
    for m in range(M):
        prob += pulp.lpSum((t / rate[m, u]) * x[m, u] for u in range(U) if (m, u) in x) <= n_sub, f"uav_{m}"
    out = solve(prob, solver=solver, time_limit=time_limit)
    if not out.has_solution:
        return out.status, None
    assoc = np.full(U, -1, dtype=int)
    for (m, u), v in x.items():
        if (v.varValue or 0) > 0.5:
            assoc[u] = m
    return out.status, assoc


def lpt_pack(assoc: np.ndarray, need: np.ndarray, M: int, n_sub: int) -> tuple[np.ndarray, np.ndarray]:
    """Subchannel per user: largest time fraction first onto the least-loaded subchannel of its UAV.
    Returns (sub, share) with share = the user's fraction scaled down where a block overflows."""
    U = len(assoc)
    sub = np.full(U, -1, dtype=int)
    load = np.zeros((M, n_sub))
    for u in np.argsort(-need, kind="stable"):
        m = assoc[u]
        if m < 0:
            continue
        k = int(np.argmin(load[m]))
        sub[u] = k
        load[m, k] += need[u]
    share = np.where(sub >= 0, need / np.maximum(load[np.maximum(assoc, 0), np.maximum(sub, 0)], 1.0), 0.0)
    return sub, share


def maxmin_assignment(rate: np.ndarray, n_sub: int, solver: str = "highs", time_limit: float = 10.0,
                      rel_tol: float = 0.02, max_iter: int = 12) -> AssignResult:
    """Max-min user rate by bisection over ``t`` with a GAP feasibility MILP per step (module docstring).
    ``time_limit`` bounds the whole bisection; a probe that times out without a solution counts as
    infeasible (recorded in ``info['timeouts']``), so the result is a certified-feasible lower bound."""
    check_solver_args(solver, time_limit)
    rate = np.asarray(rate, dtype=float)
    M, U = rate.shape
    t0 = time.perf_counter()
    hi = float(np.min(np.max(rate, axis=0))) * min(1.0, n_sub)  # a user alone gets at most one full block
    hi = min(hi, float(n_sub * M / np.sum(1.0 / np.maximum(rate.max(axis=0), 1e-300))))  # pooled capacity
    lo, best, timeouts, probes = 0.0, None, 0, 0
    # start from the fast feasible point: every user on its best UAV, equal split of fractions
    best_uav = np.argmax(rate, axis=0)
    inv = np.zeros(M)
    np.add.at(inv, best_uav, 1.0 / rate[best_uav, np.arange(U)])
    t_init = float(np.min(n_sub / inv[inv > 0])) if (inv > 0).any() else 0.0
    if t_init > 0 and np.all(rate[best_uav, np.arange(U)] >= t_init):
        lo, best = t_init, best_uav
    status = "optimal"
    while probes < max_iter and hi > 0 and (hi - lo) / hi > rel_tol:
        left = time_limit - (time.perf_counter() - t0)
        if left <= 0.05:
            status = "time_limit_feasible" if best is not None else "no_solution"
            break
        t = 0.5 * (lo + hi)
        st, assoc = _gap_feasible(rate, n_sub, t, solver, left)
        probes += 1
        if assoc is not None:
            lo, best = t, assoc
        else:
            if st not in ("infeasible",):
                timeouts += 1
                status = "time_limit_feasible" if best is not None else "no_solution"
            hi = t
    if best is None:
        z = np.full(U, -1, dtype=int)
        return AssignResult(z, z.copy(), None, 0.0, "no_solution", float("nan"), time.perf_counter() - t0,
                            {"probes": probes, "timeouts": timeouts})
    need = lo / rate[best, np.arange(U)]
    sub, share = lpt_pack(best, need, M, n_sub)
    gap = (hi - lo) / hi if hi > 0 else 0.0
    return AssignResult(best, sub, share, lo, status, float(gap), time.perf_counter() - t0,
                        {"probes": probes, "timeouts": timeouts, "upper": hi})
