"""Benchmark: GNN-VAE (best of K), no-VAE (z = 0), CMA-ES, FIFO, random priorities against the
MILP oracle on fresh random instances (seeds disjoint from the training set's).

    nice -n 10 python -m policies.gnn_vae.bench --kind open_area --n 5 10 15 25 50 100 250 \
        --instances 20 --instances-large 10 --milp-time 10 --milp-time-mid 20 \
        --milp-time-large 30 --workers 2 \
        --json results.json

Per instance: J = mean completion time [s] (exact evaluator) of every method, ratio J_MILP / J
(MILP = its best incumbent within the time limit; > 1 when a method beats a timed-out MILP),
MILP status and gap, wall time per method (the coordination graph, shared by all methods, is
timed separately). Instance ``k`` of size N is drawn from ``default_rng([10_000 + k, N])``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

METHODS = ("gnn_vae", "no_vae", "cma_es", "fifo", "random")
_SCHED = None


def _scheduler(weights: str | None):
    global _SCHED
    if _SCHED is None:
        import torch

        torch.set_num_threads(1)
        from policies.gnn_vae.model import load
        from policies.gnn_vae.scheduler import GnnVaeScheduler

        _SCHED = GnnVaeScheduler(load(weights))
    return _SCHED


def make(kind: str, n: int, rng: np.random.Generator, density: float, obstacles: int):
    from planners.scheduling.instances import (intersection_instance, open_area_instance,
                                               warehouse_instance)
    if kind == "open_area":
        return open_area_instance(n, rng, density=density, n_obstacles=obstacles)
    if kind == "warehouse":
        return warehouse_instance(n, rng)
    if kind == "intersection":
        return intersection_instance(n, rng)
    raise ValueError(f"kind: expected open_area, warehouse or intersection, got {kind!r}")


def one(args: tuple) -> dict:
    kind, n, k, o = args
    os.environ["OMP_NUM_THREADS"] = "1"
    from planners.scheduling.baselines import cma_es, fifo, random_priorities
    from planners.scheduling.graph import build_graph
    from planners.scheduling.milp import solve_milp

    sch = _scheduler(o["weights"])
    rng = np.random.default_rng([10_000 + k, n])
    obstacles = o["obstacles"] if o["obstacles"] >= 0 else max(1, n // 5)
    inst = make(kind, n, rng, o["density"], obstacles if kind == "open_area" else 0)
    t = time.perf_counter()
    g = build_graph(inst)
    row = {"kind": kind, "n": n, "k": k, "V": g.n_nodes, "E": g.n_edges,
           "graph_s": time.perf_counter() - t, **inst.density()}
    big = n >= o["large_n"]
    res = {
        "gnn_vae": sch(g, np.random.default_rng([k, 1]), k=o["samples"]),
        "no_vae": sch(g, np.random.default_rng([k, 2]), use_vae=False),
        "cma_es": cma_es(g, np.random.default_rng([k, 3]), max_evals=o["cma_evals"],
                         time_limit=o["cma_time"]),
        "fifo": fifo(g),
        "random": random_priorities(g, np.random.default_rng([k, 4]), k=o["random_k"]),
    }
    for name, r in res.items():
        assert r.schedule.feasible, f"{name}: infeasible result"
        row[f"{name}_J"] = r.objective
        row[f"{name}_s"] = r.wall_s
    row["gnn_vae_feasible"] = res["gnn_vae"].feasible
    row["gnn_vae_samples"] = res["gnn_vae"].samples
    row["gnn_vae_forward_s"] = res["gnn_vae"].forward_s
    limit = (o["milp_time_large"] if big else o["milp_time_mid"] if n >= o["mid_n"]
             else o["milp_time"])
    m = solve_milp(g, time_limit=limit,
                   warm_start=res["fifo"].choices)
    row.update({"milp_status": m.status, "milp_gap": m.gap, "milp_s": m.wall_s,
                "milp_J": m.schedule.objective if m.has_solution else float("nan"),
                "milp_bound": m.bound})
    return row


def summarise(rows: list[dict]) -> str:
    head = ("| N | inst. | V | swept dens. | MILP opt/TL | gap | t MILP [s] | "
            + " | ".join(f"{m}" for m in METHODS) + " | "
            + " | ".join(f"t {m} [s]" for m in METHODS) + " |")
    out = [head, "|" + "---|" * (7 + 2 * len(METHODS))]
    for n in sorted({r["n"] for r in rows}):
        rs = [r for r in rows if r["n"] == n]

        def mean(key):
            return float(np.nanmean([r[key] for r in rs]))

        opt = sum(r["milp_status"] == "optimal" for r in rs)
        tl = sum(r["milp_status"] == "time_limit_feasible" for r in rs)
        ratios = [f"{np.nanmean([r['milp_J'] / r[m + '_J'] for r in rs]):.3f}" for m in METHODS]
        times = [f"{mean(m + '_s'):.3f}" for m in METHODS]
        out.append(f"| {n} | {len(rs)} | {mean('V'):.0f} | {mean('swept_density'):.2f} | "
                   f"{opt}/{tl} | {mean('milp_gap'):.3f} | {mean('milp_s'):.1f} | "
                   + " | ".join(ratios) + " | " + " | ".join(times) + " |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kind", choices=["open_area", "warehouse", "intersection"],
                   default="open_area")
    p.add_argument("--n", type=int, nargs="+", default=[5, 10, 15, 25, 50, 100, 250])
    p.add_argument("--instances", type=int, default=20)
    p.add_argument("--instances-large", type=int, default=10, help="instances for N >= large-n")
    p.add_argument("--large-n", type=int, default=250)
    p.add_argument("--density", type=float, default=0.6)
    p.add_argument("--obstacles", type=int, default=0, help="-1: N // 5 obstacles")
    p.add_argument("--milp-time", type=float, default=10.0)
    p.add_argument("--milp-time-mid", type=float, default=20.0, help="for mid-n <= N < large-n")
    p.add_argument("--mid-n", type=int, default=50)
    p.add_argument("--milp-time-large", type=float, default=30.0)
    p.add_argument("--samples", type=int, default=16, help="GNN-VAE latent samples K")
    p.add_argument("--cma-evals", type=int, default=2000)
    p.add_argument("--cma-time", type=float, default=5.0)
    p.add_argument("--random-k", type=int, default=32)
    p.add_argument("--weights", default=None)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--json")
    a = p.parse_args(argv)
    o = {k: getattr(a, k) for k in ("density", "obstacles", "milp_time", "milp_time_mid",
                                    "mid_n", "milp_time_large",
                                    "samples", "cma_evals", "cma_time", "random_k", "weights",
                                    "large_n")}
    jobs = [(a.kind, n, k, o) for n in sorted(a.n, reverse=True)
            for k in range(a.instances_large if n >= a.large_n else a.instances)]
    rows = []
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=a.workers) as ex:
        for row in ex.map(one, jobs):
            rows.append(row)
            print(f"[{time.perf_counter() - t0:5.0f}s] {row['kind']} N={row['n']} k={row['k']} "
                  f"MILP {row['milp_status']} {row['milp_J']:.2f} | "
                  + " ".join(f"{m} {row['milp_J'] / row[m + '_J']:.3f}" for m in METHODS)
                  + f" | vae {row['gnn_vae_s']:.2f}s", file=sys.stderr, flush=True)
    print(f"{a.kind}, settings: {json.dumps(o)}")
    print(summarise(rows))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rows, fh, indent=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
