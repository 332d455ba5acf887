"""Train the online CBF policy with PPO on our own numpy swap simulator.

Variant: independent PPO with one shared GATv2 actor-critic (parameter sharing, per-agent rewards,
per-agent GAE on a local-graph critic; clipped surrogate, Schulman et al. 2017) with temporally
correlated Gaussian exploration (AR(1) noise, correlation 0.95 per step, unit marginal: a yielding or
turning choice lasts long enough to resolve a jam and be credited; the PPO ratio uses the marginal
Gaussian, as colored-noise exploration does, Eberhard et al., ICLR 2023), curriculum
4 -> 8 -> 16 -> 32 agents over the wall-clock budget, alternating random pair swaps and antipodal
circle swaps (rotated at random, so no fixed direction is baked in).

    python -m policies.online_cbf.train --seed 0 --minutes 30
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from policies.online_cbf.env import EnvConfig, SwapEnv
from policies.online_cbf.model import OnlineCBFPolicy, PolicyConfig, alpha_from_raw, turn_from_raw

WEIGHTS = Path(__file__).parent / "weights"
RHO = 0.95  # AR(1) correlation of the exploration noise per step


def stage_agents(frac: float) -> int:
    return 4 if frac < 0.12 else 8 if frac < 0.3 else 16 if frac < 0.55 else 32


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(a, dtype=torch.float32)


def rollout(env: SwapEnv, pol: OnlineCBFPolicy, n: int, layout: str, rng: np.random.Generator,
            deterministic: bool = False) -> dict:
    env.reset(n, layout, rng)
    buf: dict[str, list] = {k: [] for k in ("pos", "vel", "goal", "obst", "tag", "z", "logp", "v", "r")}
    std = pol.log_std.detach().exp()
    done = False
    eps = rng.standard_normal((n, 2))
    while not done:
        pos, vel, goal, obst, tag = env.observe()
        with torch.no_grad():
            mu, v = pol(_t(pos)[None], _t(vel)[None], _t(goal)[None], _t(obst)[None], _t(tag)[None])
            mu, v = mu[0], v[0]
            eps = RHO * eps + np.sqrt(1 - RHO ** 2) * rng.standard_normal((n, 2))
            z = mu if deterministic else mu + std * torch.as_tensor(eps, dtype=torch.float32)
            logp = torch.distributions.Normal(mu, std).log_prob(z).sum(-1)
        alpha = alpha_from_raw(z[:, 0], pol.cfg).double().numpy()
        turn = turn_from_raw(z[:, 1], pol.cfg).double().numpy()
        for k_, a in (("pos", pos), ("vel", vel), ("goal", goal), ("obst", obst), ("tag", tag)):
            buf[k_].append(np.array(a, dtype=np.float32))
        r, done = env.step(alpha, turn)
        buf["z"].append(z.numpy()); buf["logp"].append(logp.numpy()); buf["v"].append(v.numpy())
        buf["r"].append(r.astype(np.float32))
    out = {k: np.stack(vs) for k, vs in buf.items()}
    terminal = bool(env.arrived.all())
    if terminal:
        last_v = np.zeros(n, np.float32)
    else:
        pos, vel, goal, obst, tag = env.observe()
        with torch.no_grad():
            last_v = pol(_t(pos)[None], _t(vel)[None], _t(goal)[None], _t(obst)[None], _t(tag)[None])[1][0].numpy()
    out["last_v"] = last_v
    out["stats"] = {"n": n, "layout": layout, "success": float(env.arrived.mean()),
                    "min_sep": env.min_sep, "D": 2 * env.cfg.radius, "infeasible": env.infeasible,
                    "steps": env.t, "return": float(out["r"].sum(0).mean())}
    return out


def gae(r: np.ndarray, v: np.ndarray, last_v: np.ndarray, gamma: float, lam: float) -> np.ndarray:
    adv = np.zeros_like(r)
    nxt, run = last_v, np.zeros(r.shape[1], np.float32)
    for t in range(len(r) - 1, -1, -1):
        delta = r[t] + gamma * nxt - v[t]
        run = delta + gamma * lam * run
        adv[t] = run
        nxt = v[t]
    return adv


def evaluate(pol: OnlineCBFPolicy, env: SwapEnv, seeds: int = 3) -> dict:
    res = {}
    for layout, n in (("random", 32), ("circle", 32), ("circle", 16), ("circle", 8)):
        st = [rollout(env, pol, n, layout, np.random.default_rng(1000 + s), deterministic=True)["stats"]
              for s in range(seeds)]
        res[f"{layout}_{n}"] = {"success": float(np.mean([s["success"] for s in st])),
                                "min_sep_over_D": float(min(s["min_sep"] / s["D"] for s in st)),
                                "infeasible": int(sum(s["infeasible"] for s in st)),
                                "steps": float(np.mean([s["steps"] for s in st]))}
    return res


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=30.0, help="wall-clock training budget")
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--batch-agent-steps", type=int, default=4000)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--eval-seeds", type=int, default=3)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    ecfg = EnvConfig()
    pcfg = PolicyConfig(k=ecfg.k, sense_radius=ecfg.sense_radius, diameter=2 * ecfg.radius,
                        u_max=ecfg.u_max, dt=ecfg.dt)
    pol = OnlineCBFPolicy(pcfg)
    opt = torch.optim.Adam(pol.parameters(), lr=a.lr)
    env = SwapEnv(ecfg)
    a.out.mkdir(parents=True, exist_ok=True)
    t0, upd, agent_steps, layout_i = time.time(), 0, 0, 0
    log: list[dict] = []
    gamma, lam, clip = 0.99, 0.95, 0.2
    while upd == 0 or (time.time() - t0) < a.minutes * 60:  # at least one update
        n = stage_agents((time.time() - t0) / (a.minutes * 60))
        eps, got = [], 0
        while got < a.batch_agent_steps:
            layout = ("random", "circle")[layout_i % 2]; layout_i += 1
            ep = rollout(env, pol, n, layout, rng)
            ep["adv"] = gae(ep["r"], ep["v"], ep["last_v"], gamma, lam)
            ep["ret"] = ep["adv"] + ep["v"]
            eps.append(ep); got += ep["r"].size
        agent_steps += got
        cat = {k: np.concatenate([e[k] for e in eps]) for k in ("pos", "vel", "goal", "obst", "tag", "z", "logp", "adv", "ret")}
        T = len(cat["pos"])
        advn = (cat["adv"] - cat["adv"].mean()) / (cat["adv"].std() + 1e-8)
        tens = {k: _t(v) for k, v in cat.items()}; tens["advn"] = _t(advn)
        mb = max(8, 2048 // n)
        for _ in range(a.epochs):
            for idx in np.array_split(rng.permutation(T), max(1, T // mb)):
                ix = torch.as_tensor(idx)
                mu, v = pol(tens["pos"][ix], tens["vel"][ix], tens["goal"][ix], tens["obst"][ix], tens["tag"][ix])
                dist = torch.distributions.Normal(mu, pol.log_std.exp())
                logp = dist.log_prob(tens["z"][ix]).sum(-1)
                ratio = torch.exp(logp - tens["logp"][ix])
                A = tens["advn"][ix]
                lpi = -torch.min(ratio * A, torch.clamp(ratio, 1 - clip, 1 + clip) * A).mean()
                lv = ((v - tens["ret"][ix]) ** 2).mean()
                loss = lpi + 0.5 * lv - 0.001 * dist.entropy().sum(-1).mean()
                opt.zero_grad(); loss.backward()
                torch.nn.utils.clip_grad_norm_(pol.parameters(), 0.5)
                opt.step()
        upd += 1
        st = [e["stats"] for e in eps]
        rec = {"update": upd, "minutes": round((time.time() - t0) / 60, 2), "agents": n, "agent_steps": agent_steps,
               "success": round(float(np.mean([s["success"] for s in st])), 3),
               "return": round(float(np.mean([s["return"] for s in st])), 3),
               "min_sep_over_D": round(float(min(s["min_sep"] / s["D"] for s in st)), 3),
               "std": [round(float(x), 3) for x in pol.log_std.detach().exp()]}
        log.append(rec)
        print(json.dumps(rec), flush=True)
        torch.save(pol.state_dict(), a.out / "online_cbf.pt")
        (a.out / "config.json").write_text(json.dumps(pcfg.to_json(), indent=1))
    final = evaluate(pol, env, a.eval_seeds) if a.eval_seeds > 0 else {}
    print(json.dumps({"final_eval": final}), flush=True)
    (a.out / "metrics.json").write_text(json.dumps({
        "command": f"python -m policies.online_cbf.train --seed {a.seed} --minutes {a.minutes}",
        "seed": a.seed, "wall_minutes": round((time.time() - t0) / 60, 1), "updates": upd,
        "agent_steps": agent_steps, "final_eval_deterministic": final, "last_updates": log[-5:]}, indent=1))


if __name__ == "__main__":
    main()
