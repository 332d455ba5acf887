"""Exact batched solver for the small projection QPs of a CBF safety filter.

Every agent solves ``min ||u - u_nom||^2  s.t.  A u <= b`` with ``d`` = 2 or 3 variables and a
handful of half-spaces. With ``v = u - u_nom`` and ``c = b - A u_nom`` this is the minimum-norm point
of the polyhedron ``{v : A v <= c}``. Its optimum ``v*`` is fixed by an active set ``S`` of at most
``d`` linearly independent rows with multipliers ``lambda_S >= 0`` (Caratheodory), so

    w_S = (A_S A_S^T)^{-1} c_S,   v = A_S^T w_S,   lambda_S = -2 w_S,   ||v||^2 = c_S^T w_S.

We enumerate every subset of size 0..d (empty set, single-row projections, pair intersections and,
in 3D, triple intersections), keep the ones that are dual feasible (``w_S <= 0``) *and* primal
feasible (``A v <= c``), and take the least-cost one. A candidate passing both tests satisfies the
KKT conditions of this strictly convex QP, so it is the unique optimum: the solver is exact up to
floating-point round-off, with no iterations and no tolerances on convergence.

Speed comes from three exact reductions before enumerating, all vectorised over agents:

* rows are normalised (``||a_i|| = 1``) so ``c_i`` is the distance of the half-space boundary from
  the nominal input;
* agents whose nominal input is already feasible (all ``c_i >= 0``) return ``u_nom`` at once;
* when ``u = 0`` is feasible (always true for a CBF filter with ``h >= 0`` and bounds containing 0),
  ``||v*|| <= R = ||u_nom||``, so rows with ``c_i > R`` can never be active and are dropped; the
  remaining rows are sorted by ``c`` and agents are bucketed by how many remain, so a crowded agent
  does not make every other agent enumerate 12-choose-2 pairs.

This is the "exact active-set enumeration" of DESIGN §4.3; cross-checked against quadprog/daqp in
``tests/planners/test_cbf_qp.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

import numpy as np

__all__ = ["QPResult", "solve_projection_qp"]

# Rows shorter than this are treated as "0 <= c" (a degenerate constraint, e.g. two agents at the
# same point): satisfied if c >= 0, otherwise the QP is infeasible.
_ROW_EPS = 1e-12
# Gram determinants below this mean linearly dependent rows; Caratheodory lets us skip them.
_DET_EPS = 1e-13
# Row counts are rounded up to these bucket edges (measured on 1,024-agent crowds: finer buckets
# cost Python overhead, coarser ones enumerate more subsets; splitting further by the number of
# violated rows was slower in 2D and 3D).
_EDGES = [2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128]


@dataclass(frozen=True)
class QPResult:
    """Batched solution of ``min ||u - u_nom||^2 s.t. A u <= b``.

    ``u``: (B, d) optimum; rows where ``feasible`` is False hold ``infeasible_value``.
    ``feasible``: (B,) bool. ``n_active``: (B,) size of the optimal active set (0 = nominal kept).
    ``max_violation``: (B,) ``max_i (a_i^T u - b_i)`` over valid rows in the caller's units
    (<= ~1e-12 when feasible; ``nan`` for infeasible rows).
    """

    u: np.ndarray
    feasible: np.ndarray
    n_active: np.ndarray
    max_violation: np.ndarray


@lru_cache(maxsize=None)
def _subsets(m: int, d: int, nv: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Candidate active sets over m rows sorted by c ascending, of which the first nv may be
    violated (c <= tol). The optimal active set always contains a violated row (if v* != 0,
    sum_S lambda_i c_i = -2 ||v*||^2 < 0), so its smallest index is < nv.
    Returns (I, J, single): singles (I == J) and pairs, and T: (n, 3) triples when d == 3."""
    pairs = [(i, j) for i, j in combinations(range(m), 2) if i < nv]
    I = np.array(list(range(nv)) + [p[0] for p in pairs], dtype=np.intp)
    J = np.array(list(range(nv)) + [p[1] for p in pairs], dtype=np.intp)
    single = np.zeros(len(I), dtype=bool)
    single[:nv] = True
    T = (np.array([t for t in combinations(range(m), 3) if t[0] < nv], dtype=np.intp).reshape(-1, 3)
         if d >= 3 else np.zeros((0, 3), dtype=np.intp))
    return I, J, single, T


