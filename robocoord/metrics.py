"""Metrics measured by the runner: per-step time series and a deterministic summary.

Safety comes from the world (grid conflicts, pybullet contacts) and from geometry computed here
(pairwise separation); a controller's own account is never used. Wall-clock timings are kept apart
from the summary so that the same scenario and seed give a byte-identical ``summary.json``.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from robocoord.world import StepEvents

# Summary keys, by the fidelity that produces them; `metrics:` in a scenario picks among these.
COMMON_METRICS = ("steps", "agents", "goals_reached", "throughput")
GRID_METRICS = ("vertex_conflicts", "edge_conflicts", "blocked_moves", "success", "reached_rate", "makespan",
                "sum_of_costs")
CONTINUOUS_METRICS = ("min_distance", "min_clearance", "collisions", "robot_contacts", "obstacle_contacts",
                      "safe_rate", "finish_rate", "success_rate", "makespan", "mean_arrival_time", "path_length",
                      "deadlock", "deadlock_time")
# Deadlock (one-shot continuous tasks): for DEADLOCK_WINDOW_S no unfinished robot got closer to its goal
# than it had already been by more than DEADLOCK_PROGRESS_M (Gao et al. 2023 / GCBF+ "no progress").
DEADLOCK_WINDOW_S = 10.0
DEADLOCK_PROGRESS_M = 0.01
KNOWN_METRICS = frozenset(COMMON_METRICS + GRID_METRICS + CONTINUOUS_METRICS)


def pairwise_min_distance(pos: np.ndarray, chunk: int = 512) -> np.ndarray:
    """(N,) distance from each robot to its nearest other robot (inf when alone); chunked O(N^2)."""
    n = len(pos)
    out = np.full(n, np.inf)
    for s in range(0, n, chunk):
        d = np.linalg.norm(pos[s:s + chunk, None, :] - pos[None, :, :], axis=-1)
        idx = np.arange(s, min(s + chunk, n))
        d[idx - s, idx] = np.inf
        out[idx] = d.min(axis=1) if n > 1 else np.inf
    return out


class MetricsRecorder:
    def __init__(self, fidelity: str, n: int, radius: float, dt: float, dim: int, lifelong: bool) -> None:
        self.fidelity, self.n, self.radius, self.dt, self.dim, self.lifelong = fidelity, n, radius, dt, dim, lifelong
        self.rows: list[dict[str, float]] = []
        self.controller_ms: list[float] = []
        self.world_ms: list[float] = []
        self.unsafe = np.zeros(n, dtype=bool)
        self.path_length = np.zeros(n)
        self._last_pos: np.ndarray | None = None
        self._best_goal_dist: np.ndarray | None = None  # closest each robot has come to its goal
        self._last_progress_step = 0
        self.deadlock_step: int | None = None
        self.diagnostics: dict[str, float] = {}  # controller-reported counters (not safety metrics)

    def record(self, step: int, events: StepEvents, pos: np.ndarray, reached: np.ndarray,
               controller_ms: float, world_ms: float, goals: np.ndarray | None = None,
               diagnostics: dict[str, float] | None = None) -> None:
        """One step. ``goals`` enables deadlock detection; ``diagnostics`` are controller-reported
        counters (e.g. infeasible QPs) summed into the summary as ``diag_<name>``."""
        row: dict[str, float] = {
            "step": step, "time": round(step * self.dt, 9), "goals_reached": events.goals_reached,
            "reached_frac": float(reached.mean()) if len(reached) else 0.0,
        }
        if self.fidelity == "grid":
            row.update(vertex_conflicts=events.vertex_conflicts, edge_conflicts=events.edge_conflicts,
                       blocked_moves=events.blocked_moves)
        else:
            p = pos[:, : self.dim] if self.dim == 3 else pos[:, :2]
            nearest = pairwise_min_distance(p)
            # Tolerance: contact of two discs exactly at 2r is not an overlap.
            overlap = nearest < 2 * self.radius - 1e-9
            self.unsafe |= overlap
            row.update(min_distance=float(nearest.min()) if self.n > 1 else math.inf,
                       collisions=int(overlap.sum()) // 2 if self.n > 1 else 0,
                       robot_contacts=events.robot_contacts, obstacle_contacts=events.obstacle_contacts)
            if self._last_pos is not None:
                self.path_length += np.linalg.norm(p - self._last_pos, axis=1)
            self._last_pos = p.copy()
            if goals is not None and not self.lifelong:
                self._track_progress(step, p, goals, reached)
        row.update(events.extra)
        for k, v in (diagnostics or {}).items():
            row[f"diag_{k}"] = float(v)
            self.diagnostics[k] = self.diagnostics.get(k, 0.0) + float(v)
        self.rows.append(row)
        self.controller_ms.append(controller_ms)
        self.world_ms.append(world_ms)

    def _track_progress(self, step: int, p: np.ndarray, goals: np.ndarray, reached: np.ndarray) -> None:
        d = np.linalg.norm(p - goals[:, : p.shape[1]], axis=1)
        if self._best_goal_dist is None:  # first step: progress is counted from step 0
            self._best_goal_dist = d.copy()
            return
        open_ = ~reached
        improved = open_ & (d < self._best_goal_dist - DEADLOCK_PROGRESS_M)
        self._best_goal_dist = np.where(improved, d, self._best_goal_dist)
        if improved.any() or not open_.any():
            self._last_progress_step = step
        elif self.deadlock_step is None and (step - self._last_progress_step) * self.dt >= DEADLOCK_WINDOW_S - 1e-9:
            self.deadlock_step = step

    def start(self, pos: np.ndarray) -> None:
        self._last_pos = (pos[:, : self.dim] if self.dim == 3 else pos[:, :2]).copy()

    # ---------------------------------------------------------------------------------------------
    def timeseries(self) -> dict[str, np.ndarray]:
        keys = list(self.rows[0]) if self.rows else []
        return {k: np.array([r.get(k, np.nan) for r in self.rows]) for k in keys}

    def summary(self, arrival_step: np.ndarray, reached: np.ndarray) -> dict[str, Any]:
        steps = len(self.rows)
        total = int(sum(r["goals_reached"] for r in self.rows))
        s: dict[str, Any] = {"steps": steps, "agents": self.n, "goals_reached": total,
                             "throughput": round(total / steps, 6) if steps else 0.0}
        if self.fidelity == "grid":
            for k in ("vertex_conflicts", "edge_conflicts", "blocked_moves"):
                s[k] = int(sum(r[k] for r in self.rows))
            if not self.lifelong:
                s["success"] = bool(reached.all())
                s["reached_rate"] = round(float(reached.mean()), 6)
                s["makespan"] = int(arrival_step.max()) if reached.all() else None
                s["sum_of_costs"] = int(arrival_step[reached].sum()) if reached.all() else None
            return s
        md = [r["min_distance"] for r in self.rows]
        s["min_distance"] = round(float(min(md)), 6) if md and self.n > 1 else None
        s["min_clearance"] = round(float(min(md)) - 2 * self.radius, 6) if md and self.n > 1 else None
        s["collisions"] = int(sum(r["collisions"] for r in self.rows))
        s["robot_contacts"] = int(sum(r["robot_contacts"] for r in self.rows))
        s["obstacle_contacts"] = int(sum(r["obstacle_contacts"] for r in self.rows))
        s["safe_rate"] = round(float((~self.unsafe).mean()), 6)
        s["path_length"] = round(float(self.path_length.mean()), 6)
        if not self.lifelong:
            s["deadlock"] = self.deadlock_step is not None
            s["deadlock_time"] = round(self.deadlock_step * self.dt, 6) if self.deadlock_step is not None else None
            s["finish_rate"] = round(float(reached.mean()), 6)
            s["success_rate"] = round(float((reached & ~self.unsafe).mean()), 6)
            s["makespan"] = round(float(arrival_step.max()) * self.dt, 6) if reached.all() else None
            s["mean_arrival_time"] = (round(float(arrival_step[reached].mean()) * self.dt, 6)
                                      if reached.any() else None)
        return s

    def diagnostics_summary(self) -> dict[str, float]:
        return {f"diag_{k}": round(v, 6) for k, v in sorted(self.diagnostics.items())}

    def timing(self) -> dict[str, float]:
        c = np.asarray(self.controller_ms) if self.controller_ms else np.zeros(1)
        w = np.asarray(self.world_ms) if self.world_ms else np.zeros(1)
        return {"controller_ms_mean": round(float(c.mean()), 4), "controller_ms_p99": round(float(np.percentile(c, 99)), 4),
                "world_ms_mean": round(float(w.mean()), 4), "step_ms_mean": round(float((c + w).mean()), 4)}
