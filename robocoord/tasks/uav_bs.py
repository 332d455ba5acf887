"""Domain task ``uav_bs``: UAV base stations serve moving ground users (DESIGN.md §4.4, GA-MATR).

The fleet (``kind: uav``, kinematic or physics fidelity: the quadrotor bodies of
:mod:`sim.robots.uav`, velocity-commanded) flies at ``altitude`` over a ``area`` of ground users that
move every slot (random waypoint or hotspot clusters, :class:`sim.radio.UserMobility`). One control
step is one slot of ``dt`` seconds. The runtime shows controllers ``obs.extras["uav_bs"]``:

* ``users`` (U, 2) positions [m], ``user_rate`` (U,) rates measured in the previous slot [bit/s];
* ``gain`` (M, U) mean channel gains at the current positions (Al-Hourani model, ``sim.radio``);
* ``radio`` the :class:`sim.radio.RadioConfig`; ``area`` (x0, y0, x1, y1); ``altitude``;
  ``min_separation`` [m]; ``slot`` (dt).

The controller states its resource decision in ``Commands.decisions``: ``assoc`` (U,) serving UAV or
-1, ``subchannel`` (U,) in [0, K), optional ``share`` (U,) time fraction of the block. The runtime
then computes the rates itself (``sim.radio.rates``: co-channel SINR, equal or given time shares) at
the UAV positions reached in this slot, for the users of this slot, and moves the users.

Per-step metrics: ``sum_rate_mbps``, ``jain``, ``p5_rate_kbps``, ``served``, ``power_w`` (Zeng et
al. rotary-wing propulsion at each UAV's horizontal speed), ``sep_violations`` (UAV pairs closer than
``min_separation``). Summary: ``mean_sum_rate_mbps``, ``jain_avg`` (Jain index of the users'
episode-mean rates), ``jain_weighted_mbps`` (= ``jain_avg * mean_sum_rate_mbps``, the fairness-weighted
throughput the benchmarks rank by), ``p5_rate_kbps`` (5th percentile of episode-mean user rates),
``step_jain_mean``, ``energy_kj`` (all UAVs), ``sep_violations`` (pair-steps), ``min_uav_separation``,
``missing_decisions`` (slots without a decision: every user unserved).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal, Optional

import numpy as np
from pydantic import Field

from robocoord.strict import PosFloat, Strict
from robocoord.tasks.base import DomainTask, TaskRuntime

if TYPE_CHECKING:  # pragma: no cover
    from robocoord.controller import Commands, Observation
    from robocoord.scenario import Scenario
    from robocoord.world import ContinuousWorld


class UserSpec(Strict):
    count: int = Field(default=40, ge=1, le=20_000, description="number of ground users")
    mobility: Literal["random_waypoint", "hotspot", "static"] = "random_waypoint"
    speed: tuple[float, float] = Field(default=(0.5, 1.5), description="walking speed range (m/s)")
    hotspots: int = Field(default=4, ge=1, description="hotspot: number of clusters")
    hotspot_std: PosFloat = Field(default=60.0, description="hotspot: cluster spread (m)")
    layout_seed: Optional[int] = Field(default=None, description="seed of the user layout and motion "
                                       "(default: the scenario seed); sweeps vary it for new layouts")


class UavBsTask(DomainTask):
    """``tasks: {type: uav_bs, users: {...}, preset: urban, ...}``"""

    type: Literal["uav_bs"]
    users: UserSpec = Field(default_factory=UserSpec)
    area: Optional[tuple[float, float, float, float]] = Field(
        default=None, description="user area x0, y0, x1, y1 (m); default: the world bounds")
    altitude: Optional[PosFloat] = Field(default=None, description="flight altitude (m); default fleet.params.altitude")
    preset: Literal["suburban", "urban", "dense_urban", "highrise_urban"] = "urban"
    carrier_hz: PosFloat = 2e9
    subchannels: int = Field(default=8, ge=1, le=1024)
    subchannel_hz: PosFloat = 180e3
    tx_power_dbm: float = Field(default=30.0, description="per-UAV transmit power, split over subchannels")
    noise_figure_db: float = Field(default=7.0, ge=0)
    min_separation: PosFloat = Field(default=50.0, description="UAV-UAV separation below which a pair counts as a violation (m)")
    start_radius: float = Field(default=0.1, ge=0, le=0.5, description="UAVs start on a ring of this fraction of the "
                                "area's width around its centre")

    metrics: ClassVar[tuple[str, ...]] = ("mean_sum_rate_mbps", "jain_avg", "jain_weighted_mbps", "p5_rate_kbps",
                                          "step_jain_mean", "energy_kj", "sep_violations", "min_uav_separation",
                                          "missing_decisions")
    kinds: ClassVar[frozenset[str]] = frozenset({"uav"})

    def problems(self, sc: "Scenario") -> list[tuple[str, str]]:
        out = []
        p = sc.fleet.params
        alt = self.altitude if self.altitude is not None else p.get("altitude")
        if alt is not None and "z_min" in p and "z_max" in p and not p["z_min"] <= alt <= p["z_max"]:
            out.append(("altitude", f"{alt} m lies outside fleet.params [z_min, z_max] = [{p['z_min']}, {p['z_max']}]"))
        lo, hi = self.users.speed
        if not 0 <= lo <= hi:
            out.append(("users.speed", f"expected 0 <= min <= max, got {list(self.users.speed)}"))
        if self.area is not None and not (self.area[0] < self.area[2] and self.area[1] < self.area[3]):
            out.append(("area", f"expected x0 < x1 and y0 < y1, got {list(self.area)}"))
        return out

    def runtime(self, sc: "Scenario", rng: np.random.Generator) -> "UavBsRuntime":
        return UavBsRuntime(self, sc, rng)


class UavBsRuntime(TaskRuntime):
    lifelong = False
    tolerance = 1.0

    def __init__(self, task: UavBsTask, sc: "Scenario", rng: np.random.Generator) -> None:
        from sim.radio import RadioConfig

        self.task, self.sc = task, sc
        self.radio = RadioConfig(preset=task.preset, carrier_hz=task.carrier_hz, n_subchannels=task.subchannels,
                                 subchannel_hz=task.subchannel_hz, tx_power_dbm=task.tx_power_dbm,
                                 noise_figure_db=task.noise_figure_db)
        seed = task.users.layout_seed if task.users.layout_seed is not None else sc.seed
        self.user_rng = np.random.default_rng([int(seed), 6])  # users independent of the controller's draws

    def layout(self, world: "ContinuousWorld", rng: np.random.Generator):
        from sim.radio import UserMobility
        from robocoord.world_build import Layout

        t = self.task
        self.area = np.asarray(t.area if t.area is not None else world.bounds, dtype=float)
        x0, y0, x1, y1 = self.area
        self.alt = float(t.altitude if t.altitude is not None else world.model.spawn_height)
        u = t.users
        self.mob = UserMobility(u.count, (x1 - x0, y1 - y0), self.user_rng, model=u.mobility, speed_min=u.speed[0],
                                speed_max=u.speed[1], n_hotspots=u.hotspots, hotspot_std=u.hotspot_std)
        n = world.n
        ph = 2 * np.pi * np.arange(n) / n
        r = t.start_radius * (x1 - x0)
        c = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
        starts = np.column_stack([c[0] + r * np.cos(ph), c[1] + r * np.sin(ph), np.full(n, self.alt)])
        self.n, self.dt = n, self.sc.dt
        self.user_rate = np.zeros(u.count)
        self.rate_sum = np.zeros(u.count)
        self.steps = 0
        self.sum_rates: list[float] = []
        self.step_jain: list[float] = []
        self.energy_j = 0.0
        self.violations = 0
        self.min_sep = np.inf
        self.missing = 0
        return Layout(starts=starts, goals=starts.copy(), yaw=np.zeros(n))

    def users_xy(self) -> np.ndarray:
        return self.mob.pos + self.area[:2]

    def observe(self, world: "ContinuousWorld", obs: "Observation") -> None:
        from sim.radio import link_gain

        users = self.users_xy()
        obs.extras["uav_bs"] = {
            "users": users.copy(), "user_rate": self.user_rate.copy(),
            "gain": link_gain(world.state.pos, users, self.radio), "radio": self.radio,
            "area": tuple(float(v) for v in self.area), "altitude": self.alt,
            "min_separation": self.task.min_separation, "slot": self.dt,
        }

    def _decision(self, cmd: "Commands") -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]] | None:
        d = cmd.decisions or {}
        if "assoc" not in d:
            return None
        U = len(self.user_rate)
        try:
            assoc = np.asarray(d["assoc"], dtype=int).reshape(U)
            sub = np.asarray(d.get("subchannel", np.zeros(U)), dtype=int).reshape(U)
            share = None if d.get("share") is None else np.asarray(d["share"], dtype=float).reshape(U)
        except ValueError as exc:
            raise ValueError(f"uav_bs: Commands.decisions: expected (U={U},) arrays 'assoc', 'subchannel'"
                             f" (optional 'share'): {exc}") from None
        return assoc, sub, share

    def after_step(self, world: "ContinuousWorld", cmd: "Commands") -> dict[str, float]:
        from sim.radio import jain, link_gain, percentile_rate, propulsion_power, rates

        users = self.users_xy()
        pos = world.state.pos
        dec = self._decision(cmd)
        if dec is None:
            self.missing += 1
            r = np.zeros(len(users))
        else:
            r, _ = rates(link_gain(pos, users, self.radio), *dec[:2], self.radio, share=dec[2])
        self.user_rate = r
        self.rate_sum += r
        self.steps += 1
        self.sum_rates.append(float(r.sum()))
        j = jain(r)
        self.step_jain.append(j)
        power = propulsion_power(np.linalg.norm(world.state.vel[:, :2], axis=1))
        self.energy_j += float(power.sum()) * self.dt
        viol, dmin = 0, np.inf
        if self.n > 1:
            d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)[np.triu_indices(self.n, 1)]
            viol, dmin = int((d < self.task.min_separation).sum()), float(d.min())
        self.violations += viol
        self.min_sep = min(self.min_sep, dmin)
        self.mob.step(self.dt)
        return {"sum_rate_mbps": float(r.sum()) / 1e6, "jain": j, "p5_rate_kbps": percentile_rate(r) / 1e3,
                "served": float((r > 0).sum()), "power_w": float(power.sum()), "sep_violations": float(viol)}

    def summary(self) -> dict[str, Any]:
        from sim.radio import jain, percentile_rate

        mean_rate = self.rate_sum / max(self.steps, 1)
        ja = jain(mean_rate)
        ms = float(np.mean(self.sum_rates)) / 1e6 if self.sum_rates else 0.0
        return {"mean_sum_rate_mbps": round(ms, 6), "jain_avg": round(ja, 6), "jain_weighted_mbps": round(ja * ms, 6),
                "p5_rate_kbps": round(percentile_rate(mean_rate) / 1e3, 6),
                "step_jain_mean": round(float(np.mean(self.step_jain)) if self.step_jain else 0.0, 6),
                "energy_kj": round(self.energy_j / 1e3, 6), "sep_violations": int(self.violations),
                "min_uav_separation": round(self.min_sep, 6) if np.isfinite(self.min_sep) else None,
                "missing_decisions": int(self.missing)}

    def scene(self) -> dict[str, Any]:
        return {"type": "uav_bs", "area": [float(v) for v in self.area], "altitude": self.alt,
                "users": self.users_xy().round(2).tolist(), "preset": self.task.preset,
                "min_separation": self.task.min_separation}


SPEC = UavBsTask
