"""Grid-fidelity adapter of :class:`planners.mapf.lookahead.LookaheadPIBT` (PIBT + Monte-Carlo
lookahead over PIBT rollouts), controller ``pibt_lookahead``."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from robocoord.controllers.mapf import GridPlannerController, _Params, density_weights


class LookaheadParams(_Params):
    rollouts: int = Field(default=16, ge=1, description="PIBT joint moves compared per step (1: plain PIBT)")
    horizon: int = Field(default=8, ge=1, description="steps simulated per rollout")
    priority_noise: float = Field(default=5.0, ge=0, description="random priority perturbation of rollouts 1.. (steps)")
    max_agents: int = Field(default=96, ge=0, description="above this fleet size: plain PIBT (time budget)")
    guidance: Literal["auto", "off"] = Field(default="auto", description="highway guidance weights from the fleet density (auto) or none")


class LookaheadPIBTController(GridPlannerController):
    name = "pibt_lookahead"
    summary = "PIBT with Monte-Carlo lookahead over PIBT rollouts (LaCAM-inspired); plain PIBT above max_agents"
    Params = LookaheadParams

    def make_planner(self) -> Any:
        from planners.mapf.lookahead import LookaheadPIBT

        p = self.params
        cp, lp = 0.0, 0.0
        if p.guidance == "auto":
            cp, lp = density_weights(self.context)
        return LookaheadPIBT(p.rollouts, p.horizon, p.priority_noise, p.max_agents,
                             corridor_penalty=cp, lane_penalty=lp)
