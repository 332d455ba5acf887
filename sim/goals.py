"""Goal streams for lifelong tasks: when an agent reaches its goal it gets the next one at once.

POGEMA LMAPF protocol (Skrynnik et al., ICLR 2025): new goals uniform over the agent's connected
component; the WFI warehouse draws goals among the shelf-adjacent cells ('@' mark, ``MarkedGoals``).
League of Robot Runners: tasks from a file, revealed in file order (``TaskListGoals``).
"""
from __future__ import annotations

from typing import Optional, Protocol

import numpy as np

from sim.maps import GridMap


class GoalStream(Protocol):
    def next(self, agents: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """New goals (K, 2) for ``agents`` (K,) standing at ``positions`` (K, 2)."""


def sample_starts(grid: GridMap, n: int, rng: np.random.Generator, mark: Optional[str] = None) -> np.ndarray:
    """``n`` distinct free cells, uniformly at random (from the named mark set when given)."""
    pool = grid.free_cells() if mark is None else grid.marks[mark]
    if n > len(pool):
        what = f"cell set {mark!r}" if mark else "map"
        raise ValueError(f"{n} agents but the {what} has only {len(pool)} free cells")
    return pool[rng.choice(len(pool), size=n, replace=False)].copy()


class _PerComponent:
    """Uniform choice among pool cells in the same connected component as the agent, not its own cell."""

    def __init__(self, grid: GridMap, rng: np.random.Generator, pool: np.ndarray) -> None:
        self.grid, self.rng = grid, rng
        comp = grid.components()
        labels = comp[pool[:, 0], pool[:, 1]]
        self.by_comp = {int(c): pool[labels == c] for c in np.unique(labels)}

    def next(self, agents: np.ndarray, positions: np.ndarray) -> np.ndarray:
        comp = self.grid.components()
        out = np.empty((len(agents), 2), dtype=np.int64)
        for k, p in enumerate(np.asarray(positions).reshape(-1, 2)):
            cells = self.by_comp.get(int(comp[p[0], p[1]]))
            if cells is None or len(cells) == 0 or (len(cells) == 1 and (cells[0] == p).all()):
                out[k] = p  # nowhere else to go in this component: the agent stays put
                continue
            while True:
                g = cells[self.rng.integers(len(cells))]
                if not (g == p).all():
                    break
            out[k] = g
        return out


class UniformGoals(_PerComponent):
    def __init__(self, grid: GridMap, rng: np.random.Generator) -> None:
        super().__init__(grid, rng, grid.free_cells())


class MarkedGoals(_PerComponent):
    def __init__(self, grid: GridMap, rng: np.random.Generator, mark: str = "goals") -> None:
        if mark not in grid.marks:
            raise ValueError(f"map {grid.name!r} has no cell set {mark!r}")
        super().__init__(grid, rng, grid.marks[mark])


class TaskListGoals:
    """LoRR-style: tasks are handed out in file order to whichever agent asks next; wraps around."""

    def __init__(self, tasks: np.ndarray) -> None:
        self.tasks = np.asarray(tasks, dtype=np.int64).reshape(-1, 2)
        if len(self.tasks) == 0:
            raise ValueError("the task list is empty")
        self.cursor = 0

    def next(self, agents: np.ndarray, positions: np.ndarray) -> np.ndarray:
        idx = (self.cursor + np.arange(len(agents))) % len(self.tasks)
        self.cursor = int((self.cursor + len(agents)) % len(self.tasks))
        return self.tasks[idx].copy()
