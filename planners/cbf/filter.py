"""Decentralised CBF-QP safety filter for single integrators in 2D and 3D.

Each agent ``i`` (``p_i' = u_i``) solves its own QP, vectorised over all agents in one call:

    min_u ||u - u_nom_i||^2
    s.t.  -2 dp_ij^T u <= rho * alpha_ij * h_ij    for its k nearest neighbours j within sense_radius
          -2 dq_io^T u <=       alpha_io * h_io    for every obstacle closest point q_o
          input bounds (box |u_x|,|u_y|(,|u_z|) <= u_max, or an inscribed 2D polygon)

with ``dp_ij = p_i - p_j``, ``h_ij = ||dp_ij||^2 - (r_i + r_j + margin)^2`` and
``dq_io = p_i - q_o``, ``h_io = ||dq_io||^2 - (r_i + margin)^2``. Agent-agent constraints use the
reciprocal split of Wang, Ames, Egerstedt ("Safety Barrier Certificates for Collisions-Free
Multirobot Systems", T-RO 2017): each side takes the share ``rho`` (1/2) of the joint condition
``dh/dt >= -alpha h``. The per-agent / per-edge ``alpha`` is what Gao, Yang, Prorok ("Online Control
Barrier Functions for Decentralized Multi-Agent Navigation", MRS 2023) let a GNN choose online.

Discrete-time safety. With Euler steps ``p <- p + u dt`` (exact for single integrators),
``h(t+dt) = h + 2 dt dp^T (u_i - u_j) + dt^2 ||u_i - u_j||^2 >= (1 - (rho_i alpha_i + rho_j alpha_j) dt) h``
when both agents hold their constraints, so ``alpha dt <= 1`` (with ``rho <= 1/2``; ``rho = 1`` for
obstacles) keeps ``h >= 0``. ``alpha`` is clamped to ``1/dt`` unless ``clamp_alpha=False`` and the
number of clamped entries is reported (DESIGN §4.3: ``alpha dt = 5`` measurably breaks safety).
The guarantee needs both agents to include each other: with k-nearest truncation in a dense crowd
one side may drop the other (not fixed here; ``min_h`` lets the caller monitor it).

Infeasible QPs (only possible when some ``h < 0`` already, since ``u = 0`` satisfies every constraint
with ``h >= 0``) fall back to braking, ``u = 0``; they are counted in ``FilterResult.infeasible``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planners.cbf.neighbours import knn_within_radius
from planners.cbf.qp import solve_projection_qp

__all__ = ["FilterResult", "cbf_filter", "box_bounds", "polygon_bounds", "agent_alpha",
           "closest_points_circles", "closest_points_boxes"]


@dataclass(frozen=True)
class FilterResult:
    """Output of :func:`cbf_filter`.

    u: (N, d) safe inputs. infeasible: (N,) agents whose QP had no solution (they brake, u = 0).
    active: (N,) number of active constraints at the optimum (0 = nominal input kept).
    min_h: (N,) smallest barrier value over the agent's neighbour/obstacle constraints (inf if none);
        negative means already overlapping.
    neighbours: (N, k) neighbour indices used (-1 = none). alpha_clamped: how many entries of the
    given alpha/alpha_obs were above 1/dt and clamped. max_violation: (N,) largest constraint
    residual of the returned u (<= ~1e-12 when feasible, nan when infeasible).
    """

    u: np.ndarray
    infeasible: np.ndarray
    active: np.ndarray
    min_h: np.ndarray
    neighbours: np.ndarray
    alpha_clamped: int
    max_violation: np.ndarray


def _per_agent(x: object, n: int, name: str, *, positive: bool = True) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"cbf_filter: {name} must be a float or shape ({n},), got {arr.shape}")
    if not np.all(np.isfinite(arr)) or (positive and np.any(arr < 0)):
        raise ValueError(f"cbf_filter: {name} must be finite and >= 0")
    return arr


def _per_edge(x: object, n: int, k: int, name: str) -> np.ndarray:
    """float, (N,) or (N, k) -> (N, k)."""
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0:
        out = np.full((n, k), float(arr))
    elif arr.shape == (n,):
        out = np.repeat(arr[:, None], k, axis=1)
    elif arr.shape == (n, k):
        out = arr.copy()
    else:
        raise ValueError(f"cbf_filter: {name} must be a float, shape ({n},) or ({n}, {k}), got {arr.shape}")
    if not np.all(np.isfinite(out)) or np.any(out < 0):
        raise ValueError(f"cbf_filter: {name} must be finite and >= 0")
    return out


def agent_alpha(alpha: object, n: int) -> np.ndarray:
    """Per-agent alpha from a float, (N,) or per-edge (N, k) array (per-edge -> row minimum, the
    most conservative choice). Used for obstacle and altitude constraints when no ``alpha_obs``."""
    arr = np.asarray(alpha, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[0] == n:
        return arr.min(axis=1) if arr.shape[1] else np.zeros(n)
    return _per_agent(arr, n, "alpha")


def box_bounds(u_max: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """|u_axis| <= u_max as 2d half-spaces: A (N, 2d, d), b (N, 2d)."""
    n = len(u_max)
    eye = np.eye(d)
    rows = np.concatenate([eye, -eye])
    return np.broadcast_to(rows, (n, 2 * d, d)).copy(), np.repeat(u_max[:, None], 2 * d, axis=1)


def polygon_bounds(u_max: np.ndarray, n_sides: int) -> tuple[np.ndarray, np.ndarray]:
    """2D norm bound ||u|| <= u_max approximated by the *inscribed* regular polygon (vertices on the
    circle), so every admissible u has ||u|| <= u_max; it loses at most 1 - cos(pi/n) of the radius."""
    if n_sides < 3:
        raise ValueError(f"cbf_filter: n_sides must be >= 3, got {n_sides}")
    th = 2 * np.pi * (np.arange(n_sides) + 0.5) / n_sides
    rows = np.stack([np.cos(th), np.sin(th)], axis=1)
    n = len(u_max)
    return (np.broadcast_to(rows, (n, n_sides, 2)).copy(),
            np.outer(u_max, np.full(n_sides, np.cos(np.pi / n_sides))))


def closest_points_circles(pos: np.ndarray, centers: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Closest points on circles/spheres to every agent: (N, M, d). An agent centre inside an
    obstacle gets its own position (a zero-length row: the filter reports it infeasible and brakes)."""
    pos = np.asarray(pos, dtype=np.float64)
    centers = np.asarray(centers, dtype=np.float64).reshape(-1, pos.shape[1])
    radii = np.broadcast_to(np.asarray(radii, dtype=np.float64), (len(centers),))
    diff = pos[:, None, :] - centers[None]
    dist = np.linalg.norm(diff, axis=2)
    outside = dist > radii[None]
    q = centers[None] + diff * (radii[None] / np.where(dist > 0, dist, 1.0))[..., None]
    return np.where(outside[..., None], q, pos[:, None, :])


