"""MILP oracle for passing-order scheduling (Meng et al., ICRA 2025, Sec. III-C: big-M on interval
entry/exit times, objective mean completion time), built with pulp.

Variables: one time per event (entry/exit of every node, goal of every robot, lower bound =
release + s / speed), a binary ``x_e`` per joint edge (1: u's robot goes first; fixed where the
order is forced) and a binary ``f_e`` per edge that allows following (1: following). Constraints
are exactly the evaluator's (`planners.scheduling.evaluate`), each disjunct switched off by
big-M, plus ``sum f_e <= region_cap[r]`` per region.

Big-M comes from an incumbent (FIFO decoded with the rank decoder): with the cut
``sum C_i <= N * J_fifo`` every event of robot i happens before
``C_i^max = N * J_fifo - sum_{k != i} nominal_k``, so ``M_e = max(C_i^max, C_j^max) + headway``
is valid and much tighter than a sum of all travel times.

Status: pulp's ``LpStatus`` says "Optimal" after a time-limit stop; we read ``prob.sol_status``
and the solver's own bound instead and report ``optimal`` / ``time_limit_feasible`` /
``no_solution`` / ``infeasible`` with the best bound and the relative gap.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pulp

from planners.milp_solve import SOLVERS, check_solver_args, new_variable_factory, solve
from planners.scheduling.evaluate import Choices, Schedule, evaluate
from planners.scheduling.graph import CoordGraph

__all__ = ["SOLVERS", "MilpResult", "solve_milp"]


@dataclass(frozen=True, eq=False)
class MilpResult:
    status: str              # optimal | time_limit_feasible | no_solution | infeasible
    objective: float         # the solver's incumbent objective (mean completion), nan if none
    bound: float             # best proven lower bound on the optimum (nan if unknown)
    gap: float               # (objective - bound) / objective, 0 when optimal
    wall_s: float            # build + solve wall time
    solve_s: float           # solver time only
    solver: str
    choices: Choices | None
    schedule: Schedule | None  # the evaluator's schedule for ``choices``
    n_binaries: int
    n_constraints: int
    info: dict  # raw solver facts (HiGHS: model status, dual bound, warm_start_discarded)

    @property
    def has_solution(self) -> bool:
        return self.choices is not None


def solve_milp(graph: CoordGraph, *, time_limit: float = 30.0, solver: str = "highs",
               warm_start: Choices | None = None, gap_rel: float = 1e-6, threads: int | None = 1,
               msg: bool = False) -> MilpResult:
    """Solve the passing-order MILP. ``warm_start``: admissible choices used as MIP start and for
    big-M (default: FIFO through the rank decoder). ``solver``: ``'highs'`` (highspy through
    pulp) or ``'cbc'`` (pulp's bundled CBC)."""
    from planners.scheduling.decode import ranks_to_choices

    check_solver_args(solver, time_limit)
    t0 = time.perf_counter()
    V, N, E = graph.n_nodes, graph.n_robots, graph.n_edges
    if warm_start is None:
        warm_start = ranks_to_choices(graph, graph.node_t_in)
    warm = evaluate(graph, warm_start)
    if not warm.feasible:
        raise ValueError(f"warm_start: choices are not admissible "
                         f"({warm.violations or 'deadlock'})")
    nominal = graph.nominal_completion
    total_ub = float(warm.completion.sum())
    c_max = total_ub - (nominal.sum() - nominal)  # per-robot completion bound under the cut
    h = graph.headway

    prob = pulp.LpProblem("passing_order", pulp.LpMinimize)
    new_var = new_variable_factory(prob)
    n_ev = 2 * V + N
    t = [new_var(f"t{e}", lowBound=float(graph.event_base[e])) for e in range(n_ev)]
    prob += pulp.lpSum(t[2 * V + i] for i in range(N)) * (1.0 / N)
    prob += pulp.lpSum(t[2 * V + i] for i in range(N)) <= total_ub + 1e-6, "incumbent_cut"
    for a, b, w in zip(graph.chain_src.tolist(), graph.chain_dst.tolist(),
                       graph.chain_w.tolist()):
        prob += t[b] >= t[a] + w
    u_arr, v_arr = graph.joint_edges
    rob = graph.node_robot
    x: list = []
    f: list = []
    n_bin = 0
    for e in range(E):
        u, v = int(u_arr[e]), int(v_arr[e])
        M = float(max(c_max[rob[u]], c_max[rob[v]]) + h)
        forced = int(graph.edge_forced[e])
        if forced:
            xe = 1 if forced > 0 else 0
        else:
            xe = new_var(f"x{e}", cat="Binary")
            n_bin += 1
        if graph.edge_follow_ok[e]:
            fe = new_var(f"f{e}", cat="Binary")
            n_bin += 1
        else:
            fe = 0
        x.append(xe)
        f.append(fe)
        # exclusive (f = 0): second enters after first exits
        prob += t[v] >= t[V + u] - M * (1 - xe) - M * fe
        prob += t[u] >= t[V + v] - M * xe - M * fe
        if graph.edge_follow_ok[e]:  # following (f = 1): headway at entry and exit
            prob += t[v] >= t[u] + h - M * (1 - xe) - M * (1 - fe)
            prob += t[V + v] >= t[V + u] + h - M * (1 - xe) - M * (1 - fe)
            prob += t[u] >= t[v] + h - M * xe - M * (1 - fe)
            prob += t[V + u] >= t[V + v] + h - M * xe - M * (1 - fe)
    for r in range(graph.n_regions):
        fr = [f[e] for e in np.nonzero((graph.edge_region == r) & graph.edge_follow_ok)[0]]
        if len(fr) > graph.region_cap[r]:
            prob += pulp.lpSum(fr) <= int(graph.region_cap[r]), f"cap{r}"

    # MIP start
    start = {f"t{e}": float(v) for e, v in
             enumerate(np.concatenate([warm.entry, warm.exit, warm.completion]))}
    for e in range(E):
        if isinstance(x[e], pulp.LpVariable):
            x[e].setInitialValue(int(warm_start.first[e]))
            start[x[e].name] = float(warm_start.first[e])
        if isinstance(f[e], pulp.LpVariable):
            f[e].setInitialValue(int(warm_start.follow[e]))
            start[f[e].name] = float(warm_start.follow[e])
    for e in range(n_ev):
        t[e].setInitialValue(start[f"t{e}"])

    n_cons = prob.numConstraints() if hasattr(prob, "numConstraints") else len(prob.constraints)
    out = solve(prob, solver=solver, time_limit=time_limit, gap_rel=gap_rel, threads=threads, msg=msg,
                warm_values=start)
    status, solve_s, info = out.status, out.solve_s, out.info
    choices = schedule = None
    obj, bound, gap = out.objective, out.bound, out.gap
    if out.has_solution:
        first = np.array([bool(round(pulp.value(xe))) if isinstance(xe, pulp.LpVariable)
                          else bool(xe) for xe in x], dtype=bool)
        follow = np.array([bool(round(pulp.value(fe))) if isinstance(fe, pulp.LpVariable)
                           else False for fe in f], dtype=bool)
        choices = Choices(first=first, follow=follow)
        schedule = evaluate(graph, choices)
    return MilpResult(status=status, objective=obj, bound=float(bound), gap=gap,
                      wall_s=time.perf_counter() - t0, solve_s=solve_s, solver=solver,
                      choices=choices, schedule=schedule, n_binaries=n_bin, n_constraints=n_cons,
                      info=dict(info))
