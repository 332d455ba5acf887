"""PIBT: Priority Inheritance with Backtracking for iterative (lifelong) MAPF.

K. Okumura, M. Machida, X. Défago, Y. Tamura, "Priority Inheritance with Backtracking for
Iterative Multi-agent Path Finding", IJCAI 2019 / Artificial Intelligence 310, 2022.

Every step, agents in decreasing priority pick their next vertex from a candidate list sorted by
distance-to-goal; an agent that wants a vertex occupied by a not-yet-planned agent passes its
priority on (*priority inheritance*) and the occupant must move away; if the occupant cannot, the
caller tries its next candidate (*backtracking*). The joint move has no vertex or swap conflict
by construction. Priorities grow by one every step an agent is away from its goal and drop back
to a random fraction in [0, 1) when it reaches it (or is handed a new goal), which gives the
reachability guarantee on graphs where every pair of adjacent vertices lies on a cycle.

Optional static guidance (off by default, our addition) only changes the *order* of the candidate
lists, so conflict-freeness and reachability are untouched: with ``corridor_penalty`` /
``lane_penalty`` > 0 the tables hold least costs under the soft one-way highways of
`guidance.highway_costs` instead of plain BFS distances. On the POGEMA wfi warehouse this raises
throughput by 8% at 32 agents and by about 60% at 128-192 agents (see `bench_lifelong.py`).
"""
from __future__ import annotations

import numpy as np

from planners.mapf.base import GridPlannerBase
from planners.mapf.graph import GridGraph
from planners.mapf.guidance import highway_costs

NIL = -1


def pibt_step(Q_from: list[int], C: list[list[int]], order: list[int], n_nodes: int) -> list[int]:
    """One PIBT step (Okumura et al. 2022, Algorithm 1).

    ``Q_from[i]``: node of agent i; ``C[i]``: its candidate next nodes, best first (its own node
    included; the sentinel ``n_nodes`` marks a blocked move and is never taken); ``order``:
    agents by decreasing priority. Returns ``Q_to``. funcPIBT is written with an explicit stack
    (no recursion limit at 10,000 agents); a child's success ends the whole chain at once.
    """
    N = len(Q_from)
    Q_to = [NIL] * N
    occupied_now = [NIL] * (n_nodes + 1)
    occupied_nxt = [NIL] * (n_nodes + 1)
    occupied_nxt[n_nodes] = N                      # the sentinel is never free
    for i, v in enumerate(Q_from):
        occupied_now[v] = i
    tried = [0] * N                                # position in C[i] of funcPIBT's loop

    def func_pibt(i: int) -> bool:
        stack = [i]
        while stack:
            a = stack[-1]
            while True:
                k = tried[a]
                if k == len(C[a]):                 # every candidate failed: stay, report failure
                    Q_to[a] = Q_from[a]
                    occupied_nxt[Q_from[a]] = a
                    stack.pop()                    # the caller resumes with its next candidate
                    break
                tried[a] = k + 1
                v = C[a][k]
                if occupied_nxt[v] != NIL:         # vertex conflict
                    continue
                j = occupied_now[v]
                if j != NIL and Q_to[j] == Q_from[a]:   # swap conflict
                    continue
                Q_to[a] = v
                occupied_nxt[v] = a
                if j != NIL and Q_to[j] == NIL:    # priority inheritance: j must leave v
                    stack.append(j)
                    break
                return True                        # success of a settles every caller
        return False

    for i in order:
        if Q_to[i] == NIL:
            func_pibt(i)
    return Q_to


class PIBT(GridPlannerBase):
    """Lifelong PIBT planner (see module docstring); implements `LifelongPlanner`.

    ``corridor_penalty`` / ``lane_penalty``: highway guidance in extra moves (0, 0 = plain PIBT;
    10, 0.5 = tuned on wfi_warehouse); ``max_table_bytes``: memory cap of the distance cache.
    """

    def __init__(self, corridor_penalty: float = 0.0, lane_penalty: float = 0.0,
                 max_table_bytes: int = 2 * 1024 ** 3):
        if corridor_penalty < 0 or lane_penalty < 0:
            raise ValueError("PIBT: expected corridor_penalty >= 0 and lane_penalty >= 0")
        self.corridor_penalty, self.lane_penalty = float(corridor_penalty), float(lane_penalty)
        super().__init__(max_table_bytes)

    def edge_cost(self, graph: GridGraph) -> np.ndarray | None:
        if self.corridor_penalty or self.lane_penalty:
            return highway_costs(graph, self.corridor_penalty, self.lane_penalty)
        return None

    def reset(self, blocked: np.ndarray, starts: np.ndarray, goals: np.ndarray,
              rng: np.random.Generator) -> None:
        self.prepare(blocked, starts, goals, rng)
        starts_n = self.graph.nodes(starts, "starts")
        self._goals = self.graph.nodes(goals, "goals")
        if starts_n.shape != self._goals.shape:
            raise ValueError(f"PIBT.reset: {len(starts_n)} starts but {len(self._goals)} goals")
        self.eps = rng.random(len(starts_n))          # priority tie-break, fixed per agent
        self.priority = self.eps.copy()
        self._last: tuple[np.ndarray, np.ndarray] | None = None

    def step(self, positions: np.ndarray, goals: np.ndarray) -> np.ndarray:
        G = self.graph
        Q_from = G.nodes(positions, "positions")
        goal = G.nodes(goals, "goals")
        if Q_from.shape != self._goals.shape or goal.shape != self._goals.shape:
            raise ValueError(f"{type(self).__name__}.step: expected {len(self._goals)} positions and goals")
        # priorities: +1 while away from the goal; reset when reached (a new goal means reached)
        done = (Q_from == goal) | (goal != self._goals)
        self.priority = np.where(done, self.eps, self.priority + 1.0)
        self._goals = goal
        Q_to = self._joint_move(Q_from, goal)
        self._last = (Q_from, Q_to)
        return G.cells(Q_to)

    def _joint_move(self, Q_from: np.ndarray, goal: np.ndarray, priority: np.ndarray | None = None) -> np.ndarray:
        """One PIBT step from nodes ``Q_from`` (variants override this, not `step`)."""
        C = self._candidates(Q_from, goal)
        order = np.argsort(-(self.priority if priority is None else priority), kind="stable")
        return np.array(pibt_step(Q_from.tolist(), C.tolist(), order.tolist(), self.graph.F), dtype=np.int64)

    def _candidates(self, Q_from: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """``(N, 5)`` candidate nodes per agent, best first: distance (or guided cost) to the
        goal, ties broken at random."""
        cand = self.graph.nbr[Q_from]                                   # (N, 5), col 0 = stay
        slots = self.tables.slots(goal)                                 # may grow the store
        key = self.tables.store[slots[:, None], cand] + self.rng.random(cand.shape)
        return np.take_along_axis(cand, np.argsort(key, axis=1), axis=1)

    def planned_paths(self) -> list[np.ndarray] | None:
        """The last step's move of each agent as a ``(2, 2)`` [current, next] cell array."""
        if self._last is None:
            return None
        a, b = (self.graph.cells(q) for q in self._last)
        return [np.stack([a[i], b[i]]) for i in range(len(a))]
