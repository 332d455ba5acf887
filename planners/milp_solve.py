"""Solving a pulp model the same way everywhere: HiGHS (highspy) by default, CBC selectable, a time
limit, and an honest status.

pulp's ``LpStatus`` says "Optimal" after a time-limit stop; :func:`solve` reads ``prob.sol_status``
and the solver's own bound and reports ``optimal`` / ``time_limit_feasible`` / ``no_solution`` /
``infeasible`` with the best bound and the relative gap. Used by every MILP baseline (scheduling,
MAPF, UAV assignment).
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

SOLVERS = ("highs", "cbc")


@dataclass(frozen=True)
class SolveOutcome:
    status: str        # optimal | time_limit_feasible | no_solution | infeasible
    objective: float   # incumbent objective (nan without a solution)
    bound: float       # best proven bound (nan if unknown)
    gap: float         # |objective - bound| / |objective|; 0 when optimal
    solve_s: float
    info: dict

    @property
    def has_solution(self) -> bool:
        return self.status in ("optimal", "time_limit_feasible")


def new_variable_factory(prob: pulp.LpProblem):
    """pulp >= 3.3 attaches variables to the model (``LpVariable(...)`` is deprecated there)."""
    return getattr(prob, "add_variable", None) or pulp.LpVariable


def check_solver_args(solver: str, time_limit: float) -> None:
    if solver not in SOLVERS:
        raise ValueError(f"solver: expected one of {SOLVERS}, got {solver!r}")
    if not time_limit > 0:
        raise ValueError(f"time_limit: must be > 0 seconds, got {time_limit}")


def solve(prob: pulp.LpProblem, *, solver: str = "highs", time_limit: float = 30.0, gap_rel: float = 1e-6,
          threads: int | None = 1, msg: bool = False, warm_values: dict | None = None,
          minimise: bool = True) -> SolveOutcome:
    """Solve ``prob`` and report status, objective, bound and gap (see module docstring).
    ``warm_values``: a MIP start by variable name (HiGHS; CBC reads the variables' initial values)."""
    check_solver_args(solver, time_limit)
    ts = time.perf_counter()
    with warnings.catch_warnings():
        # pulp 3.3 deprecation notices (PULP_CBC_CMD, constraint mapping) from its own code
        warnings.simplefilter("ignore", DeprecationWarning)
        if solver == "highs":
            s = _HiGHSWarm(warm_values=warm_values, msg=msg, timeLimit=float(time_limit),
                           gapRel=gap_rel, threads=threads)
            prob.solve(s)
            info = s.info
            bound = info.get("mip_dual_bound", float("nan"))
        else:
            fd, log = tempfile.mkstemp(suffix=".log")
            os.close(fd)
            try:
                s = pulp.PULP_CBC_CMD(msg=msg, timeLimit=float(time_limit), gapRel=gap_rel,
                                      warmStart=bool(warm_values), logPath=log, threads=threads)
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
    obj = float(pulp.value(prob.objective)) if status in ("optimal", "time_limit_feasible") else float("nan")
    # Solvers report bounds without the objective's constant term (pulp keeps it on its side).
    solver_obj = info.get("objective", float("nan"))
    if np.isfinite(obj) and np.isfinite(solver_obj) and np.isfinite(bound):
        bound += obj - solver_obj
    elif np.isfinite(bound):
        bound += float(getattr(prob.objective, "constant", 0.0) or 0.0)
    if status == "optimal":
        # A solver that proves optimality has |obj - bound| <= gap_rel |obj|; a reported bound outside
        # that (HiGHS reports 0 when presolve alone solves the model) is an artefact: use obj.
        if not np.isfinite(bound) or abs(obj - bound) > max(gap_rel, 1e-9) * max(1.0, abs(obj)) + 1e-9:
            info["bound_reported"] = bound
            bound = obj
        else:
            bound = min(bound, obj) if minimise else max(bound, obj)
    gap = float(abs(obj - bound) / abs(obj)) if np.isfinite(obj) and np.isfinite(bound) and obj else float("nan")
    if status == "optimal":
        gap = max(gap, 0.0) if np.isfinite(gap) else 0.0
    return SolveOutcome(status=status, objective=obj, bound=float(bound), gap=gap, solve_s=solve_s, info=dict(info))


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


