"""Grid plans executed by wheeled robots in continuous worlds (kinematic or pybullet physics),
safely under any delay, through an action dependency graph (Hönig et al., RA-L 2019).

At the first step the controller snaps starts and goals to the map's cells, plans a one-shot grid
solution (prioritised planning with full-horizon space-time A*, or PIBT kept free of rotations,
`planners.mapf_exec.rotations`), builds the ADG, and from then on every robot drives its look-
ahead point to the centre of its next cell only when every move it depends on is done; after its
last move it finishes at its exact goal point. The grid plan's makespan is reported in the overlay
text so the loss to real dynamics can be read beside the measured one.
"""
from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from robocoord.controller import Commands, Context, Controller, Observation
from robocoord.errors import UserError
from robocoord.controllers.goto import nominal_velocity
from robocoord.controllers.mapf import density_weights


class ADGParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gain: float = Field(default=2.0, gt=0, description="proportional gain towards the next cell centre (1/s)")
    max_speed: float | None = Field(default=None, gt=0, description="speed cap (default: the robot's)")
    tolerance: float = Field(default=0.08, gt=0, description="a move is done within this distance of the cell centre (m)")
    max_plan_steps: int = Field(default=2000, ge=1, description="PIBT steps allowed for the one-shot grid plan")
    planner: Literal["pp", "pibt"] = Field(
        default="pibt", description="one-shot grid planner: prioritised planning with full-horizon space-time A* "
                                  "(pp; random restarts) or PIBT (fast, but one-shot PIBT may never settle all agents)")
    window: int = Field(default=128, ge=1, description="pp: planning horizon (steps)")


class ADGExecutor(Controller):
    name = "adg_pibt"
    summary = "one-shot grid plan (prioritised planning or PIBT) executed by AMRs through an action dependency graph (no collisions under delays)"
    Params = ADGParams
    kinds: ClassVar[frozenset[str]] = frozenset({"amr"})
    fidelities: ClassVar[frozenset[str]] = frozenset({"kinematic", "physics"})

    def reset(self, context: Context) -> None:
        super().reset(context)
        if context.grid is None:
            raise UserError("adg_pibt executes grid plans: the scenario needs world.map")
        if context.scenario.tasks.type != "goals":
            raise UserError("adg_pibt executes one-shot plans: use tasks type 'goals'")
        self._vmax = float(self.params.max_speed or context.model.params.max_speed)
        self._l = float(getattr(context.model.params, "lookahead", 0.0))
        self.adg = None

    def _plan(self, start_xy: np.ndarray, goal_xy: np.ndarray) -> None:
        from planners.mapf.windowed import WindowedPlanner
        from planners.mapf_exec import build_adg
        from planners.mapf_exec.rotations import RotationFreePIBT, dependency_cycle
        from sim.maps import xy_to_cell

        grid, cs = self.context.grid, self.context.cell_size
        s, g = xy_to_cell(start_xy, grid.height, cs), xy_to_cell(goal_xy, grid.height, cs)
        for what, cells in (("start", s), ("goal", g)):
            if len({tuple(c) for c in cells.tolist()}) < len(cells):
                raise UserError(f"adg_pibt: two robots have their {what} in the same grid cell; "
                                 f"use start/goal layouts on cells (mark or list)")
        if self.params.planner == "pibt":
            pl = RotationFreePIBT(*density_weights(self.context))
        else:
            w = self.params.window
            pl = WindowedPlanner(window=w, replan_every=w, restarts=8)
        pl.reset(grid.blocked, s, g, self.context.rng)
        pos, traj = s.copy(), [s.copy()]
        for _ in range(self.params.max_plan_steps):
            if (pos == g).all():
                break
            pos = pl.step(pos, g)
            traj.append(pos)
        self.plan_makespan = len(traj) - 1
        self.plan_complete = bool((pos == g).all())
        self.adg = build_adg(np.stack(traj, axis=1))
        # a rotation in the plan (agents moving round a cycle in one step) makes the ADG cyclic and
        # would stop the robots for ever; the pibt planner never rotates, pp might
        cyc = dependency_cycle(self.adg)
        if cyc is not None:
            raise UserError(f"adg_pibt: the {self.params.planner} grid plan has a rotation (robots "
                            f"{sorted({i for i, _ in cyc})} move round a cycle in one step), which cannot "
                            f"be executed safely; use planner 'pibt'")

    def _control_points(self, obs: Observation) -> np.ndarray:
        st = obs.state
        return st.pos[:, :2] + self._l * np.column_stack([np.cos(st.yaw), np.sin(st.yaw)])

    def act(self, obs: Observation) -> Commands:
        from sim.maps import cell_to_xy

        if self.adg is None:
            self._plan(obs.state.pos[:, :2], obs.goals[:, :2])
        adg, grid, cs = self.adg, self.context.grid, self.context.cell_size
        cp = self._control_points(obs)
        target = np.empty((obs.n, 2))
        for i in range(obs.n):
            if adg.enabled(i):
                nxt = cell_to_xy(adg.cells[i][adg.done[i] + 1], grid.height, cs)[0]
                if np.linalg.norm(cp[i] - nxt) <= self.params.tolerance:
                    adg.complete(i)
            if adg.done[i] >= adg.n_moves(i):
                # the exact goal point lies in the last cell only when the plan reached the goal cell
                last = cell_to_xy(adg.cells[i][-1], grid.height, cs)[0]
                target[i] = obs.goals[i, :2] if np.abs(obs.goals[i, :2] - last).max() <= cs / 2 else last
            else:
                target[i] = cell_to_xy(adg.target_cell(i), grid.height, cs)[0]
        cmd = Commands(velocity=nominal_velocity(cp, target, self.params.gain, self._vmax))
        if obs.step % 5 == 0:
            cmd.overlay = {"path_cells": [adg.remaining_cells(i).tolist() for i in range(obs.n)],
                           "text": f"grid plan makespan {self.plan_makespan} steps"
                                   f"{'' if self.plan_complete else ' (incomplete)'}; moves done "
                                   f"{int(adg.done.sum())}/{sum(adg.n_moves(i) for i in range(adg.n))}"}
        cmd.decisions = {"plan_makespan": self.plan_makespan}
        return cmd
