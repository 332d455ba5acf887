"""Centralised CBF-QP baseline (Robotarium style): one QP over all agents jointly.

Wang, Ames, Egerstedt, "Safety Barrier Certificates for Collisions-Free Multirobot Systems",
T-RO 2017 (the Robotarium's ``create_single_integrator_barrier_certificate``)::

    min_U  sum_i ||u_i - u_nom_i||^2
    s.t.   -2 dp_ij^T (u_i - u_j) <= alpha_ij h_ij     once per pair (i < j) within sense_radius
           -2 dq_io^T u_i          <= alpha_i  h_io     for every obstacle closest point
           |u_i,axis| <= u_max

with ``alpha_ij = (alpha_i + alpha_j) / 2``, clamped to ``1/dt`` like the decentralised filter.

Solver: by default our exact Goldfarb-Idnani dual active-set method on the sparse rows
(:mod:`planners.cbf.activeset`, KKT-verified). ``solver="highs"`` uses HiGHS's convex QP solver
instead; we keep it for comparison only: on near-symmetric swap steps (many ``h ~ 0`` rows) HiGHS
1.16 returned "Solve error", or "Optimal" with a 0.5 constraint violation after 131k iterations
(1.2 s for 16 variables). Every answer is checked; anything that is not a verified optimum is
reported in ``status`` and brakes every agent (u = 0). Not for the step loop at scale: it is the
baseline the decentralised filter is compared to (timings in ``planners/cbf/bench.py``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from planners.cbf.activeset import solve_sparse_projection_qp
from planners.cbf.filter import _per_agent, check_positions_inputs
from planners.cbf.neighbours import pairs_within_radius

__all__ = ["CentralResult", "centralized_cbf_filter"]

_BANNER_SWALLOWED = False


def _new_highs():
    """A silent ``highspy.Highs``. Its first construction prints a copyright banner on the C-level
    stdout (before ``output_flag`` can be set), which would corrupt ``--json`` output; swallow it."""
    global _BANNER_SWALLOWED
    import os
    import sys

    import highspy
    if _BANNER_SWALLOWED:
        h = highspy.Highs()
    else:
        try:
            sys.stdout.flush()
            saved = os.dup(1)
        except (OSError, ValueError):
            saved = None
        if saved is None:
            h = highspy.Highs()
        else:
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 1)
                h = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
                os.close(devnull)
        _BANNER_SWALLOWED = True
    h.setOptionValue("output_flag", False)
    return h


@dataclass(frozen=True)
class CentralResult:
    """u: (N, d) inputs; status: HiGHS model status ("Optimal", "Infeasible", ...; anything but
    "Optimal" means u = 0 for everyone); pairs: (P, 2) agent pairs constrained; min_h: (N,) as in
    FilterResult; max_violation: largest constraint residual of u; solve_s: HiGHS wall time;
    alpha_clamped: entries of alpha above 1/dt."""

    u: np.ndarray
    status: str
    pairs: np.ndarray
    min_h: np.ndarray
    max_violation: float
    solve_s: float
    alpha_clamped: int


def centralized_cbf_filter(pos: np.ndarray, u_nom: np.ndarray, *, radius: float | np.ndarray,
                           alpha: float | np.ndarray, dt: float, u_max: float | None,
                           sense_radius: float, obstacles_closest: np.ndarray | None = None,
                           margin: float = 0.0, pairs: np.ndarray | None = None,
                           clamp_alpha: bool = True, solver: str = "active_set",
                           tol: float = 1e-9) -> CentralResult:
    """Joint CBF-QP over all agents (see the module docstring). ``alpha`` is a float or per agent
    (N,); ``pairs`` (P, 2) overrides the pairs within ``sense_radius``. ``solver``: "active_set"
    (exact Goldfarb-Idnani, :mod:`planners.cbf.activeset`) or "highs" (HiGHS QP; its answer is
    checked and reported as "Inaccurate" when it violates a constraint by more than 1e-6)."""
    if solver not in ("active_set", "highs"):
        raise ValueError(f"centralized_cbf_filter: solver must be 'active_set' or 'highs', got {solver!r}")

    pos, u_nom = check_positions_inputs("centralized_cbf_filter", pos, u_nom, dt)
    n, d = pos.shape
    r = _per_agent(radius, n, "radius")
    a = _per_agent(alpha, n, "alpha")
    n_clamped = 0
    if clamp_alpha:
        n_clamped = int(np.sum(np.asarray(alpha, dtype=np.float64) > 1.0 / dt))
        a = np.minimum(a, 1.0 / dt)
    if pairs is None:
        pairs = pairs_within_radius(pos, sense_radius)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if pairs.size and (pairs.min() < 0 or pairs.max() >= n or np.any(pairs[:, 0] == pairs[:, 1])):
        raise ValueError("centralized_cbf_filter: pairs must hold distinct agent indices in [0, N)")

    i, j = pairs[:, 0], pairs[:, 1]
    dp = pos[i] - pos[j]
    D = r[i] + r[j] + margin
    h = np.sum(dp * dp, axis=1) - D * D
    min_h = np.full(n, np.inf)
    np.minimum.at(min_h, i, h)
    np.minimum.at(min_h, j, h)
    # Rows padded to 2d entries (padding: column 0, value 0).
    w = 2 * d
    ar = np.arange(d)
    # Pair row: -2 dp^T u_i + 2 dp^T u_j <= alpha_ij h.
    row_cols = [np.concatenate([i[:, None] * d + ar, j[:, None] * d + ar], axis=1)]
    row_vals = [np.concatenate([-2.0 * dp, 2.0 * dp], axis=1)]
    rhs = [0.5 * (a[i] + a[j]) * h]
    if obstacles_closest is not None:
        q = np.asarray(obstacles_closest, dtype=np.float64)
        if q.ndim != 3 or q.shape[0] != n or q.shape[2] != d:
            raise ValueError(f"centralized_cbf_filter: obstacles_closest must have shape ({n}, M, {d}), "
                             f"got {q.shape}")
        ai, oi = np.nonzero(np.all(np.isfinite(q), axis=2))
        dq = pos[ai] - q[ai, oi]
        ho = np.sum(dq * dq, axis=1) - (r[ai] + margin) ** 2
        np.minimum.at(min_h, ai, ho)
        pad = np.zeros((len(ai), d))
        row_cols.append(np.concatenate([ai[:, None] * d + ar, pad.astype(np.int64)], axis=1))
        row_vals.append(np.concatenate([-2.0 * dq, pad], axis=1))
        rhs.append(a[ai] * ho)
    n_cbf = sum(len(x) for x in rhs)
    um = None if u_max is None else _per_agent(u_max, n, "u_max")
    if um is not None:
        # Box bounds as rows for the active-set solver (HiGHS takes them as column bounds).
        col = np.arange(n * d)
        bc = np.zeros((2 * n * d, w), dtype=np.int64)
        bv = np.zeros((2 * n * d, w))
        bc[:, 0] = np.concatenate([col, col])
        bv[:, 0] = np.concatenate([np.ones(n * d), -np.ones(n * d)])
        row_cols.append(bc)
        row_vals.append(bv)
        rhs.append(np.tile(np.repeat(um, d), 2))
    Rc = np.concatenate(row_cols)
    Rv = np.concatenate(row_vals)
    rhs_all = np.concatenate(rhs)
    U0 = u_nom.ravel()

    t0 = time.perf_counter()
    if solver == "active_set":
        c = rhs_all - np.sum(Rv * U0[Rc], axis=1)
        res = solve_sparse_projection_qp(Rc, Rv, c, n * d, tol=tol * 1e-1)
        status = {"optimal": "Optimal", "infeasible": "Infeasible",
                  "iteration_limit": "Iteration limit"}[res.status]
        if status == "Optimal" and not res.kkt_ok:
            status = "Inaccurate"
        flat = U0 + res.v if status == "Optimal" else np.zeros(n * d)
    else:
        status, flat = _solve_highs(Rc[:n_cbf], Rv[:n_cbf], rhs_all[:n_cbf], U0, um, d, tol)
    solve_s = time.perf_counter() - t0
    resid = np.sum(Rv * flat[Rc], axis=1) - rhs_all
    viol = float(resid.max()) if len(resid) else -np.inf
    if status == "Optimal" and viol > 1e-6:
        status = "Inaccurate"       # seen with HiGHS: "Optimal" with a 0.5 violation
    u = flat.reshape(n, d) if status == "Optimal" else np.zeros((n, d))
    if status != "Optimal":
        resid = np.sum(Rv * u.ravel()[Rc], axis=1) - rhs_all
        viol = float(resid.max()) if len(resid) else -np.inf
    return CentralResult(u=u, status=status, pairs=pairs, min_h=min_h, max_violation=viol,
                         solve_s=solve_s, alpha_clamped=n_clamped)


def _solve_highs(Rc: np.ndarray, Rv: np.ndarray, rhs: np.ndarray, U0: np.ndarray,
                 um: np.ndarray | None, d: int, tol: float) -> tuple[str, np.ndarray]:
    import highspy

    nv = len(U0)
    m = len(rhs)
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = nv
    lp.num_row_ = m
    lp.col_cost_ = -2.0 * U0
    if um is None:
        lp.col_lower_ = np.full(nv, -inf)
        lp.col_upper_ = np.full(nv, inf)
    else:
        ub = np.repeat(um, d)
        lp.col_lower_ = -ub
        lp.col_upper_ = ub
    lp.row_lower_ = np.full(m, -inf)
    lp.row_upper_ = rhs
    # Drop padding entries (value exactly 0) so no row repeats a column.
    keep = Rv != 0.0
    nnz = keep.sum(axis=1)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(nnz)]).astype(np.int32)
    lp.a_matrix_.index_ = Rc[keep].astype(np.int32)
    lp.a_matrix_.value_ = Rv[keep]
    hess = highspy.HighsHessian()
    hess.dim_ = nv
    hess.format_ = highspy.HessianFormat.kTriangular
    hess.start_ = np.arange(nv + 1, dtype=np.int32)
    hess.index_ = np.arange(nv, dtype=np.int32)
    hess.value_ = np.full(nv, 2.0)          # 1/2 x^T (2 I) x = ||x||^2
    # First try tight tolerances and (almost) no regularisation -- the Hessian 2I is already
    # positive definite and HiGHS's default regularisation (1e-7) moves the optimum by ~4e-8
    # (measured against quadprog). At these tolerances HiGHS sometimes ends ~1e-9 infeasible and
    # reports "Solve error"; then retry with its defaults.
    status = "Solve error"
    h_ = None
    for reg, ptol in ((1e-12, tol), (1e-7, 1e-7)):
        h_ = _new_highs()
        h_.setOptionValue("qp_regularization_value", reg)
        h_.setOptionValue("primal_feasibility_tolerance", ptol)
        h_.setOptionValue("dual_feasibility_tolerance", ptol)
        h_.passModel(lp)
        h_.passHessian(hess)
        h_.run()
        status = h_.modelStatusToString(h_.getModelStatus())
        if status != "Solve error":
            break
    if status == "Optimal":
        return status, np.asarray(h_.getSolution().col_value, dtype=np.float64)
    return status, np.zeros(nv)
