"""Goal streams for lifelong tasks: when an agent reaches its goal it gets the next one at once.

- `UniformGoals`: POGEMA lifelong MAPF protocol (Skrynnik et al., ICLR 2025): a new goal uniform
  over the free cells of the agent's 4-connected component, never its current cell.
- `MarkedGoals`: the same over a named cell set, e.g. the WFI warehouse protocol (goals among the
  shelf-adjacent ``@`` cells, starts in the ``$`` side columns via `sample_starts`).
- `TaskListGoals`: League of Robot Runners 2023 task files (``numTasksReveal: 1``).
- `FixedGoals`: one-shot goals that never change.

Every random draw comes from the ``numpy.random.Generator`` handed in, so streams are reproducible.
"""
from __future__ import annotations

from typing import Literal, Optional, Protocol, runtime_checkable

import numpy as np

from sim.maps import GridMap


@runtime_checkable
class GoalStream(Protocol):
    def initial(self, n: int, positions: Optional[np.ndarray] = None) -> np.ndarray:
        """First goals ``(n, 2)`` of agents ``0..n-1`` standing at ``positions`` ``(n, 2)``."""
        ...

    def next(self, agent_ids: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """New goals ``(K, 2)`` for ``agent_ids`` ``(K,)`` that stand at ``positions`` ``(K, 2)``
        (normally on the goal they just reached)."""
        ...


# --- capacity checks and start cells --------------------------------------------------------------
def count_free_cells(grid: GridMap, mark: Optional[str] = None) -> int:
    """Free cells of the map, or the size of the named mark set."""
    if mark is None:
        return int(np.count_nonzero(~grid.blocked))
    return len(_mark(grid, mark))


def check_capacity(grid: GridMap, n: int, mark: Optional[str] = None) -> None:
    """Raise ValueError when ``n`` robots cannot each get their own cell (of the mark set)."""
    have = count_free_cells(grid, mark)
    if n > have:
        what = f"cell set {mark!r} of map {grid.name!r} has" if mark else f"map {grid.name!r} has"
        raise ValueError(f"{n} robots but the {what} only {have} free cells")


def sample_starts(grid: GridMap, n: int, rng: np.random.Generator, mark: Optional[str] = None) -> np.ndarray:
    """``n`` distinct cells drawn uniformly without replacement from the free cells (or the mark
    set ``mark``, e.g. ``"starts"`` = the side columns of ``wfi_warehouse``)."""
    if n < 0:
        raise ValueError(f"the number of robots must be >= 0, got {n}")
    check_capacity(grid, n, mark)
    pool = grid.free_cells() if mark is None else _mark(grid, mark)
    return pool[rng.choice(len(pool), size=n, replace=False)].copy()


def _mark(grid: GridMap, mark: str) -> np.ndarray:
    if mark not in grid.marks:
        have = ", ".join(repr(k) for k in grid.marks) or "none"
        raise ValueError(f"map {grid.name!r} has no cell set {mark!r} (it has: {have})")
    return grid.marks[mark]


# --- per-component uniform draws ------------------------------------------------------------------
class _PerComponent:
    """Uniform over the pool cells in the agent's connected component, never the agent's cell.

    The pool is sorted by component so a draw is one vectorised ``rng.integers`` over per-agent
    ranges; draws that hit the agent's own cell are redrawn (at most a few rounds in practice).
    """

    def __init__(self, grid: GridMap, rng: np.random.Generator, pool: np.ndarray, what: str) -> None:
        self.grid, self.rng, self.what = grid, rng, what
        comp = grid.components()
        labels = comp[pool[:, 0], pool[:, 1]]
        order = np.argsort(labels, kind="stable")  # keeps row-major order inside a component
        self.pool = pool[order]
        n_comp = int(comp.max()) + 1
        self.size = np.bincount(labels, minlength=n_comp)
        self.offset = np.concatenate([[0], np.cumsum(self.size)[:-1]])

    def _draw(self, positions: np.ndarray) -> np.ndarray:
        positions = np.asarray(positions, dtype=np.int64).reshape(-1, 2)
        ok = self.grid.is_free(positions)
        if not ok.all():
            k = int(np.flatnonzero(~ok)[0])
            raise ValueError(f"position {positions[k].tolist()} is blocked or outside map {self.grid.name!r}")
        c = self.grid.components()[positions[:, 0], positions[:, 1]]
        size, off = self.size[c], self.offset[c]
        if (size == 0).any():
            k = int(np.flatnonzero(size == 0)[0])
            raise ValueError(f"no {self.what} cell is reachable from {positions[k].tolist()} on map {self.grid.name!r}")
        out = positions.copy()
        # An agent whose component pool holds only its own cell keeps it as its goal; one whose pool
        # is a single other cell gets that cell (the redraw loop below would never end otherwise).
        single = np.flatnonzero(size == 1)
        out[single] = self.pool[off[single]]
        todo = np.flatnonzero(size > 1)
        while todo.size:
            pick = self.pool[off[todo] + self.rng.integers(0, size[todo])]
            out[todo] = pick
            todo = todo[(pick == positions[todo]).all(axis=1)]
        return out

    def initial(self, n: int, positions: Optional[np.ndarray] = None) -> np.ndarray:
        if positions is None:
            if (self.size > 0).sum() > 1:
                raise ValueError(f"map {self.grid.name!r}: the {self.what} cells lie in several connected "
                                 f"components; initial goals need the agents' positions")
            return self.pool[self.rng.integers(0, len(self.pool), size=n)].copy()
        positions = np.asarray(positions).reshape(-1, 2)
        if len(positions) != n:
            raise ValueError(f"initial: {n} agents but {len(positions)} positions")
        return self._draw(positions)

    def next(self, agent_ids: np.ndarray, positions: np.ndarray) -> np.ndarray:
        return self._draw(positions)


class UniformGoals(_PerComponent):
    """POGEMA lifelong protocol: goals uniform over the free cells of the agent's component."""

    def __init__(self, grid: GridMap, rng: np.random.Generator) -> None:
        super().__init__(grid, rng, grid.free_cells(), "free")


class MarkedGoals(_PerComponent):
    """Goals uniform over the mark set ``mark`` within the agent's component (WFI: ``"goals"``,
    the shelf-adjacent cells of ``wfi_warehouse``)."""

    def __init__(self, grid: GridMap, rng: np.random.Generator, mark: str = "goals") -> None:
        super().__init__(grid, rng, _mark(grid, mark), f"{mark!r}")


# --- task files -----------------------------------------------------------------------------------
class TaskListGoals:
    """League of Robot Runners 2023 task lists, ``numTasksReveal: 1`` (each agent holds one task).

    ``strategy="roundrobin"`` (default; what the LoRR 2023 instances declare, ``InfAssignSystem`` in
    the LoRR start kit): with N agents, agent k's j-th task (j = 0, 1, ...) is task
    ``(j * N + k) mod T`` of the file, so agents walk the list with stride N and wrap around
    independently of how fast the others are. ``strategy="greedy"`` (LoRR's ``TaskAssignSystem``):
    one queue in file order, the next task goes to whichever agent asks next (ties in increasing
    agent id); LoRR stops when the queue is empty, we wrap around to the start instead.

    N is fixed by `initial` (or by the first `next` call, which must then ask for agents 0..N-1).
    A task on the agent's current cell is handed out as is (LoRR does the same; it completes on the
    next step's check).
    """

    def __init__(self, tasks: np.ndarray, n_agents: Optional[int] = None,
                 strategy: Literal["roundrobin", "greedy"] = "roundrobin") -> None:
        self.tasks = np.asarray(tasks, dtype=np.int64).reshape(-1, 2)
        if len(self.tasks) == 0:
            raise ValueError("the task list is empty")
        if strategy not in ("roundrobin", "greedy"):
            raise ValueError(f"unknown task assignment strategy {strategy!r} (expected 'roundrobin' or 'greedy')")
        self.strategy = strategy
        self.n: Optional[int] = None
        self.counter: Optional[np.ndarray] = None  # roundrobin: tasks handed to each agent so far
        self.cursor = 0  # greedy: next task of the queue
        if n_agents is not None:
            self._start(n_agents)

    def _start(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"TaskListGoals needs at least one agent, got {n}")
        self.n, self.counter, self.cursor = n, np.zeros(n, dtype=np.int64), 0

    def initial(self, n: int, positions: Optional[np.ndarray] = None) -> np.ndarray:
        self._start(n)
        return self.next(np.arange(n), np.zeros((n, 2), dtype=np.int64))

    def next(self, agent_ids: np.ndarray, positions: np.ndarray) -> np.ndarray:
        ids = np.asarray(agent_ids, dtype=np.int64).reshape(-1)
        if self.n is None:
            if not np.array_equal(ids, np.arange(len(ids))):
                raise ValueError("TaskListGoals: call initial(n) first (or ask for agents 0..n-1 on the first call)")
            self._start(len(ids))
        assert self.counter is not None and self.n is not None
        if ids.size and (ids.min() < 0 or ids.max() >= self.n):
            raise ValueError(f"TaskListGoals: agent ids must lie in [0, {self.n}), got {ids.min()}..{ids.max()}")
        if self.strategy == "greedy":
            order = np.argsort(ids, kind="stable")
            idx = np.empty(len(ids), dtype=np.int64)
            idx[order] = (self.cursor + np.arange(len(ids))) % len(self.tasks)
            self.cursor = int((self.cursor + len(ids)) % len(self.tasks))
            return self.tasks[idx].copy()
        if len(np.unique(ids)) != len(ids):
            raise ValueError("TaskListGoals: an agent id appears twice in one call")
        idx = (self.counter[ids] * self.n + ids) % len(self.tasks)
        self.counter[ids] += 1
        return self.tasks[idx].copy()


class FixedGoals:
    """One-shot goals: agent k's goal is ``goals[k]`` for ever (a done agent stays done)."""

    def __init__(self, goals: np.ndarray) -> None:
        self.goals = np.asarray(goals, dtype=np.int64).reshape(-1, 2).copy()

    def initial(self, n: int, positions: Optional[np.ndarray] = None) -> np.ndarray:
        if n != len(self.goals):
            raise ValueError(f"FixedGoals holds {len(self.goals)} goals but {n} agents were asked for")
        return self.goals.copy()

    def next(self, agent_ids: np.ndarray, positions: np.ndarray) -> np.ndarray:
        return self.goals[np.asarray(agent_ids, dtype=np.int64).reshape(-1)].copy()
