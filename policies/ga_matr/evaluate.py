"""Same-positions comparison and decision timing (pure numpy env, no simulator).

The trained actor flies the UAVs in :class:`policies.ga_matr.env.VecUavEnv`; at every slot, at those
positions, the resources are assigned by (a) the fast fair layer the policy was trained with, (b) the
greedy sum-rate layer and (c) the per-slot sum-rate MILP (``planners.uav_assign``), and each is scored
with the co-channel SINR rates of ``sim.radio``. Decision time = actor features + forward + the fast
layer (wall, single thread); the MILP's solve time is reported beside it.

    python -m policies.ga_matr.evaluate --weights gat --uavs 8 --users 200 --episodes 2 --horizon 50
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from planners.uav_assign import fair_assign, greedy_sumrate, maxmin_assignment, sumrate_assignment
from policies.ga_matr.env import EnvConfig, VecUavEnv
from policies.ga_matr.policy import MovePolicy
from sim.radio import jain, link_gain, rates


def run(weights: str, n_uav: int, n_users: int, episodes: int, horizon: int, seed: int, mobility: str,
        preset: str, milp_time_limit: float, maxmin: bool) -> dict:
    torch.set_num_threads(1)
    pol = MovePolicy(weights)
    cfg = EnvConfig(n_uav=n_uav, n_users=n_users, horizon=horizon, mobility=mobility, preset=preset)
    radio = None
    acc: dict[str, list[float]] = {k: [] for k in ("fair", "greedy", "milp", "maxmin", "fair_jain", "maxmin_jain")}
    t_act, t_fast, t_milp, t_maxmin, status = [], [], [], [], {}
    for ep in range(episodes):
        env = VecUavEnv(cfg, 1, seed + ep)
        radio = env.radio
        for _ in range(horizon):
            t0 = time.perf_counter()
            a = pol.act(env.hist[0], env.users()[0], env.last_rate[0], cfg.area)
            t1 = time.perf_counter()
            pos3 = np.column_stack([env.uav[0], np.full(n_uav, cfg.altitude)])
            g = link_gain(pos3, env.users()[0], radio)
            fa, fs = fair_assign(g, radio.n_subchannels)
            t2 = time.perf_counter()
            t_act.append(t1 - t0)
            t_fast.append(t2 - t1)
            r_if = radio.subchannel_hz * np.log2(1 + radio.power_per_subchannel_w * g / radio.noise_w)
            rf, _ = rates(g, fa, fs, radio)
            acc["fair"].append(rf.sum())
            acc["fair_jain"].append(jain(rf))
            ga, gs = greedy_sumrate(r_if, radio.n_subchannels)
            acc["greedy"].append(rates(g, ga, gs, radio)[0].sum())
            res = sumrate_assignment(r_if, radio.n_subchannels, time_limit=milp_time_limit)
            t_milp.append(res.solve_s)
            status[res.status] = status.get(res.status, 0) + 1
            acc["milp"].append(rates(g, res.assoc, res.sub, radio)[0].sum())
            if maxmin:
                mm = maxmin_assignment(r_if, radio.n_subchannels, time_limit=milp_time_limit)
                t_maxmin.append(mm.solve_s)
                rm = rates(g, mm.assoc, mm.sub, radio, share=mm.share)[0]
                acc["maxmin"].append(rm.sum())
                acc["maxmin_jain"].append(jain(rm))
            env.step(a[None])
    ms = lambda v: round(1e3 * float(np.mean(v)), 3) if len(v) else None  # noqa: E731
    mean = {k: round(float(np.mean(v)) / (1e6 if "jain" not in k else 1), 4) for k, v in acc.items() if v}
    return {"weights": weights, "uavs": n_uav, "users": n_users, "episodes": episodes, "horizon": horizon,
            "mean_sum_rate_mbps": {k: v for k, v in mean.items() if "jain" not in k},
            "mean_step_jain": {k: v for k, v in mean.items() if "jain" in k},
            "fair_over_milp": round(mean["fair"] / mean["milp"], 4), "greedy_over_milp": round(mean["greedy"] / mean["milp"], 4),
            "decision_ms": {"actor": ms(t_act), "fast_layer": ms(t_fast), "actor_plus_fast": ms(np.add(t_act, t_fast)),
                            "actor_plus_fast_p99": round(1e3 * float(np.percentile(np.add(t_act, t_fast), 99)), 3),
                            "milp_sumrate": ms(t_milp), "milp_maxmin": ms(t_maxmin)},
            "milp_status": status}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="gat")
    ap.add_argument("--uavs", type=int, default=4)
    ap.add_argument("--users", type=int, default=40)
    ap.add_argument("--episodes", type=int, default=3)
    ap.add_argument("--horizon", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--mobility", default="random_waypoint")
    ap.add_argument("--preset", default="urban")
    ap.add_argument("--milp-time-limit", type=float, default=5.0)
    ap.add_argument("--maxmin", action="store_true", help="also time the max-min bisection MILP")
    a = ap.parse_args(argv)
    print(json.dumps(run(a.weights, a.uavs, a.users, a.episodes, a.horizon, a.seed, a.mobility, a.preset,
                         a.milp_time_limit, a.maxmin), indent=1))


if __name__ == "__main__":
    main()
