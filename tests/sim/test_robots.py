"""Robot kinds: parameter validation, kinematic models, and pybullet physics that actually moves."""
from __future__ import annotations

import numpy as np
import pybullet as p
import pytest
from pydantic import ValidationError

from sim.robots import robot_model_class
from sim.robots.amr import AmrModel, AmrParams
from sim.robots.cav import CavModel, CavParams
from sim.robots.uav import UavModel, UavParams
from sim.scene import Scene
from sim.state import FleetState


def _physics_run(model, state: FleetState, control: np.ndarray, seconds: float, dt: float = 0.1,
                 scene: Scene | None = None):
    """Drive ``model`` in a fresh scene with a constant native control; returns the state history."""
    own = scene is None
    scene = scene or Scene()
    try:
        scene.add_ground()
        bodies = scene.add_robots(model, state)
        st = model.read_physics(scene.client, bodies, state)
        hist = [st]
        for _ in range(int(round(seconds / dt))):
            model.apply_physics(scene.client, bodies, st, control, dt)
            scene.step(dt)
            st = model.read_physics(scene.client, bodies, st)
            hist.append(st)
        tilt = []
        for b in bodies:
            _, q = p.getBasePositionAndOrientation(b, physicsClientId=scene.client)
            roll, pitch, _ = p.getEulerFromQuaternion(q)
            tilt.append(max(abs(roll), abs(pitch)))
        return hist, np.array(tilt)
    finally:
        if own:
            scene.close()


# --- contract and parameters ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind,cls,dim,controls", [
    ("amr", AmrModel, 2, ("v", "omega")),
    ("uav", UavModel, 3, ("vx", "vy", "vz", "yaw_rate")),
    ("cav", CavModel, 2, ("speed_cmd", "steer")),
])
def test_registry_and_contract(kind, cls, dim, controls):
    assert robot_model_class(kind) is cls
    assert cls.kind == kind and cls.dim == dim and cls.control_names == controls
    m = cls()
    st = FleetState.at_rest(np.zeros((3, 3)) + [0, 0, m.spawn_height])
    u = m.velocity_to_control(st, np.zeros((3, dim)))
    assert u.shape == (3, len(controls))
    out = m.step_kinematic(st, u, 0.1)
    assert out.pos.shape == (3, 3) and out is not st
    with pytest.raises(ValueError, match="expected shape"):
        m.velocity_to_control(st, np.zeros((2, dim)))


@pytest.mark.parametrize("cls,bad", [
    (AmrParams, {"radius": -0.1}),
    (AmrParams, {"wheel_base": 0.9}),  # wheels outside the 0.3 m chassis
    (AmrParams, {"lookahead": 0}),
    (AmrParams, {"colour": "red"}),  # unknown key
    (UavParams, {"z_min": 6.0, "z_max": 4.0}),
    (UavParams, {"altitude": 12.0}),  # outside the default band [2, 10]
    (UavParams, {"arm_length": 0.3}),  # longer than the radius
    (CavParams, {"wheelbase": 5.0}),  # longer than the car
    (CavParams, {"max_steer": 2.0}),
])
def test_bad_params_are_rejected(cls, bad):
    with pytest.raises(ValidationError):
        cls(**bad)


def test_radii():
    assert AmrModel().radius == pytest.approx(0.3)
    assert UavModel().radius == pytest.approx(0.25)
    assert CavModel().radius == pytest.approx(0.5 * np.hypot(4.5, 1.8))  # bounding circle of the footprint
    assert UavModel().spawn_height == pytest.approx(5.0)


