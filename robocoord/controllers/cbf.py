"""Safety-filter controllers: decentralised CBF-QP with a fixed alpha, centralised CBF-QP
(Robotarium-style barrier certificates), and ORCA — each on top of the same nominal go-to-goal input.

AMRs are filtered at their look-ahead control point (near-identity diffeomorphism, radius inflated
by the offset ``l``) and commanded as (v, omega); UAVs as 3D single integrators inside their altitude
band. References: Wang, Ames, Egerstedt, T-RO 2017 (barrier certificates); Gao, Yang, Prorok, MRS 2023
(online CBF); van den Berg, Guy, Lin, Manocha, ISRR 2011 (ORCA).
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from robocoord.controller import Commands, Context, Controller, Observation
from robocoord.errors import UserError
from robocoord.controllers.goto import nominal_velocity


class FilterParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gain: float = Field(default=1.0, gt=0, description="nominal controller: proportional gain (1/s)")
    max_speed: float | None = Field(default=None, gt=0, description="nominal speed cap (default: the robot's)")
    margin: float = Field(default=0.05, ge=0, description="extra clearance added to the safety distance (m)")
    sense_radius: float = Field(default=3.0, gt=0, description="neighbours and obstacles farther away are ignored (m)")
    k: int = Field(default=8, ge=1, description="nearest neighbours per agent")


class CBFParams(FilterParams):
    alpha: float = Field(default=1.0, gt=0, description="class-K gain (1/s); clamped so that alpha*dt <= 1")


class _SafetyFilter(Controller):
    """Shared plumbing: nominal input, obstacle closest points, AMR/UAV conversion, overlay."""

    kinds: ClassVar[frozenset[str]] = frozenset({"amr", "uav"})
    fidelities: ClassVar[frozenset[str]] = frozenset({"kinematic", "physics"})
    Params: ClassVar[type[BaseModel]] = FilterParams

    def reset(self, context: Context) -> None:
        super().reset(context)
        mp = context.model.params
        self._vmax = float(self.params.max_speed or mp.max_speed)
        self._l = float(getattr(mp, "lookahead", 0.0)) if context.kind == "amr" else 0.0

    # --- helpers -------------------------------------------------------------------------------
    def _points(self, obs: Observation) -> np.ndarray:
        """Filtered points: AMR control points (xy), UAV centres (xyz)."""
        st = obs.state
        if self.context.kind == "amr":
            from planners.cbf.kinematics import control_point

            return control_point(np.column_stack([st.pos[:, :2], st.yaw]), self._l)
        return st.pos[:, :3].copy()

    def _obstacles(self, pts: np.ndarray) -> np.ndarray | None:
        from planners.cbf.obstacles import closest_points_polygons

        return closest_points_polygons(pts, self.context.obstacles, self.params.sense_radius)

    def _command(self, obs: Observation, u_point: np.ndarray) -> Commands:
        """Safe point velocities -> robot commands (AMR: exact inverse of the diffeomorphism)."""
        if self.context.kind == "amr":
            from planners.cbf.kinematics import point_to_unicycle

            pose = np.column_stack([obs.state.pos[:, :2], obs.state.yaw])
            v, w = point_to_unicycle(pose, u_point, self._l)
            return Commands(control=np.column_stack([v, w]))
        return Commands(velocity=u_point)

    def _radius(self) -> float:
        return float(self.context.radius) + self._l + self.params.margin / 2

    def _nominal(self, obs: Observation, pts: np.ndarray) -> np.ndarray:
        goals = obs.goals
        if self.context.kind == "amr":  # steer the control point to the goal
            return nominal_velocity(pts, goals[:, :2], self.params.gain, self._vmax)
        return nominal_velocity(pts, goals[:, :3], self.params.gain, self._vmax)


class FixedAlphaCBF(_SafetyFilter):
    name = "cbf"
    summary = "decentralised CBF-QP safety filter with a fixed alpha (k nearest neighbours, obstacles, input bounds)"
    Params = CBFParams
    decentralised = True

    def act(self, obs: Observation) -> Commands:
        alpha = np.full(obs.n, self.params.alpha)
        return self.filtered(obs, alpha)

    def filtered(self, obs: Observation, alpha: np.ndarray) -> Commands:
        """Filter the nominal input with per-agent ``alpha`` (also used by the online-CBF policy)."""
        from planners.cbf.kinematics import uav_cbf_filter, unicycle_cbf_filter, point_to_unicycle

        p, mp, dt = self.params, self.context.model.params, self.context.dt
        pts = self._points(obs)
        u_nom = self._nominal(obs, pts)
        obst = self._obstacles(pts)
        r = float(self.context.radius) + p.margin / 2
        if self.context.kind == "amr":
            pose = np.column_stack([obs.state.pos[:, :2], obs.state.yaw])
            v_nom, w_nom = point_to_unicycle(pose, u_nom, self._l)
            res = unicycle_cbf_filter(pose, np.clip(v_nom, -mp.max_speed, mp.max_speed),
                                      np.clip(w_nom, -mp.max_omega, mp.max_omega), l=self._l, radius=r,
                                      alpha=alpha, dt=dt, v_max=float(mp.max_speed), omega_max=float(mp.max_omega),
                                      sense_radius=p.sense_radius, k=p.k, obstacles_closest=obst)
            cmd = Commands(control=np.column_stack([res.v, res.omega]))
            fres = res.filter
        else:
            fres = uav_cbf_filter(pts, u_nom, radius=r, alpha=alpha, dt=dt, u_max=float(mp.max_speed),
                                  sense_radius=p.sense_radius, z_min=float(mp.z_min) + r, z_max=float(mp.z_max) - r,
                                  vz_max=float(mp.max_vz), k=p.k, obstacles_closest=obst)
            cmd = Commands(velocity=fres.u)
        cmd.diagnostics = {"infeasible_qp": int(fres.infeasible.sum()), "active_constraints": int(fres.active.sum())}
        a = np.minimum(alpha, 1.0 / dt)
        cmd.overlay = {"safety_radius": self._radius(), "alpha": np.round(a, 4).tolist()} if obs.step % 5 == 0 else None
        return cmd


class CentralCBF(_SafetyFilter):
    name = "central_cbf"
    summary = "centralised CBF-QP over all agents (Robotarium-style barrier certificates), exact active-set solver"
    Params = CBFParams
    kinds: ClassVar[frozenset[str]] = frozenset({"amr", "uav"})

    def act(self, obs: Observation) -> Commands:
        from planners.cbf.central import centralized_cbf_filter

        p, mp = self.params, self.context.model.params
        pts = self._points(obs)
        u_nom = self._nominal(obs, pts)
        # per-axis box: inside the unicycle's reachable set when |u| <= min(v_max, l*omega_max)/sqrt(2)
        umax = float(mp.max_speed) if self.context.kind == "uav" else \
            min(float(mp.max_speed), self._l * float(mp.max_omega)) / np.sqrt(2)
        res = centralized_cbf_filter(pts, np.clip(u_nom, -umax, umax), radius=self._radius(), alpha=p.alpha,
                                     dt=self.context.dt, u_max=umax, sense_radius=p.sense_radius,
                                     obstacles_closest=self._obstacles(pts))
        cmd = self._command(obs, res.u)
        cmd.diagnostics = {"infeasible_qp": int(res.status != "Optimal")}
        cmd.overlay = {"safety_radius": self._radius()} if obs.step % 5 == 0 else None
        return cmd


class ORCAParams(FilterParams):
    time_horizon: float = Field(default=2.0, gt=0, description="ORCA time horizon for other agents (s)")
    time_horizon_obst: float = Field(default=1.0, gt=0, description="ORCA time horizon for obstacles (s)")


class ORCA(_SafetyFilter):
    name = "orca"
    summary = "ORCA reciprocal velocity obstacles (RVO2 via pyrvo), 2D"
    Params = ORCAParams
    kinds: ClassVar[frozenset[str]] = frozenset({"amr"})
    decentralised = True

    def reset(self, context: Context) -> None:
        super().reset(context)
        try:
            import pyrvo
        except ImportError:  # pragma: no cover - pyrvo is a test extra
            raise UserError("orca needs pyrvo: pip install --no-deps pyrvo") from None
        import shapely

        p = self.params
        self._sim = pyrvo.RVOSimulator()
        self._sim.set_time_step(context.dt)
        # ORCA's velocities are for the control point, within the unicycle's reachable box
        mp = context.model.params
        self._umax = min(float(mp.max_speed), self._l * float(mp.max_omega))
        self._sim.set_agent_defaults(p.sense_radius, p.k, p.time_horizon, p.time_horizon_obst,
                                     float(context.radius) + self._l + p.margin / 2, self._umax)
        for poly in context.obstacles:  # RVO2 wants counter-clockwise vertices
            ring = shapely.geometry.polygon.orient(poly, 1.0).exterior.coords[:-1]
            self._sim.add_obstacle([tuple(map(float, v)) for v in ring])
        self._sim.process_obstacles()
        self._ids: list[int] = []

    def act(self, obs: Observation) -> Commands:
        pts = self._points(obs)
        u_nom = nominal_velocity(pts, obs.goals[:, :2], self.params.gain, self._umax)
        if not self._ids:
            self._ids = [self._sim.add_agent(tuple(map(float, q))) for q in pts]
        vel = obs.state.vel[:, :2]
        for i, a in enumerate(self._ids):
            self._sim.set_agent_position(a, tuple(map(float, pts[i])))
            self._sim.set_agent_velocity(a, tuple(map(float, vel[i])))
            self._sim.set_agent_pref_velocity(a, tuple(map(float, u_nom[i])))
        self._sim.do_step()
        u = np.array([self._sim.get_agent_velocity(a).to_tuple() for a in self._ids], dtype=float)
        cmd = self._command(obs, u)
        cmd.overlay = {"safety_radius": self._radius()} if obs.step % 5 == 0 else None
        return cmd
