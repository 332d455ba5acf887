"""``perception``: collaborative BEV perception at a road intersection with malicious collaborators.

The runtime builds :class:`sim.intersection.IntersectionScene` around the world's CAVs (robot 0 = ego,
1..5 collaborators; buildings, parked cars and signalised traffic added to the world's pybullet
scene), and at every perception step (``every`` steps):

- scans every CAV's two-layer lidar, makes its BEV and the ground truth (:mod:`sim.bev`);
- encodes the shared feature messages with the shipped BEV fusion model, applies the attack of
  ``attackers`` collaborators (drawn once per run from the run's rng) and reports poses with noise
  (:func:`policies.bev_fusion.pipeline.make_messages`);
- puts ``obs.extras["perception"]`` (a :class:`PerceptionView`: the ego's fuser over any subset, the
  benign fuser, the true attackers for the oracle row) and ``obs.extras["nominal_velocity"]`` ((N, 2):
  lane following for every CAV — collaborators also follow traffic, the ego only the signal: it must
  perceive the cars ahead itself).

Measured from ground truth after each step, never from the controller: the fusion of the
collaborators in ``Commands.decisions["accepted"]`` against the vehicles some CAV sees (IoU, object
recall/precision), TPR/FPR of ``decisions["flagged"]`` per agent-frame, ``decisions["checks"]``;
driving: ``false_stop_steps`` (ego held although nothing is in its corridor and its nominal speed is
free), ``missed_steps`` (a vehicle within ``stop_distance/2`` in its corridor while it drives on at
> 1 m/s), the ego's ``ego_progress`` (m); contacts are counted by the runner.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Optional

import numpy as np
from pydantic import Field

from robocoord.tasks.base import DomainTask, TaskRuntime

if TYPE_CHECKING:  # pragma: no cover
    from robocoord.controller import Commands, Observation
    from robocoord.scenario import Scenario
    from robocoord.world import ContinuousWorld
    from robocoord.world_build import Layout

AttackName = Literal["none", "fgsm", "bim", "pgd", "cw", "spoof", "removal", "noise"]


class PerceptionTask(DomainTask):
    type: Literal["perception"]
    n_parked: int = Field(14, ge=0, description="parked cars along the kerbs")
    n_traffic: int = Field(12, ge=0, description="moving (scripted) cars on the lanes")
    attack: AttackName = Field("pgd", description="what the malicious collaborators do to their messages")
    attackers: int = Field(1, ge=0, le=2, description="number of malicious collaborators (of 5)")
    eps: float = Field(0.5, ge=0, description="feature attacks: L_inf budget; noise: std")
    steps: int = Field(15, ge=1, description="iterations of BIM/PGD/C&W")
    alpha: float = Field(0.1, gt=0, description="step size of BIM/PGD (learning rate of C&W)")
    confine_unseen: bool = Field(False, description="attack only cells the ego cannot observe")
    adaptive_attack: bool = Field(False, description="attacker stays just under the detection threshold")
    pose_noise_xy: float = Field(0.2, ge=0, description="std of reported collaborator x, y (m)")
    pose_noise_yaw: float = Field(0.01, ge=0, description="std of reported collaborator yaw (rad)")
    threshold: Optional[float] = Field(None, gt=0, description="CCLoss threshold known to the adaptive "
                                       "attacker; default: the shipped calibration")
    every: int = Field(2, ge=1, description="perception (and defence) every this many steps")
    stop_distance: float = Field(15.0, gt=0, description="ego corridor length checked for vehicles (m)")
    signal_period: float = Field(24.0, gt=8, description="fixed-time signal cycle (s)")

    metrics: ClassVar[tuple[str, ...]] = (
        "vehicle_iou", "object_recall", "object_precision", "tpr", "fpr", "checks_per_frame", "frames",
        "false_stop_steps", "missed_steps", "ego_progress")
    kinds: ClassVar[frozenset[str]] = frozenset({"cav"})
    fidelities: ClassVar[frozenset[str]] = frozenset({"kinematic", "physics"})

    def problems(self, sc: "Scenario") -> list[tuple[str, str]]:
        out = []
        if sc.fleet.count != 6:
            out.append(("fleet.count", f"the perception task drives 6 CAVs (ego + 5 collaborators), got {sc.fleet.count}"))
        if sc.world.arena is None or min(sc.world.arena) < 150:
            out.append(("world.arena", "the perception task needs an arena of at least [150, 150] m (the "
                                       "intersection is centred in it)"))
        if self.attack != "none" and self.attackers == 0:
            out.append(("tasks.attackers", "an attack needs attackers >= 1 (or attack: none)"))
        return out

    def runtime(self, sc: "Scenario", rng: np.random.Generator) -> TaskRuntime:
        return PerceptionRuntime(self, sc, rng)


@dataclass
class PerceptionView:
    """What the ego sees this perception step (``obs.extras["perception"]``)."""
    fuser: Any  # policies.bev_fusion.fusion.Fuser over the received (possibly attacked) messages
    benign_fuser: Any  # the same without attack (upper-bound row only)
    collaborators: list[int]
    attackers: list[int]  # ground truth, for the oracle row only
    res: float
    size: int
    step: int
    fresh: bool  # a new perception frame this step


class PerceptionRuntime(TaskRuntime):
    tolerance = 1.0

    def __init__(self, spec: PerceptionTask, sc: "Scenario", rng: np.random.Generator) -> None:
        from sim.intersection import IntersectionConfig, IntersectionScene

        self.spec = spec
        self.sc = sc
        w, h = sc.world.arena  # validated by problems()
        self.cfg = IntersectionConfig(n_parked=spec.n_parked, n_traffic=spec.n_traffic, n_cav=6,
                                      signal_period=spec.signal_period, origin=(0.5 * w, 0.5 * h))
        self.rng = np.random.default_rng(rng.integers(2 ** 63))
        self.isec = IntersectionScene(self.cfg, np.random.default_rng(self.rng.integers(2 ** 63)), dt=sc.dt,
                                       defer=True)
        self.attackers = sorted(self.rng.choice([1, 2, 3, 4, 5], size=spec.attackers, replace=False).tolist())
        self.acc: dict[str, float] = {}
        self.frames = 0
        self.view: PerceptionView | None = None
        self._msg = None
        self._frame_ms: list[float] = []
        self._start_xy: np.ndarray | None = None
        self.false_stop = 0
        self.missed = 0

    # --- hooks ---------------------------------------------------------------------------------
    def layout(self, world: "ContinuousWorld", rng: np.random.Generator) -> "Layout":
        from robocoord.world_build import Layout

        poses = self.isec.cav_poses()
        o = np.asarray(self.cfg.origin)
        starts = np.column_stack([poses[:, :2] + o, np.full(6, world.model.spawn_height)])
        d = self.isec.lane_dir[self.isec.m_lane[:6]]
        from sim.intersection import _DIRS

        goals = starts.copy()
        goals[:, :2] += _DIRS[d] * (self.cfg.arm + 60.0)  # far along the lane: driving, never "arriving"
        return Layout(starts=starts, goals=goals, yaw=poses[:, 2].copy())

    def setup(self, world: "ContinuousWorld") -> None:
        from policies.bev_fusion.pipeline import default_model, default_threshold

        self.isec.attach(world.scene.client, list(world.bodies))
        self.net = default_model()
        self.threshold = self.spec.threshold if self.spec.threshold is not None else default_threshold()
        self._start_xy = world.state.pos[0, :2].copy()

    def _nominal(self, world: "ContinuousWorld") -> np.ndarray:
        sc = self.isec
        sc.set_cav_poses(world.state.pos[:, :2], world.state.yaw)
        lead = np.ones(len(sc.m_s), bool)
        lead[0] = False  # the ego perceives the cars ahead itself
        v = sc.target_speeds(sc.m_s, include_leaders=lead)[:6]
        return sc.nominal_cav_velocity(sc.cav_state.pos[:, :2], sc.m_s[:6], v)

    def observe(self, world: "ContinuousWorld", obs: "Observation") -> None:
        import time

        from policies.bev_fusion.attacks import AttackSpec
        from policies.bev_fusion.fusion import Fuser
        from policies.bev_fusion.pipeline import make_messages

        nominal = self._nominal(world)
        obs.extras["nominal_velocity"] = nominal
        step = obs.step
        if step % self.spec.every == 0 or self.view is None:
            t0 = time.perf_counter()
            frame = self.isec.frame()
            s = self.spec
            spec = AttackSpec(kind=s.attack, eps=s.eps, steps=s.steps, alpha=s.alpha, confine_unseen=s.confine_unseen,
                              adaptive_threshold=self.threshold if s.adaptive_attack else None)
            msg = make_messages(self.net, frame, self.attackers, spec, self.rng, s.pose_noise_xy, s.pose_noise_yaw,
                                self.threshold)
            self._msg = msg
            self._frame = frame
            self.view = PerceptionView(Fuser(self.net, msg.feats, msg.rel, msg.seen),
                                       Fuser(self.net, msg.benign, msg.rel, msg.seen), [1, 2, 3, 4, 5],
                                       list(self.attackers), self.net.cfg.res, self.net.cfg.size, step, True)
            self._frame_ms.append(1e3 * (time.perf_counter() - t0))
        else:
            self.view.fresh = False
        obs.extras["perception"] = self.view
        self._nominal_now = nominal

    def _corridor_gt(self) -> bool:
        """A vehicle footprint (ground truth) within stop_distance / 2 ahead in the ego's corridor."""
        from sim.bev import BevSpec, rasterise_boxes

        f = self._frame
        spec = BevSpec(self.net.cfg.size, self.net.cfg.res)
        pose = f["veh_pose"][:-6]  # parked + traffic (CAVs drive on their own lanes)
        occ = rasterise_boxes(pose[:, :2], pose[:, 2], self.cfg.car_length, self.cfg.car_width,
                              self.isec.cav_poses()[0], spec) > 0
        return bool(corridor(occ, spec.res, 0.5 * self.spec.stop_distance).any())

    def after_step(self, world: "ContinuousWorld", cmd: "Commands") -> dict[str, float]:
        from policies.bev_fusion.pipeline import frame_metrics

        self.isec.set_cav_poses(world.state.pos[:, :2], world.state.yaw)
        self.isec.step()  # traffic and signal move on (the world moves the CAVs)
        dec = cmd.decisions or {}
        if self.view is None or self._msg is None:
            return {}
        out: dict[str, float] = {}
        speed = float(np.linalg.norm(world.state.vel[0, :2]))
        nominal_free = float(np.linalg.norm(self._nominal_now[0])) > 1.0
        if self.view.fresh:
            accepted = [int(i) for i in dec.get("accepted", self.view.collaborators)]
            flagged = {int(i) for i in dec.get("flagged", [])}
            fz = self.view.benign_fuser if dec.get("benign") else self.view.fuser
            pred = fz.probs(accepted) > 0.5
            met = frame_metrics(pred, self._msg)
            att = set(self.attackers)
            met.update(tp=len(flagged & att), fp=len(flagged - att), pos=len(att), neg=5 - len(att),
                       checks=float(dec.get("checks", 0)))
            for k, v in met.items():
                self.acc[k] = self.acc.get(k, 0.0) + float(v)
            self.frames += 1
            out["iou"] = met["inter"] / max(met["union"], 1.0)
            out["checks"] = met["checks"]
            out["flagged"] = float(len(flagged))
        gt_ahead = self._corridor_gt()
        stopped = speed < 0.5
        if stopped and nominal_free and not gt_ahead:
            self.false_stop += 1
        if gt_ahead and speed > 1.0:
            self.missed += 1
        out["ego_speed"] = speed
        return out

    def summary(self) -> dict[str, Any]:
        a = self.acc
        f = max(self.frames, 1)
        return {
            "vehicle_iou": round(100 * a.get("inter", 0) / max(a.get("union", 0), 1), 4),
            "object_recall": round(a.get("obj_found", 0) / max(a.get("obj_gt", 0), 1), 4),
            "object_precision": round(a.get("obj_tp", 0) / max(a.get("obj_pred", 0), 1), 4),
            "tpr": round(a.get("tp", 0) / a["pos"], 4) if a.get("pos") else None,
            "fpr": round(a.get("fp", 0) / max(a.get("neg", 0), 1), 4),
            "checks_per_frame": round(a.get("checks", 0) / f, 4),
            "frames": self.frames,
            "false_stop_steps": self.false_stop,
            "missed_steps": self.missed,
            "ego_progress": round(float(np.linalg.norm(self.isec.cav_state.pos[0, :2] + np.asarray(self.cfg.origin)
                                                       - self._start_xy)), 3) if self._start_xy is not None else 0.0,
            "attacker_ids": ",".join(str(a) for a in self.attackers),
        }

    def timing(self) -> dict[str, float]:
        return {"perception_ms_per_frame": float(np.mean(self._frame_ms)) if self._frame_ms else 0.0,
                "lidar_ms": float(np.mean(self.isec.scan_ms)) if self.isec.scan_ms else 0.0,
                "raster_ms": float(np.mean(self.isec.raster_ms)) if self.isec.raster_ms else 0.0}

    def scene(self) -> dict[str, Any]:
        o = np.asarray(self.cfg.origin)
        b = self.isec.buildings.copy()
        b[:, :2] += o
        return {"type": "perception", "buildings": [[round(float(v), 3) for v in r] for r in b],
                "parked": [[round(float(v), 3) for v in (q[0] + o[0], q[1] + o[1], q[2])] for q in self.isec.parked],
                "attackers": list(self.attackers)}

    def close(self) -> None:
        self.isec.close()  # the world owns the client; nothing to disconnect


def corridor(grid: np.ndarray, res: float, length: float, half_width: float = 1.2, start: float = 2.5) -> np.ndarray:
    """The cells of an ego-frame grid in the corridor ahead: ``start <= x <= start + length``, ``|y| <= half_width``."""
    size = grid.shape[-1]
    c = (np.arange(size) + 0.5 - 0.5 * size) * res
    x, y = np.meshgrid(c, c)
    band = (x >= start) & (x <= start + length) & (np.abs(y) <= half_width)
    return grid & band


SPEC = PerceptionTask
__all__ = ["PerceptionTask", "PerceptionRuntime", "PerceptionView", "corridor", "SPEC"]
