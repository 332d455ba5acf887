"""Learned UAV base-station controllers (GA-MATR-style GATv2 policy, MAPPO-MLP ablation) and the
per-slot MILP oracle that keeps the learned movement but re-solves the resources exactly.

Movement: the trained actor (``policies.ga_matr``) picks one of 9 moves per UAV (stay or a compass
direction at the training speed) from a stacked history of UAV positions, the users' positions and
their last rates; greedy (arg-max) at run time. Resources: ``params.resources``; for the policies the
default is the layer their weights were trained with (``gat``/``mlp``: ``fair``; ``gat_sumrate``:
``greedy_sumrate``), for the oracle ``milp_sumrate``.
"""
from __future__ import annotations

from typing import Literal, Optional

import numpy as np
from pydantic import Field

from robocoord.controller import Context, Observation
from robocoord.controllers.uav_common import Resources, UavBsController, UavBsParams

Weights = Literal["gat", "gat_sumrate", "mlp"]


class PolicyParams(UavBsParams):
    weights: Weights = Field(default="gat", description="shipped weights in policies/ga_matr/weights")
    resources: Optional[Resources] = Field(default=None, description="resource layer; default: the one the "
                                           "weights were trained with (their JSON's 'resources')")


class MlpParams(PolicyParams):
    weights: Literal["mlp"] = "mlp"


class OracleParams(UavBsParams):
    resources: Literal["milp_sumrate", "milp_maxmin"] = "milp_sumrate"
    weights: Weights = Field(default="gat", description="movement policy when movement is ga_matr")
    movement: Literal["ga_matr", "static"] = Field(default="ga_matr", description="ga_matr: the GAT policy's "
                                                   "moves; static: hover at the start positions")


class _PolicyMove(UavBsController):
    def _load(self, which: str) -> None:
        from policies.ga_matr.policy import MovePolicy

        self.policy = MovePolicy(which)
        self.hist: np.ndarray | None = None
        if self.resource_mode is None:
            self.resource_mode = self.policy.cfg.get("resources", "fair")

    def move(self, obs: Observation, ex: dict) -> np.ndarray:
        from policies.ga_matr.env import MOVES

        x0, y0, x1, y1 = ex["area"]
        xy = obs.state.pos[:, :2] - [x0, y0]
        if self.hist is None:
            self.hist = np.repeat(xy[None], self.policy.history, axis=0)
        else:
            self.hist = np.concatenate([self.hist[1:], xy[None]])
        a = self.policy.act(self.hist, ex["users"] - [x0, y0], ex["user_rate"], area=max(x1 - x0, y1 - y0))
        return MOVES[a] * self.policy.cfg["speed"] / ex["slot"]


class GaMatr(_PolicyMove):
    name = "uav_ga_matr"
    summary = "GA-MATR-style GATv2 actor (MAPPO-KL trained) for movement + the fast resource layer it was trained with"
    Params = PolicyParams

    def reset(self, context: Context) -> None:
        super().reset(context)
        self._load(self.params.weights)


class MappoMlp(_PolicyMove):
    name = "uav_mappo_mlp"
    summary = "MAPPO ablation: MLP actor on fixed-size features for movement + the fast fair resource layer"
    Params = MlpParams

    def reset(self, context: Context) -> None:
        super().reset(context)
        self._load(self.params.weights)


class MilpOracle(_PolicyMove):
    name = "uav_milp_oracle"
    summary = "per-slot MILP resources (sum-rate or max-min) at the GA-MATR policy's positions (or static)"
    Params = OracleParams

    def reset(self, context: Context) -> None:
        super().reset(context)
        if self.params.movement == "ga_matr":
            self._load(self.params.weights)

    def move(self, obs: Observation, ex: dict) -> np.ndarray:
        if self.params.movement == "static":
            return np.zeros((obs.n, 2))
        return super().move(obs, ex)