# --- AMR -------------------------------------------------------------------------------------------------
def test_amr_nid_mapping_and_limits():
    m = AmrModel(AmrParams(lookahead=0.1, max_speed=1.0, max_omega=2.0))
    st = FleetState.at_rest(np.zeros((4, 3)), yaw=np.array([0.0, 0.0, np.pi / 2, 0.0]))
    u = m.velocity_to_control(st, np.array([[0.5, 0.0], [0.0, 0.1], [0.0, 0.5], [3.0, 5.0]]))
    assert u[0] == pytest.approx([0.5, 0.0])  # straight ahead
    assert u[1] == pytest.approx([0.0, 1.0])  # sideways: omega = u_perp / l
    assert u[2] == pytest.approx([0.5, 0.0], abs=1e-12)  # facing +y, asked +y
    assert u[3] == pytest.approx([1.0, 2.0])  # clipped to the limits


def test_amr_exact_arc_matches_fine_integration():
    m = AmrModel()
    st = FleetState.at_rest(np.zeros((1, 3)))
    u = np.array([[0.8, 1.5]])
    one = m.step_kinematic(st, u, 1.0)
    fine = st
    for _ in range(10000):
        fine = m.step_kinematic(fine, u, 1e-4)
    assert one.pos == pytest.approx(fine.pos, abs=1e-9)
    # closed form: radius v/omega
    r = 0.8 / 1.5
    assert one.pos[0, :2] == pytest.approx([r * np.sin(1.5), r * (1 - np.cos(1.5))])
    assert one.yaw[0] == pytest.approx(1.5)
    assert one.vel[0, :2] == pytest.approx([0.8 * np.cos(1.5), 0.8 * np.sin(1.5)])


def test_amr_nid_closed_loop_reaches_goal():
    m = AmrModel()
    st = FleetState.at_rest(np.array([[0.0, 0.0, m.spawn_height]]), yaw=np.array([np.pi]))  # facing away
    goal = np.array([3.0, 2.0])
    for _ in range(300):
        err = goal - st.pos[0, :2]
        v = np.clip(err, -1, 1)[None, :]
        st = m.step_kinematic(st, m.velocity_to_control(st, v), 0.05)
    assert np.linalg.norm(st.pos[0, :2] - goal) < 0.15  # within the NID offset l of the goal


def test_amr_physics_drives_forward_and_turns():
    m = AmrModel()
    yaw0 = 0.7
    st = FleetState.at_rest(np.array([[0.0, 0.0, m.spawn_height], [0.0, 5.0, m.spawn_height]]),
                            yaw=np.array([yaw0, 0.0]))
    hist, tilt = _physics_run(m, st, np.array([[0.5, 0.0], [0.0, 1.0]]), seconds=2.0)
    end = hist[-1]
    d = end.pos[0, :2] - st.pos[0, :2]
    along = d @ [np.cos(yaw0), np.sin(yaw0)]
    assert 0.9 < along < 1.02, along  # ~1 m at 0.5 m/s (short spin-up)
    assert abs(d @ [-np.sin(yaw0), np.cos(yaw0)]) < 0.03  # no sideways drift
    assert end.vel[0, :2] @ [np.cos(yaw0), np.sin(yaw0)] == pytest.approx(0.5, abs=0.02)
    assert 1.7 < end.yaw[1] < 2.05  # spins in place at ~1 rad/s, counter-clockwise
    assert np.linalg.norm(end.pos[1, :2] - st.pos[1, :2]) < 0.05
    assert np.all(tilt < 0.05) and np.all(np.abs(end.pos[:, 2] - m.spawn_height) < 0.01)  # upright


# --- UAV -------------------------------------------------------------------------------------------------
def test_uav_first_order_tracking_and_limits():
    m = UavModel(UavParams(tau=0.2, max_speed=5, max_vz=2))
    st = FleetState.at_rest(np.array([[0.0, 0.0, 5.0]]))
    u = m.velocity_to_control(st, np.array([[6.0, 8.0, 3.0]]))
    assert u[0] == pytest.approx([3.0, 4.0, 2.0, 0.0])  # horizontal scaled to 5 keeping direction
    out = m.step_kinematic(st, np.array([[1.0, 0.0, 0.0, 0.0]]), 0.2)
    assert out.vel[0, 0] == pytest.approx(1 - np.exp(-1))  # one time constant
    assert out.pos[0, 0] == pytest.approx(0.2 - 0.2 * (1 - np.exp(-1)))  # exact integral
    fine = st
    for _ in range(1000):
        fine = m.step_kinematic(fine, np.array([[1.0, 0.0, 0.0, 0.0]]), 0.0002)
    assert fine.pos == pytest.approx(out.pos, abs=1e-9)


