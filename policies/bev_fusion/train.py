"""Train the BEV fusion model on simulated frames (CPU, one thread).

``python -m policies.bev_fusion.train --seed 0 --train train.npz --val val.npz --minutes 20``

Each sample picks a random ego among the frame's CAVs and a random subset of collaborators (each kept
with probability 0.7; ego-only 15 % of the time) so the same network serves every fusion the
defences ask for (ego-only, halves, subsets). Small pose-noise augmentation on the collaborators.
Target: the footprints of the vehicles hit by the lidar of at least one fused agent. Loss: BCE
(positive weight 4) + soft Dice. Saves ``weights/bev_fusion.pt`` (state_dict) + ``bev_fusion.json``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from policies.bev_fusion.model import BevFusionConfig, BevFusionNet
from sim.bev import relative_pose

WEIGHTS_DIR = Path(__file__).parent / "weights"


def load_frames(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def sample_inputs(data: dict[str, np.ndarray], f: int, ego: int, include: np.ndarray, rng: np.random.Generator,
                  sigma_xy: float = 0.0, sigma_yaw: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(A, 4, S, S) BEVs with the ego first, (A, 3) reported relative poses, (S, S) target."""
    n = data["bev"].shape[1]
    order = np.array([ego] + [i for i in range(n) if i != ego])
    bev = torch.from_numpy(data["bev"][f, order].astype(np.float32) / 3.0)
    poses = data["poses"][f].astype(float)
    rel = np.stack([relative_pose(poses[ego], poses[i]) for i in order])
    if sigma_xy > 0 or sigma_yaw > 0:
        rel[1:, :2] += rng.normal(0, sigma_xy, (n - 1, 2))
        rel[1:, 2] += rng.normal(0, sigma_yaw, n - 1)
    vis = data["visible"][f, order][include].any(axis=0)
    ids = data["gt_ids"][f, ego].astype(np.int64)
    target = torch.from_numpy((ids >= 0) & vis[np.maximum(ids, 0)]).float()
    return bev, torch.from_numpy(rel).float(), target


def iou(pred: np.ndarray, target: np.ndarray) -> float:
    inter = np.logical_and(pred, target).sum()
    union = np.logical_or(pred, target).sum()
    return float(inter / union) if union else 1.0


@torch.no_grad()
def evaluate(net: BevFusionNet, data: dict[str, np.ndarray], max_frames: int = 60) -> dict[str, float]:
    """Vehicle IoU (threshold 0.5, summed over frames) with all agents fused and ego only (ego = CAV 0)."""
    net.eval()
    rng = np.random.default_rng(0)
    out = {}
    n = data["bev"].shape[1]
    for name, inc in (("iou_all", np.ones(n, bool)), ("iou_ego", np.eye(n, dtype=bool)[0])):
        inter = union = 0
        for f in range(min(max_frames, len(data["bev"]))):
            bev, rel, target = sample_inputs(data, f, 0, np.ones(n, bool), rng)
            pred = net(bev, rel, torch.from_numpy(inc).float()).numpy() > 0
            t = target.numpy() > 0
            inter += np.logical_and(pred, t).sum()
            union += np.logical_or(pred, t).sum()
        out[name] = float(inter / max(union, 1))
    net.train()
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=Path, required=True)
    ap.add_argument("--val", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--max-steps", type=int, default=100000)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    train, val = load_frames(a.train), load_frames(a.val)
    cfg = BevFusionConfig()
    net = BevFusionNet(cfg)
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    n_frames, n = train["bev"].shape[:2]
    t0 = time.perf_counter()
    budget = 60.0 * a.minutes
    step, best, log = 0, -1.0, []
    a.out.mkdir(parents=True, exist_ok=True)
    while step < a.max_steps and time.perf_counter() - t0 < budget:
        frac = (time.perf_counter() - t0) / budget
        for g in opt.param_groups:
            g["lr"] = a.lr * 0.5 * (1 + np.cos(np.pi * min(frac, 1.0)))
        loss_sum = torch.zeros(())
        for _ in range(a.batch):
            f, ego = int(rng.integers(n_frames)), int(rng.integers(n))
            include = rng.random(n) < 0.7
            if rng.random() < 0.15:
                include[:] = False
            bev, rel, target = sample_inputs(train, f, ego, np.r_[True, include[1:]], rng, 0.2, 0.01)
            inc = torch.from_numpy(np.r_[True, include[1:]]).float()
            logits = net(bev, rel, inc)
            bce = F.binary_cross_entropy_with_logits(logits, target, pos_weight=torch.tensor(4.0))
            p = torch.sigmoid(logits)
            dice = 1 - (2 * (p * target).sum() + 1) / (p.sum() + target.sum() + 1)
            loss_sum = loss_sum + bce + dice
        opt.zero_grad()
        (loss_sum / a.batch).backward()
        opt.step()
        step += 1
        if step % 200 == 0:
            ev = evaluate(net, val)
            ev.update(step=step, loss=float(loss_sum) / a.batch, minutes=(time.perf_counter() - t0) / 60)
            log.append(ev)
            print(json.dumps(ev), flush=True)
            if ev["iou_all"] > best:
                best = ev["iou_all"]
                torch.save(net.state_dict(), a.out / "bev_fusion.pt")
                (a.out / "bev_fusion.json").write_text(json.dumps(cfg.to_dict(), indent=1))
    ev = evaluate(net, val)
    ev.update(step=step, minutes=(time.perf_counter() - t0) / 60)
    print(json.dumps({"final": ev, "best_iou_all": best}), flush=True)
    if ev["iou_all"] > best:
        torch.save(net.state_dict(), a.out / "bev_fusion.pt")
        (a.out / "bev_fusion.json").write_text(json.dumps(cfg.to_dict(), indent=1))
    (a.out / "train_log.json").write_text(json.dumps(log + [{"final": ev, "best_iou_all": max(best, ev["iou_all"])}],
                                                     indent=1))


if __name__ == "__main__":
    main()
