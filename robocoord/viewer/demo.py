"""Synthetic run directories in the run-directory format, for viewer tests and frame-time benchmarks.

``python -m robocoord.viewer.demo OUT --kind uav --n 10000 --steps 50`` writes one; then
``robocoord view OUT``. Robots circle around the arena centre so every frame differs.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import yaml


def demo_scene(kind: str, n: int, size: float, grid: Optional[list[str]] = None, cell: float = 1.0) -> dict[str, Any]:
    robot = {"amr": {"radius": 0.3}, "uav": {"radius": 0.4}, "cav": {"length": 4.5, "width": 1.8}}[kind]
    radius = {"amr": 0.3, "uav": 0.4, "cav": 2.4}[kind]
    if grid is not None:
        h, w = len(grid), len(grid[0])
        return {"fidelity": "grid", "kind": kind, "n": n, "radius": 0.4 * cell, "cell_size": cell, "grid": grid,
                "obstacles": [], "bounds": [0.0, 0.0, w * cell, h * cell]}
    c = size / 2
    pillar = [[c - 0.3, c - 0.3], [c + 0.3, c - 0.3], [c + 0.3, c + 0.3], [c - 0.3, c + 0.3], [c - 0.3, c - 0.3]]
    return {"fidelity": "kinematic", "kind": kind, "n": n, "radius": radius, "robot": robot,
            "bounds": [0.0, 0.0, size, size], "obstacles": [pillar], "grid": None, "cell_size": 1.0}


def circling_replay(n: int, steps: int, size: float, kind: str, rng: np.random.Generator,
                    radial_speed: float = 0.02) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps+1) frames of robots on concentric circles around the centre, each at its own phase."""
    c = size / 2
    r = rng.uniform(0.15, 0.45, n) * size
    phase = rng.uniform(0, 2 * np.pi, n)
    t = np.arange(steps + 1)[:, None]
    ang = phase[None] + radial_speed * t * (0.5 * size / r[None])
    pos = np.zeros((steps + 1, n, 3), np.float32)
    pos[..., 0] = c + r * np.cos(ang)
    pos[..., 1] = c + r * np.sin(ang)
    if kind == "uav":
        pos[..., 2] = rng.uniform(2.0, 8.0, n)[None]
    yaw = (ang + np.pi / 2).astype(np.float32)
    return np.arange(steps + 1), pos, yaw


def write_run(out: Path, scene: dict[str, Any], steps: np.ndarray, pos: np.ndarray, yaw: np.ndarray,
              overlays: Sequence[dict[str, Any]] = (), dt: float = 0.1, name: str = "demo",
              summary: Optional[dict[str, Any]] = None) -> Path:
    """Write a run directory by hand (scene.json, replay.npz, overlays.jsonl, scenario.yaml, summary.json)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scene.json").write_text(json.dumps(scene))
    np.savez_compressed(out / "replay.npz", step=np.asarray(steps), pos=np.asarray(pos, np.float32),
                        yaw=np.asarray(yaw, np.float32))
    if overlays:
        with open(out / "overlays.jsonl", "w") as fh:
            for rec in overlays:
                fh.write(json.dumps(rec) + "\n")
    (out / "scenario.yaml").write_text(yaml.safe_dump({"name": name, "dt": dt, "horizon": int(steps[-1])}))
    (out / "summary.json").write_text(json.dumps(summary or {"steps": int(steps[-1])}))
    return out


def write_demo_run(out: Path, kind: str = "amr", n: int = 8, steps: int = 60, size: float = 10.0,
                   seed: int = 0, with_overlays: bool = True) -> Path:
    """A circling fleet of ``kind`` with a few overlays (paths, alpha/order/flags, UAV coverage and users)."""
    rng = np.random.default_rng(seed)
    scene = demo_scene(kind, n, size)
    st, pos, yaw = circling_replay(n, steps, size, kind, rng)
    recs: list[dict[str, Any]] = []
    if with_overlays:
        m = min(n, 64)
        for k in range(0, steps + 1, 10):
            rec: dict[str, Any] = {"step": int(k), "text": f"demo overlay at step {k}"}
            ahead = np.clip(k + np.arange(1, 6) * 2, 0, steps)
            rec["paths"] = {str(i): pos[ahead, i, :2].round(3).tolist() for i in range(m)}
            if kind == "uav":
                users = rng.uniform(0, size, (3 * m, 2))
                rec["users"] = users.round(3).tolist()
                d = np.linalg.norm(users[:, None] - pos[k, None, :m, :2], axis=2)
                rec["association"] = d.argmin(1).tolist()
                rec["coverage"] = [0.15 * size] * m
            elif kind == "cav":
                rec["flagged"] = [0] if n > 1 else []
            else:
                rec["alpha"] = rng.uniform(0.2, 20, n).round(3).tolist()
                rec["safety_radius"] = 0.6
            recs.append(rec)
    return write_run(out, scene, st, pos, yaw, recs, name=f"demo-{kind}-{n}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m robocoord.viewer.demo", description=__doc__)
    ap.add_argument("out")
    ap.add_argument("--kind", choices=("amr", "uav", "cav"), default="amr")
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--size", type=float, default=None, help="arena side in metres (default grows with n)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    size = a.size if a.size else max(10.0, float(np.sqrt(a.n)) * (6.0 if a.kind == "cav" else 2.0))
    write_demo_run(Path(a.out), a.kind, a.n, a.steps, size, a.seed)
    print(a.out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
