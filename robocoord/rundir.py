"""The run directory: resolved scenario, summary, time series, replay (DESIGN.md §3).

Written into a temporary sibling folder and renamed into place at the end, so a run that fails or is
killed never leaves a half-written directory behind.

Layout::

    scenario.yaml      the resolved scenario (absolute file paths, the seed used)
    summary.json       deterministic summary metrics (identical for the same scenario and seed)
    timing.json        wall-clock timings (not deterministic; kept apart on purpose)
    timeseries.csv     one row per step
    scene.json         static world for the viewer: map rows, obstacle polygons, robot kind and shape
    replay.npz         pos (T, N, 3) float32, yaw (T, N) float32, step (T,) int
    overlays.jsonl     per-step controller overlay data (planned paths, alphas, flags...), if any
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml


class ReplayRecorder:
    def __init__(self, every: int = 1) -> None:
        self.every = every
        self.steps: list[int] = []
        self.pos: list[np.ndarray] = []
        self.yaw: list[np.ndarray] = []
        self.overlays: list[tuple[int, dict[str, Any]]] = []

    def record(self, step: int, pos: np.ndarray, yaw: np.ndarray, overlay: dict[str, Any] | None) -> None:
        if step % self.every == 0:
            self.steps.append(step)
            self.pos.append(pos.astype(np.float32))
            self.yaw.append(yaw.astype(np.float32))
        if overlay:
            self.overlays.append((step, overlay))


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


def dump_json(obj: Any) -> str:
    return json.dumps(_jsonable(obj), indent=2, sort_keys=True, allow_nan=False, default=str) + "\n"


def write_run_dir(out: Path, *, scenario: dict[str, Any], summary: dict[str, Any], timing: dict[str, Any],
                  timeseries: dict[str, np.ndarray] | None, scene: dict[str, Any],
                  replay: ReplayRecorder | None, extra_dirs: dict[str, Path] | None = None) -> Path:
    """Write everything into a temporary folder beside ``out``, then move it into place."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        (tmp / "scenario.yaml").write_text(yaml.safe_dump(scenario, sort_keys=False))
        (tmp / "summary.json").write_text(dump_json(summary))
        (tmp / "timing.json").write_text(dump_json(timing))
        (tmp / "scene.json").write_text(dump_json(scene))
        if timeseries:
            keys = list(timeseries)
            cols = [timeseries[k] for k in keys]
            with open(tmp / "timeseries.csv", "w") as fh:
                fh.write(",".join(keys) + "\n")
                for row in zip(*cols):
                    fh.write(",".join(_fmt(v) for v in row) + "\n")
        if replay is not None and replay.steps:
            np.savez_compressed(tmp / "replay.npz", step=np.asarray(replay.steps), pos=np.stack(replay.pos),
                                yaw=np.stack(replay.yaw))
            if replay.overlays:
                with open(tmp / "overlays.jsonl", "w") as fh:
                    for step, ov in replay.overlays:
                        fh.write(json.dumps({"step": step, **_jsonable(ov)}) + "\n")
        for name, src in (extra_dirs or {}).items():
            shutil.move(str(src), tmp / name)
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        if np.isnan(v):
            return ""
        return repr(float(v))
    return str(v)
