"""Grid-fidelity adapters for the lifelong-MAPF planners of :mod:`planners.mapf`.

One adapter class turns any :class:`~planners.mapf.base.LifelongPlanner` into a controller: the
planner sees the map's blocked cells, the agents' cells and their current goals, and returns next
cells, which become POGEMA actions. Planned paths are recorded as the ``path_cells`` overlay.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from robocoord.controller import Commands, Context, Controller, Observation


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overlay_every: int = Field(default=1, ge=0, description="record planned paths every k steps (0: never)")
    overlay_max_agents: int = Field(default=2000, ge=0, description="skip the path overlay above this many agents")


class PIBTParams(_Params):
    guidance: bool = Field(default=True, description="congestion-aware static highway guidance (off = plain PIBT)")
    corridor_penalty: float = Field(default=10.0, ge=0, description="guidance: extra cost of going against a corridor's lane")
    lane_penalty: float = Field(default=0.5, ge=0, description="guidance: extra cost of the wrong lane in wide aisles")


class RHCRParams(_Params):
    window: int = Field(default=10, ge=1, description="w: plans are conflict-free for this many steps")
    replan_every: int = Field(default=5, ge=1, description="h: replan period (steps), <= window")
    restarts: int = Field(default=2, ge=0, description="random priority orders tried per replan")


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
            raise ValueError(f"{self.name} plans on a grid map; the scenario has none")
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
        return PIBT(p.corridor_penalty if p.guidance else 0.0, p.lane_penalty if p.guidance else 0.0)


class RHCRController(GridPlannerController):
    name = "rhcr"
    summary = "windowed prioritised planning with space-time A* (RHCR family, Li et al. 2021)"
    Params = RHCRParams

    def make_planner(self) -> Any:
        from planners.mapf.windowed import WindowedPlanner

        p = self.params
        if p.replan_every > p.window:
            raise ValueError(f"rhcr: replan_every ({p.replan_every}) must be <= window ({p.window})")
        return WindowedPlanner(window=p.window, replan_every=p.replan_every, restarts=p.restarts)


class AStarController(GridPlannerController):
    name = "astar"
    summary = "independent A* replanning per agent, ignoring the others (naive baseline)"

    def make_planner(self) -> Any:
        from planners.mapf.astar import IndependentAStar

        return IndependentAStar()
