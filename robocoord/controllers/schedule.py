"""Passing-order scheduling controllers (task ``paths``; DESIGN.md §4.2, Meng et al., ICRA 2025).

Every method plans once on the first step (GNN-VAE, MILP, FIFO, CMA-ES, random priorities: only
``plan`` differs) and the shared `ScheduleExecutor` runs the plan:

* **Timetable.** The exact evaluator's earliest schedule gives a time ``T_e`` for every event
  (interval entry/exit, goal). Each robot moves along its path at most at its nominal speed ``v``
  and never crosses an event's arc length ``s_e`` before the step in which ``T_e`` falls: it
  drives at full speed, stops just before an event that is not yet due, and in the step where
  ``T_e`` falls moves to ``s_e + v (t + dt - T_e)``. At every step boundary a robot with exact
  kinematics is where the earliest schedule puts it (completion times agree with the evaluator
  to within one control step); inside that one step it may cross ``s_e`` up to ``v dt`` early,
  which the ``margin`` of the coordination graph absorbs.
* **Interlock** (for physics and any tracking lag). An event may only be crossed in this step when
  each of its timing predecessors (exclusive: the leader's exit; following: the leader's entry /
  exit plus the headway) has been measured crossed early enough, or its robot will cross it in
  this same step (kinematic fidelity only: there targets are reached exactly); otherwise the
  robot holds just before the event. In physics a follower also holds while its next position
  would come closer than ``2 r + margin`` to the leader it follows (headways alone assume the
  leader is on time). Crossings are measured from
  the task's progress (interpolated inside the step).
* Commands: AMRs get (v, omega): drive along the current segment to the target progress, turn
  in place at path vertices (the robot stays on its path; turning time is not in the
  evaluator's model, so on paths with corners robots fall behind the plan and the interlock
  keeps them safe); other kinds get a velocity towards the path point at the target progress.

The passing order is shown as the viewer overlay ``order`` (per robot: rank of its next interval
entry, 0 = goes next).
"""
from __future__ import annotations

import time
from typing import Optional

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from robocoord.controller import Commands, Context, Controller, Observation

_EPS = 1e-6


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")
    overlay_every: int = Field(default=10, ge=1, description="steps between order overlays")


