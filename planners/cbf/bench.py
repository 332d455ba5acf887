"""Timing of the CBF filter pieces: ``python -m planners.cbf.bench [--n 256 1024 4096] [--dim 2]``.

Scene ("crowd"): N agents on a jittered square grid with 0.5 m spacing (radius 0.15 m, so D = 0.3 m),
each heading at ``u_max`` = 1 m/s toward a random goal in the arena; k = 8 neighbours within
1.5 m, alpha = 5, dt = 0.05. Every agent is constrained (most by 1-2 active rows), so this is a
stress case for the QP, not the easy "nobody near anybody" case. Reported: microseconds per agent
(best of ``reps``, single thread) for the neighbour search, the filter given neighbours (constraint
assembly + exact QPs), and both together; plus per-QP loops of quadprog/daqp if installed, and the
centralised baseline at small N.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from planners.cbf.central import centralized_cbf_filter
from planners.cbf.filter import cbf_filter
from planners.cbf.neighbours import knn_within_radius

__all__ = ["crowd_scene", "bench_filter", "bench_external_qp", "bench_central", "main"]


def crowd_scene(n: int, rng: np.random.Generator, dim: int = 2,
                spacing: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Positions (jittered grid) and nominal inputs (unit speed toward random goals)."""
    side = int(np.ceil(n ** (1.0 / dim)))
    grid = np.stack(np.meshgrid(*([np.arange(side)] * dim), indexing="ij"), -1).reshape(-1, dim)[:n]
    pos = grid * spacing + rng.uniform(-0.1, 0.1, size=(n, dim))
    goal = rng.uniform(0, side * spacing, size=(n, dim))
    u = goal - pos
    u /= np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-9)
    return pos, u


_KW = dict(radius=0.15, alpha=5.0, dt=0.05, u_max=1.0, sense_radius=1.5, k=8)


def _best(f, reps: int) -> float:
    best = np.inf
    for _ in range(reps):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def bench_filter(n: int, *, dim: int = 2, reps: int = 15, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    pos, u = crowd_scene(n, rng, dim)
    nb, _ = knn_within_radius(pos, _KW["k"], _KW["sense_radius"])
    res = cbf_filter(pos, u, neighbours=nb, **_KW)
    t_knn = _best(lambda: knn_within_radius(pos, _KW["k"], _KW["sense_radius"]), reps)
    t_filt = _best(lambda: cbf_filter(pos, u, neighbours=nb, **_KW), reps)
    t_all = _best(lambda: cbf_filter(pos, u, **_KW), reps)
    return {"n": n, "dim": dim, "us_per_agent_knn": 1e6 * t_knn / n,
            "us_per_agent_filter": 1e6 * t_filt / n, "us_per_agent_total": 1e6 * t_all / n,
            "active_hist": np.bincount(res.active, minlength=dim + 1).tolist(),
            "infeasible": int(res.infeasible.sum()), "max_violation": float(np.nanmax(res.max_violation))}


def bench_external_qp(n: int = 1024, *, dim: int = 2, seed: int = 0) -> dict:
    """Same QPs solved one by one with quadprog / daqp (when installed), for comparison."""
    rng = np.random.default_rng(seed)
    pos, u = crowd_scene(n, rng, dim)
    import planners.cbf.filter as F
    captured = {}
    orig = F.solve_projection_qp

    def grab(u_nom, A, b, *, valid, infeasible_value):
        captured.update(u=u_nom, A=A, b=b, valid=valid)
        return orig(u_nom, A, b, valid=valid, infeasible_value=infeasible_value)

    F.solve_projection_qp = grab
    try:
        cbf_filter(pos, u, **_KW)
    finally:
        F.solve_projection_qp = orig
    U, A, B, V = captured["u"], captured["A"], captured["b"], captured["valid"]
    out = {"n": n, "dim": dim}
    try:
        import quadprog
        H = 2 * np.eye(dim)
        t = time.perf_counter()
        for i in range(n):
            quadprog.solve_qp(H, 2 * U[i], -A[i][V[i]].T, -B[i][V[i]])
        out["us_per_agent_quadprog"] = 1e6 * (time.perf_counter() - t) / n
    except ImportError:
        pass
    try:
        import ctypes

        import daqp
        H = 2 * np.eye(dim)
        t = time.perf_counter()
        for i in range(n):
            Ai = np.ascontiguousarray(A[i][V[i]])
            bu = np.ascontiguousarray(B[i][V[i]])
            bl = np.full_like(bu, -1e30)
            daqp.solve(H, -2 * U[i], Ai, bu, bl, np.zeros(len(bu), dtype=ctypes.c_int))
        out["us_per_agent_daqp"] = 1e6 * (time.perf_counter() - t) / n
    except ImportError:
        pass
    return out


def bench_central(n: int, *, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    pos, u = crowd_scene(n, rng, 2)
    kw = dict(radius=0.15, alpha=5.0, dt=0.05, u_max=1.0, sense_radius=1.5)
    out = {"n": n}
    for solver in ("active_set", "highs"):
        t = time.perf_counter()
        r = centralized_cbf_filter(pos, u, solver=solver, **kw)
        out[f"ms_{solver}"] = 1e3 * (time.perf_counter() - t)
        out[f"status_{solver}"] = r.status
        out[f"viol_{solver}"] = r.max_violation
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[256, 1024, 4096])
    ap.add_argument("--dim", type=int, default=2, choices=(2, 3))
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--external", action="store_true", help="also time quadprog/daqp per QP")
    ap.add_argument("--central", type=int, nargs="*", default=[], help="N for the centralised QP")
    args = ap.parse_args(argv)
    for n in args.n:
        print(json.dumps(bench_filter(n, dim=args.dim, reps=args.reps)))
    if args.external:
        print(json.dumps(bench_external_qp(1024, dim=args.dim)))
    for n in args.central:
        print(json.dumps(bench_central(n)))


if __name__ == "__main__":
    main()
