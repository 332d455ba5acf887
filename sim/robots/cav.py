"""Connected autonomous vehicle: a car on the kinematic bicycle model.

State reference point is the centre of gravity, placed at the centre of the car's footprint (axles
symmetric about it, ``l_f = l_r = wheelbase / 2``). Kinematic bicycle model at the CoG (Rajamani,
*Vehicle Dynamics and Control*, 2nd ed., 2012, sec. 2.2; Kong, Pfeiffer, Schildbach, Borrelli,
"Kinematic and dynamic vehicle models for autonomous driving control design", IV 2015)::

    beta = atan(l_r / L * tan(delta)),  x' = v cos(psi + beta),  y' = v sin(psi + beta),
    psi' = v / l_r * sin(beta)

Controls: ``speed_cmd`` (target signed speed, reached at most at ``max_accel``) and ``steer``
(target front-wheel angle, reached at most at ``max_steer_rate``). Extra state: ``extra["speed"]``
(signed speed along the heading) and ``extra["steer"]`` (front-wheel angle), both (N,).

``velocity_to_control`` tracks a desired world velocity with a pure-pursuit law on a look-ahead point
along it (Coulter, "Implementation of the Pure Pursuit Path Tracking Algorithm", CMU-RI-TR-92-01).

``radius`` is the bounding circle of the footprint: half its diagonal, ``sqrt(length^2+width^2)/2``.

Physics body: chassis box (base; frame at the CoG height ``spawn_height``), two front steering
knuckles (revolute about z, position-controlled, Ackermann angles) carrying free-rolling wheels, and
two rear wheels driven by velocity motors whose torque limit realises ``max_accel``.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np
import pybullet as p
from pydantic import Field, model_validator

from sim.robots._pb import (WHEEL_SHAPE_QUAT, check_rows, quat_to_yaw, read_bases, wants_visuals, wrap_angle,
                            yaw_to_quat)
from sim.robots.base import RobotModel, RobotParams
from sim.state import FleetState

# link indices of the physics body
_FL_KNUCKLE, _FL_WHEEL, _FR_KNUCKLE, _FR_WHEEL, _RL_WHEEL, _RR_WHEEL = range(6)


class CavParams(RobotParams):
    length: float = Field(4.5, gt=0, description="body length (m)")
    width: float = Field(1.8, gt=0, description="body width (m)")
    height: float = Field(1.5, gt=0, description="roof height above the ground (m)")
    wheelbase: float = Field(2.7, gt=0, description="front to rear axle (m), < length")
    max_speed: float = Field(15.0, gt=0, description="speed limit, both directions (m/s)")
    max_accel: float = Field(3.0, gt=0, description="acceleration / braking limit (m/s^2)")
    max_steer: float = Field(0.6, gt=0, lt=1.2, description="front-wheel angle limit (rad)")
    max_steer_rate: float = Field(1.0, gt=0, description="steering rate limit (rad/s)")
    mass: float = Field(1500.0, gt=0, description="chassis mass (kg); four wheels add 4 x 20 kg")
    wheel_radius: float = Field(0.35, gt=0, description="wheel radius (m)")
    cog_height: float = Field(0.55, gt=0, description="centre-of-gravity height (m); the body frame")
    allow_reverse: bool = Field(False, description="velocity_to_control may back up to a target behind")
    lookahead_time: float = Field(1.0, gt=0, description="pure-pursuit look-ahead = max(min, time*|v_des|) (s)")
    min_lookahead: float = Field(3.0, gt=0, description="pure-pursuit minimum look-ahead distance (m)")
    min_turn_speed_frac: float = Field(0.3, ge=0, le=1, description="speed kept (fraction of |v_des|) "
                                       "while turning towards a target more than 90 deg off the heading")

    @model_validator(mode="after")
    def _consistent(self) -> "CavParams":
        if self.wheelbase >= self.length:
            raise ValueError(f"wheelbase ({self.wheelbase:g}) must be < length ({self.length:g})")
        if not self.wheel_radius < self.cog_height < self.height:
            raise ValueError(f"need wheel_radius ({self.wheel_radius:g}) < cog_height ({self.cog_height:g}) "
                             f"< height ({self.height:g})")
        if self.wheelbase / 2 + self.wheel_radius > self.length / 2 + 0.5 * self.wheel_radius:
            raise ValueError(f"wheels stick out: wheelbase/2 + wheel_radius must stay within length/2 "
                             f"(+ wheel_radius/2); got {self.wheelbase / 2 + self.wheel_radius:g} vs {self.length / 2:g}")
        if self.width <= 0.6:
            raise ValueError(f"width ({self.width:g}) must exceed 0.6 m to fit the wheels")
        return self


class CavModel(RobotModel):
    """Car on the kinematic bicycle model (CoG), pure-pursuit velocity tracking, 4-wheel physics body."""
    kind: ClassVar[str] = "cav"
    dim: ClassVar[int] = 2
    control_names: ClassVar[tuple[str, ...]] = ("speed_cmd", "steer")
    Params: ClassVar[type[RobotParams]] = CavParams
    params: CavParams

    def __init__(self, params: RobotParams | None = None) -> None:
        super().__init__(params)
        # (client, first body id) -> (N,) speed reference of the motors
        self._speed_ref: dict[tuple[int, int], np.ndarray] = {}

    @property
    def radius(self) -> float:
        """Bounding circle of the footprint: half the diagonal."""
        return 0.5 * float(np.hypot(self.params.length, self.params.width))

    @property
    def spawn_height(self) -> float:
        return self.params.cog_height

    @property
    def track(self) -> float:
        """Lateral distance between left and right wheel centres (m)."""
        return self.params.width - 0.3

    # --- helpers ---------------------------------------------------------------------------------
    def _speed_steer(self, state: FleetState) -> tuple[np.ndarray, np.ndarray]:
        steer = state.extra.get("steer")
        steer = np.zeros(state.n) if steer is None else np.asarray(steer, dtype=float).reshape(state.n)
        speed = state.extra.get("speed")
        if speed is None:  # signed speed along the heading, from the velocity
            h = np.column_stack([np.cos(state.yaw), np.sin(state.yaw)])
            vxy = state.vel[:, :2]
            speed = np.linalg.norm(vxy, axis=1) * np.where(np.einsum("ni,ni->n", vxy, h) < 0, -1.0, 1.0)
        return np.asarray(speed, dtype=float).reshape(state.n), steer

    def _clamp(self, u: np.ndarray) -> np.ndarray:
        pr = self.params
        out = np.empty_like(u)
        out[:, 0] = np.clip(u[:, 0], -pr.max_speed, pr.max_speed)
        out[:, 1] = np.clip(u[:, 1], -pr.max_steer, pr.max_steer)
        return out

    # --- kinematic -------------------------------------------------------------------------------
    def velocity_to_control(self, state: FleetState, v_des: np.ndarray) -> np.ndarray:
        """Pure pursuit towards a look-ahead point along ``v_des``; speed = |v_des| scaled by alignment."""
        pr = self.params
        u = check_rows("cav velocity command", v_des, state.n, 2)
        _, steer_now = self._speed_steer(state)
        mag = np.linalg.norm(u, axis=1)
        alpha = wrap_angle(np.arctan2(u[:, 1], u[:, 0]) - state.yaw)  # heading error
        ld = np.maximum(pr.min_lookahead, pr.lookahead_time * mag)
        cos_a = np.cos(alpha)
        speed = mag * np.maximum(cos_a, pr.min_turn_speed_frac)
        steer = np.arctan(2.0 * pr.wheelbase * np.sin(alpha) / ld)  # delta = atan(L * 2 sin(a) / ld)
        if pr.allow_reverse:
            back = cos_a < 0
            alpha_r = wrap_angle(alpha[back] - np.pi)  # error of the car's tail to the target
            speed[back] = mag[back] * cos_a[back]  # negative
            steer[back] = -np.arctan(2.0 * pr.wheelbase * np.sin(alpha_r) / ld[back])
        still = mag < 1e-9
        speed[still] = 0.0
        steer[still] = steer_now[still]
        return self._clamp(np.column_stack([speed, steer]))

    def step_kinematic(self, state: FleetState, control: np.ndarray, dt: float) -> FleetState:
        """Bicycle integration over dt with accel and steer-rate limits (exact arc at mean speed/steer)."""
        pr = self.params
        u = self._clamp(check_rows("cav control", control, state.n, 2))
        v0, d0 = self._speed_steer(state)
        v1 = v0 + np.clip(u[:, 0] - v0, -pr.max_accel * dt, pr.max_accel * dt)
        d1 = np.clip(d0 + np.clip(u[:, 1] - d0, -pr.max_steer_rate * dt, pr.max_steer_rate * dt),
                     -pr.max_steer, pr.max_steer)
        vm, dm = 0.5 * (v0 + v1), 0.5 * (d0 + d1)
        beta = np.arctan(0.5 * np.tan(dm))  # l_r / L = 1/2
        dpsi = vm * np.sin(beta) / (0.5 * pr.wheelbase) * dt
        chord = vm * dt * np.sinc(dpsi / (2 * np.pi))
        ang = state.yaw + beta + 0.5 * dpsi
        out = state.copy()
        out.pos[:, 0] += chord * np.cos(ang)
        out.pos[:, 1] += chord * np.sin(ang)
        out.yaw = wrap_angle(state.yaw + dpsi)
        beta1 = np.arctan(0.5 * np.tan(d1))
        out.vel = np.column_stack([v1 * np.cos(out.yaw + beta1), v1 * np.sin(out.yaw + beta1), np.zeros(state.n)])
        out.yaw_rate = v1 * np.sin(beta1) / (0.5 * pr.wheelbase)
        out.extra["speed"] = v1
        out.extra["steer"] = d1
        return out

    # --- physics ---------------------------------------------------------------------------------
    def ackermann(self, steer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bicycle front angle -> (left, right) wheel angles sharing one turning centre."""
        L, t = self.params.wheelbase, self.track
        tan_d = np.tan(np.asarray(steer, dtype=float))
        left = np.arctan(L * tan_d / (L - 0.5 * t * tan_d))
        right = np.arctan(L * tan_d / (L + 0.5 * t * tan_d))
        return left, right

    def spawn(self, client: int, state: FleetState) -> list[int]:
        pr = self.params
        kw = {"physicsClientId": client}
        clearance = 0.5 * pr.wheel_radius + 0.1
        box_h = pr.height - clearance
        box_z = clearance + 0.5 * box_h - pr.cog_height  # box centre relative to the CoG frame
        half = [0.5 * pr.length, 0.5 * pr.width, 0.5 * box_h]
        chassis_c = p.createCollisionShape(p.GEOM_BOX, halfExtents=half, collisionFramePosition=[0, 0, box_z], **kw)
        vis = wants_visuals(client)
        chassis_v = p.createVisualShape(p.GEOM_BOX, halfExtents=half, visualFramePosition=[0, 0, box_z],
                                        rgbaColor=[0.15, 0.45, 0.85, 1], **kw) if vis else -1
        ww = 0.25
        wheel_c = p.createCollisionShape(p.GEOM_CYLINDER, radius=pr.wheel_radius, height=ww,
                                         collisionFrameOrientation=WHEEL_SHAPE_QUAT, **kw)
        wheel_v = p.createVisualShape(p.GEOM_CYLINDER, radius=pr.wheel_radius, length=ww,
                                      visualFrameOrientation=WHEEL_SHAPE_QUAT, rgbaColor=[0.1, 0.1, 0.1, 1], **kw) \
            if vis else -1
        ax, ay, az = 0.5 * pr.wheelbase, 0.5 * self.track, pr.wheel_radius - pr.cog_height
        m_wheel = 20.0
        links = dict(
            linkMasses=[5.0, m_wheel, 5.0, m_wheel, m_wheel, m_wheel],
            linkCollisionShapeIndices=[-1, wheel_c, -1, wheel_c, wheel_c, wheel_c],
            linkVisualShapeIndices=[-1, wheel_v, -1, wheel_v, wheel_v, wheel_v],
            linkPositions=[[ax, ay, az], [0, 0, 0], [ax, -ay, az], [0, 0, 0], [-ax, ay, az], [-ax, -ay, az]],
            linkOrientations=[[0, 0, 0, 1]] * 6,
            linkInertialFramePositions=[[0, 0, 0]] * 6,
            linkInertialFrameOrientations=[[0, 0, 0, 1]] * 6,
            linkParentIndices=[0, _FL_KNUCKLE + 1, 0, _FR_KNUCKLE + 1, 0, 0],  # 0 = base, k = link k-1
            linkJointTypes=[p.JOINT_REVOLUTE] * 6,
            linkJointAxis=[[0, 0, 1], [0, 1, 0], [0, 0, 1], [0, 1, 0], [0, 1, 0], [0, 1, 0]],
        )
        i_wheel_spin = 0.5 * m_wheel * pr.wheel_radius ** 2
        i_wheel_other = m_wheel * (3 * pr.wheel_radius ** 2 + ww ** 2) / 12
        quats = yaw_to_quat(state.yaw)
        speed, steer = self._speed_steer(state)
        left, right = self.ackermann(steer)
        bodies = []
        for i in range(state.n):
            b = p.createMultiBody(pr.mass, chassis_c, chassis_v, state.pos[i].tolist(), quats[i].tolist(),
                                  **links, **kw)
            p.changeDynamics(b, -1, lateralFriction=0.5, linearDamping=0.0, angularDamping=0.0, **kw)
            for k in (_FL_KNUCKLE, _FR_KNUCKLE):
                p.changeDynamics(b, k, localInertiaDiagonal=[0.2, 0.2, 0.2], **kw)
            for k in (_FL_WHEEL, _FR_WHEEL, _RL_WHEEL, _RR_WHEEL):
                p.changeDynamics(b, k, lateralFriction=1.0, rollingFriction=0.0, spinningFriction=0.0,
                                 localInertiaDiagonal=[i_wheel_other, i_wheel_spin, i_wheel_other], **kw)
            p.resetJointState(b, _FL_KNUCKLE, float(left[i]), **kw)
            p.resetJointState(b, _FR_KNUCKLE, float(right[i]), **kw)
            # front wheels roll freely: switch off pybullet's default velocity motor
            p.setJointMotorControlArray(b, [_FL_WHEEL, _FR_WHEEL], p.VELOCITY_CONTROL,
                                        targetVelocities=[0.0, 0.0], forces=[0.0, 0.0], **kw)
            bodies.append(b)
        self._set_motors(client, bodies, np.zeros(state.n), steer)
        if bodies:
            self._speed_ref[(client, bodies[0])] = np.zeros(state.n)
        return bodies

    def _set_motors(self, client: int, bodies: list[int], speed_target: np.ndarray,
                    steer_target: np.ndarray) -> None:
        pr = self.params
        left, right = self.ackermann(steer_target)
        # rear wheels: axle speed v cos(beta), split by the yaw rate across the track (open differential)
        beta = np.arctan(0.5 * np.tan(steer_target))
        v_axle = speed_target * np.cos(beta)
        yaw_rate = v_axle * np.tan(steer_target) / pr.wheelbase
        w_l = (v_axle - 0.5 * self.track * yaw_rate) / pr.wheel_radius
        w_r = (v_axle + 0.5 * self.track * yaw_rate) / pr.wheel_radius
        # torque per rear wheel for max_accel of the whole car (wheels' rotational inertia included)
        torque = (pr.mass + 4 * 20.0) * pr.max_accel * pr.wheel_radius / 2 * 1.1
        steer_force = 0.05 * pr.mass * 9.81 * pr.wheel_radius
        for i, b in enumerate(bodies):
            p.setJointMotorControlArray(b, [_RL_WHEEL, _RR_WHEEL], p.VELOCITY_CONTROL,
                                        targetVelocities=[float(w_l[i]), float(w_r[i])], forces=[torque, torque],
                                        physicsClientId=client)
            p.setJointMotorControlArray(b, [_FL_KNUCKLE, _FR_KNUCKLE], p.POSITION_CONTROL,
                                        targetPositions=[float(left[i]), float(right[i])],
                                        forces=[steer_force, steer_force], physicsClientId=client)

    def apply_physics(self, client: int, bodies: list[int], state: FleetState,
                      control: np.ndarray, dt: float) -> None:
        """Ramp the targets at the kinematic limits; motors track them over the substeps of dt.

        The speed reference moves towards ``speed_cmd`` at ``max_accel`` (ramped from the previous
        reference, not the measured speed, so tyre scrub in turns does not compound into a slower
        ramp); the steering target moves at most ``max_steer_rate * dt`` from the measured angle.
        """
        pr = self.params
        n = len(bodies)
        u = self._clamp(check_rows("cav control", control, n, 2))
        v_meas, d0 = self._speed_steer(state)
        if n == 0:
            return
        key = (client, bodies[0])
        v0 = self._speed_ref.get(key)
        if v0 is None or len(v0) != n:
            v0 = v_meas
        # a blocked car must not wind its reference up beyond what it can reach within one step
        v0 = np.clip(v0, v_meas - pr.max_accel * dt, v_meas + pr.max_accel * dt)
        v1 = v0 + np.clip(u[:, 0] - v0, -pr.max_accel * dt, pr.max_accel * dt)
        self._speed_ref[key] = v1
        d1 = np.clip(d0 + np.clip(u[:, 1] - d0, -pr.max_steer_rate * dt, pr.max_steer_rate * dt),
                     -pr.max_steer, pr.max_steer)
        self._set_motors(client, bodies, v1, d1)

    def read_physics(self, client: int, bodies: list[int], previous: FleetState) -> FleetState:
        pos, quat, lin, ang = read_bases(client, bodies)
        yaw = quat_to_yaw(quat)
        steer = np.zeros(len(bodies))
        for i, b in enumerate(bodies):
            (ql, *_), (qr, *_) = p.getJointStates(b, [_FL_KNUCKLE, _FR_KNUCKLE], physicsClientId=client)
            steer[i] = 0.5 * (ql + qr)  # equals the bicycle angle to second order
        h = np.column_stack([np.cos(yaw), np.sin(yaw)])
        speed = np.linalg.norm(lin[:, :2], axis=1) * np.where(np.einsum("ni,ni->n", lin[:, :2], h) < 0, -1.0, 1.0)
        extra = {k: v.copy() for k, v in previous.extra.items()}
        extra["speed"], extra["steer"] = speed, steer
        return FleetState(pos=pos, yaw=yaw, vel=lin, yaw_rate=ang[:, 2], extra=extra)


__all__ = ["CavModel", "CavParams"]