def test_uav_altitude_band_kinematic():
    m = UavModel(UavParams(z_min=2.0, z_max=10.0))
    st = FleetState.at_rest(np.array([[0.0, 0.0, 2.5], [0.0, 0.0, 9.8]]))
    ctrl = np.array([[0, 0, -2.0, 0], [0, 0, 2.0, 0]])
    for _ in range(30):
        st = m.step_kinematic(st, ctrl, 0.1)
        assert np.all(st.pos[:, 2] >= 2.0) and np.all(st.pos[:, 2] <= 10.0)
    assert st.pos[:, 2] == pytest.approx([2.0, 10.0])
    assert st.vel[:, 2] == pytest.approx([0.0, 0.0])  # outward velocity zeroed at the edges


def test_uav_physics_hovers_and_tracks_velocity():
    m = UavModel()
    st = FleetState.at_rest(np.array([[0.0, 0.0, 5.0], [5.0, 0.0, 5.0]]), yaw=np.array([0.0, 0.6]))
    cmd = np.array([[0.0, 0.0, 0.0, 0.0], [2.0, -1.0, 0.5, 0.4]])
    hist, _ = _physics_run(m, st, cmd, seconds=3.0)
    z = np.array([h.pos[0, 2] for h in hist])
    assert np.max(np.abs(z - 5.0)) < 0.03  # hover holds altitude
    assert np.linalg.norm(hist[-1].pos[0, :2]) < 0.03
    end = hist[-1]
    assert end.vel[1] == pytest.approx([2.0, -1.0, 0.5], abs=0.05)  # commanded velocity reached
    assert end.yaw_rate[1] == pytest.approx(0.4, abs=0.02)


def test_uav_physics_is_force_driven_gravity_on():
    """Without the per-substep controller (no forces), the quadrotor falls: nothing fakes flight."""
    m = UavModel()
    with Scene() as scene:
        st = FleetState.at_rest(np.array([[0.0, 0.0, 5.0]]))
        bodies = m.spawn(scene.client, st)  # bypasses Scene.add_robots: no substep hook registered
        m.apply_physics(scene.client, bodies, st, np.zeros((1, 4)), 0.5)
        scene.step(0.5)
        out = m.read_physics(scene.client, bodies, st)
    assert out.pos[0, 2] == pytest.approx(5.0 - 0.5 * 9.81 * 0.25, abs=0.02)


def test_uav_physics_respects_altitude_band():
    m = UavModel(UavParams(z_min=2.0))
    st = FleetState.at_rest(np.array([[0.0, 0.0, 2.6]]))
    hist, _ = _physics_run(m, st, np.array([[0.0, 0.0, -2.0, 0.0]]), seconds=3.0)
    z = np.array([h.pos[0, 2] for h in hist])
    assert z.min() > 1.97 and z[-1] < 2.1


# --- CAV -------------------------------------------------------------------------------------------------
def test_cav_kinematic_limits_and_turn_geometry():
    pr = CavParams()
    m = CavModel(pr)
    st = FleetState.at_rest(np.zeros((1, 3)) + [0, 0, m.spawn_height])
    st = m.step_kinematic(st, np.array([[10.0, 0.5]]), 0.3)
    assert st.extra["speed"][0] == pytest.approx(0.3 * pr.max_accel)  # accel-limited
    assert st.extra["steer"][0] == pytest.approx(0.3 * pr.max_steer_rate)  # steering-rate-limited
    st2 = m.step_kinematic(st, np.array([[10.0, 2.0]]), 5.0)
    assert st2.extra["steer"][0] == pytest.approx(pr.max_steer)  # angle-limited
    # steady turn: yaw rate = v cos(beta) tan(delta) / L with beta = atan(tan(delta)/2)
    st.extra["speed"][:] = 5.0
    st.extra["steer"][:] = 0.3
    out = m.step_kinematic(st, np.array([[5.0, 0.3]]), 0.1)
    beta = np.arctan(0.5 * np.tan(0.3))
    assert out.yaw_rate[0] == pytest.approx(5.0 * np.cos(beta) * np.tan(0.3) / pr.wheelbase)
    assert np.linalg.norm(out.vel[0, :2]) == pytest.approx(5.0)
    assert out.yaw[0] > st.yaw[0]  # positive steer turns left (counter-clockwise)


