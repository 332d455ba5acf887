"""Defences of the ego's collaborative perception (task ``perception``), and driving on the result.

Each controller picks the collaborators the ego fuses (``Commands.decisions``: ``accepted``,
``flagged``, ``checks``), fuses them (``obs.extras["perception"].fuser``), and drives: every CAV
follows ``obs.extras["nominal_velocity"]``, and the ego stops when the fused BEV shows a vehicle in
its corridor (``stop_distance`` ahead, ``|y| <= 1.2`` m, at least ``min_cells`` cells). So a phantom
or removed car that passes the defence becomes a false stop or a missed vehicle in the run.

- ``cpguard``: PASAC + CCLoss with a fixed threshold; ``cpguard_adaptive``: the threshold follows
  the benign CCLoss level (Hu et al., "CP-Guard: Malicious Agent Detection and Defense in
  Collaborative Bird's Eye View Perception", AAAI 2025).
- ``robosac``: random sample consensus (Li et al., "Among Us: Adversarially Robust Collaborative
  Perception by Consensus", ICCV 2023).
- ``fusion_none`` (fuse all), ``fusion_oracle`` (drop the true attackers), ``fusion_upper`` (no attack:
  benign messages), ``fusion_ego`` (ego only: the lower bound).
The consensus searches are pure (:mod:`planners.consensus`); the fusion is :mod:`policies.bev_fusion`.
"""
from __future__ import annotations

from typing import ClassVar, Optional

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from robocoord.controller import Commands, Context, Controller, Observation
from robocoord.errors import UserError


class FusionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threshold: Optional[float] = Field(None, gt=0, description="one CCLoss threshold for every subset size; "
                                       "default: the shipped per-size calibration")
    stop_distance: float = Field(15.0, gt=0, description="corridor ahead of the ego checked for vehicles (m)")
    min_cells: int = Field(4, ge=1, description="fused vehicle cells in the corridor that make the ego stop")
    assumed_attackers: int = Field(2, ge=0, description="ROBOSAC: attackers its sample size guards against")
    seed: int = Field(0, ge=0, description="ROBOSAC sampling seed (combined with the run's rng)")


class FusionDefence(Controller):
    """Base: subclasses implement :meth:`select`; the driving rule is shared."""

    name = "fusion_none"
    summary = "collaborative BEV perception, no defence: fuse every collaborator"
    Params = FusionParams
    kinds: ClassVar[frozenset[str]] = frozenset({"cav"})
    fidelities: ClassVar[frozenset[str]] = frozenset({"kinematic", "physics"})

    def reset(self, context: Context) -> None:
        super().reset(context)
        from policies.bev_fusion.pipeline import default_threshold

        self.threshold = self.params.threshold or default_threshold()
        self.rng = np.random.default_rng([self.params.seed, int(context.rng.integers(2 ** 31))])
        self._last: dict = {"accepted": [], "flagged": [], "checks": 0}
        self._stop = False

    def select(self, view) -> dict:
        return {"accepted": list(view.collaborators), "flagged": [], "checks": 0}

    def act(self, obs: Observation) -> Commands:
        view = obs.extras.get("perception")
        nominal = obs.extras.get("nominal_velocity")
        if view is None or nominal is None:
            raise UserError(f"controller {self.name!r} needs the 'perception' task (tasks: {{type: perception}})")
        if view.fresh:
            dec = self.select(view)
            fz = view.benign_fuser if dec.get("benign") else view.fuser
            fused = fz.probs(dec["accepted"]) > 0.5
            from robocoord.tasks.perception import corridor

            self._stop = int(corridor(fused, view.res, self.params.stop_distance).sum()) >= self.params.min_cells
            self._last = dec
            dec = dict(dec, stop=self._stop)
        else:
            dec = dict(self._last, checks=0, stop=self._stop)
        vel = np.array(nominal, dtype=float, copy=True)
        if self._stop:
            vel[0] = 0.0
        flagged = [int(i) for i in dec.get("flagged", [])]
        return Commands(velocity=vel, decisions=dec, overlay={"flagged": flagged},
                        diagnostics={"ego_stop": float(self._stop)})


class Oracle(FusionDefence):
    name = "fusion_oracle"
    summary = "oracle defence: drops exactly the true attackers"

    def select(self, view) -> dict:
        return {"accepted": [c for c in view.collaborators if c not in view.attackers],
                "flagged": [c for c in view.collaborators if c in view.attackers], "checks": 0}


class UpperBound(FusionDefence):
    name = "fusion_upper"
    summary = "upper bound: every collaborator, benign messages (no attack)"

    def select(self, view) -> dict:
        return {"accepted": list(view.collaborators), "flagged": [], "checks": 0, "benign": True}


class EgoOnly(FusionDefence):
    name = "fusion_ego"
    summary = "lower bound: the ego's own perception only"

    def select(self, view) -> dict:
        return {"accepted": [], "flagged": [], "checks": 0}


__all__ = ["FusionDefence", "FusionParams", "Oracle", "UpperBound", "EgoOnly"]
