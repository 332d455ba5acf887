"""Reading a run directory for the viewer (format written by :mod:`robocoord.rundir`).

Only ``scene.json`` and ``replay.npz`` are required; ``overlays.jsonl`` and ``scenario.yaml`` are
optional. Every problem is reported as one :class:`~robocoord.errors.UserError` naming the file and
what was expected.
"""
from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import numpy as np

from robocoord.errors import UserError

KINDS = ("amr", "uav", "cav")
_STEP_PREFIX = re.compile(rb'^\s*\{\s*"step"\s*:\s*(-?\d+)\s*[,}]')


def validate_scene(scene: Any, source: str = "scene") -> dict[str, Any]:
    """Check the fields the viewer draws from and return the scene with defaults filled in."""
    if not isinstance(scene, dict):
        raise UserError(f"{source}: expected a JSON object, got {type(scene).__name__}")
    kind = scene.get("kind")
    if kind not in KINDS:
        raise UserError(f"{source}: field 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    out = dict(scene)
    out.setdefault("fidelity", "kinematic")
    out.setdefault("obstacles", [])
    out.setdefault("grid", None)
    out.setdefault("robot", {})
    if out["robot"] is None:
        out["robot"] = {}
    try:
        out["radius"] = float(out.get("radius") or 0.3)
        out["cell_size"] = float(out.get("cell_size") or 1.0)
    except (TypeError, ValueError):
        raise UserError(f"{source}: fields 'radius' and 'cell_size' must be numbers") from None
    grid = out["grid"]
    if grid is not None:
        if not isinstance(grid, list) or not all(isinstance(r, str) for r in grid) or not grid:
            raise UserError(f"{source}: field 'grid' must be a list of strings of '#' and '.', or null")
        if len({len(r) for r in grid}) != 1:
            raise UserError(f"{source}: field 'grid' rows must all have the same length")
    bounds = out.get("bounds")
    if not bounds:
        bounds = _default_bounds(out)
    try:
        b = [float(v) for v in bounds]
    except (TypeError, ValueError):
        raise UserError(f"{source}: field 'bounds' must be [x0, y0, x1, y1] numbers, got {bounds!r}") from None
    if len(b) != 4 or not (b[2] > b[0] and b[3] > b[1]):
        raise UserError(f"{source}: field 'bounds' must be [x0, y0, x1, y1] with x1 > x0 and y1 > y0, got {bounds!r}")
    out["bounds"] = b
    if not isinstance(out["obstacles"], list):
        raise UserError(f"{source}: field 'obstacles' must be a list of polygons ([[x, y], ...])")
    for i, poly in enumerate(out["obstacles"]):
        try:
            arr = np.asarray(poly, dtype=float)
        except (TypeError, ValueError):
            arr = np.zeros((0,))
        if arr.ndim != 2 or arr.shape[1] < 2 or arr.shape[0] < 3:
            raise UserError(f"{source}: obstacles[{i}] must be a list of at least 3 [x, y] points")
    return out


def _default_bounds(scene: dict[str, Any]) -> list[float]:
    grid = scene.get("grid")
    if grid:
        s = float(scene.get("cell_size") or 1.0)
        return [0.0, 0.0, len(grid[0]) * s, len(grid) * s]
    pts = [p for poly in scene.get("obstacles") or [] for p in poly]
    if pts:
        a = np.asarray(pts, dtype=float)[:, :2]
        return [*a.min(axis=0).tolist(), *a.max(axis=0).tolist()]
    return [0.0, 0.0, 10.0, 10.0]


class OverlayLog:
    """Per-step overlay records from ``overlays.jsonl``, parsed lazily.

    The file is indexed once (byte offset and step of every line); a line is JSON-decoded only when
    the timeline shows it, so a run with large overlays (paths of thousands of agents) opens quickly.
    An overlay stays in force until the next recorded one (:meth:`at` returns the latest record at or
    before a step).
    """

    def __init__(self, path: Optional[Path] = None, records: Optional[list[dict[str, Any]]] = None) -> None:
        self.path = path
        self._steps: list[int] = []
        self._offsets: list[int] = []
        self._records: Optional[list[dict[str, Any]]] = None
        if records is not None:
            self._records = sorted(records, key=lambda r: int(r["step"]))
            self._steps = [int(r["step"]) for r in self._records]
        elif path is not None:
            self._index(path)
        self._load = lru_cache(maxsize=64)(self._load_uncached)

    def _index(self, path: Path) -> None:
        pairs: list[tuple[int, int]] = []
        with open(path, "rb") as fh:
            lineno = 0
            while True:
                off = fh.tell()
                line = fh.readline()
                if not line:
                    break
                lineno += 1
                if not line.strip():
                    continue
                m = _STEP_PREFIX.match(line)
                if m:
                    step = int(m.group(1))
                else:
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise UserError(f"{path}:{lineno}: not a JSON object ({exc.msg})") from None
                    if not isinstance(obj, dict) or not isinstance(obj.get("step"), int):
                        raise UserError(f"{path}:{lineno}: expected a JSON object with an integer 'step'")
                    step = obj["step"]
                pairs.append((step, off))
        pairs.sort(key=lambda p: p[0])  # stable: for equal steps the later line wins in at()
        self._steps = [p[0] for p in pairs]
        self._offsets = [p[1] for p in pairs]

    def __len__(self) -> int:
        return len(self._steps)

    @property
    def steps(self) -> list[int]:
        return list(self._steps)

    def _load_uncached(self, i: int) -> dict[str, Any]:
        if self._records is not None:
            return self._records[i]
        assert self.path is not None
        with open(self.path, "rb") as fh:
            fh.seek(self._offsets[i])
            line = fh.readline()
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{self.path}: the record of step {self._steps[i]} is not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise UserError(f"{self.path}: the record of step {self._steps[i]} is not a JSON object")
        return obj

    def at(self, step: int) -> Optional[dict[str, Any]]:
        """The overlay in force at ``step`` (latest record with ``record.step <= step``), or None."""
        i = bisect.bisect_right(self._steps, step) - 1
        if i < 0:
            return None
        return self._load(i)

    def append(self, record: dict[str, Any]) -> None:
        """Add a record (live mode); steps must not decrease."""
        if self._records is None:
            self._records = []
        step = int(record["step"])
        if self._steps and step < self._steps[-1]:
            raise ValueError(f"overlay step {step} after step {self._steps[-1]}")
        self._records.append(record)
        self._steps.append(step)
        self._load.cache_clear()


@dataclass
class RunData:
    """Everything the viewer shows of one run."""

    scene: dict[str, Any]
    steps: np.ndarray  # (T,) int
    pos: np.ndarray  # (T, N, 3) float32
    yaw: np.ndarray  # (T, N) float32
    overlays: OverlayLog = field(default_factory=OverlayLog)
    goal: Optional[np.ndarray] = None  # optional (T, N, 2|3) goals per frame
    dt: Optional[float] = None  # seconds per step, from scenario.yaml when present
    name: str = "run"
    root: Optional[Path] = None  # the run directory, when read from one

    @property
    def n(self) -> int:
        return int(self.pos.shape[1])

    def frame_of_step(self, step: int) -> int:
        """Index of the last recorded frame at or before ``step`` (frame 0 before the first)."""
        i = int(np.searchsorted(self.steps, step, side="right")) - 1
        return max(i, 0)


def load_run(path: str | Path) -> RunData:
    """Read a run directory; raises :class:`UserError` with one clear message on bad input."""
    root = Path(path)
    if not root.exists():
        raise UserError(f"{root}: no such run directory")
    if not root.is_dir():
        raise UserError(f"{root}: not a directory (expected a run directory written by `robocoord run --out`)")
    missing = [n for n in ("scene.json", "replay.npz") if not (root / n).is_file()]
    if missing:
        raise UserError(f"{root}: not a run directory (missing {' and '.join(missing)}; "
                        "`robocoord run SCENARIO --out DIR` writes one)")
    try:
        scene_raw = json.loads((root / "scene.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{root / 'scene.json'}: not valid JSON ({exc})") from None
    scene = validate_scene(scene_raw, str(root / "scene.json"))
    steps, pos, yaw, goal = _load_replay(root / "replay.npz")
    if "n" in scene and scene["n"] is not None and int(scene["n"]) != pos.shape[1]:
        raise UserError(f"{root}: scene.json says n={scene['n']} robots but replay.npz holds {pos.shape[1]}")
    ov_path = root / "overlays.jsonl"
    overlays = OverlayLog(ov_path) if ov_path.is_file() else OverlayLog()
    return RunData(scene=scene, steps=steps, pos=pos, yaw=yaw, overlays=overlays, goal=goal,
                   dt=_read_dt(root / "scenario.yaml"), name=_read_name(root), root=root)


def _load_replay(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, Optional[np.ndarray]]:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as exc:  # zipfile/pickle/format errors all mean the same to the user
        raise UserError(f"{path}: cannot read the replay file ({exc})") from None
    for key in ("pos", "yaw"):
        if key not in arrays:
            raise UserError(f"{path}: missing array '{key}' (expected step (T,), pos (T, N, 3), yaw (T, N))")
    pos = np.asarray(arrays["pos"], dtype=np.float32)
    yaw = np.asarray(arrays["yaw"], dtype=np.float32)
    if pos.ndim != 3 or pos.shape[2] not in (2, 3) or pos.shape[0] < 1:
        raise UserError(f"{path}: 'pos' must have shape (T, N, 3) with T >= 1, got {pos.shape}")
    if pos.shape[2] == 2:
        pos = np.concatenate([pos, np.zeros(pos.shape[:2] + (1,), np.float32)], axis=2)
    if yaw.shape != pos.shape[:2]:
        raise UserError(f"{path}: 'yaw' must have shape {pos.shape[:2]} to match 'pos', got {yaw.shape}")
    steps = np.asarray(arrays.get("step", np.arange(pos.shape[0])), dtype=np.int64).reshape(-1)
    if steps.shape[0] != pos.shape[0]:
        raise UserError(f"{path}: 'step' has {steps.shape[0]} entries but 'pos' has {pos.shape[0]} frames")
    if np.any(np.diff(steps) <= 0):
        raise UserError(f"{path}: 'step' must be strictly increasing")
    if not (np.isfinite(pos).all() and np.isfinite(yaw).all()):
        raise UserError(f"{path}: 'pos'/'yaw' contain NaN or infinite values")
    goal = arrays.get("goal")
    if goal is not None:
        goal = np.asarray(goal, dtype=np.float32)
        if goal.ndim != 3 or goal.shape[:2] != pos.shape[:2]:
            raise UserError(f"{path}: optional 'goal' must have shape (T, N, 2|3) matching 'pos', got {goal.shape}")
    return steps, pos, yaw, goal


def _read_dt(path: Path) -> Optional[float]:
    if not path.is_file():
        return None
    try:
        import yaml

        data = yaml.safe_load(path.read_text())
        dt = float(data.get("dt")) if isinstance(data, dict) and data.get("dt") is not None else None
        return dt if dt and dt > 0 else None
    except Exception:  # the scenario is informative only here; a broken one must not stop the viewer
        return None


def _read_name(root: Path) -> str:
    p = root / "scenario.yaml"
    if p.is_file():
        try:
            import yaml

            data = yaml.safe_load(p.read_text())
            if isinstance(data, dict) and data.get("name"):
                return str(data["name"])
        except Exception:
            pass
    return root.name
