"""MILP baseline for one-shot MAPF: a time-expanded network flow (pulp; HiGHS by default, CBC selectable).

Model (Yu & LaValle, "Optimal Multirobot Path Planning on Graphs: Complete Algorithms and Effective
Heuristics", IEEE T-RO 2016): one copy of the free cells per time step 0..T; a binary ``x[i, t, u->v]``
for agent i using the move (or wait) ``u -> v`` between t and t+1, restricted to states the agent
can be in (``dist(start, u) <= t`` and ``dist(u, goal) <= T - t``). Flow conservation per agent;
at most one agent per vertex per time (vertex conflicts); at most one agent over each edge per time
in either direction (swap conflicts). Objective:

- ``soc`` (sum of costs): ``y[i, t] = 1`` when agent i is on its goal at t and stays there until T
  (monotone in t); cost of agent i = ``sum_t (1 - y[i, t])`` for t < T = its last arrival time.
- ``makespan``: ``Y[t] <= y[i, t]`` for all i; makespan = ``sum_t (1 - Y[t])``.

``T`` defaults to the longest individual shortest path plus ``slack``; a status ``infeasible`` then
means "not within T", not "unsolvable". Status, bound and gap come from
:func:`planners.milp_solve.solve`; a time-limited answer is never labelled optimal.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal, Optional

import numpy as np
import pulp

from planners.mapf.distance import DistanceTables
from planners.mapf.graph import GridGraph
from planners.mapf.moves import check_conflicts
from planners.milp_solve import check_solver_args, new_variable_factory, solve


@dataclass(frozen=True)
class MapfMilpResult:
    status: str                       # optimal | time_limit_feasible | no_solution | infeasible
    objective: float                  # sum of costs or makespan of the incumbent (nan if none)
    bound: float                      # best proven lower bound (nan if unknown)
    gap: float
    horizon: int                      # T of the time expansion
    paths: Optional[np.ndarray]       # (N, T+1, 2) cells, or None
    n_binaries: int
    wall_s: float
    solve_s: float
    solver: str

    @property
    def has_solution(self) -> bool:
        return self.paths is not None


def sum_of_costs(paths: np.ndarray, goals: np.ndarray) -> int:
    """Sum over agents of the last time step at which each agent arrives at its goal and stays."""
    total = 0
    for p, g in zip(paths, goals):
        off = np.flatnonzero((p != g).any(axis=1))
        total += int(off[-1] + 1) if off.size else 0
    return total


def solve_mapf_milp(blocked: np.ndarray, starts: np.ndarray, goals: np.ndarray, *,
                    objective: Literal["soc", "makespan"] = "soc", horizon: Optional[int] = None,
                    slack: int = 4, time_limit: float = 30.0, solver: str = "highs",
                    threads: int | None = 1, msg: bool = False) -> MapfMilpResult:
    """Solve one-shot MAPF on ``blocked`` (``(H, W)`` bool) for ``starts`` -> ``goals`` (``(N, 2)`` cells)."""
    check_solver_args(solver, time_limit)
    if objective not in ("soc", "makespan"):
        raise ValueError(f"objective: expected 'soc' or 'makespan', got {objective!r}")
    t0 = time.perf_counter()
    G = GridGraph(np.asarray(blocked, bool))
    s_node, g_node = G.nodes(np.asarray(starts), "starts"), G.nodes(np.asarray(goals), "goals")
    N = len(s_node)
    if len(set(s_node.tolist())) < N or len(set(g_node.tolist())) < N:
        raise ValueError("starts and goals must be distinct cells per agent")
    tables = DistanceTables(G)
    d_goal = tables.store[tables.slots(g_node)].astype(np.int64)        # (N, F+1)
    d_start = tables.store[tables.slots(s_node)].astype(np.int64)
    lb = d_goal[np.arange(N), s_node]
    if (lb >= tables.unreachable).any():
        i = int(np.flatnonzero(lb >= tables.unreachable)[0])
        raise ValueError(f"agent {i}: goal {np.asarray(goals)[i].tolist()} is unreachable from its start")
    T = int(lb.max()) + int(slack) if horizon is None else int(horizon)
    if T < lb.max():
        raise ValueError(f"horizon {T} is shorter than the longest shortest path ({int(lb.max())})")

    prob = pulp.LpProblem("mapf_time_expanded", pulp.LpMinimize)
    new_var = new_variable_factory(prob)
    F = G.F
    nbr = G.nbr                                                         # (F+1, 5), col 0 = wait
    # x[(i, t, u, v)] for moves from (u, t) to (v, t+1) the agent can use
    x: dict[tuple[int, int, int, int], pulp.LpVariable] = {}
    into: dict[tuple[int, int], list] = {}       # (v, t+1) -> vars entering it (vertex conflicts)
    edge_use: dict[tuple[int, int, int], list] = {}   # (min(u,v), max(u,v), t) -> vars (swap conflicts)
    out_of: dict[tuple[int, int, int], list] = {}     # (i, u, t) -> vars leaving
    in_of: dict[tuple[int, int, int], list] = {}      # (i, v, t+1) -> vars entering
    for i in range(N):
        for t in range(T):
            ok_u = np.flatnonzero((d_start[i, :F] <= t) & (d_goal[i, :F] <= T - t))
            for u in ok_u.tolist():
                for v in nbr[u].tolist():
                    if v == F or d_goal[i, v] > T - t - 1 or d_start[i, v] > t + 1:
                        continue
                    var = new_var(f"x_{i}_{t}_{u}_{v}", cat="Binary")
                    x[(i, t, u, v)] = var
                    into.setdefault((v, t + 1), []).append(var)
                    out_of.setdefault((i, u, t), []).append(var)
                    in_of.setdefault((i, v, t + 1), []).append(var)
                    if u != v:
                        edge_use.setdefault((min(u, v), max(u, v), t), []).append(var)
    for i in range(N):
        prob += pulp.lpSum(out_of.get((i, int(s_node[i]), 0), [])) == 1, f"start_{i}"
        for t in range(1, T):
            for u in np.flatnonzero((d_start[i, :F] <= t) & (d_goal[i, :F] <= T - t)).tolist():
                prob += (pulp.lpSum(in_of.get((i, u, t), [])) == pulp.lpSum(out_of.get((i, u, t), []))), \
                    f"flow_{i}_{t}_{u}"
        prob += pulp.lpSum(in_of.get((i, int(g_node[i]), T), [])) == 1, f"end_{i}"
    for (v, t), vs in into.items():
        if len(vs) > 1:
            prob += pulp.lpSum(vs) <= 1, f"vertex_{v}_{t}"
    for (u, v, t), vs in edge_use.items():
        if len(vs) > 1:
            prob += pulp.lpSum(vs) <= 1, f"edge_{u}_{v}_{t}"
    # y[i, t]: on the goal at t and for good
    y = {}
    for i in range(N):
        g = int(g_node[i])
        for t in range(T + 1):
            y[i, t] = new_var(f"y_{i}_{t}", cat="Binary")
            at_goal = pulp.lpSum(in_of.get((i, g, t), [])) if t > 0 else int(s_node[i] == g)
            prob += y[i, t] <= at_goal
            if t > 0:
                prob += y[i, t - 1] <= y[i, t]
        prob += y[i, T] == 1
    if objective == "soc":
        prob += pulp.lpSum(1 - y[i, t] for i in range(N) for t in range(T))
    else:
        Y = [new_var(f"Y_{t}", cat="Binary") for t in range(T + 1)]
        for t in range(T + 1):
            for i in range(N):
                prob += Y[t] <= y[i, t]
        prob += pulp.lpSum(1 - Y[t] for t in range(T))
    n_bin = len(x) + len(y) + (T + 1 if objective == "makespan" else 0)
    out = solve(prob, solver=solver, time_limit=time_limit, threads=threads, msg=msg)
    paths = None
    if out.has_solution:
        node = np.empty((N, T + 1), np.int64)
        node[:, 0] = s_node
        for (i, t, u, v), var in x.items():
            if var.varValue is not None and var.varValue > 0.5:
                node[i, t + 1] = v
        paths = np.stack([G.cells(node[i]) for i in range(N)])
        for t in range(T):  # the model forbids these; check, do not trust
            ve, ee = check_conflicts(paths[:, t], paths[:, t + 1])
            if len(ve) or len(ee):
                raise RuntimeError(f"MILP solution has conflicts at t={t}: {ve.tolist()} {ee.tolist()}")
    return MapfMilpResult(status=out.status, objective=out.objective, bound=out.bound, gap=out.gap, horizon=T,
                          paths=paths, n_binaries=n_bin, wall_s=time.perf_counter() - t0,
                          solve_s=out.solve_s, solver=solver)