def test_cav_velocity_to_control_pure_pursuit():
    m = CavModel()
    st = FleetState.at_rest(np.zeros((4, 3)))
    v = np.array([[5.0, 0.0], [3.0, 3.0], [-5.0, 0.1], [0.0, 0.0]])
    u = m.velocity_to_control(st, v)
    assert u[0] == pytest.approx([5.0, 0.0])
    assert u[1, 1] > 0 and 0 < u[1, 0] < np.hypot(3, 3)  # target ahead-left: steer left, slow down
    assert u[2, 0] == pytest.approx(0.3 * np.hypot(5, 0.1)) and abs(u[2, 1]) > 0  # behind: keep turning
    assert u[3] == pytest.approx([0.0, 0.0])
    rev = CavModel(CavParams(allow_reverse=True)).velocity_to_control(st, v)
    assert rev[2, 0] < 0  # backs up towards a target behind


def test_cav_physics_straight_and_turns():
    m = CavModel()
    h = m.spawn_height
    st = FleetState.at_rest(np.array([[0.0, 0.0, h], [0.0, 30.0, h], [0.0, -30.0, h]]))
    ctrl = np.array([[5.0, 0.0], [5.0, 0.4], [5.0, -0.4]])
    hist, tilt = _physics_run(m, st, ctrl, seconds=2.0)
    end = hist[-1]
    assert end.pos[0, 0] > 3.0 and abs(end.pos[0, 1]) < 0.05 and abs(end.yaw[0]) < 0.01
    assert end.yaw[1] > 0.15 and end.yaw[2] < -0.15  # left steer turns left, right steer right
    assert end.extra["steer"] == pytest.approx([0.0, 0.4, -0.4], abs=0.02)
    assert np.all(tilt < 0.1)
    # physics agrees with the kinematic bicycle model it implements
    kin = st
    for _ in range(20):
        kin = m.step_kinematic(kin, ctrl, 0.1)
    # (tyre scrub makes the physics car ~2 % slower in turns than the ideal bicycle, and the
    # steering transient differs by a few hundredths of a radian between left and right turns)
    path = sum(np.linalg.norm(b.pos[:, :2] - a.pos[:, :2], axis=1) for a, b in zip(hist, hist[1:]))
    assert np.all(np.linalg.norm(end.pos[:, :2] - kin.pos[:, :2], axis=1) < 0.06 * path)
    assert np.abs(end.yaw - kin.yaw).max() < 0.05


@pytest.mark.parametrize("kind", ["amr", "uav", "cav"])
def test_coloured_visuals_only_when_asked(kind, monkeypatch):
    """DIRECT clients get pybullet's default grey stand-ins (cheaper); the flag restores the colours."""
    import sim.robots._pb as pb

    m = robot_model_class(kind)()
    st = FleetState.at_rest(np.array([[0.0, 0.0, m.spawn_height]]))
    colours = {}
    for flag in (False, True):
        monkeypatch.setattr(pb, "VISUALS_IN_DIRECT_MODE", flag)
        with Scene() as s:
            (b,) = s.add_robots(m, st)
            colours[flag] = [tuple(np.round(v[7], 3)) for v in p.getVisualShapeData(b, physicsClientId=s.client)]
    assert colours[True] != colours[False]
    assert all(c == (1.0, 1.0, 1.0, 1.0) for c in colours[False])
