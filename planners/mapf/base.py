"""The interface every lifelong-MAPF planner in `planners.mapf` implements."""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class LifelongPlanner(Protocol):
    """A planner that moves N agents on a 4-connected grid one step at a time.

    ``blocked`` is ``(H, W)`` bool (row 0 on top); cells are ``(N, 2)`` int ``(row, col)``.
    ``step`` returns every agent's next cell (a wait or a 4-neighbour move); goals may change
    between calls (the caller replaces a reached goal). ``planned_paths`` returns what the
    planner intends per agent (``(T_i, 2)`` cells from the current one), or None.
    """

    def reset(self, blocked: np.ndarray, starts: np.ndarray, goals: np.ndarray,
              rng: np.random.Generator) -> None: ...

    def step(self, positions: np.ndarray, goals: np.ndarray) -> np.ndarray: ...

    def planned_paths(self) -> list[np.ndarray] | None: ...


class GridPlannerBase:
    """Shared set-up of the grid planners: graph and distance tables of the map, rebuilt only when
    the map changes (a planner reset for a new episode on the same map keeps its cached tables)."""

    def __init__(self, max_table_bytes: int = 2 * 1024 ** 3) -> None:
        self.max_table_bytes = int(max_table_bytes)
        self.graph = None

    def edge_cost(self, graph) -> np.ndarray | None:
        """Per-move costs for the distance tables (None: unit costs, plain BFS)."""
        return None

    def prepare(self, blocked: np.ndarray, starts: np.ndarray, goals: np.ndarray,
                rng: np.random.Generator) -> None:
        from planners.mapf.distance import DistanceTables
        from planners.mapf.graph import GridGraph

        if self.graph is None or not np.array_equal(self.graph.blocked, blocked):
            self.graph = GridGraph(blocked)
            self.tables = DistanceTables(self.graph, self.max_table_bytes, edge_cost=self.edge_cost(self.graph))
        self.graph.nodes(starts, "starts")
        self.graph.nodes(goals, "goals")
        self.rng = rng
