"""``goto``: the nominal go-to-goal reference controller, for every robot kind and fidelity.

No coordination at all: it proves the loop end to end and is the "nominal" baseline that safety
filters and planners are measured against.
"""
from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from robocoord.controller import Commands, Context, Controller, Observation


def nominal_velocity(pos: np.ndarray, goals: np.ndarray, gain: float, vmax: float) -> np.ndarray:
    """Proportional pull towards the goal, capped at ``vmax``: the nominal input every safety filter
    and baseline starts from."""
    v = gain * (goals - pos)
    speed = np.linalg.norm(v, axis=1, keepdims=True)
    return v * np.minimum(1.0, vmax / np.maximum(speed, 1e-12))


class GoToParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gain: float = Field(default=1.0, gt=0, description="proportional gain (1/s) on the goal offset")
    max_speed: float | None = Field(default=None, gt=0, description="speed cap (m/s); default: the robot's own")


class GoTo(Controller):
    name = "goto"
    summary = "nominal go-to-goal, no coordination (reference controller)"
    Params = GoToParams

    def reset(self, context: Context) -> None:
        super().reset(context)
        self._tables = None
        if context.fidelity == "grid":
            from planners.mapf.distance import DistanceTables

            assert context.grid is not None
            self._tables = DistanceTables(context.grid.blocked)
        else:
            assert context.model is not None
            self._vmax = self.params.max_speed or float(context.model.params.max_speed)

    def act(self, obs: Observation) -> Commands:
        if self._tables is not None:
            return Commands(actions=self._grid_actions(obs.cells, obs.goals))
        return Commands(velocity=nominal_velocity(obs.positions, obs.goals, self.params.gain, self._vmax))

    def _grid_actions(self, cells: np.ndarray, goals: np.ndarray) -> np.ndarray:
        """Each agent steps to the neighbour closest to its goal (BFS distance), or waits."""
        from planners.mapf.moves import cells_to_actions

        H, W = self.context.grid.blocked.shape
        moves = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]])
        nxt = cells.copy()
        for i, (c, g) in enumerate(zip(cells, goals)):
            dist = self._tables.get(tuple(g))
            best, best_d = c, dist[c[0], c[1]]
            for m in moves[1:]:
                r, q = c + m
                if 0 <= r < H and 0 <= q < W and dist[r, q] < best_d:
                    best, best_d = (r, q), dist[r, q]
            nxt[i] = best
        return cells_to_actions(cells, nxt)
