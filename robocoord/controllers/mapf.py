"""Grid-fidelity adapters for the lifelong-MAPF planners of :mod:`planners.mapf`.

One adapter class turns any :class:`~planners.mapf.base.LifelongPlanner` into a controller: the
planner sees the map's blocked cells, the agents' cells and their current goals, and returns next
cells, which become POGEMA actions. Planned paths are recorded as the ``path_cells`` overlay.
"""
from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from robocoord.controller import Commands, Context, Controller, Observation
from robocoord.errors import UserError


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overlay_every: int = Field(default=1, ge=0, description="record planned paths every k steps (0: never)")
    overlay_max_agents: int = Field(default=2000, ge=0, description="skip the path overlay above this many agents")


class PIBTParams(_Params):
    guidance: Literal["auto", "fixed", "off"] = Field(
        default="auto", description="highway guidance: weights from the fleet density (auto), the two "
                                    "penalties below (fixed), or plain PIBT (off)")
    corridor_penalty: float = Field(default=10.0, ge=0, description="fixed guidance: extra cost of going against a corridor's lane")
    lane_penalty: float = Field(default=0.5, ge=0, description="fixed guidance: extra cost of the wrong lane in wide aisles")


class RHCRParams(_Params):
    window: int = Field(default=10, ge=1, description="w: plans are conflict-free for this many steps")
    replan_every: int = Field(default=5, ge=1, description="h: replan period (steps), <= window")
    restarts: int = Field(default=2, ge=0, description="random priority orders tried per replan")


def density_weights(context: Context) -> tuple[float, float]:
    """Highway guidance weights for this fleet on this map (`planners.mapf.guidance.density_guidance`)."""
    from planners.mapf.guidance import density_guidance

    return density_guidance(context.n, int((~context.grid.blocked).sum()))


