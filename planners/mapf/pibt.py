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

Optional congestion-aware guidance (off by default, our addition) only changes the *order* of
the candidate lists, so conflict-freeness is untouched:

* ``contraflow_cost``: moving ``u -> v`` costs extra ``contraflow_cost * flow[v -> u]``, an
  exponentially decayed count of recent moves along the same edge in the opposite direction;
  lanes form in corridors instead of head-on pushing.
* ``occupied_cost``: extra cost for a candidate currently occupied by another agent, so that
  among equally short moves a free cell wins over pushing somebody.
"""
from __future__ import annotations

import numpy as np

from planners.mapf.distance import DistanceTables
from planners.mapf.graph import GridGraph

NIL = -1
OPPOSITE = np.array([0, 2, 1, 4, 3])   # action that undoes each POGEMA action


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


class PIBT:
    """Lifelong PIBT planner (see module docstring); implements `LifelongPlanner`.

    Parameters: ``contraflow_cost`` and ``occupied_cost`` (guidance, 0 = plain PIBT),
    ``flow_decay`` (per-step decay of the flow counts), ``max_table_bytes`` (distance cache).
    """

    def __init__(self, contraflow_cost: float = 0.0, occupied_cost: float = 0.0,
                 flow_decay: float = 0.9, max_table_bytes: int = 2 * 1024 ** 3):
        if contraflow_cost < 0 or occupied_cost < 0 or not 0 <= flow_decay < 1:
            raise ValueError("PIBT: expected contraflow_cost >= 0, occupied_cost >= 0, 0 <= flow_decay < 1")
        self.contraflow_cost = float(contraflow_cost)
        self.occupied_cost = float(occupied_cost)
        self.flow_decay = float(flow_decay)
        self.max_table_bytes = int(max_table_bytes)
        self.graph: GridGraph | None = None

    def reset(self, blocked: np.ndarray, starts: np.ndarray, goals: np.ndarray,
              rng: np.random.Generator) -> None:
        if self.graph is None or not np.array_equal(self.graph.blocked, blocked):
            self.graph = GridGraph(blocked)
            self.tables = DistanceTables(self.graph, self.max_table_bytes)
        starts_n = self.graph.nodes(starts, "starts")
        self._goals = self.graph.nodes(goals, "goals")
        if starts_n.shape != self._goals.shape:
            raise ValueError(f"PIBT.reset: {len(starts_n)} starts but {len(self._goals)} goals")
        self.rng = rng
        self.eps = rng.random(len(starts_n))          # priority tie-break, fixed per agent
        self.priority = self.eps.copy()
        self.flow = np.zeros((self.graph.F + 1, 5))   # decayed move counts out of v by action
        self._last = None

    def step(self, positions: np.ndarray, goals: np.ndarray) -> np.ndarray:
        G = self.graph
        Q_from = G.nodes(positions, "positions")
        goal = G.nodes(goals, "goals")
        if Q_from.shape != self._goals.shape or goal.shape != self._goals.shape:
            raise ValueError(f"PIBT.step: expected {len(self._goals)} positions and goals")
        # priorities: +1 while away from the goal; reset when reached (a new goal means reached)
        done = (Q_from == goal) | (goal != self._goals)
        self.priority = np.where(done, self.eps, self.priority + 1.0)
        self._goals = goal
        C = self._candidates(Q_from, goal)
        order = np.argsort(-self.priority, kind="stable")
        Q_to = np.array(pibt_step(Q_from.tolist(), C.tolist(), order.tolist(), G.F), dtype=np.int64)
        if self.contraflow_cost:
            self.flow *= self.flow_decay
            act = (G.nbr[Q_from] == Q_to[:, None]).argmax(axis=1)
            np.add.at(self.flow, (Q_from, act), 1.0)
        self._last = (Q_from, Q_to)
        return G.cells(Q_to)

    def _candidates(self, Q_from: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """``(N, 5)`` candidate nodes per agent, best first: distance-to-goal + guidance + a
        random tie-break in [0, 1e-3) (smaller than any guidance step worth having)."""
        G = self.graph
        cand = G.nbr[Q_from]                                            # (N, 5), col 0 = stay
        slots = self.tables.slots(goal)
        key = self.tables.store[slots[:, None], cand].astype(np.float64)
        if self.occupied_cost:
            occ = np.zeros(G.F + 1, dtype=bool)
            occ[Q_from] = True
            key[:, 1:] += self.occupied_cost * occ[cand[:, 1:]]
        if self.contraflow_cost:
            # flow out of the candidate v back towards u: action OPPOSITE[a] taken at v
            key += self.contraflow_cost * self.flow[cand, OPPOSITE[None, :]]
        key += 1e-3 * self.rng.random(key.shape)
        return np.take_along_axis(cand, np.argsort(key, axis=1), axis=1)

    def planned_paths(self) -> list[np.ndarray] | None:
        """The last step's move of each agent as a ``(2, 2)`` [current, next] cell array."""
        if self._last is None:
            return None
        a, b = (self.graph.cells(q) for q in self._last)
        return [np.stack([a[i], b[i]]) for i in range(len(a))]
