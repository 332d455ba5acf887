"""GNN step time of the online CBF policy on CPU (one thread): graph build + forward, N agents.

    python -m policies.online_cbf.bench --agents 256 --reps 50
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from policies.online_cbf.model import N_OBS, OnlineCBFPolicy, PolicyConfig


def gnn_step_ms(n: int, reps: int = 50, seed: int = 0, policy: OnlineCBFPolicy | None = None) -> dict:
    """Median / p90 wall ms and mean CPU ms of ``policy.act`` for ``n`` agents at crowd density (~2 agents/m^2)."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    pol = policy or OnlineCBFPolicy(PolicyConfig())
    side = np.sqrt(n / 2.0)
    pos = rng.uniform(0, side, (n, 2))
    vel = rng.normal(scale=0.2, size=(n, 2))
    goal = rng.uniform(0, side, (n, 2))
    obst = np.full((n, N_OBS, 2), np.nan)
    obst[:, 0] = pos + 0.5
    tag = rng.uniform(0, 1, n)
    pol.act(pos, vel, goal, obst, tag)  # warm-up
    ts, cs = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        pol.act(pos, vel, goal, obst, tag)
        ts.append((time.perf_counter() - t0) * 1e3)
        cs.append((time.process_time() - c0) * 1e3)
    # cpu_ms (process time) is what one free core would take; wall ms includes waiting on a busy machine
    return {"agents": n, "ms_median": float(np.median(ts)), "ms_p90": float(np.percentile(ts, 90)),
            "cpu_ms_mean": float(np.mean(cs))}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", type=int, nargs="+", default=[32, 256, 1024])
    ap.add_argument("--reps", type=int, default=50)
    a = ap.parse_args(argv)
    for n in a.agents:
        print(json.dumps(gnn_step_ms(n, a.reps)))


if __name__ == "__main__":
    main()
