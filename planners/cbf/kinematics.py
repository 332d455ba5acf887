"""Kinematic wrappers around :func:`planners.cbf.filter.cbf_filter`.

* Unicycle AMRs through the near-identity diffeomorphism (Wang, Ames, Egerstedt, T-RO 2017, §V;
  used by the Robotarium's ``create_unicycle_barrier_certificate``): the control point
  ``p = (x + l cos th, y + l sin th)`` moves as a single integrator, ``p' = R(th) [v, l w]^T``, so
  the filter acts on ``p`` with the radius inflated to ``r + l`` (the body disc of radius r around
  (x, y) lies inside the disc of radius r + l around p) and the result maps back to (v, w).
  The input box ``|v| <= v_max, |w| <= w_max`` is the rotated rectangle
  ``|e_th^T u| <= v_max, |e_perp^T u| <= l w_max`` in control-point velocity, passed as exact
  half-spaces.
* UAVs: single integrators in 3D with an altitude band ``z_min <= z <= z_max`` enforced by two
  more barriers, ``h = z - z_min`` and ``h = z_max - z`` (``-u_z <= alpha (z - z_min)``,
  ``u_z <= alpha (z_max - z)``), and an optional separate vertical speed bound.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planners.cbf.filter import FilterResult, agent_alpha, cbf_filter

__all__ = ["UnicycleFilterResult", "control_point", "unicycle_to_point", "point_to_unicycle",
           "unicycle_cbf_filter", "uav_cbf_filter"]


def _check_pose(pose: object) -> np.ndarray:
    arr = np.asarray(pose, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"unicycle: pose must have shape (N, 3) = (x, y, theta), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("unicycle: pose must be finite")
    return arr


def _check_l(l: float) -> float:
    if not l > 0:
        raise ValueError(f"unicycle: control-point offset l must be > 0, got {l!r}")
    return float(l)


def control_point(pose: np.ndarray, l: float) -> np.ndarray:
    """Point at distance ``l`` ahead of each robot: (N, 2)."""
    pose = _check_pose(pose)
    l = _check_l(l)
    return pose[:, :2] + l * np.stack([np.cos(pose[:, 2]), np.sin(pose[:, 2])], axis=1)


def unicycle_to_point(pose: np.ndarray, v: np.ndarray, omega: np.ndarray, l: float) -> np.ndarray:
    """Control-point velocity of unicycle inputs: ``u = R(th) [v, l w]``, (N, 2)."""
    pose = _check_pose(pose)
    l = _check_l(l)
    c, s = np.cos(pose[:, 2]), np.sin(pose[:, 2])
    v = np.asarray(v, dtype=np.float64)
    lw = l * np.asarray(omega, dtype=np.float64)
    return np.stack([c * v - s * lw, s * v + c * lw], axis=1)


def point_to_unicycle(pose: np.ndarray, u: np.ndarray, l: float) -> tuple[np.ndarray, np.ndarray]:
    """Inverse map: ``v = e_th^T u``, ``w = e_perp^T u / l``."""
    pose = _check_pose(pose)
    l = _check_l(l)
    u = np.asarray(u, dtype=np.float64)
    c, s = np.cos(pose[:, 2]), np.sin(pose[:, 2])
    return c * u[:, 0] + s * u[:, 1], (-s * u[:, 0] + c * u[:, 1]) / l


@dataclass(frozen=True)
class UnicycleFilterResult:
    """Safe unicycle inputs plus the control-point filter result (``filter.u`` is the control-point
    velocity; ``filter.min_h`` is measured on the inflated control-point discs)."""

    v: np.ndarray
    omega: np.ndarray
    filter: FilterResult


def unicycle_cbf_filter(pose: np.ndarray, v_nom: np.ndarray, omega_nom: np.ndarray, *, l: float,
                        radius: float | np.ndarray, alpha: float | np.ndarray, dt: float,
                        v_max: float, omega_max: float, sense_radius: float, k: int = 8,
                        obstacles_closest: np.ndarray | None = None, allow_reverse: bool = True,
                        **kwargs) -> UnicycleFilterResult:
    """CBF filter for unicycles via the control point at offset ``l`` (see the module docstring).

    ``obstacles_closest`` must be closest points to the *control points* (:func:`control_point`).
    ``allow_reverse=False`` adds ``v >= 0``. Other keywords go to :func:`cbf_filter`
    (``rho``, ``margin``, ``alpha_obs``, ``neighbours``, ``clamp_alpha``).
    """
    pose = _check_pose(pose)
    l = _check_l(l)
    n = len(pose)
    if not (v_max > 0 and omega_max > 0):
        raise ValueError(f"unicycle: v_max and omega_max must be > 0, got {v_max!r}, {omega_max!r}")
    p = control_point(pose, l)
    u_nom = unicycle_to_point(pose, np.broadcast_to(v_nom, (n,)), np.broadcast_to(omega_nom, (n,)), l)
    r = np.broadcast_to(np.asarray(radius, dtype=np.float64), (n,)) + l
    c, s = np.cos(pose[:, 2]), np.sin(pose[:, 2])
    e = np.stack([c, s], axis=1)
    perp = np.stack([-s, c], axis=1)
    rows = [e, -e, perp, -perp]
    bounds = [v_max, 0.0 if not allow_reverse else v_max, l * omega_max, l * omega_max]
    eA = np.stack(rows, axis=1)
    eb = np.repeat(np.asarray(bounds, dtype=np.float64)[None], n, axis=0)
    res = cbf_filter(p, u_nom, radius=r, alpha=alpha, dt=dt, u_max=None, sense_radius=sense_radius,
                     k=k, obstacles_closest=obstacles_closest, extra_A=eA, extra_b=eb, **kwargs)
    v, w = point_to_unicycle(pose, res.u, l)
    # Exact in exact arithmetic; clip the last ulp so callers can assert the bounds.
    return UnicycleFilterResult(v=np.clip(v, -v_max if allow_reverse else 0.0, v_max),
                                omega=np.clip(w, -omega_max, omega_max), filter=res)


def uav_cbf_filter(pos: np.ndarray, u_nom: np.ndarray, *, radius: float | np.ndarray,
                   alpha: float | np.ndarray, dt: float, u_max: float | np.ndarray,
                   sense_radius: float, z_min: float | None = None, z_max: float | None = None,
                   vz_max: float | None = None, k: int = 8, obstacles_closest: np.ndarray | None = None,
                   **kwargs) -> FilterResult:
    """3D single-integrator filter with an altitude band (barriers on z) and an optional vertical
    speed bound ``|u_z| <= vz_max`` on top of the per-axis box ``u_max``. Altitude barriers use the
    per-agent alpha (row minimum if alpha is per edge), clamped to 1/dt like the rest."""
    pos = np.asarray(pos, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] != 3:
        raise ValueError(f"uav_cbf_filter: pos must have shape (N, 3), got {pos.shape}")
    n = len(pos)
    if z_min is not None and z_max is not None and not z_min < z_max:
        raise ValueError(f"uav_cbf_filter: need z_min < z_max, got {z_min!r} >= {z_max!r}")
    a = agent_alpha(alpha, n)
    if kwargs.get("clamp_alpha", True):
        a = np.minimum(a, 1.0 / dt)
    ez = np.array([0.0, 0.0, 1.0])
    rows, rhs = [], []
    if z_min is not None:
        rows.append(-ez)
        rhs.append(a * (pos[:, 2] - z_min))
    if z_max is not None:
        rows.append(ez)
        rhs.append(a * (z_max - pos[:, 2]))
    if vz_max is not None:
        if not vz_max > 0:
            raise ValueError(f"uav_cbf_filter: vz_max must be > 0, got {vz_max!r}")
        rows += [ez, -ez]
        rhs += [np.full(n, float(vz_max))] * 2
    eA = eb = None
    if rows:
        eA = np.broadcast_to(np.stack(rows), (n, len(rows), 3)).copy()
        eb = np.stack(rhs, axis=1)
    return cbf_filter(pos, u_nom, radius=radius, alpha=alpha, dt=dt, u_max=u_max,
                      sense_radius=sense_radius, k=k, obstacles_closest=obstacles_closest,
                      extra_A=eA, extra_b=eb, **kwargs)