class ScheduleExecutor(Controller):
    """Plans a passing order once (`plan`) and executes it (module docstring)."""

    name = "schedule_fifo"
    summary = "passing order: first come first served (nominal entry time)"
    Params = _Base
    kinds = frozenset({"amr", "cav"})
    fidelities = frozenset({"kinematic", "physics"})

    def plan(self, graph, rng: np.random.Generator):
        """Return admissible, deadlock-free `Choices` for ``graph``."""
        from planners.scheduling.baselines import fifo

        return fifo(graph).choices

    def reset(self, context: Context) -> None:
        super().reset(context)
        self._ready = False
        self._exact = context.fidelity == "kinematic"
        # heading error above which an AMR turns in place (physics: tolerate yaw jitter)
        self._turn_tol = 1e-3 if self._exact else 0.15
        self._last_tgt = None

    # ------------------------------------------------------------------ planning
    def _setup(self, obs: Observation) -> dict:
        from planners.scheduling.evaluate import evaluate, timing_edges
        from planners.scheduling.geometry import cumulative_length

        ex = obs.extras.get("paths")
        if ex is None:
            raise ValueError(f"{self.name}: needs the 'paths' task (tasks.type: paths)")
        inst, g = ex["instance"], ex["graph"]
        t0 = time.perf_counter()
        choices = self.plan(g, self.context.rng)
        wall = time.perf_counter() - t0
        sc = evaluate(g, choices)
        if not sc.feasible:  # every planner here decodes feasibly; keep the guard loud
            raise RuntimeError(f"{self.name}: planned choices infeasible: "
                               f"{sc.violations or 'deadlock'}")
        V, N = g.n_nodes, g.n_robots
        self.inst, self.g, self.sched = inst, g, sc
        self.T = np.concatenate([sc.entry, sc.exit, sc.completion])
        ev_s = np.concatenate([g.node_L, g.node_U, g.length])
        ev_robot = np.concatenate([g.node_robot, g.node_robot, np.arange(N)])
        self.ev_s, self.ev_robot = ev_s, ev_robot
        # events of each robot in arc order (same tie order as the evaluator's chain)
        ev_kind = np.concatenate([np.ones(V), np.zeros(V), np.full(N, 2.0)])
        order = np.lexsort((ev_kind, ev_s, ev_robot))
        ptr = np.searchsorted(ev_robot[order], np.arange(N + 1))
        self.robot_events = [order[ptr[i]:ptr[i + 1]] for i in range(N)]
        self.next_k = np.zeros(N, np.int64)  # index into robot_events of the next uncrossed event
        src, dst, w = timing_edges(g, choices)
        cross = ev_robot[src] != ev_robot[dst]
        self.preds: list[list[tuple[int, float]]] = [[] for _ in range(2 * V + N)]
        for a, b, ww in zip(src[cross].tolist(), dst[cross].tolist(), w[cross].tolist()):
            self.preds[b].append((a, ww))
        self.crossed_t = np.full(2 * V + N, np.nan)
        u, v = g.joint_edges
        fo = choices.follow
        lead = np.where(choices.first, u, v)[fo]
        foll = np.where(choices.first, v, u)[fo]
        self._follow_pairs = list(zip(lead.tolist(), foll.tolist()))
        self.cum = [cumulative_length(p) for p in inst.paths]
        self.speed = np.asarray(inst.speed, float)
        self.prev_s = ex["progress"].copy()
        self._ready = True
        return {"planned_completion": sc.completion.tolist(), "plan_wall_s": wall}

    # ------------------------------------------------------------------ execution
    def _record(self, s: np.ndarray, t: float) -> None:
        dt = self.context.dt
        for i in range(self.g.n_robots):
            evs = self.robot_events[i]
            k = self.next_k[i]
            while k < len(evs) and s[i] >= self.ev_s[evs[k]] - _EPS:
                e = evs[k]
                if self.ev_s[e] <= _EPS and s[i] <= 1e-4:
                    break  # an event at the path start happens when the robot moves off it
                s0 = self.prev_s[i]
                frac = 1.0 if s[i] - s0 <= 1e-12 else (self.ev_s[e] - s0) / (s[i] - s0)
                self.crossed_t[e] = t - dt + dt * float(np.clip(frac, 0.0, 1.0))
                k += 1
            self.next_k[i] = k
        self.prev_s = s.copy()

    def _targets(self, s: np.ndarray, t: float, limit: np.ndarray) -> np.ndarray:
        dt = self.context.dt
        N = self.g.n_robots
        tgt = np.empty(N)
        for i in range(N):
            v = self.speed[i]
            cap = min(s[i] + v * dt, limit[i])
            for e in self.robot_events[i][self.next_k[i]:]:
                se, te = self.ev_s[e], self.T[e]
                if se > cap:
                    break
                if te > t + dt + 1e-9:  # not due in this step: stop just before it
                    cap = se - 1e-3
                    break
                cap = min(cap, se + v * (t + dt - te))  # due inside the step: cross on time
            tgt[i] = min(max(cap, s[i]), self.g.length[i])
        # interlock, to a fixed point: holding one robot back may hold back those after it
        for _ in range(N + 1):
            changed = False
            for i in range(N):
                for e in self.robot_events[i][self.next_k[i]:]:
                    se = self.ev_s[e]
                    if se > tgt[i] + _EPS:
                        break
                    ok = True
                    for a, w in self.preds[e]:
                        ta = self.crossed_t[a]
                        if np.isnan(ta):
                            # exact kinematics: the predecessor's robot crosses it in this very
                            # step; otherwise (physics) only a measured crossing counts
                            ra = self.ev_robot[a]
                            ok = (self._exact and self._on_track[ra]
                                  and tgt[ra] >= self.ev_s[a] - _EPS)
                        else:
                            ok = ta + w <= t + dt + 1e-9
                        if not ok:
                            break
                    if not ok:
                        tgt[i] = max(s[i], se - 1e-3)
                        changed = True
                        break
            if not changed:
                break
        return tgt

    def _follow_guard(self, s: np.ndarray, tgt: np.ndarray, pos: np.ndarray) -> None:
        """Physics only: following is timed by a headway, which keeps the gap only while the
        leader moves on time; a follower whose next position would come closer than
        ``2 r + margin`` to a leader it follows (leader not yet out of its interval) holds."""
        g, V = self.g, self.g.n_nodes
        sep = 2 * self.inst.radius + self.inst.margin
        for a, b in self._follow_pairs:
            f_rob, g_rob = g.node_robot[a], g.node_robot[b]
            if not np.isnan(self.crossed_t[V + a]) or tgt[g_rob] <= s[g_rob]:
                continue
            if s[g_rob] < g.node_L[b] - sep:
                continue
            nxt = self._point(g_rob, tgt[g_rob])
            if np.linalg.norm(nxt - pos[f_rob]) < sep and \
                    np.linalg.norm(nxt - pos[f_rob]) < np.linalg.norm(pos[g_rob] - pos[f_rob]):
                tgt[g_rob] = s[g_rob]

    def _point(self, i: int, s: float) -> np.ndarray:
        p, cum = self.inst.paths[i], self.cum[i]
        k = int(np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(p) - 2))
        seg = cum[k + 1] - cum[k]
        a = 0.0 if seg <= 0 else (s - cum[k]) / seg
        return p[k] + np.clip(a, 0, 1) * (p[k + 1] - p[k])

    def _segment(self, i: int, s: float) -> int:
        cum = self.cum[i]
        return int(np.clip(np.searchsorted(cum, s + 1e-9, side="right") - 1, 0,
                           len(cum) - 2))

    def _heading_error(self, i: int, s: float, pos: np.ndarray, yaw: float) -> tuple[int, float]:
        p, cum = self.inst.paths[i], self.cum[i]
        k = self._segment(i, s)
        d = p[k + 1] - p[k]
        if not self._exact:  # pure pursuit on a point ahead on the segment: corrects drift
            ahead = self._point(i, min(s + 0.3, cum[k + 1]))
            if np.linalg.norm(ahead - pos) > 0.05:
                d = ahead - pos
        return k, float((np.arctan2(d[1], d[0]) - yaw + np.pi) % (2 * np.pi) - np.pi)

    def _limits(self, obs: Observation, s: np.ndarray) -> np.ndarray:
        """How far each robot can physically get this step: AMRs turn in place at a vertex
        (limit = where they are) and never run past the next vertex before turning."""
        lim = np.array([c[-1] for c in self.cum], float)
        if self.context.kind != "amr":
            return lim
        pos, yaw = obs.positions[:, :2], obs.state.yaw
        for i in range(obs.n):
            k, err = self._heading_error(i, s[i], pos[i], yaw[i])
            lim[i] = s[i] if abs(err) > self._turn_tol else self.cum[i][k + 1]
        return lim

    def _amr_control(self, obs: Observation, s: np.ndarray, tgt: np.ndarray) -> np.ndarray:
        """(v, omega) per robot: drive along the current segment to the target, turn in place
        at vertices (the robot stays on its path; turning time is not in the evaluator)."""
        dt = self.context.dt
        pos, yaw = obs.positions[:, :2], obs.state.yaw
        wmax = float(self.context.model.params.max_omega)
        u = np.zeros((obs.n, 2))
        for i in range(obs.n):
            _, err = self._heading_error(i, s[i], pos[i], yaw[i])
            u[i, 1] = np.clip(err / dt, -wmax, wmax)
            if abs(err) > self._turn_tol:
                continue
            c, sn = np.cos(yaw[i]), np.sin(yaw[i])
            off = self._point(i, tgt[i]) - pos[i]
            u[i, 0] = (off[0] * c + off[1] * sn) / dt
        return u

    def act(self, obs: Observation) -> Commands:
        decisions = self._setup(obs) if not self._ready else None
        s = obs.extras["paths"]["progress"]
        t = obs.time
        self._record(s, t)
        # a robot is on track when it reached last step's target (exact kinematics, straight
        # segments); only then may others rely on its crossings planned within this step
        self._on_track = np.abs(s - self._last_tgt) < 0.01 if self._last_tgt is not None \
            else np.ones(len(s), bool)
        tgt = self._targets(s, t, self._limits(obs, s))
        if not self._exact:
            self._follow_guard(s, tgt, obs.positions[:, :2])
        dt = self.context.dt
        if self.context.kind == "amr":
            cmd = {"control": self._amr_control(obs, s, tgt)}
        else:
            vel = np.zeros((obs.n, self.context.dim))
            for i in range(obs.n):
                vel[i, :2] = (self._point(i, tgt[i]) - obs.positions[i, :2]) / dt
            cmd = {"velocity": vel}
        self._last_tgt = tgt.copy()
        overlay = None
        if obs.step % self.params.overlay_every == 0:
            nxt = np.array([self.T[ev[k]] if k < len(ev) else np.inf
                            for ev, k in zip(self.robot_events, self.next_k)])
            rank = np.empty(obs.n, np.int64)
            rank[np.argsort(nxt, kind="stable")] = np.arange(obs.n)
            overlay = {"order": rank.tolist(),
                       "text": f"{self.name}: planned mean completion "
                               f"{self.sched.objective:.2f} s"}
        return Commands(**cmd, decisions=decisions, overlay=overlay)


