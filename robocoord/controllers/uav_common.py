"""Shared adapter code of the UAV base-station controllers (task ``uav_bs``).

:class:`UavBsController` reads ``obs.extras["uav_bs"]``, asks the subclass for horizontal target
velocities (:meth:`move`), holds the altitude, passes the velocities through a pairwise separation
filter, and fills ``Commands.decisions`` with the resource assignment chosen by ``resources``:

* ``fair``: every user on its strongest UAV, round-robin over subchannels, equal time shares
  (:func:`planners.uav_assign.fast.fair_assign`);
* ``greedy_sumrate``: one user per block, greedy on the interference-free rate;
* ``milp_sumrate`` / ``milp_maxmin``: the per-slot MILPs of :mod:`planners.uav_assign.milp`.

Separation filter: for every pair whose positions after one slot would come closer than
``min_separation + margin``, both velocities get an equal and opposite push along the pair's axis that
restores that distance, then the speed cap (up to 10 Gauss-Seidel passes). It is approximate (the
cap can undo part of a push when three UAVs converge), hence the ``margin`` on top of the task's
``min_separation``. It only acts near conflicts.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from robocoord.controller import Commands, Context, Controller, Observation

Resources = Literal["fair", "greedy_sumrate", "milp_sumrate", "milp_maxmin"]


class UavBsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resources: Resources = Field(default="fair", description="resource assignment layer (module docstring)")
    solver: Literal["highs", "cbc"] = "highs"
    time_limit: float = Field(default=2.0, gt=0, description="MILP time limit per slot (s)")
    margin: float = Field(default=20.0, ge=0, description="extra separation kept by the filter (m)")
    overlay_every: int = Field(default=5, ge=0, description="emit users/association overlay every k slots (0: never)")


def separation_filter(pos: np.ndarray, vel: np.ndarray, dt: float, dmin: float, vmax: float,
                      passes: int = 10) -> np.ndarray:
    """Horizontal velocities (M, 2) adjusted so that no pair ends a slot closer than ``dmin``."""
    v = _cap(vel.copy(), vmax)
    M = len(pos)
    for _ in range(passes):
        nxt = pos + v * dt
        changed = False
        for i in range(M):
            for j in range(i + 1, M):
                d = nxt[j] - nxt[i]
                dist = float(np.hypot(*d))
                if dist < dmin:
                    n = d / dist if dist > 1e-9 else np.array([1.0, 0.0])
                    push = (dmin - dist) / (2 * dt) * n
                    v[i] -= push
                    v[j] += push
                    nxt = pos + v * dt
                    changed = True
        v = _cap(v, vmax)
        if not changed:
            break
    return v


def _cap(v: np.ndarray, vmax: float) -> np.ndarray:
    s = np.linalg.norm(v, axis=1, keepdims=True)
    return v * np.minimum(1.0, vmax / np.maximum(s, 1e-12))


def interference_free_rate(gain: np.ndarray, radio: Any) -> np.ndarray:
    """(M, U) rate of one subchannel without interference (bit/s)."""
    return radio.subchannel_hz * np.log2(1.0 + radio.power_per_subchannel_w * gain / radio.noise_w)


class UavBsController(Controller):
    """Base of the ``uav_*`` controllers: movement from :meth:`move`, resources from ``params.resources``."""

    kinds = frozenset({"uav"})
    fidelities = frozenset({"kinematic", "physics"})
    Params = UavBsParams

    def reset(self, context: Context) -> None:
        super().reset(context)
        if not hasattr(context.scenario.tasks, "type") or context.scenario.tasks.type != "uav_bs":
            raise ValueError(f"{self.name}: needs tasks.type 'uav_bs', got {context.scenario.tasks.type!r}")
        self.vmax = float(context.model.params.max_speed)
        self.step = 0
        self.resource_mode = self.params.resources  # None: decided by the subclass (a policy's training layer)

    def move(self, obs: Observation, ex: dict) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def resources(self, ex: dict) -> tuple[dict, dict]:
        from planners.uav_assign import fair_assign, greedy_sumrate, maxmin_assignment, sumrate_assignment

        radio, gain = ex["radio"], ex["gain"]
        p = self.params
        mode = self.resource_mode or "fair"
        diag: dict[str, float] = {}
        if mode == "fair":
            a, s = fair_assign(gain, radio.n_subchannels)
            return {"assoc": a, "subchannel": s}, diag
        rate = interference_free_rate(gain, radio)
        if mode == "greedy_sumrate":
            a, s = greedy_sumrate(rate, radio.n_subchannels)
            return {"assoc": a, "subchannel": s}, diag
        fn = sumrate_assignment if mode == "milp_sumrate" else maxmin_assignment
        res = fn(rate, radio.n_subchannels, solver=p.solver, time_limit=p.time_limit)
        diag = {"milp_not_optimal": float(res.status != "optimal"), "milp_gap": float(np.nan_to_num(res.gap))}
        if res.status == "no_solution":  # fall back to the fast layer rather than leave everyone unserved
            a, s = fair_assign(gain, radio.n_subchannels)
            return {"assoc": a, "subchannel": s}, {**diag, "milp_fallback": 1.0}
        return {"assoc": res.assoc, "subchannel": res.sub, "share": res.share}, diag

    def act(self, obs: Observation) -> Commands:
        ex = obs.extras["uav_bs"]
        pos = obs.state.pos
        vxy = np.asarray(self.move(obs, ex), dtype=float).reshape(len(pos), 2)
        vxy = separation_filter(pos[:, :2], vxy, ex["slot"], ex["min_separation"] + self.params.margin, self.vmax)
        x0, y0, x1, y1 = ex["area"]
        nxt = np.clip(pos[:, :2] + vxy * ex["slot"], [x0, y0], [x1, y1])  # stay over the user area
        vxy = (nxt - pos[:, :2]) / ex["slot"]
        vz = np.clip(ex["altitude"] - pos[:, 2], -2.0, 2.0)
        decisions, diag = self.resources(ex)
        overlay = None
        k = self.params.overlay_every
        if k and self.step % k == 0:
            overlay = {"users": ex["users"].round(1).tolist(), "association": np.asarray(decisions["assoc"]).tolist()}
        self.step += 1
        return Commands(velocity=np.column_stack([vxy, vz]), decisions=decisions, diagnostics=diag or None,
                        overlay=overlay)
