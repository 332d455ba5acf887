"""Warehouse AMR: a differential-drive disc (unicycle kinematics).

Velocity commands go through the near-identity diffeomorphism (NID) used on the Robotarium: the
point ``p + l [cos th, sin th]`` a small distance ``l`` ahead of the axle is fully actuated, so a
desired planar velocity ``u`` maps to ``v = u . h`` and ``omega = u . n / l`` (h heading, n its
normal). Refs: Wilson et al., "The Robotarium: Globally Impactful Opportunities, Challenges, and
Lessons Learned in Remote-Access, Distributed Control of Multirobot Systems", IEEE Control Systems
Magazine 40(1), 2020; Olfati-Saber, "Near-identity diffeomorphisms and exponential
epsilon-tracking and epsilon-stabilization of first-order nonholonomic SE(2) vehicles", ACC 2002.

Physics body: the base is a compound of the chassis cylinder and a ball caster front and back
(frictionless, lifted 1 mm so the wheels carry the weight); two driven wheels hang on revolute joints
(velocity motors with a torque limit; their collision shapes are spheres of the wheel radius, which
touch the floor in one point). The base frame is the chassis centre, so ``state.pos[:, 2] == spawn_height`` on the ground.
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

_CASTER_LIFT = 0.001  # m; the casters hover this much so the driven wheels bear the load


class AmrParams(RobotParams):
    radius: float = Field(0.3, gt=0, description="chassis radius (m); also the bounding radius")
    height: float = Field(0.3, gt=0, description="top of the chassis above the ground (m)")
    max_speed: float = Field(1.0, gt=0, description="forward/backward speed limit (m/s)")
    max_omega: float = Field(2.0, gt=0, description="turn-rate limit (rad/s)")
    wheel_base: float = Field(0.4, gt=0, description="distance between the two driven wheels (m)")
    wheel_radius: float = Field(0.05, gt=0, description="driven wheel radius (m)")
    wheel_width: float = Field(0.03, gt=0, description="driven wheel width (m)")
    mass: float = Field(20.0, gt=0, description="chassis mass (kg); the two wheels add 1 kg")
    max_wheel_torque: float = Field(2.0, gt=0, description="motor torque limit per wheel (N m)")
    lookahead: float = Field(0.1, gt=0, description="NID offset l of the controlled point ahead of the axle (m)")

    @model_validator(mode="after")
    def _fits(self) -> "AmrParams":
        reach = self.wheel_base / 2 + max(self.wheel_width / 2, self.wheel_radius)
        if reach > self.radius:
            raise ValueError(f"wheel_base/2 + max(wheel_width/2, wheel_radius) ({reach:g}) "
                             f"must fit inside radius ({self.radius:g})")
        if self.height <= 1.5 * self.wheel_radius:
            raise ValueError(f"height ({self.height:g}) must exceed 1.5 * wheel_radius ({1.5 * self.wheel_radius:g})")
        if self.radius <= self.wheel_radius + 0.02:
            raise ValueError(f"radius ({self.radius:g}) must exceed wheel_radius + 0.02 ({self.wheel_radius + 0.02:g})")
        return self


class AmrModel(RobotModel):
    """Differential-drive AMR disc: unicycle kinematics, NID velocity mapping, two-wheel physics body."""
    kind: ClassVar[str] = "amr"
    dim: ClassVar[int] = 2
    control_names: ClassVar[tuple[str, ...]] = ("v", "omega")
    Params: ClassVar[type[RobotParams]] = AmrParams
    params: AmrParams

    @property
    def radius(self) -> float:
        return self.params.radius

    @property
    def _chassis_bottom(self) -> float:
        return self.params.wheel_radius  # at axle height; casters of radius wheel_radius/2 fit below

    @property
    def spawn_height(self) -> float:
        """z of the chassis centre (the base frame) when standing on the ground."""
        return 0.5 * (self._chassis_bottom + self.params.height)

    # --- kinematic -------------------------------------------------------------------------------
    def velocity_to_control(self, state: FleetState, v_des: np.ndarray) -> np.ndarray:
        u = check_rows("amr velocity command", v_des, state.n, 2)
        c, s = np.cos(state.yaw), np.sin(state.yaw)
        v = u[:, 0] * c + u[:, 1] * s
        omega = (-u[:, 0] * s + u[:, 1] * c) / self.params.lookahead
        return self._clamp(np.stack([v, omega], axis=1))

    def _clamp(self, control: np.ndarray) -> np.ndarray:
        out = np.empty_like(control)
        out[:, 0] = np.clip(control[:, 0], -self.params.max_speed, self.params.max_speed)
        out[:, 1] = np.clip(control[:, 1], -self.params.max_omega, self.params.max_omega)
        return out

    def step_kinematic(self, state: FleetState, control: np.ndarray, dt: float) -> FleetState:
        """Exact unicycle integration for constant (v, omega) over dt (arc, not Euler)."""
        u = self._clamp(check_rows("amr control", control, state.n, 2))
        v, w = u[:, 0], u[:, 1]
        dth = w * dt
        chord = v * dt * np.sinc(dth / (2 * np.pi))  # sin(dth/2)/(dth/2), finite at 0
        mid = state.yaw + 0.5 * dth
        out = state.copy()
        out.pos[:, 0] += chord * np.cos(mid)
        out.pos[:, 1] += chord * np.sin(mid)
        out.yaw = wrap_angle(state.yaw + dth)
        out.vel = np.stack([v * np.cos(out.yaw), v * np.sin(out.yaw), np.zeros_like(v)], axis=1)
        out.yaw_rate = w.copy()
        return out

    # --- physics ---------------------------------------------------------------------------------
    def spawn(self, client: int, state: FleetState) -> list[int]:
        pr = self.params
        zc = self.spawn_height
        h_chassis = pr.height - self._chassis_bottom
        r_caster = 0.5 * pr.wheel_radius
        kw = {"physicsClientId": client}
        axle_z = pr.wheel_radius - zc
        caster_x = pr.radius - r_caster - 0.01
        caster_z = r_caster + _CASTER_LIFT - zc
        # base = compound of chassis + both casters (fewer links = cheaper resets and contacts);
        # the base is frictionless, so the casters slide freely (a bumper sliding on walls, too)
        shapes = dict(
            shapeTypes=[p.GEOM_CYLINDER, p.GEOM_SPHERE, p.GEOM_SPHERE],
            radii=[pr.radius, r_caster, r_caster], lengths=[h_chassis, 0, 0],
            halfExtents=[[0, 0, 0]] * 3,
        )
        frames = [[0, 0, 0], [caster_x, 0, caster_z], [-caster_x, 0, caster_z]]
        chassis_c = p.createCollisionShapeArray(**shapes, collisionFramePositions=frames, **kw)
        vis = wants_visuals(client)
        chassis_v = p.createVisualShapeArray(**shapes, visualFramePositions=frames,
                                             rgbaColors=[[0.95, 0.55, 0.1, 1]] + [[0.5, 0.5, 0.5, 1]] * 2, **kw) \
            if vis else -1
        # a sphere touches the floor in one point (a cylinder in ~4): 2.3x cheaper contact solving
        wheel_c = p.createCollisionShape(p.GEOM_SPHERE, radius=pr.wheel_radius, **kw)
        wheel_v = p.createVisualShape(p.GEOM_CYLINDER, radius=pr.wheel_radius, length=pr.wheel_width,
                                      visualFrameOrientation=WHEEL_SHAPE_QUAT, rgbaColor=[0.1, 0.1, 0.1, 1], **kw) \
            if vis else -1
        m_wheel = 0.5
        links = dict(
            linkMasses=[m_wheel, m_wheel],
            linkCollisionShapeIndices=[wheel_c, wheel_c],
            linkVisualShapeIndices=[wheel_v, wheel_v],
            linkPositions=[[0, pr.wheel_base / 2, axle_z], [0, -pr.wheel_base / 2, axle_z]],
            linkOrientations=[[0, 0, 0, 1]] * 2,
            linkInertialFramePositions=[[0, 0, 0]] * 2,
            linkInertialFrameOrientations=[[0, 0, 0, 1]] * 2,
            linkParentIndices=[0, 0],
            linkJointTypes=[p.JOINT_REVOLUTE, p.JOINT_REVOLUTE],
            linkJointAxis=[[0, 1, 0], [0, 1, 0]],
        )
        # solid-cylinder inertia for the chassis (pybullet would use the compound's bounding box)
        i_xy = pr.mass * (3 * pr.radius ** 2 + h_chassis ** 2) / 12
        chassis_inertia = [i_xy, i_xy, 0.5 * pr.mass * pr.radius ** 2]
        i_spin = 0.5 * m_wheel * pr.wheel_radius ** 2
        i_other = m_wheel * (3 * pr.wheel_radius ** 2 + pr.wheel_width ** 2) / 12
        quats = yaw_to_quat(state.yaw)
        bodies = []
        for i in range(state.n):
            b = p.createMultiBody(pr.mass, chassis_c, chassis_v, state.pos[i].tolist(), quats[i].tolist(),
                                  **links, **kw)
            p.changeDynamics(b, -1, lateralFriction=0.0, rollingFriction=0.0, spinningFriction=0.0,
                             linearDamping=0.0, angularDamping=0.0, localInertiaDiagonal=chassis_inertia, **kw)
            for link in (0, 1):
                p.changeDynamics(b, link, lateralFriction=1.0, rollingFriction=0.0, spinningFriction=0.0,
                                 localInertiaDiagonal=[i_other, i_spin, i_other], **kw)
            p.setJointMotorControlArray(b, [0, 1], p.VELOCITY_CONTROL, targetVelocities=[0.0, 0.0],
                                        forces=[pr.max_wheel_torque] * 2, **kw)
            bodies.append(b)
        return bodies

    def wheel_speeds(self, control: np.ndarray) -> np.ndarray:
        """(N, 2) (v, omega) -> (N, 2) (left, right) wheel angular speeds in rad/s."""
        u = self._clamp(np.asarray(control, dtype=float).reshape(-1, 2))
        half = 0.5 * self.params.wheel_base
        return np.stack([u[:, 0] - u[:, 1] * half, u[:, 0] + u[:, 1] * half], axis=1) / self.params.wheel_radius

    def apply_physics(self, client: int, bodies: list[int], state: FleetState,
                      control: np.ndarray, dt: float) -> None:
        ws = self.wheel_speeds(check_rows("amr control", control, len(bodies), 2))
        forces = [self.params.max_wheel_torque] * 2
        for b, (wl, wr) in zip(bodies, ws.tolist()):
            p.setJointMotorControlArray(b, [0, 1], p.VELOCITY_CONTROL, targetVelocities=[wl, wr],
                                        forces=forces, physicsClientId=client)

    def read_physics(self, client: int, bodies: list[int], previous: FleetState) -> FleetState:
        pos, quat, lin, ang = read_bases(client, bodies)
        return FleetState(pos=pos, yaw=quat_to_yaw(quat), vel=lin, yaw_rate=ang[:, 2],
                          extra={k: v.copy() for k, v in previous.extra.items()})


__all__ = ["AmrModel", "AmrParams"]
