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
