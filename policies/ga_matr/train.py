"""Train the GA-MATR-style policy (or the MLP ablation) on the vectorised numpy env.

Update rule ("MAPPO-KL"): parameter-shared actors, centralised (attention) critic, PPO clipped
surrogate (Schulman et al., 2017) with an approximate-KL trust region: each epoch's minibatch loop stops
as soon as the mean KL(old || new) over the batch exceeds ``target_kl`` (KL early stop), and the
learning rate is halved after an iteration whose KL overshot 1.5x target. All agents are updated
simultaneously (not HATRPO's sequential per-agent updates). GAE(gamma, lambda) on the team reward.

    python -m policies.ga_matr.train --seed 0 --arch gat --minutes 22 --lr 3e-3

The budget is wall-clock, so the number of iterations depends on the machine's load; the checkpoint
kept is the one with the best greedy evaluation return (4 fixed episodes, seed 10000 + seed).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from policies.ga_matr.env import N_ACTIONS, EnvConfig, VecUavEnv
from policies.ga_matr.policy import WEIGHTS, inputs, make_net


def evaluate(net, arch: str, cfg: EnvConfig, rate_scale: float, seed: int, episodes: int = 4) -> dict:
    env = VecUavEnv(cfg, episodes, seed)
    tot, viol = np.zeros(episodes), 0
    for _ in range(cfg.horizon):
        x, shp = inputs(arch, env.hist, env.users(), env.last_rate, cfg.area, cfg.speed * cfg.dt, rate_scale)
        with torch.no_grad():
            a = net.logits(x, *shp).argmax(-1).numpy()
        r, _ = env.step(a)
        viol += int(env.violations.sum())
        tot += r
    return {"eval_return": float(tot.mean()), "eval_violations": viol}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--arch", choices=["gat", "mlp"], default="gat")
    ap.add_argument("--minutes", type=float, default=18.0, help="wall-clock budget")
    ap.add_argument("--envs", type=int, default=8)
    ap.add_argument("--rollout", type=int, default=50)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--target-kl", type=float, default=0.02)
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    ap.add_argument("--layer", choices=["fair", "greedy"], default="fair", help="resource layer of the env")
    ap.add_argument("--name", default=None, help="weights file stem (default: the arch)")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.manual_seed(a.seed)
    cfg = EnvConfig(mobility="mixed", layer=a.layer)
    stem = a.name or a.arch
    rate_scale = 180e3 * 8.0
    env = VecUavEnv(cfg, a.envs, a.seed)
    x0, _ = inputs(a.arch, env.hist, env.users(), env.last_rate, cfg.area, cfg.speed * cfg.dt, rate_scale)
    in_dim = int(x0[0].shape[-1])
    ncfg = {"arch": a.arch, "in_dim": in_dim, "hidden": 32 if a.arch == "gat" else 128, "history": cfg.history,
            "speed": cfg.speed * cfg.dt, "rate_scale": rate_scale, "n_actions": N_ACTIONS,
            "env": cfg.__dict__, "seed": a.seed, "features": 2,
            "resources": "fair" if a.layer == "fair" else "greedy_sumrate"}
    net = make_net(ncfg)
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    actor_params = [p for n, p in net.named_parameters() if n.startswith(("actor_enc.", "pi."))]
    critic_params = [p for n, p in net.named_parameters() if not n.startswith(("actor_enc.", "pi."))]
    gamma, lam, clip, epochs, n_mb = 0.98, 0.95, 0.2, 4, 4
    t0, it, log = time.time(), 0, []
    best = -np.inf
    a.out.mkdir(parents=True, exist_ok=True)
    while time.time() - t0 < a.minutes * 60:
        raw, acts, logps, rews, vals, dones = [], [], [], [], [], []
        for _ in range(a.rollout):
            r_in = (env.hist.copy(), env.users().copy(), env.last_rate.copy())
            x, shp = inputs(a.arch, *r_in, cfg.area, cfg.speed * cfg.dt, rate_scale)
            with torch.no_grad():
                lg = net.logits(x, *shp)
                dist = torch.distributions.Categorical(logits=lg)
                act = dist.sample()
                v = net.value(x, *shp)
            r, d = env.step(act.numpy())
            raw.append(r_in); acts.append(act); logps.append(dist.log_prob(act)); vals.append(v)
            rews.append(torch.as_tensor(r * (1 - gamma), dtype=torch.float32))  # returns ~ O(1)
            dones.append(torch.as_tensor(d))
        x, shp = inputs(a.arch, env.hist, env.users(), env.last_rate, cfg.area, cfg.speed * cfg.dt, rate_scale)
        with torch.no_grad():
            last_v = net.value(x, *shp)
        T = len(rews)
        adv = torch.zeros(T, a.envs, cfg.n_uav)
        gae = torch.zeros(a.envs, cfg.n_uav)
        for t in reversed(range(T)):
            nv = last_v if t == T - 1 else vals[t + 1]
            nonterm = (~dones[t]).float()[:, None]
            delta = rews[t][:, None] + gamma * nv * nonterm - vals[t]
            gae = delta + gamma * lam * nonterm * gae
            adv[t] = gae
        ret = (adv + torch.stack(vals)).reshape(T * a.envs, cfg.n_uav)
        advn = ((adv - adv.mean()) / (adv.std() + 1e-8)).reshape(T * a.envs, cfg.n_uav)
        A_all = torch.stack(acts).reshape(T * a.envs, cfg.n_uav)
        LP_all = torch.stack(logps).reshape(T * a.envs, cfg.n_uav)
        H_all = np.concatenate([r[0] for r in raw]); U_all = np.concatenate([r[1] for r in raw])
        R_all = np.concatenate([r[2] for r in raw])
        kl_hit, kls = False, []
        for ep in range(epochs):
            perm = np.random.default_rng(a.seed + it * 7 + ep).permutation(T * a.envs)
            for mb in np.array_split(perm, n_mb):
                xt, st = inputs(a.arch, H_all[mb], U_all[mb], R_all[mb], cfg.area, cfg.speed * cfg.dt, rate_scale)
                lg = net.logits(xt, *st)
                dist = torch.distributions.Categorical(logits=lg)
                lp = dist.log_prob(A_all[mb])
                ratio = torch.exp(lp - LP_all[mb])
                adv_mb = advn[mb]
                pg = -torch.min(ratio * adv_mb, torch.clamp(ratio, 1 - clip, 1 + clip) * adv_mb).mean()
                vl = ((net.value(xt, *st) - ret[mb]) ** 2).mean()
                loss = pg + 0.5 * vl - 0.01 * dist.entropy().mean()
                opt.zero_grad()
                loss.backward()
                # clip actor and critic separately: the critic's large return-scale gradient must not
                # shrink the policy step through a shared norm
                torch.nn.utils.clip_grad_norm_(actor_params, 0.5)
                torch.nn.utils.clip_grad_norm_(critic_params, 0.5)
                opt.step()
                with torch.no_grad():
                    kls.append(float(((ratio - 1) - (lp - LP_all[mb])).mean()))  # KL(old||new) estimator
                if kls[-1] > a.target_kl:
                    kl_hit = True
                    break
            if kl_hit:
                break
        if kls and max(kls) > 1.5 * a.target_kl:
            for g in opt.param_groups:
                g["lr"] = max(g["lr"] * 0.5, 1e-5)
        elif kls and max(kls) < a.target_kl / 3:
            for g in opt.param_groups:
                g["lr"] = min(g["lr"] * 1.2, a.lr)
        it += 1
        mean_r = float(torch.stack(rews).mean()) / (1 - gamma)
        rec = {"iter": it, "wall_s": round(time.time() - t0, 1), "mean_step_reward": round(mean_r, 5),
               "kl": round(max(kls), 5), "lr": opt.param_groups[0]["lr"], "epochs_done": ep + 1}
        if it % 10 == 0:
            rec.update(evaluate(net, a.arch, cfg, rate_scale, seed=10_000 + a.seed))
            if rec["eval_return"] > best:
                best = rec["eval_return"]
                torch.save(net.state_dict(), a.out / f"{stem}.pt")
                cmd = " ".join(["python -m policies.ga_matr.train", *(argv if argv is not None else sys.argv[1:])])
                ncfg["train"] = {**rec, "command": cmd, "env_steps": it * a.rollout * a.envs}
                (a.out / f"{stem}.json").write_text(json.dumps(ncfg, indent=1))
        log.append(rec)
        print(json.dumps(rec), flush=True)
    (a.out / f"{stem}_log.json").write_text(json.dumps(log))


if __name__ == "__main__":
    main()
