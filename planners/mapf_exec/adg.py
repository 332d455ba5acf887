"""Action dependency graph (ADG) for robust plan execution.

W. Hönig, S. Kiesel, A. Tinka, J. W. Durham, N. Ayanian, "Persistent and Robust Execution of MAPF
Schedules in Warehouses", IEEE RA-L 2019.

A synchronous grid plan is turned into a partial order: each agent's plan becomes its sequence of
*moves* (waits dropped); move ``(i, k)`` takes agent i from cell ``c[i][k]`` to ``c[i][k+1]``.
Type-1 edges keep each agent's own order. Type-2 edges: if agent j enters a cell at a later time
than agent i leaves it in the plan, j's move into it depends on i's move out of it. A robot may
start a move once every move it depends on is *done* (the other robot has arrived in its next
cell), whatever the timing: robots that are delayed, fast or stopped never meet in a cell and never
swap, and the execution finishes in the plan's order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ADG:
    """``cells[i]``: (K_i + 1, 2) cells agent i passes through (start first); ``times[i]``: (K_i,)
    plan time at which move k ends; ``deps[(i, k)]``: moves (j, m) that must be done before (i, k)
    starts. ``done[i]``: number of moves of agent i completed so far."""

    cells: list[np.ndarray]
    times: list[np.ndarray]
    deps: dict[tuple[int, int], list[tuple[int, int]]]
    done: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.done is None:
            self.done = np.zeros(len(self.cells), dtype=np.int64)

    @property
    def n(self) -> int:
        return len(self.cells)

    def n_moves(self, i: int) -> int:
        return len(self.cells[i]) - 1

    def finished(self) -> np.ndarray:
        return np.array([self.done[i] >= self.n_moves(i) for i in range(self.n)])

    def enabled(self, i: int) -> bool:
        """May agent i start its next move now?"""
        k = int(self.done[i])
        if k >= self.n_moves(i):
            return False
        return all(self.done[j] > m for j, m in self.deps.get((i, k), ()))

    def current_cell(self, i: int) -> np.ndarray:
        return self.cells[i][self.done[i]]

    def target_cell(self, i: int) -> np.ndarray:
        """Where agent i should be heading: its next cell if that move is enabled, else its current cell."""
        return self.cells[i][self.done[i] + 1] if self.enabled(i) else self.cells[i][self.done[i]]

    def complete(self, i: int) -> None:
        """Agent i has arrived in the target of its next move."""
        if not self.enabled(i):
            raise RuntimeError(f"agent {i}: move {int(self.done[i])} completed before it was enabled")
        self.done[i] += 1

    def remaining_cells(self, i: int) -> np.ndarray:
        return self.cells[i][self.done[i]:]


def build_adg(paths: np.ndarray) -> ADG:
    """ADG of a synchronous, conflict-free plan ``paths`` (N, T+1, 2) of cells."""
    paths = np.asarray(paths, dtype=np.int64)
    n, T1, _ = paths.shape
    cells, times = [], []
    # visits[cell] = list of (t_enter, t_leave, agent, move index that entered (-1 = start), move index that leaves)
    visits: dict[tuple[int, int], list[tuple[int, int, int, int, int]]] = {}
    for i in range(n):
        moved = np.flatnonzero((paths[i, 1:] != paths[i, :-1]).any(axis=1)) + 1     # times a move ends
        seq = np.concatenate([paths[i, :1], paths[i, moved]])
        cells.append(seq)
        times.append(moved)
        enter = np.concatenate([[0], moved])
        for k, c in enumerate(seq):
            leave = int(moved[k]) - 1 if k < len(moved) else T1 + 1   # leaves during (leave, leave+1]
            visits.setdefault((int(c[0]), int(c[1])), []).append((int(enter[k]), leave, i, k - 1, k))
    deps: dict[tuple[int, int], list[tuple[int, int]]] = {}
    # Type-1 edges (each agent's own order) are implicit: an agent's next move is always done[i].
    for c, vs in visits.items():
        vs.sort()
        for a in range(len(vs)):
            t_in_a, t_out_a, ia, _, leave_move_a = vs[a]
            for b in range(a + 1, len(vs)):
                t_in_b, _, ib, enter_move_b, _ = vs[b]
                if ib == ia or enter_move_b < 0:
                    continue
                if t_in_b <= t_out_a:
                    raise ValueError(f"plan is not conflict-free: agents {ia} and {ib} share cell {list(c)}")
                if leave_move_a < len(times[ia]):                           # a leaves c by its move leave_move_a
                    deps.setdefault((ib, enter_move_b), []).append((ia, leave_move_a))   # type 2
                else:                                                     # a never leaves: b can never enter
                    raise ValueError(f"plan is not conflict-free: agent {ib} enters cell {list(c)} where "
                                     f"agent {ia} stays")
    return ADG(cells=cells, times=times, deps=deps)
