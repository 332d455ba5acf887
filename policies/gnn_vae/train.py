"""Train the GNN-VAE on MILP solutions (ELBO of Meng et al., ICRA 2025, Sec. IV-A).

    nice -n 10 python -m policies.gnn_vae.train --data data_sched.pkl --seed 0 \
        --time-budget 900 [--out policies/gnn_vae/weights/gnn_vae.pt]

Loss per graph = rank loss + edge-mode loss + beta * KL(q(z|assigned graph) || N(0, I)):

* rank loss: pairwise logistic loss on every free joint edge (u, v): ``sigmoid(r_v - r_u)``
  should be 1 when the MILP lets u's robot go first (the order the rank decoder reads);
* mode loss: binary cross-entropy of the following logit on edges that allow following;
* KL: analytic, summed over latent dimensions, averaged over graphs.

10% of the samples are held out; every ``--eval-every`` epochs the held-out J_MILP / J of the
``z = 0`` decode and of best-of-K is printed (exact evaluator), and the best model on that
criterion is kept. Single-threaded (``torch.set_num_threads(1)``) on CPU.
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
import torch.nn.functional as F
from torch_geometric.data import Batch

from policies.gnn_vae.dataset import load as load_dataset
from policies.gnn_vae.model import WEIGHTS, Config, GnnVae, graph_tensors, save


def losses(model: GnnVae, b: Batch, beta: float) -> dict[str, torch.Tensor]:
    ranks, modes, mu, log_sigma = model(b)
    u, v = b.joint[:, 0], b.joint[:, 1]
    free = b.forced_free
    logit = (ranks[v] - ranks[u])[free]
    rank_loss = F.binary_cross_entropy_with_logits(logit, b.first[free])
    fok = b.follow_ok > 0.5
    mode_loss = (F.binary_cross_entropy_with_logits(modes[fok], b.follow[fok])
                 if fok.any() else ranks.sum() * 0)
    kl = 0.5 * (mu ** 2 + (2 * log_sigma).exp() - 1 - 2 * log_sigma).sum(1).mean()
    acc = ((logit > 0).float() == b.first[free]).float().mean()
    return {"loss": rank_loss + mode_loss + beta * kl, "rank": rank_loss, "mode": mode_loss,
            "kl": kl, "acc": acc}


def _prepare(samples) -> list:
    out = []
    for s in samples:
        d = graph_tensors(s.graph, s.entry, s.first, s.follow)
        d.forced_free = torch.from_numpy(s.graph.edge_forced == 0)
        out.append(d)
    return out


def held_out_ratio(model: GnnVae, samples, k: int, seed: int) -> tuple[float, float, float]:
    """Mean J_MILP / J of the z = 0 decode, of best-of-k, and of FIFO on ``samples``."""
    from policies.gnn_vae.scheduler import GnnVaeScheduler

    sch = GnnVaeScheduler(model)
    rng = np.random.default_rng(seed)
    r0, rk, rf = [], [], []
    for s in samples:
        r0.append(s.milp_J / sch(s.graph, rng, use_vae=False).objective)
        rk.append(s.milp_J / sch(s.graph, rng, k=k).objective)
        rf.append(s.milp_J / s.fifo_J)
    model.train()
    return float(np.mean(r0)), float(np.mean(rk)), float(np.mean(rf))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, nargs="+")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(WEIGHTS / "gnn_vae.pt"))
    p.add_argument("--epochs", type=int, default=400)
    p.add_argument("--time-budget", type=float, default=900.0, help="seconds of training")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--beta", type=float, default=0.01)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--latent", type=int, default=16)
    p.add_argument("--eval-every", type=int, default=10)
    p.add_argument("--eval-k", type=int, default=8)
    a = p.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    samples = [s for f in a.data for s in load_dataset(f)]
    if len(samples) < 10:
        p.error(f"--data: need at least 10 samples, got {len(samples)}")
    perm = rng.permutation(len(samples))
    n_val = max(5, len(samples) // 10)
    val = [samples[i] for i in perm[:n_val]]
    train = [samples[i] for i in perm[n_val:]]
    data = _prepare(train)
    model = GnnVae(Config(hidden=a.hidden, latent=a.latent))
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs)
    t0 = time.perf_counter()
    best = (-1.0, None)
    log = []
    steps = 0
    epoch = 0
    last = {}
    for epoch in range(1, a.epochs + 1):
        order = rng.permutation(len(data))
        tot = {k: 0.0 for k in ("loss", "rank", "mode", "kl", "acc")}
        nb = 0
        for i in range(0, len(order), a.batch):
            b = Batch.from_data_list([data[j] for j in order[i:i + a.batch]])
            out = losses(model, b, a.beta)
            opt.zero_grad()
            out["loss"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            steps += 1
            nb += 1
            for k in tot:
                tot[k] += float(out[k].detach())
        sched.step()
        last = {k: v / nb for k, v in tot.items()}
        elapsed = time.perf_counter() - t0
        row = {"epoch": epoch, "steps": steps, "wall_s": round(elapsed, 1),
               **{k: round(v, 4) for k, v in last.items()}}
        stop = elapsed > a.time_budget
        if epoch % a.eval_every == 0 or stop or epoch == a.epochs:
            model.eval()
            r0, rk, rf = held_out_ratio(model, val[:40], a.eval_k, a.seed)
            row.update({"val_ratio_z0": round(r0, 4), f"val_ratio_k{a.eval_k}": round(rk, 4),
                        "val_ratio_fifo": round(rf, 4)})
            if rk > best[0]:
                best = (rk, {k: v.clone() for k, v in model.state_dict().items()}, dict(row))
        log.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
        if stop:
            break
    model.load_state_dict(best[1])
    extra = {"command": "python -m policies.gnn_vae.train " + " ".join(
        argv if argv is not None else sys.argv[1:]), "seed": a.seed, "samples": len(samples),
        "train": len(train), "val": len(val), "epochs": epoch, "steps": steps,
        "wall_s": round(time.perf_counter() - t0, 1), "kept": best[2], "last": last,
        "beta": a.beta, "lr": a.lr, "batch": a.batch}
    out = Path(a.out)
    save(model, out, extra)
    out.with_name(out.stem + "_log.json").write_text(json.dumps(log, indent=0))
    print(f"saved {out} (kept epoch {best[2]['epoch']}: {best[2]})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
