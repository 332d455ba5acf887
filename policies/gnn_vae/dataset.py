"""Training data for the GNN-VAE scheduler: MILP solutions of small random instances.

    nice -n 10 python -m policies.gnn_vae.dataset --out data_sched.pkl --seed 0 \
        --n-min 5 --n-max 25 --milp-time 5 --workers 2 --time-budget 900

Each sample is one instance (kind drawn uniformly from open area, open area with obstacles,
warehouse and intersection; N uniform in ``[n_min, n_max]``) with its coordination graph and the
MILP's best solution within ``--milp-time``: per-node entry times (the rank labels,
`planners.scheduling.decode.ranks_from_entry_times`), per-edge direction and mode. Instances whose
MILP found no solution are dropped. Generation stops at ``--count`` samples or ``--time-budget``
seconds, whichever comes first; workers are single-threaded processes. Instance ``k`` is drawn
from ``numpy.random.default_rng([seed, k])``, so the set is reproducible for a fixed count.
"""
from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass

import numpy as np

KINDS = ("open_area", "open_area_obstacles", "warehouse", "intersection")


@dataclass(frozen=True, eq=False)
class Sample:
    kind: str
    n: int
    graph: object            # planners.scheduling.graph.CoordGraph
    entry: np.ndarray        # (V,) MILP entry times = rank labels
    first: np.ndarray        # (E,) bool, MILP direction
    follow: np.ndarray       # (E,) bool, MILP mode
    milp_J: float
    milp_status: str
    milp_gap: float
    fifo_J: float


def make_instance(kind: str, n: int, rng: np.random.Generator):
    """One random instance of ``kind`` (see `KINDS`) with the generators' default densities."""
    from planners.scheduling.instances import (intersection_instance, open_area_instance,
                                               warehouse_instance)
    if kind == "open_area":
        return open_area_instance(n, rng)
    if kind == "open_area_obstacles":
        return open_area_instance(n, rng, n_obstacles=max(1, n // 5))
    if kind == "warehouse":
        return warehouse_instance(n, rng)
    if kind == "intersection":
        return intersection_instance(n, rng)
    raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")


def _one(args: tuple) -> Sample | None:
    seed, k, n_min, n_max, milp_time = args
    os.environ["OMP_NUM_THREADS"] = "1"
    from planners.scheduling.baselines import fifo
    from planners.scheduling.graph import build_graph
    from planners.scheduling.milp import solve_milp

    rng = np.random.default_rng([seed, k])
    kind = KINDS[int(rng.integers(len(KINDS)))]
    n = int(rng.integers(n_min, n_max + 1))
    inst = make_instance(kind, n, rng)
    g = build_graph(inst)
    if g.n_edges == 0:
        return None
    m = solve_milp(g, time_limit=milp_time)
    if not m.has_solution or not m.schedule.feasible:
        return None
    f = fifo(g)
    return Sample(kind, n, g, m.schedule.entry.copy(), m.choices.first.copy(),
                  m.choices.follow.copy(), float(m.schedule.objective), m.status, float(m.gap),
                  float(f.objective))


def generate(seed: int, count: int, n_min: int, n_max: int, milp_time: float, workers: int,
             time_budget: float, log=sys.stderr) -> list[Sample]:
    """Samples in instance order (reproducible for a fixed ``count``)."""
    t0 = time.perf_counter()
    results: dict[int, Sample | None] = {}
    with ProcessPoolExecutor(max_workers=workers) as ex:
        pending = {}
        k = 0
        while k < workers * 2 and k < count:
            pending[ex.submit(_one, (seed, k, n_min, n_max, milp_time))] = k
            k += 1
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                kk = pending.pop(fut)
                results[kk] = fut.result()
                s = results[kk]
                if s is not None and len(results) % 20 == 0:
                    print(f"[{time.perf_counter() - t0:6.0f}s] {len(results)} instances; last "
                          f"{s.kind} N={s.n} V={s.graph.n_nodes} {s.milp_status} "
                          f"FIFO/MILP={s.milp_J / s.fifo_J:.3f}", file=log, flush=True)
            if time.perf_counter() - t0 < time_budget:
                while len(pending) < workers * 2 and k < count:
                    pending[ex.submit(_one, (seed, k, n_min, n_max, milp_time))] = k
                    k += 1
    # keep a gap-free prefix so the set only depends on how many finished
    out = []
    for kk in range(k):
        if kk not in results:
            break
        if results[kk] is not None:
            out.append(results[kk])
    return out


class _Unpickler(pickle.Unpickler):
    # files written by ``python -m policies.gnn_vae.dataset`` name the class ``__main__.Sample``
    def find_class(self, module: str, name: str):
        if name == "Sample":
            return Sample
        return super().find_class(module, name)


def load(path: str) -> list[Sample]:
    """Samples of a dataset file (a trusted local pickle written by `main`)."""
    with open(path, "rb") as fh:
        data = _Unpickler(fh).load()
    if not isinstance(data, dict) or "samples" not in data:
        raise ValueError(f"{path}: not a GNN-VAE dataset (expected a dict with 'samples')")
    return data["samples"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--n-min", type=int, default=5)
    p.add_argument("--n-max", type=int, default=25)
    p.add_argument("--milp-time", type=float, default=5.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--time-budget", type=float, default=900.0, help="seconds")
    a = p.parse_args(argv)
    if not 1 <= a.n_min <= a.n_max:
        p.error(f"--n-min/--n-max: need 1 <= n_min <= n_max, got {a.n_min}, {a.n_max}")
    t0 = time.perf_counter()
    samples = generate(a.seed, a.count, a.n_min, a.n_max, a.milp_time, a.workers, a.time_budget)
    with open(a.out, "wb") as fh:
        pickle.dump({"args": vars(a), "samples": samples}, fh)
    st = [s.milp_status for s in samples]
    print(f"{len(samples)} samples ({st.count('optimal')} optimal) in "
          f"{time.perf_counter() - t0:.0f}s -> {a.out}; mean FIFO/MILP "
          f"{np.mean([s.milp_J / s.fifo_J for s in samples]):.3f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
