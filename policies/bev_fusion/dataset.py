"""Perception frames from the pybullet intersection (:mod:`sim.intersection`), seeded.

``python -m policies.bev_fusion.dataset --scenes 40 --frames 20 --seed 0 --out data.npz``

Scene ``k`` is built from ``numpy.random.default_rng([seed, k])``; it is driven ``warmup`` steps, then
a frame is recorded every ``every`` steps. Arrays (F frames, n CAVs, S x S grid):
``bev`` uint8 (F, n, 4, S, S) (channels x 3, see :mod:`sim.bev`), ``gt_ids`` int16 (F, n, S, S) vehicle
index per cell in each CAV's frame (-1 none), ``visible`` bool (F, n, K), ``poses`` float32 (F, n, 3).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from sim.bev import rasterise_boxes
from sim.intersection import IntersectionConfig, IntersectionScene


def frame_gt_ids(scene: IntersectionScene, frame: dict[str, np.ndarray]) -> np.ndarray:
    """(n, S, S) vehicle index per cell in each CAV's frame (the CAV itself excluded)."""
    c = scene.cfg
    pose, poses = frame["veh_pose"], frame["poses"]
    k, n = len(pose), len(poses)
    out = np.full((n, c.bev.size, c.bev.size), -1, np.int16)
    for i in range(n):
        others = np.ones(k, bool)
        others[k - n + i] = False
        idx = rasterise_boxes(pose[others, :2], pose[others, 2], c.car_length, c.car_width, poses[i], c.bev,
                              return_ids=True)
        out[i] = np.where(idx >= 0, np.flatnonzero(others)[np.maximum(idx, 0)], -1)
    return out


def generate(scenes: int, frames: int, seed: int, every: int = 5, warmup: int = 10,
             cfg: IntersectionConfig | None = None) -> dict[str, np.ndarray]:
    cfg = cfg or IntersectionConfig()
    out: dict[str, list[np.ndarray]] = {"bev": [], "gt_ids": [], "visible": [], "poses": []}
    for k in range(scenes):
        sc = IntersectionScene(cfg, np.random.default_rng([seed, k]))
        try:
            for _ in range(warmup):
                sc.step()
            for _ in range(frames):
                for _ in range(every):
                    sc.step()
                f = sc.frame()
                out["bev"].append(np.round(f["bev"] * 3).astype(np.uint8))
                out["gt_ids"].append(frame_gt_ids(sc, f))
                out["visible"].append(f["visible"])
                out["poses"].append(f["poses"].astype(np.float32))
        finally:
            sc.close()
    return {k: np.stack(v) for k, v in out.items()}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=40)
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    data = generate(a.scenes, a.frames, a.seed, a.every)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(a.out, **data)
    print(f"{len(data['bev'])} frames -> {a.out} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
