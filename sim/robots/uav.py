"""UAV base station: a quadrotor flying in an altitude band.

Kinematic model: first-order velocity tracking, ``dv/dt = (v_cmd - v) / tau`` (integrated exactly over
dt), with speed limits and the altitude band ``[z_min, z_max]`` enforced by clamping z and zeroing the
outward vertical velocity.

Physics: an X-frame quadrotor (box hub, two crossed arms, four rotor discs; one rigid body) flown by
forces only - no velocity resets. Before every pybullet substep (``physics_substep``, called by
:class:`sim.scene.Scene`) a cascaded controller runs: velocity loop -> desired acceleration (same
first-order law as the kinematic model, tilt-limited) -> collective thrust along the body z axis and a
desired attitude -> geometric attitude PD on SO(3) -> body torques. Refs: Lee, Leok, McClamroch,
"Geometric tracking control of a quadrotor UAV on SE(3)", CDC 2010; Mellinger & Kumar, "Minimum snap
trajectory generation and control for quadrotors", ICRA 2011.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import pybullet as p
from pydantic import Field, model_validator

from sim.robots._pb import (check_rows, quat_to_matrix, quat_to_yaw, read_bases, wants_visuals, wrap_angle,
                            yaw_to_quat)
from sim.robots.base import RobotModel, RobotParams
from sim.state import FleetState


class UavParams(RobotParams):
    radius: float = Field(0.25, gt=0, description="bounding-sphere radius (m): arm tip + rotor")
    arm_length: float = Field(0.17, gt=0, description="hub centre to rotor axis (m), < radius")
    mass: float = Field(1.0, gt=0, description="total mass (kg)")
    max_speed: float = Field(5.0, gt=0, description="horizontal speed limit (m/s)")
    max_vz: float = Field(2.0, gt=0, description="climb/descent rate limit (m/s)")
    max_yaw_rate: float = Field(2.0, gt=0, description="yaw-rate limit (rad/s)")
    z_min: float = Field(2.0, description="bottom of the altitude band (m)")
    z_max: float = Field(10.0, description="top of the altitude band (m)")
    altitude: float = Field(5.0, description="spawn altitude (m), inside the band")
    tau: float = Field(0.2, gt=0, description="velocity-tracking time constant (s)")
    max_tilt: float = Field(0.6, gt=0, lt=1.4, description="tilt limit of the physics controller (rad)")
    attitude_bandwidth: float = Field(25.0, gt=0, description="attitude-loop natural frequency (rad/s)")
    band_gain: float = Field(1.0, gt=0, description="(1/s) how fast the physics controller leaves a band edge")

    @model_validator(mode="after")
    def _consistent(self) -> "UavParams":
        if self.arm_length >= self.radius:
            raise ValueError(f"arm_length ({self.arm_length:g}) must be < radius ({self.radius:g})")
        if not self.z_min < self.z_max:
            raise ValueError(f"z_min ({self.z_min:g}) must be < z_max ({self.z_max:g})")
        if not self.z_min <= self.altitude <= self.z_max:
            raise ValueError(f"altitude ({self.altitude:g}) must lie in [z_min, z_max] = "
                             f"[{self.z_min:g}, {self.z_max:g}]")
        if self.z_min < self.radius:
            raise ValueError(f"z_min ({self.z_min:g}) must be >= radius ({self.radius:g}) to clear the ground")
        return self


class UavModel(RobotModel):
    """Quadrotor in an altitude band: first-order velocity tracking, force-flown physics body."""
    kind: ClassVar[str] = "uav"
    dim: ClassVar[int] = 3
    control_names: ClassVar[tuple[str, ...]] = ("vx", "vy", "vz", "yaw_rate")
    Params: ClassVar[type[RobotParams]] = UavParams
    params: UavParams

    def __init__(self, params: RobotParams | None = None) -> None:
        super().__init__(params)
        # keyed by (client, first body id) so several fleets/scenes can share one model object
        self._commands: dict[tuple[int, int], np.ndarray] = {}  # (N, 4) controls held between substeps
        self._inertia: dict[tuple[int, int], np.ndarray] = {}  # (N, 3) principal inertia

    @property
    def radius(self) -> float:
        return self.params.radius

    @property
    def spawn_height(self) -> float:
        return self.params.altitude

    # --- kinematic -------------------------------------------------------------------------------
    def _clamp(self, u: np.ndarray) -> np.ndarray:
        pr = self.params
        out = u.copy()
        h = np.linalg.norm(u[:, :2], axis=1)
        scale = np.minimum(1.0, pr.max_speed / np.maximum(h, 1e-12))
        out[:, :2] *= scale[:, None]  # keep the heading of the horizontal velocity
        out[:, 2] = np.clip(u[:, 2], -pr.max_vz, pr.max_vz)
        out[:, 3] = np.clip(u[:, 3], -pr.max_yaw_rate, pr.max_yaw_rate)
        return out

    def velocity_to_control(self, state: FleetState, v_des: np.ndarray) -> np.ndarray:
        """Desired world velocity -> (vx, vy, vz, yaw_rate=0), speed-limited (a quad need not turn)."""
        v = check_rows("uav velocity command", v_des, state.n, 3)
        return self._clamp(np.column_stack([v, np.zeros(state.n)]))

    def step_kinematic(self, state: FleetState, control: np.ndarray, dt: float) -> FleetState:
        pr = self.params
        u = self._clamp(check_rows("uav control", control, state.n, 4))
        decay = np.exp(-dt / pr.tau)
        v0 = state.vel
        vc = u[:, :3]
        out = state.copy()
        # exact solution of dv/dt = (vc - v)/tau with vc held over dt
        out.vel = vc + (v0 - vc) * decay
        out.pos = state.pos + vc * dt + (v0 - vc) * pr.tau * (1.0 - decay)
        r0, rc = state.yaw_rate, u[:, 3]
        out.yaw_rate = rc + (r0 - rc) * decay
        out.yaw = wrap_angle(state.yaw + rc * dt + (r0 - rc) * pr.tau * (1.0 - decay))
        low, high = out.pos[:, 2] < pr.z_min, out.pos[:, 2] > pr.z_max
        out.pos[:, 2] = np.clip(out.pos[:, 2], pr.z_min, pr.z_max)
        out.vel[low, 2] = np.maximum(out.vel[low, 2], 0.0)
        out.vel[high, 2] = np.minimum(out.vel[high, 2], 0.0)
        return out

    # --- physics ---------------------------------------------------------------------------------
    def spawn(self, client: int, state: FleetState) -> list[int]:
        pr = self.params
        kw = {"physicsClientId": client}
        rotor_r = pr.radius - pr.arm_length
        hub = 0.3 * pr.arm_length
        arm_half = [pr.arm_length, 0.1 * hub + 0.005, 0.01]
        d = pr.arm_length / np.sqrt(2.0)
        rotors = [[d, d, 0.02], [-d, d, 0.02], [-d, -d, 0.02], [d, -d, 0.02]]
        q45, qm45 = yaw_to_quat(np.array([np.pi / 4, -np.pi / 4])).tolist()
        types = [p.GEOM_BOX, p.GEOM_BOX, p.GEOM_BOX] + [p.GEOM_CYLINDER] * 4
        shape_kw = dict(
            halfExtents=[[hub, hub, 0.03], arm_half, arm_half] + [[0, 0, 0]] * 4,
            radii=[0, 0, 0] + [rotor_r] * 4,
            lengths=[0, 0, 0] + [0.01] * 4,
            collisionFramePositions=[[0, 0, 0], [0, 0, 0], [0, 0, 0]] + rotors,
            collisionFrameOrientations=[[0, 0, 0, 1], q45, qm45] + [[0, 0, 0, 1]] * 4,
        )
        col = p.createCollisionShapeArray(types, **shape_kw, **kw)
        vis = p.createVisualShapeArray(
            types, halfExtents=shape_kw["halfExtents"], radii=shape_kw["radii"], lengths=shape_kw["lengths"],
            visualFramePositions=shape_kw["collisionFramePositions"],
            visualFrameOrientations=shape_kw["collisionFrameOrientations"],
            rgbaColors=[[0.2, 0.3, 0.8, 1]] * 3 + [[0.1, 0.1, 0.1, 0.8]] * 4, **kw) if wants_visuals(client) else -1
        # inertia of hub box + four rotor point masses (pybullet's compound estimate uses the AABB)
        m_rotor = 0.1 * pr.mass
        m_hub = pr.mass - 4 * m_rotor
        i_hub = m_hub * (2 * hub) ** 2 / 6.0
        ixx = i_hub + 4 * m_rotor * d * d
        inertia = [ixx, ixx, i_hub + 4 * m_rotor * pr.arm_length ** 2]
        quats = yaw_to_quat(state.yaw)
        bodies = []
        for i in range(state.n):
            b = p.createMultiBody(pr.mass, col, vis, state.pos[i].tolist(), quats[i].tolist(), **kw)
            p.changeDynamics(b, -1, localInertiaDiagonal=inertia, linearDamping=0.0, angularDamping=0.0, **kw)
            p.resetBaseVelocity(b, state.vel[i].tolist(), [0.0, 0.0, float(state.yaw_rate[i])], **kw)
            bodies.append(b)
        if bodies:
            self._inertia[(client, bodies[0])] = np.tile(inertia, (state.n, 1))
            self._commands[(client, bodies[0])] = np.zeros((state.n, 4))
        return bodies

    def apply_physics(self, client: int, bodies: list[int], state: FleetState,
                      control: np.ndarray, dt: float) -> None:
        """Hold the command; the forces are set before each substep by :meth:`physics_substep`."""
        if bodies:
            self._commands[(client, bodies[0])] = self._clamp(check_rows("uav control", control, len(bodies), 4))

    def physics_substep(self, client: int, bodies: list[int], physics_dt: float) -> None:
        """Cascaded velocity -> attitude -> torque controller; applies thrust and torques (world frame)."""
        pr = self.params
        n = len(bodies)
        if n == 0:
            return
        key = (client, bodies[0])
        u = self._commands.get(key)
        if u is None or len(u) != n:
            u = np.zeros((n, 4))
        J = self._inertia.get(key)
        if J is None or len(J) != n:
            J = np.array([p.getDynamicsInfo(b, -1, physicsClientId=client)[2] for b in bodies])
            self._inertia[key] = J
        g = -p.getPhysicsEngineParameters(physicsClientId=client)["gravityAccelerationZ"]
        pos, quat, vel, ang_w = read_bases(client, bodies)
        R = quat_to_matrix(quat)

        # velocity loop (band shaping keeps z in [z_min, z_max] by bounding vz near the edges)
        vc = u[:, :3].copy()
        vc[:, 2] = np.clip(vc[:, 2], pr.band_gain * (pr.z_min - pos[:, 2]), pr.band_gain * (pr.z_max - pos[:, 2]))
        a = (vc - vel) / pr.tau
        f = pr.mass * (a + np.array([0.0, 0.0, g]))
        f[:, 2] = np.maximum(f[:, 2], 0.2 * pr.mass * g)
        horiz = np.linalg.norm(f[:, :2], axis=1)
        cap = f[:, 2] * np.tan(pr.max_tilt)
        f[:, :2] *= np.minimum(1.0, cap / np.maximum(horiz, 1e-12))[:, None]

        # desired attitude: body z along f, heading = current heading (yaw is rate-controlled)
        b3 = f / np.linalg.norm(f, axis=1, keepdims=True)
        yaw = quat_to_yaw(quat)
        b1c = np.column_stack([np.cos(yaw), np.sin(yaw), np.zeros(n)])
        b2 = np.cross(b3, b1c)
        b2 /= np.linalg.norm(b2, axis=1, keepdims=True)
        b1 = np.cross(b2, b3)
        Rd = np.stack([b1, b2, b3], axis=2)
        thrust = np.einsum("ni,ni->n", f, R[:, :, 2])  # projection on the current body z
        thrust = np.clip(thrust, 0.0, 4.0 * pr.mass * g)

        # geometric attitude PD: e_R = vee(Rd^T R - R^T Rd) / 2
        E = np.einsum("nji,njk->nik", Rd, R) - np.einsum("nji,njk->nik", R, Rd)
        e_r = 0.5 * np.column_stack([E[:, 2, 1], E[:, 0, 2], E[:, 1, 0]])
        w_body = np.einsum("nji,nj->ni", R, ang_w)
        e_w = w_body - np.column_stack([np.zeros((n, 2)), u[:, 3]])
        wn = pr.attitude_bandwidth
        tau_b = -J * wn * wn * e_r - 2.0 * J * wn * e_w + np.cross(w_body, J * w_body)
        force_w = thrust[:, None] * R[:, :, 2]
        torque_w = np.einsum("nij,nj->ni", R, tau_b)
        for i, b in enumerate(bodies):
            p.applyExternalForce(b, -1, force_w[i].tolist(), pos[i].tolist(), p.WORLD_FRAME, physicsClientId=client)
            p.applyExternalTorque(b, -1, torque_w[i].tolist(), p.WORLD_FRAME, physicsClientId=client)

    def read_physics(self, client: int, bodies: list[int], previous: FleetState) -> FleetState:
        pos, quat, lin, ang = read_bases(client, bodies)
        return FleetState(pos=pos, yaw=quat_to_yaw(quat), vel=lin, yaw_rate=ang[:, 2],
                          extra={k: v.copy() for k, v in previous.extra.items()})


__all__ = ["UavModel", "UavParams"]