def _rowdot(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Sum over a last axis of length 2 or 3; explicit, as numpy reductions over tiny axes are slow."""
    out = X[..., 0] * Y[..., 0] + X[..., 1] * Y[..., 1]
    if X.shape[-1] == 3:
        out += X[..., 2] * Y[..., 2]
    return out


def _bucket_edges(m: int) -> list[int]:
    """Bucket upper bounds on the number of relevant rows: small buckets are cheap to enumerate."""
    edges = _EDGES
    return [e for e in edges if e < m] + [m]


def solve_projection_qp(u_nom: np.ndarray, A: np.ndarray, b: np.ndarray, *,
                        valid: np.ndarray | None = None, tol: float = 1e-10,
                        infeasible_value: float = np.nan) -> QPResult:
    """Solve ``B`` independent QPs ``min ||u - u_nom[i]||^2 s.t. A[i] u <= b[i]`` exactly.

    Args:
        u_nom: (B, d) nominal inputs, d in {2, 3}.
        A: (B, m, d) constraint rows. b: (B, m) right-hand sides.
        valid: (B, m) bool, False marks padding rows (ignored). Default: all rows valid.
        tol: feasibility/optimality tolerance on the *normalised* rows (a distance in input units,
            relative to ``1 + max |c|`` of the agent).
        infeasible_value: what ``u`` holds for infeasible QPs (callers pick their fallback).
    """
    u_nom = np.asarray(u_nom, dtype=np.float64)
    A = np.asarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if u_nom.ndim != 2 or u_nom.shape[1] not in (2, 3):
        raise ValueError(f"solve_projection_qp: u_nom must have shape (B, 2) or (B, 3), got {u_nom.shape}")
    B, d = u_nom.shape
    if A.ndim != 3 or A.shape[0] != B or A.shape[2] != d:
        raise ValueError(f"solve_projection_qp: A must have shape ({B}, m, {d}), got {A.shape}")
    m = A.shape[1]
    if b.shape != (B, m):
        raise ValueError(f"solve_projection_qp: b must have shape ({B}, {m}), got {b.shape}")
    if valid is None:
        valid = np.ones((B, m), dtype=bool)
    else:
        valid = np.asarray(valid, dtype=bool)
        if valid.shape != (B, m):
            raise ValueError(f"solve_projection_qp: valid must have shape ({B}, {m}), got {valid.shape}")
    if not (np.all(np.isfinite(u_nom)) and np.all(np.isfinite(A) | ~valid[..., None])
            and np.all(np.isfinite(b) | ~valid)):
        raise ValueError("solve_projection_qp: u_nom, A and b (valid rows) must be finite")
    A = np.where(valid[..., None], A, 0.0)
    b = np.where(valid, b, 0.0)

    u = u_nom.copy()
    feasible = np.ones(B, dtype=bool)
    n_active = np.zeros(B, dtype=np.int64)
    if m == 0 or B == 0:
        return QPResult(u, feasible, n_active, np.full(B, -np.inf))

    norm = np.sqrt(_rowdot(A, A))
    au_raw = _rowdot(A, u_nom[:, None, :])
    c = b - au_raw
    zero_row = valid & (norm <= _ROW_EPS)
    live = valid & ~zero_row
    safe_norm = np.where(live, norm, 1.0)
    An = A / safe_norm[..., None]
    cn = np.where(live, c / safe_norm, np.inf)
    bn = np.where(live, b / safe_norm, np.inf)
    aun = np.where(live, au_raw / safe_norm, 0.0)
    scale = 1.0 + np.max(np.where(live, np.abs(cn), 0.0), axis=1)
    atol = tol * scale
    # "0 <= c" rows: infeasible when c < 0 whatever u is.
    feasible &= ~np.any(zero_row & (c < -tol * (1.0 + np.abs(b))), axis=1)

    need = feasible & np.any(cn < -atol[:, None], axis=1)
    idx = np.flatnonzero(need)
    if idx.size:
        # Radius bound: the optimum is no further from u_nom than any feasible point. If u = 0 is
        # feasible (bn >= 0), so is s*u_nom for s in [s_max, 1] down the segment to 0; the largest
        # feasible s gives R = (1 - s_max) ||u_nom||. Rows further than R from u_nom are never
        # active and every candidate we accept (cost <= R^2) satisfies them.
        bn_i = bn[idx]
        zero_ok = np.all(bn_i >= -atol[idx, None], axis=1)
        au = aun[idx]                            # a_i^T u_nom on unit rows (0 on dead rows)
        with np.errstate(divide="ignore", invalid="ignore"):
            s_row = np.where(au > 0, np.maximum(bn_i, 0.0) / au, np.inf)
        s_max = np.clip(np.min(s_row, axis=1), 0.0, 1.0)
        R = np.where(zero_ok, (1.0 - s_max) * np.linalg.norm(u_nom[idx], axis=1), np.inf)
        cn_i = cn[idx]
        relevant = cn_i <= (R + atol[idx])[:, None]
        n_rel = relevant.sum(axis=1)
        n_viol = np.sum(relevant & (cn_i <= atol[idx, None]), axis=1)
        order = np.argsort(np.where(relevant, cn_i, np.inf), axis=1, kind="stable")
        # Bucket agents by how many rows they keep, so one crowded agent does not make every
        # other agent enumerate all pairs of 12 rows. Within a bucket, subsets must start with
        # one of the first nv (violated) rows.
        edges = np.asarray(_bucket_edges(m))
        hi_of = edges[np.searchsorted(edges, n_rel)]
        for hi in np.unique(hi_of):
            sel = np.flatnonzero(hi_of == hi)
            hi = int(hi)
            nv = int(min(hi, n_viol[sel].max()))
            rows = order[sel, :hi]
            ag = idx[sel]
            An_s = np.take_along_axis(An[ag], rows[..., None], axis=1)
            cn_s = np.take_along_axis(cn_i[sel], rows, axis=1)
            rel_s = np.take_along_axis(relevant[sel], rows, axis=1)
            cn_s = np.where(rel_s, cn_s, np.inf)
            An_s = np.where(rel_s[..., None], An_s, 0.0)
            v, k, ok = _enumerate(An_s, cn_s, rel_s, atol[ag], R[sel], nv)
            u[ag] = u_nom[ag] + v
            n_active[ag] = k
            feasible[ag] = ok

    u[~feasible] = infeasible_value
    res = _rowdot(A, np.where(feasible[:, None], u, 0.0)[:, None, :]) - b
    res = np.where(valid, res, -np.inf)
    max_violation = np.where(feasible, np.max(res, axis=1), np.nan)
    return QPResult(u, feasible, n_active, max_violation)


def _enumerate(An: np.ndarray, cn: np.ndarray, live: np.ndarray, atol: np.ndarray,
               R: np.ndarray, nv: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Active-set enumeration over (agents x subsets). An: (B, m, d) unit rows (0 where dead),
    cn: (B, m) (inf where dead), sorted ascending, violated rows among the first nv.
    Returns v (B, d), active-set size (B,), feasible (B,)."""
    B, m, d = An.shape
    I, J, single, T = _subsets(m, d, nv)
    G = np.matmul(An, An.transpose(0, 2, 1))
    tol = atol[:, None]
    c0 = np.where(live, cn, 0.0)   # finite copy for the candidate formulas (dead rows are masked)

    # Singles (I == J): w = c_i, v = c_i a_i. Pairs: w = G^-1 c with G = [[1, g], [g, 1]].
    g = G[:, I, J]
    ci, cj = c0[:, I], c0[:, J]
    det = np.where(single, 1.0, 1.0 - g * g)
    ok = live[:, I] & live[:, J] & (det > _DET_EPS)
    inv = 1.0 / np.where(ok, det, 1.0)
    wi = np.where(single, ci, (ci - g * cj) * inv)
    wj = np.where(single, 0.0, (cj - g * ci) * inv)
    ok &= (wi <= tol) & (wj <= tol)                      # dual feasibility: lambda = -2 w >= 0
    cost = np.where(ok, wi * ci + wj * cj, np.inf)
    W = [wi, wj]
    idx = [np.broadcast_to(I, wi.shape), np.broadcast_to(J, wi.shape)]
    size = np.where(single, 1, 2)

    if len(T):
        i, j, k = T[:, 0], T[:, 1], T[:, 2]
        a, bb, cc = G[:, i, j], G[:, i, k], G[:, j, k]
        det = 1.0 + 2.0 * a * bb * cc - a * a - bb * bb - cc * cc
        ok3 = live[:, i] & live[:, j] & live[:, k] & (det > _DET_EPS)
        inv = 1.0 / np.where(ok3, det, 1.0)
        ci, cj, ck = c0[:, i], c0[:, j], c0[:, k]
        # Adjugate of the symmetric unit-diagonal Gram matrix.
        w3i = ((1 - cc * cc) * ci + (bb * cc - a) * cj + (a * cc - bb) * ck) * inv
        w3j = ((bb * cc - a) * ci + (1 - bb * bb) * cj + (a * bb - cc) * ck) * inv
        w3k = ((a * cc - bb) * ci + (a * bb - cc) * cj + (1 - a * a) * ck) * inv
        ok3 &= (w3i <= tol) & (w3j <= tol) & (w3k <= tol)
        cost = np.concatenate([cost, np.where(ok3, w3i * ci + w3j * cj + w3k * ck, np.inf)], axis=1)
        zero = np.zeros_like(wi)
        W = [np.concatenate([wi, w3i], axis=1), np.concatenate([wj, w3j], axis=1),
             np.concatenate([zero, w3k], axis=1)]
        idx = [np.concatenate([np.broadcast_to(I, wi.shape), np.broadcast_to(i, w3i.shape)], axis=1),
               np.concatenate([np.broadcast_to(J, wi.shape), np.broadcast_to(j, w3i.shape)], axis=1),
               np.concatenate([np.broadcast_to(I, wi.shape), np.broadcast_to(k, w3i.shape)], axis=1)]
        size = np.concatenate([size, np.full(len(T), 3)])

    # Rows beyond the radius bound were dropped; a candidate outside that ball cannot be optimal.
    cost = np.where(cost <= (R * R)[:, None] + 2 * tol * (1 + R[:, None]), cost, np.inf)
    # Primal feasibility only for the dual-feasible candidates (~3 of ~20 per agent in a crowd):
    # compact them, build v = sum_s w_s a_s, and check it against all kept rows.
    bi, kc = np.nonzero(np.isfinite(cost))
    v_c = np.zeros((len(bi), d))
    for w_, ix in zip(W, idx):
        v_c += w_[bi, kc][:, None] * An[bi, ix[bi, kc]]
    resid = np.einsum("kmd,kd->km", An[bi], v_c) - cn[bi] if len(bi) else np.zeros((0, m))
    feas = np.max(resid, axis=1) <= tol[bi, 0] if len(bi) else np.zeros(0, dtype=bool)
    cost_f = np.full(cost.shape, np.inf)
    cost_f[bi[feas], kc[feas]] = cost[bi[feas], kc[feas]]
    vfull = np.zeros(cost.shape + (d,))
    vfull[bi, kc] = v_c
    best = np.argmin(cost_f, axis=1)
    rows = np.arange(B)
    found = np.isfinite(cost_f[rows, best])
    v = np.where(found[:, None], vfull[rows, best], 0.0)
    return v, np.where(found, size[best], 0), found
