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

import contextlib
import os
import re
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pulp

from planners.scheduling.evaluate import Choices, Schedule, evaluate
from planners.scheduling.graph import CoordGraph

SOLVERS = ("highs", "cbc")


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


@contextlib.contextmanager
def _quiet_stdout():
    """Silence file descriptor 1 (C-level prints) for the duration."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real stdout (embedded interpreters): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


class _HiGHSWarm(pulp.HiGHS):
    """pulp's highspy interface plus a MIP start (pulp's HiGHS class ignores warm starts) and
    access to the MIP dual bound.

    Guard: with a MIP start, HiGHS 1.16 (presolve on) was seen to report "Optimal" with an
    objective that its own returned column values do not attain (and that is below the true
    optimum). When the reported objective and the column values disagree, the model is solved
    again from scratch, without the start, in the remaining time."""

    def __init__(self, warm_values: dict | None = None, **kw):
        super().__init__(**kw)
        self.warm_values = warm_values
        self.info: dict = {}

    def createAndConfigureSolver(self, lp):  # noqa: N802 (pulp's name)
        if self.msg:
            return super().createAndConfigureSolver(lp)
        # highspy prints its banner on stdout when the first Highs() is built; keep it quiet
        with _quiet_stdout():
            return super().createAndConfigureSolver(lp)

    def _col_objective(self, lp) -> float:
        vals = list(lp.solverModel.getSolution().col_value)
        return float(sum(c * vals[v.index] for v, c in lp.objective.items()))

    def callSolver(self, lp):  # noqa: N802 (pulp's name)
        import highspy

        t0 = time.perf_counter()
        if self.warm_values:
            sol = highspy.HighsSolution()
            sol.col_value = [float(self.warm_values.get(v.name, 0.0)) for v in lp.variables()]
            sol.value_valid = True
            lp.solverModel.setSolution(sol)
        lp.solverModel.run()
        discarded = False
        info = lp.solverModel.getInfo()
        reported = float(info.objective_function_value)
        if self.warm_values and np.isfinite(reported) and \
                abs(self._col_objective(lp) - reported) > 1e-6 * max(1.0, abs(reported)):
            discarded = True
            left = None if self.timeLimit is None else \
                max(0.1, float(self.timeLimit) - (time.perf_counter() - t0))
            self.createAndConfigureSolver(lp)
            if left is not None:
                lp.solverModel.setOptionValue("time_limit", left)
            self.buildSolverModel(lp)
            lp.solverModel.run()
            info = lp.solverModel.getInfo()
        self.info = {"mip_dual_bound": float(info.mip_dual_bound), "mip_gap": float(info.mip_gap),
                     "objective": float(info.objective_function_value),
                     "warm_start_discarded": discarded,
                     "model_status": lp.solverModel.modelStatusToString(
                         lp.solverModel.getModelStatus())}


def _parse_cbc_log(path: str) -> dict:
    try:
        text = open(path).read()
    except OSError:
        return {}
    out = {}
    for key, pat in (("objective", r"Objective value:\s+([-\d.eE+]+)"),
                     ("bound", r"Lower bound:\s+([-\d.eE+]+)"),
                     ("gap", r"Gap:\s+([-\d.eE+]+)")):
        m = re.findall(pat, text)
        if m:
            out[key] = float(m[-1])
    out["time_limit"] = "Stopped on time" in text
    return out


def solve_milp(graph: CoordGraph, *, time_limit: float = 30.0, solver: str = "highs",
               warm_start: Choices | None = None, gap_rel: float = 1e-6, threads: int | None = 1,
               msg: bool = False) -> MilpResult:
    """Solve the passing-order MILP. ``warm_start``: admissible choices used as MIP start and for
    big-M (default: FIFO through the rank decoder). ``solver``: ``'highs'`` (highspy through
    pulp) or ``'cbc'`` (pulp's bundled CBC)."""
    from planners.scheduling.decode import ranks_to_choices

    if solver not in SOLVERS:
        raise ValueError(f"solver: expected one of {SOLVERS}, got {solver!r}")
    if not time_limit > 0:
        raise ValueError(f"time_limit: must be > 0 seconds, got {time_limit}")
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
    # pulp >= 3.3 attaches variables to the model (LpVariable(...) is deprecated there)
    new_var = getattr(prob, "add_variable", None) or pulp.LpVariable
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
    ts = time.perf_counter()
    with warnings.catch_warnings():
        # pulp 3.3 deprecation notices (PULP_CBC_CMD, constraint mapping) from its own code
        warnings.simplefilter("ignore", DeprecationWarning)
        if solver == "highs":
            s = _HiGHSWarm(warm_values=start, msg=msg, timeLimit=float(time_limit),
                           gapRel=gap_rel, threads=threads)
            prob.solve(s)
            info = s.info
            bound = info.get("mip_dual_bound", float("nan"))
        else:
            fd, log = tempfile.mkstemp(suffix=".log")
            os.close(fd)
            try:
                s = pulp.PULP_CBC_CMD(msg=msg, timeLimit=float(time_limit), gapRel=gap_rel,
                                      warmStart=True, logPath=log, threads=threads)
                prob.solve(s)
                info = _parse_cbc_log(log)
            finally:
                os.unlink(log)
            bound = info.get("bound", float("nan"))
    solve_s = time.perf_counter() - ts

    sol = prob.sol_status
    if sol == pulp.LpSolutionOptimal:
        status = "optimal"
    elif sol == pulp.LpSolutionIntegerFeasible:
        status = "time_limit_feasible"
    elif sol == pulp.LpSolutionInfeasible:
        status = "infeasible"
    else:
        status = "no_solution"
    choices = schedule = None
    obj = float("nan")
    if status in ("optimal", "time_limit_feasible"):
        obj = float(pulp.value(prob.objective))
        first = np.array([bool(round(pulp.value(xe))) if isinstance(xe, pulp.LpVariable)
                          else bool(xe) for xe in x], dtype=bool)
        follow = np.array([bool(round(pulp.value(fe))) if isinstance(fe, pulp.LpVariable)
                           else False for fe in f], dtype=bool)
        choices = Choices(first=first, follow=follow)
        schedule = evaluate(graph, choices)
    if status == "optimal":
        bound = obj if not np.isfinite(bound) else min(bound, obj)
    gap = float((obj - bound) / abs(obj)) if np.isfinite(obj) and np.isfinite(bound) and obj \
        else float("nan")
    if status == "optimal":
        gap = max(gap, 0.0) if np.isfinite(gap) else 0.0
    return MilpResult(status=status, objective=obj, bound=float(bound), gap=gap,
                      wall_s=time.perf_counter() - t0, solve_s=solve_s, solver=solver,
                      choices=choices, schedule=schedule, n_binaries=n_bin, n_constraints=n_cons,
                      info=dict(info))
