"""The CBF-QP safety filter: exact per-agent QPs (cross-checked with quadprog and daqp), the
alpha*dt <= 1 clamp, brake fallback, obstacles, and kept separation in closed loop."""
from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box

from planners.cbf import cbf_filter, uav_cbf_filter, unicycle_cbf_filter
from planners.cbf.obstacles import closest_points_polygons

quadprog = pytest.importorskip("quadprog", reason="cross-check solver (pip install quadprog)")


def crowd(n: int, rng: np.random.Generator, side: float, r: float) -> np.ndarray:
    pts = []
    while len(pts) < n:
        p = rng.uniform(0, side, 2)
        if all(np.linalg.norm(p - q) > 2 * r + 0.02 for q in pts):
            pts.append(p)
    return np.array(pts)


def reference_qp(u_nom: np.ndarray, A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """min ||u - u_nom||^2 s.t. A u <= b, by quadprog (Goldfarb-Idnani)."""
    d = len(u_nom)
    G = np.eye(d)
    # quadprog: min 1/2 x^T G x - a^T x  s.t.  C^T x >= b
    return quadprog.solve_qp(G, u_nom, -A.T, -b, 0)[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_agent_qps_match_quadprog(seed):
    rng = np.random.default_rng(seed)
    n, r, alpha, dt, umax, rho = 60, 0.1, 3.0, 0.05, 0.8, 0.5
    pos = crowd(n, rng, 2.5, r)
    u_nom = rng.normal(0, 1.0, (n, 2))
    res = cbf_filter(pos, u_nom, radius=r, alpha=alpha, dt=dt, u_max=umax, sense_radius=1.0, k=6, rho=rho)
    assert not res.infeasible.any()
    checked_active = 0
    for i in range(n):
        rows, rhs = [], []
        for j in res.neighbours[i]:
            if j < 0:
                continue
            dp = pos[i] - pos[j]
            rows.append(-2 * dp)
            rhs.append(rho * alpha * (dp @ dp - (2 * r) ** 2))
        rows += [np.array([1.0, 0]), np.array([-1.0, 0]), np.array([0, 1.0]), np.array([0, -1.0])]
        rhs += [umax] * 4
        A, b = np.array(rows), np.array(rhs)
        ref = reference_qp(u_nom[i], A, b)
        assert np.abs(res.u[i] - ref).max() < 1e-9
        assert (A @ res.u[i] <= b + 1e-9).all()
        checked_active += int(res.active[i] > 0)
    assert checked_active >= 10, "the crowd should make many constraints active"


def test_daqp_agrees_on_3d():
    daqp = pytest.importorskip("daqp")
    rng = np.random.default_rng(5)
    n, r = 40, 0.15
    pos = np.column_stack([crowd(n, rng, 2.5, r), rng.uniform(2, 3, n)])
    u_nom = rng.normal(0, 1, (n, 3))
    res = cbf_filter(pos, u_nom, radius=r, alpha=2.0, dt=0.05, u_max=1.0, sense_radius=1.2, k=5)
    compared = 0
    for i in range(n):
        A, b = [], []
        for j in res.neighbours[i]:
            if j >= 0:
                dp = pos[i] - pos[j]
                A.append(-2 * dp)
                b.append(0.5 * 2.0 * (dp @ dp - (2 * r) ** 2))
        A, b = np.array(A).reshape(-1, 3), np.array(b)
        x, _, exitflag, _ = daqp.solve(np.eye(3), -u_nom[i], A, b, -1e30 * np.ones(len(b)), np.zeros(len(b), dtype=np.int32)) \
            if len(b) else (np.clip(u_nom[i], -1, 1), 0, 1, 0)
        if len(b):  # daqp without the box: compare only where the box is inactive
            if np.abs(x).max() <= 1.0 and exitflag == 1:
                assert np.abs(res.u[i] - x).max() < 1e-9
                compared += 1
    assert compared >= 10


def test_alpha_clamped_to_one_over_dt_and_brake_when_overlapping():
    pos = np.array([[0.0, 0.0], [0.15, 0.0], [3.0, 3.0]])      # agents 0, 1 overlap (r = 0.1)
    u_nom = np.array([[1.0, 0.0], [-1.0, 0.0], [0.5, 0.0]])
    res = cbf_filter(pos, u_nom, radius=0.1, alpha=100.0, dt=0.05, u_max=1.0, sense_radius=1.0, k=4)
    assert res.alpha_clamped > 0
    assert (res.min_h[:2] < 0).all()
    # the overlapping pair may not close in further: either braking or moving apart
    assert res.u[0, 0] <= 1e-12 and res.u[1, 0] >= -1e-12
    assert np.allclose(res.u[2], [0.5, 0.0])                  # the lone agent keeps its nominal input


def test_obstacle_closest_points_and_filter_respects_them():
    q = closest_points_polygons(np.array([[0.0, 0.0], [3.0, 0.5], [9.0, 9.0]]), [box(1, -1, 2, 1)], 5.0)
    assert np.allclose(q[0, 0], [1, 0]) and np.allclose(q[1, 0], [2, 0.5]) and np.isnan(q[2, 0]).all()
    pos, r, dt = np.array([[0.0, 0.0]]), 0.2, 0.05
    for _ in range(200):                                      # drive straight at the wall
        obst = closest_points_polygons(pos, [box(1, -1, 2, 1)], 2.0)
        res = cbf_filter(pos, np.array([[1.0, 0.0]]), radius=r, alpha=5.0, dt=dt, u_max=1.0,
                         sense_radius=2.0, obstacles_closest=obst)
        pos = pos + res.u * dt
    assert 1.0 - pos[0, 0] >= r - 1e-9 and 1.0 - pos[0, 0] < r + 0.05


@pytest.mark.parametrize("kind", ["point", "unicycle", "uav"])
def test_antipodal_swap_keeps_separation(kind):
    n, r, dt = 8, 0.15, 0.05
    a = 2 * np.pi * np.arange(n) / n
    pos = np.column_stack([2 * np.cos(a), 2 * np.sin(a)])
    goal = -pos
    yaw = a + np.pi
    z = np.full(n, 3.0)
    worst = np.inf
    for _ in range(300):
        u_nom = np.clip(goal - pos, -0.5, 0.5)
        if kind == "point":
            u = cbf_filter(pos, u_nom, radius=r, alpha=2.0, dt=dt, u_max=0.5, sense_radius=2.0).u
            pos = pos + u * dt
        elif kind == "uav":
            p3 = np.column_stack([pos, z])
            u = uav_cbf_filter(p3, np.column_stack([u_nom, np.zeros(n)]), radius=r, alpha=2.0, dt=dt, u_max=0.5,
                               sense_radius=2.0, z_min=1.0, z_max=5.0).u
            pos, z = pos + u[:, :2] * dt, z + u[:, 2] * dt
            assert (z >= 1.0 + 0 - 1e-9).all() and (z <= 5.0 + 1e-9).all()
        else:
            l = 0.05
            cp = pos + l * np.column_stack([np.cos(yaw), np.sin(yaw)])
            un = np.clip(goal - cp, -0.5, 0.5)
            from planners.cbf import point_to_unicycle

            v0, w0 = point_to_unicycle(np.column_stack([pos, yaw]), un, l)
            res = unicycle_cbf_filter(np.column_stack([pos, yaw]), v0, w0, l=l, radius=r, alpha=2.0, dt=dt,
                                      v_max=0.5, omega_max=20.0, sense_radius=2.0)
            th = yaw + res.omega * dt / 2
            pos = pos + dt * res.v[:, None] * np.column_stack([np.cos(th), np.sin(th)])
            yaw = yaw + res.omega * dt
        d = np.linalg.norm(pos[:, None] - pos[None], axis=2) + np.eye(n) * 9
        worst = min(worst, d.min())
    # unicycles are filtered at the control point (radius r + l): their centres keep >= 2r
    assert worst >= 2 * r - 1e-3