class ScheduleRandom(ScheduleExecutor):
    name = "schedule_random"
    summary = "passing order: best of K random robot priorities"

    class Params(_Base):
        k: int = Field(default=32, ge=1, description="random priority orders tried")

    def plan(self, graph, rng):
        from planners.scheduling.baselines import random_priorities

        return random_priorities(graph, rng, k=self.params.k).choices


class ScheduleCmaes(ScheduleExecutor):
    name = "schedule_cmaes"
    summary = "passing order: CMA-ES over node ranks (rank decoder, exact evaluator)"

    class Params(_Base):
        max_evals: int = Field(default=1000, ge=1)
        time_limit: float = Field(default=10.0, gt=0, description="seconds")

    def plan(self, graph, rng):
        from planners.scheduling.baselines import cma_es

        return cma_es(graph, rng, max_evals=self.params.max_evals,
                      time_limit=self.params.time_limit).choices


class ScheduleMilp(ScheduleExecutor):
    name = "schedule_milp"
    summary = "passing order: MILP oracle (big-M, HiGHS/CBC, time limit)"

    class Params(_Base):
        time_limit: float = Field(default=30.0, gt=0, description="seconds")
        solver: str = Field(default="highs", pattern="^(highs|cbc)$")

    def plan(self, graph, rng):
        from planners.scheduling.baselines import fifo
        from planners.scheduling.milp import solve_milp

        m = solve_milp(graph, time_limit=self.params.time_limit, solver=self.params.solver)
        return m.choices if m.has_solution else fifo(graph).choices


class ScheduleGnnVae(ScheduleExecutor):
    name = "schedule_gnn_vae"
    summary = "passing order: GNN-VAE, best of K latent samples (Meng et al., ICRA 2025)"

    class Params(_Base):
        samples: int = Field(default=16, ge=1, description="latent samples K (1: z = 0 only)")
        use_vae: bool = Field(default=True, description="false: decode z = 0 only (ablation)")
        weights: Optional[str] = Field(default=None, description="weights file (default: shipped)")

    def plan(self, graph, rng):
        from policies.gnn_vae.model import load
        from policies.gnn_vae.scheduler import GnnVaeScheduler

        sch = GnnVaeScheduler(load(self.params.weights))
        return sch(graph, rng, k=self.params.samples, use_vae=self.params.use_vae).choices
