"""Quick benchmark: MILP oracle vs FIFO, random priorities and CMA-ES on random instances.

    python -m planners.scheduling.bench --kind open_area --n 5 10 25 50 --seeds 5 \
        --density 0.6 --milp-time 30 --cma-evals 2000 --cma-time 30 [--json out.json]

For every instance: J = mean completion time [s] of each method (all evaluated by the exact
evaluator), the ratio J_MILP / J (1 = as good as the MILP incumbent; > 1 when a timed-out MILP
incumbent is beaten), MILP status / gap and wall times. Rows are means over seeds. Instances run
in ``--workers`` processes (each method single-threaded).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np


def _one(args: tuple) -> dict:
    kind, n, seed, opts = args
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from planners.scheduling.baselines import cma_es, fifo, random_priorities
    from planners.scheduling.graph import build_graph
    from planners.scheduling.instances import (intersection_instance, open_area_instance,
                                               warehouse_instance)
    from planners.scheduling.milp import solve_milp

    rng = np.random.default_rng([seed, n])
    if kind == "open_area":
        inst = open_area_instance(n, rng, density=opts["density"],
                                  n_obstacles=opts["obstacles"])
    elif kind == "warehouse":
        inst = warehouse_instance(n, rng, occupancy=opts["occupancy"])
    else:
        inst = intersection_instance(n, rng)
    t = time.perf_counter()
    g = build_graph(inst)
    t_graph = time.perf_counter() - t
    d = inst.density()
    f = fifo(g)
    r = random_priorities(g, np.random.default_rng([seed, n, 1]), k=opts["random_k"])
    c = cma_es(g, np.random.default_rng([seed, n, 2]), max_evals=opts["cma_evals"],
               time_limit=opts["cma_time"])
    m = solve_milp(g, time_limit=opts["milp_time"], solver=opts["solver"])
    j_m = m.schedule.objective if m.has_solution else float("nan")
    # an "optimal" MILP beaten by a heuristic would mean a solver or model bug: flag it
    best_heuristic = min(f.objective, r.objective, c.objective)
    suspect = m.status == "optimal" and best_heuristic < j_m * (1 - 1e-6)
    return {"kind": kind, "n": n, "seed": seed, "V": g.n_nodes, "E": g.n_edges,
            "swept_density": d["swept_density"], "interference_degree": d["interference_degree"],
            "nominal": float(g.nominal_completion.mean()), "graph_s": t_graph,
            "milp_status": m.status, "milp_J": j_m, "milp_bound": m.bound, "milp_gap": m.gap,
            "milp_s": m.wall_s, "fifo_J": f.objective, "fifo_s": f.wall_s,
            "random_J": r.objective, "random_s": r.wall_s, "cma_J": c.objective,
            "cma_s": c.wall_s, "cma_evals": c.evaluations, "milp_suspect": suspect,
            "milp_warm_start_discarded": bool(m.info.get("warm_start_discarded", False))}


def summarise(rows: list[dict]) -> str:
    out = ["| N | V | E | swept dens. | interf. deg. | MILP opt/TL | gap | t MILP [s] | "
           "J_MILP [s] | J_MILP/J FIFO | J_MILP/J random | J_MILP/J CMA-ES | t FIFO [ms] | "
           "t CMA [s] |", "|" + "---|" * 14]
    for n in sorted({r["n"] for r in rows}):
        rs = [r for r in rows if r["n"] == n]

        def mean(k):
            return float(np.nanmean([r[k] for r in rs]))

        def ratio(k):
            v = np.array([r["milp_J"] / r[k] for r in rs])
            return f"{np.nanmean(v):.3f} ({np.nanmin(v):.2f}-{np.nanmax(v):.2f})"

        opt = sum(r["milp_status"] == "optimal" for r in rs)
        tl = sum(r["milp_status"] == "time_limit_feasible" for r in rs)
        out.append(f"| {n} | {mean('V'):.0f} | {mean('E'):.0f} | {mean('swept_density'):.2f} | "
                   f"{mean('interference_degree'):.1f} | {opt}/{tl} | {mean('milp_gap'):.3f} | "
                   f"{mean('milp_s'):.1f} | {mean('milp_J'):.2f} | {ratio('fifo_J')} | "
                   f"{ratio('random_J')} | {ratio('cma_J')} | {1e3 * mean('fifo_s'):.1f} | "
                   f"{mean('cma_s'):.1f} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kind", choices=["open_area", "warehouse", "intersection"],
                   default="open_area")
    p.add_argument("--n", type=int, nargs="+", default=[5, 10, 25, 50])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--density", type=float, default=0.6, help="open_area swept density")
    p.add_argument("--obstacles", type=int, default=0, help="open_area obstacles")
    p.add_argument("--occupancy", type=float, default=0.08, help="warehouse robots per cell")
    p.add_argument("--milp-time", type=float, default=30.0)
    p.add_argument("--solver", choices=["highs", "cbc"], default="highs")
    p.add_argument("--random-k", type=int, default=32)
    p.add_argument("--cma-evals", type=int, default=2000)
    p.add_argument("--cma-time", type=float, default=30.0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--json", help="write every instance's row here")
    a = p.parse_args(argv)
    opts = {"density": a.density, "obstacles": a.obstacles, "occupancy": a.occupancy,
            "milp_time": a.milp_time, "solver": a.solver, "random_k": a.random_k,
            "cma_evals": a.cma_evals, "cma_time": a.cma_time}
    jobs = [(a.kind, n, s, opts) for n in a.n for s in range(a.seeds)]
    rows = []
    with ProcessPoolExecutor(max_workers=a.workers) as ex:
        for row in ex.map(_one, jobs):
            rows.append(row)
            print(f"{row['kind']} N={row['n']} seed={row['seed']}: MILP {row['milp_status']} "
                  f"J={row['milp_J']:.2f} ({row['milp_s']:.1f}s) FIFO {row['fifo_J']:.2f} "
                  f"random {row['random_J']:.2f} CMA {row['cma_J']:.2f} ({row['cma_s']:.1f}s)"
                  + ("  !! optimal MILP beaten: suspect" if row["milp_suspect"] else ""),
                  file=sys.stderr, flush=True)
    print(f"{a.kind}, settings: {json.dumps(opts)}")
    print(summarise(rows))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