class GridPlannerController(Controller):
    """Base adapter: subclasses build the planner in :meth:`make_planner`."""

    kinds: ClassVar[frozenset[str]] = frozenset({"amr", "cav"})
    fidelities: ClassVar[frozenset[str]] = frozenset({"grid"})
    Params: ClassVar[type[BaseModel]] = _Params

    def make_planner(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def reset(self, context: Context) -> None:
        super().reset(context)
        if context.grid is None:
            raise UserError(f"{self.name} plans on a grid map; the scenario has none")
        self.planner = self.make_planner()
        self._started = False

    def act(self, obs: Observation) -> Commands:
        cells, goals = obs.cells, obs.goals
        assert cells is not None
        if not self._started:  # the planner needs the first positions and goals
            self.planner.reset(self.context.grid.blocked, cells, goals, self.context.rng)
            self._started = True
        nxt = self.planner.step(cells, goals)
        from planners.mapf.moves import cells_to_actions

        return Commands(actions=cells_to_actions(cells, nxt), overlay=self._overlay(obs, nxt))

    def _overlay(self, obs: Observation, nxt: np.ndarray) -> dict[str, Any] | None:
        p = self.params
        if not p.overlay_every or obs.step % p.overlay_every or obs.n > p.overlay_max_agents:
            return None
        paths = self.planner.planned_paths()
        if paths is None:
            paths = [np.stack([c, q]) for c, q in zip(obs.cells, nxt)]
        return {"path_cells": [np.asarray(q).tolist() for q in paths], "goal_cells": obs.goals.tolist()}


class PIBTController(GridPlannerController):
    name = "pibt"
    summary = "PIBT (Okumura et al. 2019/2022), optional static highway guidance; centralised, one step"
    Params = PIBTParams

    def make_planner(self) -> Any:
        from planners.mapf.pibt import PIBT

        p = self.params
        if p.guidance == "off":
            return PIBT()
        if p.guidance == "fixed":
            return PIBT(p.corridor_penalty, p.lane_penalty)
        return PIBT(*density_weights(self.context))


class RHCRController(GridPlannerController):
    name = "rhcr"
    summary = "windowed prioritised planning with space-time A* (RHCR family, Li et al. 2021)"
    Params = RHCRParams

    def make_planner(self) -> Any:
        from planners.mapf.windowed import WindowedPlanner

        p = self.params
        if p.replan_every > p.window:
            raise UserError(f"rhcr: replan_every ({p.replan_every}) must be <= window ({p.window})")
        return WindowedPlanner(window=p.window, replan_every=p.replan_every, restarts=p.restarts)


class AStarController(GridPlannerController):
    name = "astar"
    summary = "independent A* replanning per agent, ignoring the others (naive baseline)"

    def make_planner(self) -> Any:
        from planners.mapf.astar import IndependentAStar

        return IndependentAStar()


class MilpParams(_Params):
    objective: str = Field(default="soc", pattern="^(soc|makespan)$", description="soc (sum of costs) or makespan")
    time_limit: float = Field(default=30.0, gt=0, description="solver time limit (s)")
    solver: str = Field(default="highs", pattern="^(highs|cbc)$")
    slack: int = Field(default=4, ge=0, description="time steps beyond the longest shortest path")


class _MilpPlan:
    """A LifelongPlanner-shaped wrapper: solve once, then replay the plan (one-shot tasks only)."""

    def __init__(self, p: MilpParams) -> None:
        self.p = p
        self.result: Any = None

    def reset(self, blocked: np.ndarray, starts: np.ndarray, goals: np.ndarray, rng: np.random.Generator) -> None:
        from planners.mapf.milp import solve_mapf_milp

        self.goals0 = goals.copy()
        self.result = solve_mapf_milp(blocked, starts, goals, objective=self.p.objective, slack=self.p.slack,
                                      time_limit=self.p.time_limit, solver=self.p.solver)
        self.t = 0

    def step(self, positions: np.ndarray, goals: np.ndarray) -> np.ndarray:
        if not np.array_equal(goals, self.goals0):
            raise UserError("mapf_milp plans one-shot tasks; the goals changed (use tasks type 'goals')")
        paths = self.result.paths
        if paths is None:
            return positions.copy()          # no plan within the time limit: everyone waits
        self.t = min(self.t + 1, paths.shape[1] - 1)
        return paths[:, self.t]

    def planned_paths(self) -> list[np.ndarray] | None:
        if self.result is None or self.result.paths is None:
            return None
        return list(self.result.paths[:, self.t:])


class MilpController(GridPlannerController):
    name = "mapf_milp"
    summary = "one-shot MAPF by a time-expanded network-flow MILP (pulp; HiGHS or CBC), optimal or time-limited"
    Params = MilpParams

    def make_planner(self) -> Any:
        if self.context.scenario.tasks.type != "goals":
            raise UserError("mapf_milp solves one-shot MAPF: use tasks type 'goals'")
        return _MilpPlan(self.params)

    def act(self, obs: Observation) -> Commands:
        cmd = super().act(obs)
        r = self.planner.result
        if obs.step == 0 and r is not None:
            cmd.decisions = {"milp_status": r.status, "milp_objective": r.objective, "milp_gap": r.gap}
            if cmd.overlay is not None:
                cmd.overlay["text"] = f"MILP {r.objective:g} ({r.status}, gap {r.gap:.3g}, {r.solve_s:.1f} s)"
        return cmd


class FollowerParams(_Params):
    resolve: Literal["local", "none"] = Field(
        default="local", description="local: neighbours settle conflicts by priority inheritance; none: no "
                                     "communication, the engine makes conflicting agents wait")
    policy_weight: float = Field(default=0.3, ge=0, description="weight of the policy's log-probability in each move's cost")
    temperature: float = Field(default=0.5, ge=0, description="resolve none: sampling temperature (0 = arg-max)")


class FollowerController(GridPlannerController):
    name = "follower"
    summary = "learned decentralised planner (Follower spirit): shortest path + CNN on an 11x11 window, local conflict resolution"
    Params = FollowerParams
    decentralised = True

    def make_planner(self) -> Any:
        import torch

        from policies.follower.planner import FollowerPlanner

        torch.set_num_threads(1)
        p = self.params
        return FollowerPlanner(temperature=p.temperature, resolve=p.resolve, policy_weight=p.policy_weight)
