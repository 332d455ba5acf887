"""Classic baselines for passing-order scheduling, all decoded by the same rank decoder as the
GNN-VAE (`planners.scheduling.decode.ranks_to_choices`), so every result is deadlock-free:

* `fifo`: ranks = nominal (unhindered) entry times: first come, first served;
* `random_priorities`: one random priority per robot (classic prioritised coordination), best
  of K by the exact evaluator;
* `cma_es`: CMA-ES over node ranks (optionally also edge-mode scores), started from FIFO. A small
  numpy implementation of the (mu/mu_w, lambda)-CMA-ES with cumulative step-size adaptation,
  rank-one and rank-mu covariance updates and default parameters from N. Hansen, "The CMA
  Evolution Strategy: A Tutorial", arXiv:1604.00772 (2016); for large dimensions the separable
  (diagonal) variant of R. Ros and N. Hansen, "A Simple Modification in CMA-ES Achieving Linear
  Time and Space Complexity", PPSN 2008.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from planners.scheduling.decode import ranks_to_choices
from planners.scheduling.evaluate import Choices, Schedule, evaluate
from planners.scheduling.graph import CoordGraph


@dataclass(frozen=True, eq=False)
class BaselineResult:
    name: str
    choices: Choices
    schedule: Schedule
    wall_s: float
    evaluations: int
    history: list[float] = field(default_factory=list)  # best objective after each generation

    @property
    def objective(self) -> float:
        return self.schedule.objective


def fifo(graph: CoordGraph) -> BaselineResult:
    """First come, first served by nominal entry time (same decoder as the GNN-VAE)."""
    t0 = time.perf_counter()
    ch = ranks_to_choices(graph, graph.node_t_in)
    sc = evaluate(graph, ch)
    return BaselineResult("fifo", ch, sc, time.perf_counter() - t0, 1)


def random_priorities(graph: CoordGraph, rng: np.random.Generator, k: int = 32
                      ) -> BaselineResult:
    """Best of ``k`` random robot priority orders (every node of a robot gets its priority)."""
    if k < 1:
        raise ValueError(f"random_priorities: k must be >= 1, got {k}")
    t0 = time.perf_counter()
    best = None
    for _ in range(k):
        prio = rng.permutation(graph.n_robots).astype(float)
        ch = ranks_to_choices(graph, prio[graph.node_robot])
        sc = evaluate(graph, ch)
        if best is None or sc.objective < best[1].objective:
            best = (ch, sc)
    return BaselineResult("random", best[0], best[1], time.perf_counter() - t0, k)


class CMAES:
    """Minimal (mu/mu_w, lambda)-CMA-ES (Hansen 2016, Table 1 defaults; ``diagonal=True`` gives
    sep-CMA-ES, Ros & Hansen 2008). Ask/tell interface, minimisation."""

    def __init__(self, x0: np.ndarray, sigma0: float, rng: np.random.Generator,
                 popsize: int | None = None, diagonal: bool = False):
        x0 = np.asarray(x0, float).reshape(-1)
        n = len(x0)
        if n < 1:
            raise ValueError("CMAES: x0 must have at least one coordinate")
        if not sigma0 > 0:
            raise ValueError(f"CMAES: sigma0 must be > 0, got {sigma0}")
        self.n, self.rng, self.diagonal = n, rng, diagonal
        self.mean, self.sigma = x0.copy(), float(sigma0)
        self.lam = int(popsize) if popsize else 4 + int(3 * np.log(n))
        self.mu = self.lam // 2
        w = np.log(self.mu + 0.5) - np.log(np.arange(1, self.mu + 1))
        self.w = w / w.sum()
        self.mueff = 1.0 / np.sum(self.w ** 2)
        self.cs = (self.mueff + 2) / (n + self.mueff + 5)
        self.ds = 1 + 2 * max(0.0, np.sqrt((self.mueff - 1) / (n + 1)) - 1) + self.cs
        self.cc = (4 + self.mueff / n) / (n + 4 + 2 * self.mueff / n)
        self.c1 = 2 / ((n + 1.3) ** 2 + self.mueff)
        self.cmu = min(1 - self.c1, 2 * (self.mueff - 2 + 1 / self.mueff) /
                       ((n + 2) ** 2 + self.mueff))
        if diagonal:  # sep-CMA-ES learning rates
            self.c1 *= (n + 2) / 3
            self.cmu = min(1 - self.c1, self.cmu * (n + 2) / 3)
        self.chin = np.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))
        self.ps = np.zeros(n)
        self.pc = np.zeros(n)
        if diagonal:
            self.d = np.ones(n)  # sqrt of the diagonal covariance
        else:
            self.C = np.eye(n)
            self.B = np.eye(n)
            self.D = np.ones(n)
            self.eigen_gen = 0
        self.gen = 0
        self._z: np.ndarray | None = None

    def ask(self) -> np.ndarray:
        z = self.rng.standard_normal((self.lam, self.n))
        self._z = z
        y = z * self.d if self.diagonal else (z * self.D) @ self.B.T
        return self.mean + self.sigma * y

    def tell(self, fitness: np.ndarray) -> None:
        assert self._z is not None, "tell() needs a preceding ask()"
        n = self.n
        idx = np.argsort(fitness, kind="stable")[: self.mu]
        z = self._z[idx]
        y = z * self.d if self.diagonal else (z * self.D) @ self.B.T
        zw = self.w @ z
        yw = self.w @ y
        self.mean = self.mean + self.sigma * yw
        # C^{-1/2} y_w = B z_w
        inv_sqrt_yw = zw if self.diagonal else self.B @ zw
        self.ps = ((1 - self.cs) * self.ps
                   + np.sqrt(self.cs * (2 - self.cs) * self.mueff) * inv_sqrt_yw)
        self.gen += 1
        hs = (np.linalg.norm(self.ps) / np.sqrt(1 - (1 - self.cs) ** (2 * self.gen))
              < (1.4 + 2 / (n + 1)) * self.chin)
        self.pc = (1 - self.cc) * self.pc + hs * np.sqrt(self.cc * (2 - self.cc) * self.mueff) * yw
        dh = (1 - hs) * self.cc * (2 - self.cc)
        if self.diagonal:
            c = self.d ** 2
            c = ((1 - self.c1 - self.cmu) * c + self.c1 * (self.pc ** 2 + dh * c)
                 + self.cmu * (self.w @ (y ** 2)))
            self.d = np.sqrt(np.maximum(c, 1e-30))
        else:
            self.C = ((1 - self.c1 - self.cmu) * self.C
                      + self.c1 * (np.outer(self.pc, self.pc) + dh * self.C)
                      + self.cmu * (y.T * self.w) @ y)
            if self.gen - self.eigen_gen > self.lam / (self.c1 + self.cmu) / n / 10:
                self.eigen_gen = self.gen
                self.C = np.triu(self.C) + np.triu(self.C, 1).T
                evals, self.B = np.linalg.eigh(self.C)
                self.D = np.sqrt(np.maximum(evals, 1e-30))
        self.sigma *= np.exp((self.cs / self.ds) * (np.linalg.norm(self.ps) / self.chin - 1))
        self._z = None


def cma_es(graph: CoordGraph, rng: np.random.Generator, *, max_evals: int = 2000,
           time_limit: float | None = None, sigma0: float | None = None,
           popsize: int | None = None, optimize_modes: bool = False,
           diagonal: bool | None = None,
           callback: Callable[[int, float], None] | None = None) -> BaselineResult:
    """CMA-ES over node ranks (seconds, started at FIFO = nominal entry times), each candidate
    decoded with `ranks_to_choices` and scored by the exact evaluator. With ``optimize_modes``
    the genome also holds one following score per edge that allows following (start 1.0,
    following when > 0). ``sigma0`` default: median nominal node duration. ``diagonal``
    default: sep-CMA-ES when the genome has more than 200 coordinates. Stops after
    ``max_evals`` evaluations or ``time_limit`` seconds."""
    t0 = time.perf_counter()
    V = graph.n_nodes
    base = fifo(graph)
    best_ch, best_sc = base.choices, base.schedule
    if V == 0:
        return BaselineResult("cma_es", best_ch, best_sc, time.perf_counter() - t0, 1)
    fo = np.nonzero(graph.edge_follow_ok)[0] if optimize_modes else np.zeros(0, np.int64)
    x0 = np.concatenate([graph.node_t_in, np.ones(len(fo))])
    if sigma0 is None:
        sigma0 = float(np.median(graph.node_t_out - graph.node_t_in))
    if diagonal is None:
        diagonal = len(x0) > 200
    es = CMAES(x0, sigma0, rng, popsize=popsize, diagonal=diagonal)
    evals, history = 1, []
    while evals < max_evals and (time_limit is None or time.perf_counter() - t0 < time_limit):
        X = es.ask()
        fit = np.empty(len(X))
        for k, x in enumerate(X):
            scores = None
            if optimize_modes:
                scores = np.zeros(graph.n_edges)
                scores[fo] = x[V:]
            ch = ranks_to_choices(graph, x[:V], scores if optimize_modes else None)
            sc = evaluate(graph, ch)
            fit[k] = sc.objective
            evals += 1
            if sc.objective < best_sc.objective:
                best_ch, best_sc = ch, sc
        es.tell(fit)
        history.append(best_sc.objective)
        if callback is not None:
            callback(evals, best_sc.objective)
    return BaselineResult("cma_es", best_ch, best_sc, time.perf_counter() - t0, evals, history)
