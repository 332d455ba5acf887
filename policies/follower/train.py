"""Train the Follower-style policy by imitation of PIBT with density guidance, on CPU.

    python -m policies.follower.train --seed 0 --episodes 3 --epochs 4

Data: lifelong episodes (256 steps) on the POGEMA wfi_warehouse map (WFI marks) and the MovingAI
warehouse-10-20-10-2-1 map (uniform goals) at several fleet sizes; at every other step a random
half of the agents is recorded as (window features, PIBT's action). Then cross-entropy training of
`FollowerNet`, and a short lifelong evaluation of the learned decentralised planner on
wfi_warehouse. Writes policies/follower/weights/{follower.pt, follower.json, train_log.json}.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from planners.mapf.bench_lifelong import WFI, load_movingai, load_pogema_ascii, run_episode
from planners.mapf.guidance import density_guidance
from planners.mapf.moves import cells_to_actions
from planners.mapf.pibt import PIBT
from policies.follower.features import FollowerFeatures
from policies.follower.model import WEIGHTS, FollowerNet, save_policy
from policies.follower.planner import FollowerPlanner

DATA = Path(__file__).resolve().parents[2] / "data"


def collect(blocked: np.ndarray, starts_pool: np.ndarray, goals_pool: np.ndarray, n: int, steps: int,
            rng: np.random.Generator, feats: FollowerFeatures) -> tuple[np.ndarray, np.ndarray]:
    pos = starts_pool[rng.choice(len(starts_pool), n, replace=False)]
    goals = goals_pool[rng.choice(len(goals_pool), n, replace=False)]
    pl = PIBT(*density_guidance(n, int((~blocked).sum())))
    pl.reset(blocked, pos, goals, np.random.default_rng(int(rng.integers(1 << 31))))
    X, Y = [], []
    for t in range(steps):
        nxt = pl.step(pos, goals)
        if t % 2 == 0:
            pick = rng.random(n) < 0.5
            X.append(feats(pos[pick], goals[pick]).astype(np.uint8))
            Y.append(cells_to_actions(pos[pick], nxt[pick]))
        pos = nxt
        for i in np.flatnonzero((pos == goals).all(axis=1)):
            while (goals[i] == pos[i]).all():
                goals[i] = goals_pool[rng.integers(len(goals_pool))]
    return np.concatenate(X), np.concatenate(Y)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--episodes", type=int, default=3, help="episodes per map and fleet size")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--eval-seeds", type=int, default=3)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    t0 = time.perf_counter()

    wfi = load_pogema_ascii(WFI)
    wh = load_movingai(DATA / "movingai" / "warehouse-10-20-10-2-1.map")
    maps = [(wfi == "#", np.argwhere(wfi == "$"), np.argwhere(wfi == "@"), (32, 64, 128, 192)),
            (wh, np.argwhere(~wh), np.argwhere(~wh), (64, 256, 512))]
    X, Y = [], []
    for blocked, sp, gp, counts in maps:
        feats = FollowerFeatures(blocked)
        for n in counts:
            for _ in range(a.episodes):
                x, y = collect(blocked, sp, gp, n, 256, rng, feats)
                X.append(x)
                Y.append(y)
        print(f"data: {sum(len(y) for y in Y):,} samples after map {blocked.shape} ({time.perf_counter() - t0:.0f} s)",
              flush=True)
    X, Y = np.concatenate(X), np.concatenate(Y)
    data_s = time.perf_counter() - t0

    net = FollowerNet()
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs)
    loss_fn = nn.CrossEntropyLoss()
    perm = rng.permutation(len(Y))
    n_val = min(5000, len(Y) // 10)
    val, tr = perm[:n_val], perm[n_val:]
    Xv, Yv = torch.from_numpy(X[val].astype(np.float32)), torch.from_numpy(Y[val])
    log = []
    for ep in range(a.epochs):
        net.train()
        order = rng.permutation(tr)
        total = 0.0
        for s in range(0, len(order), a.batch):
            idx = order[s:s + a.batch]
            xb = torch.from_numpy(X[idx].astype(np.float32))
            yb = torch.from_numpy(Y[idx])
            loss = loss_fn(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        sched.step()
        net.eval()
        with torch.no_grad():
            acc = float((net(Xv).argmax(1) == Yv).float().mean())
        log.append({"epoch": ep + 1, "train_loss": total / len(tr), "val_accuracy": acc,
                    "wall_s": time.perf_counter() - t0})
        print(log[-1], flush=True)

    save_policy(net)
    evals = {}
    for n in (64, 192):
        thr = [run_episode(FollowerPlanner(net), wfi, n, 256, s)["throughput"] for s in range(a.eval_seeds)]
        evals[n] = float(np.mean(thr))
        print(f"eval wfi_warehouse {n} agents: throughput {evals[n]:.3f}", flush=True)
    (WEIGHTS / "train_log.json").write_text(json.dumps({
        "command": "python -m policies.follower.train " + " ".join(argv if argv is not None else __import__("sys").argv[1:]),
        "seed": a.seed, "samples": int(len(Y)), "data_s": round(data_s, 1),
        "wall_s": round(time.perf_counter() - t0, 1), "epochs": log, "eval_wfi_throughput": evals,
        "torch": torch.__version__}, indent=1))


if __name__ == "__main__":
    main()