def closest_points_boxes(pos: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Closest points on axis-aligned boxes ``[lo_o, hi_o]`` to every agent: (N, M, d) (the agent's
    own position when inside a box, see :func:`closest_points_circles`)."""
    pos = np.asarray(pos, dtype=np.float64)
    lo = np.asarray(lo, dtype=np.float64).reshape(-1, pos.shape[1])
    hi = np.asarray(hi, dtype=np.float64).reshape(-1, pos.shape[1])
    return np.clip(pos[:, None, :], lo[None], hi[None])


def check_positions_inputs(who: str, pos: object, u_nom: object, dt: float,
                           require_finite: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``pos`` (N, 2|3) and ``u_nom`` of the same shape as float arrays, ``dt > 0``; else ValueError."""
    pos = np.asarray(pos, dtype=np.float64)
    u_nom = np.asarray(u_nom, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] not in (2, 3):
        raise ValueError(f"{who}: pos must have shape (N, 2) or (N, 3), got {pos.shape}")
    if u_nom.shape != pos.shape:
        raise ValueError(f"{who}: u_nom must have shape {pos.shape} like pos, got {u_nom.shape}")
    if require_finite and not (np.all(np.isfinite(pos)) and np.all(np.isfinite(u_nom))):
        raise ValueError(f"{who}: pos and u_nom must be finite")
    if not dt > 0:
        raise ValueError(f"{who}: dt must be > 0, got {dt!r}")
    return pos, u_nom


def cbf_filter(pos: np.ndarray, u_nom: np.ndarray, *, radius: float | np.ndarray,
               alpha: float | np.ndarray, dt: float, u_max: float | np.ndarray | None,
               sense_radius: float, k: int = 8, obstacles_closest: np.ndarray | None = None,
               rho: float | np.ndarray = 0.5, margin: float = 0.0,
               alpha_obs: float | np.ndarray | None = None, bound: str = "box", n_sides: int = 8,
               neighbours: np.ndarray | None = None, extra_A: np.ndarray | None = None,
               extra_b: np.ndarray | None = None, clamp_alpha: bool = True) -> FilterResult:
    """Decentralised CBF-QP filter, one exact QP per agent (see the module docstring).

    Args:
        pos: (N, d) positions, d in {2, 3}. u_nom: (N, d) nominal velocities.
        radius: agent radii, float or (N,). alpha: class-K gain, float, per agent (N,) or per
            neighbour edge (N, k) (column j is the j-th nearest neighbour). dt: step, for the
            ``alpha dt <= 1`` clamp. u_max: bound per axis (box) or on the norm (polygon), float or
            (N,); None = unbounded.
        sense_radius: neighbours further away are not seen. k: neighbours per agent.
        obstacles_closest: (N, M, d) closest point of each obstacle to each agent; NaN rows = absent.
        rho: agent-agent share (1/2 reciprocal; 1 to assume the other side does nothing), float,
            (N,) or (N, k). margin: extra clearance added to D.
        alpha_obs: gain for obstacle constraints, float, (N,) or (N, M); default: per-agent alpha
            (row minimum when alpha is per edge).
        bound: "box" or "polygon" (2D only; inscribed regular ``n_sides``-gon).
        neighbours: (N, k) precomputed neighbour indices (-1 = none) instead of the kNN search.
        extra_A, extra_b: (N, q, d), (N, q) extra half-spaces ``extra_A u <= extra_b`` (rows with
            non-finite b are ignored), e.g. a unicycle's rotated input box or an altitude band.
        clamp_alpha: clamp alpha (and alpha_obs) to 1/dt (discrete-time safety).
    """
    pos, u_nom = check_positions_inputs("cbf_filter", pos, u_nom, dt, require_finite=True)
    n, d = pos.shape
    if not (isinstance(k, (int, np.integer)) and k >= 1):
        raise ValueError(f"cbf_filter: k must be a positive int, got {k!r}")
    if not sense_radius > 0:
        raise ValueError(f"cbf_filter: sense_radius must be > 0, got {sense_radius!r}")
    if not margin >= 0:
        raise ValueError(f"cbf_filter: margin must be >= 0, got {margin!r}")
    r = _per_agent(radius, n, "radius")

    if neighbours is None:
        nb, _ = knn_within_radius(pos, k, sense_radius)
    else:
        nb = np.asarray(neighbours)
        if nb.shape != (n, k) or not np.issubdtype(nb.dtype, np.integer):
            raise ValueError(f"cbf_filter: neighbours must be an int array of shape ({n}, {k}), got "
                             f"{nb.dtype} {nb.shape}")
        if np.any(nb >= n) or np.any(nb < -1) or np.any(nb == np.arange(n)[:, None]):
            raise ValueError("cbf_filter: neighbours must hold indices in [0, N) other than the agent "
                             "itself, or -1")
    a_edge = _per_edge(alpha, n, k, "alpha")
    rho_e = _per_edge(rho, n, k, "rho")
    n_clamped = 0
    amax = 1.0 / dt
    if clamp_alpha:
        n_clamped += int(np.sum(np.asarray(alpha, dtype=np.float64) > amax))
        a_edge = np.minimum(a_edge, amax)

    A_parts, b_parts, v_parts = [], [], []
    h_parts = []
    ok = nb >= 0
    j = np.where(ok, nb, 0)
    dp = pos[:, None, :] - pos[j]
    D = r[:, None] + r[j] + margin
    h = np.einsum("nkd,nkd->nk", dp, dp) - D * D
    A_parts.append(-2.0 * dp)
    b_parts.append(np.where(ok, rho_e * a_edge * h, 0.0))
    v_parts.append(ok)
    h_parts.append(np.where(ok, h, np.inf))

    if obstacles_closest is not None:
        q = np.asarray(obstacles_closest, dtype=np.float64)
        if q.ndim != 3 or q.shape[0] != n or q.shape[2] != d:
            raise ValueError(f"cbf_filter: obstacles_closest must have shape ({n}, M, {d}), got {q.shape}")
        m_obs = q.shape[1]
        oko = np.all(np.isfinite(q), axis=2)
        if alpha_obs is None:
            ao = np.repeat(agent_alpha(alpha, n)[:, None], m_obs, axis=1)
        else:
            ao = _per_edge(alpha_obs, n, m_obs, "alpha_obs")
            if clamp_alpha:
                n_clamped += int(np.sum(np.asarray(alpha_obs, dtype=np.float64) > amax))
        if clamp_alpha:
            ao = np.minimum(ao, amax)
        dq = np.where(oko[..., None], pos[:, None, :] - np.where(oko[..., None], q, 0.0), 0.0)
        Do = (r + margin)[:, None]
        ho = np.einsum("nmd,nmd->nm", dq, dq) - Do * Do
        A_parts.append(-2.0 * dq)
        b_parts.append(np.where(oko, ao * ho, 0.0))
        v_parts.append(oko)
        h_parts.append(np.where(oko, ho, np.inf))

    if u_max is not None:
        um = _per_agent(u_max, n, "u_max")
        if bound == "box":
            Ab, bb = box_bounds(um, d)
        elif bound == "polygon":
            if d != 2:
                raise ValueError("cbf_filter: bound='polygon' is 2D only; use 'box' in 3D")
            Ab, bb = polygon_bounds(um, n_sides)
        else:
            raise ValueError(f"cbf_filter: bound must be 'box' or 'polygon', got {bound!r}")
        A_parts.append(Ab)
        b_parts.append(bb)
        v_parts.append(np.ones(bb.shape, dtype=bool))

    if (extra_A is None) != (extra_b is None):
        raise ValueError("cbf_filter: extra_A and extra_b must be given together")
    if extra_A is not None:
        eA = np.asarray(extra_A, dtype=np.float64)
        eb = np.asarray(extra_b, dtype=np.float64)
        if eA.ndim != 3 or eA.shape[0] != n or eA.shape[2] != d or eb.shape != eA.shape[:2]:
            raise ValueError(f"cbf_filter: extra_A must be ({n}, q, {d}) and extra_b ({n}, q), got "
                             f"{eA.shape} and {eb.shape}")
        okx = np.isfinite(eb) & np.all(np.isfinite(eA), axis=2)
        A_parts.append(np.where(okx[..., None], eA, 0.0))
        b_parts.append(np.where(okx, eb, 0.0))
        v_parts.append(okx)

    A = np.concatenate(A_parts, axis=1)
    b = np.concatenate(b_parts, axis=1)
    valid = np.concatenate(v_parts, axis=1)
    res = solve_projection_qp(u_nom, A, b, valid=valid, infeasible_value=0.0)   # brake fallback
    min_h = np.min(np.concatenate(h_parts, axis=1), axis=1)
    return FilterResult(u=res.u, infeasible=~res.feasible, active=res.n_active, min_h=min_h,
                        neighbours=nb, alpha_clamped=n_clamped, max_violation=res.max_violation)
