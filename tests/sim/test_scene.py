"""Scene: static obstacles (polygons, grids), pose mirroring, stepping, contact counting, GUI guard."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import shapely

from sim import obstacles as ob
from sim.display import gui_available
from sim.robots.amr import AmrModel
from sim.robots.uav import UavModel
from sim.scene import Scene, merge_blocked_cells
from sim.state import FleetState

DATA = Path(__file__).resolve().parents[2] / "data"


def _amrs(xy, yaw=None) -> tuple[AmrModel, FleetState]:
    m = AmrModel()
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    return m, FleetState.at_rest(np.column_stack([xy, np.full(len(xy), m.spawn_height)]), yaw)


# --- obstacles ------------------------------------------------------------------------------------------
def test_obstacle_builders_validate():
    b = ob.box([1, 2], [4, 2], yaw=np.pi / 2)
    assert b.area == pytest.approx(8.0)
    assert b.bounds == pytest.approx((0.0, 0.0, 2.0, 4.0))  # rotated 90 deg: 2 wide, 4 tall
    c = ob.circle([0, 0], 2.0)
    assert c.area == pytest.approx(np.pi * 4, rel=0.02)
    assert ob.polygon([[0, 0], [1, 0], [1, 1], [0, 0]]).area == pytest.approx(0.5)  # closed ring accepted
    with pytest.raises(ValueError, match="at least 3"):
        ob.polygon([[0, 0], [1, 1]])
    with pytest.raises(ValueError, match="zero area"):
        ob.polygon([[0, 0], [1, 1], [2, 2]])
    with pytest.raises(ValueError, match="Self-intersection"):
        ob.polygon([[0, 0], [1, 1], [1, 0], [0, 1]])
    with pytest.raises(ValueError, match="box size"):
        ob.box([0, 0], [1, -1])
    with pytest.raises(ValueError, match="circle radius"):
        ob.circle([0, 0], 0)


def test_closest_points_dense_and_sparse_agree():
    polys = [ob.box([0, 0], [2, 2]), ob.circle([6, 0], 1.0, 16), ob.polygon([[10, 10], [12, 10], [10, 12]])]
    pts = np.array([[0.0, 0.0], [3.0, 0.0], [6.0, 3.0], [20.0, 20.0]])
    cp, d = ob.closest_points(polys, pts)
    assert cp.shape == (4, 3, 2) and d.shape == (4, 3)
    assert d[0, 0] == 0 and cp[0, 0] == pytest.approx([0, 0])  # inside: itself
    assert cp[1, 0] == pytest.approx([1, 0]) and d[1, 0] == pytest.approx(2.0)
    assert d[2, 1] == pytest.approx(2.0, abs=0.01)
    exact = shapely.distance(shapely.points(pts)[:, None], np.array(polys, dtype=object)[None, :])
    assert d == pytest.approx(exact)
    pi, qi, cps, ds = ob.nearby_closest_points(polys, pts, radius=2.5)
    assert set(zip(pi.tolist(), qi.tolist())) == {(0, 0), (1, 0), (1, 1), (2, 1)}
    for a, b, c, dd in zip(pi, qi, cps, ds):
        assert c == pytest.approx(cp[a, b]) and dd == pytest.approx(d[a, b])


# --- grids ----------------------------------------------------------------------------------------------
def test_merge_blocked_cells_exact_cover():
    rng = np.random.default_rng(3)
    for density in (0.1, 0.5, 0.9):
        g = rng.random((23, 37)) < density
        g[5:9, 3:20] = True  # a block that merges across rows
        rects = merge_blocked_cells(g)
        count = np.zeros(g.shape, dtype=int)
        for r0, c0, nr, nc in rects:
            count[r0:r0 + nr, c0:c0 + nc] += 1
        assert np.array_equal(count, g.astype(int))  # every blocked cell exactly once, nothing else
    assert len(merge_blocked_cells(np.ones((50, 80), bool))) == 1


def test_grid_obstacles_world_coordinates():
    grid = np.zeros((3, 4), dtype=bool)
    grid[0, 2] = True  # top row, third column -> x in [2, 3], y in [2, 3] with cell 1
    m, st = _amrs([[2.5, 2.5], [2.5, 1.5], [0.5, 2.5]])
    with Scene() as s:
        s.add_ground()
        ids = s.add_grid_obstacles(grid, cell_size=1.0, height=1.0)
        bodies = s.add_robots(m, st)
        s.set_poses(bodies, st)
        assert s.count_contacts(bodies) == (0, 1)
        assert set(ids) <= s.obstacle_bodies and not set(ids) & s.robot_bodies
        st.pos[0, :2] = [5.0, 5.0]
        s.set_poses(bodies, st)
        assert s.count_contacts(bodies) == (0, 0)
        with pytest.raises(ValueError, match="cell_size"):
            s.add_grid_obstacles(grid, 0.0)


def test_lorr_warehouse_loads_fast():
    rows = (DATA / "lorr" / "warehouse_large.map").read_text().splitlines()[4:]
    blocked = np.array([[ch in "@OTW" for ch in r.rstrip("\r")] for r in rows])
    assert blocked.shape == (140, 500)
    with Scene() as s:
        t = time.perf_counter()
        ids = s.add_grid_obstacles(blocked, cell_size=1.0)
        elapsed = time.perf_counter() - t
    assert len(ids) < blocked.sum() / 4  # merged into rectangles
    assert elapsed < 5.0, elapsed


# --- polygons and contacts ------------------------------------------------------------------------------
def test_nonconvex_polygon_and_contact_classes():
    ell = ob.polygon([[0, 0], [4, 0], [4, 1], [1, 1], [1, 4], [0, 4]])
    m, st = _amrs([[0.5, 3.5], [3.5, 0.5], [2.7, 2.7], [10.0, 10.0], [10.4, 10.0]])
    with Scene() as s:
        s.add_ground()
        (wall,) = s.add_polygons([ell], height=0.5)
        bodies = s.add_robots(m, st)
        s.set_poses(bodies, st)
        # robots 0 and 1 sit in the two arms of the L; robot 2 in its notch (clear); 3 and 4 overlap
        assert s.count_contacts(bodies) == (1, 2)
        assert wall in s.obstacle_bodies
        st.pos[4, 0] = 11.0
        s.set_poses(bodies, st)
        assert s.count_contacts(bodies) == (0, 2)
        with pytest.raises(ValueError, match="height"):
            s.add_polygons([ell], height=0)


def test_physics_contacts_ignore_ground_and_see_walls():
    m, st = _amrs([[0.0, 0.0]])
    with Scene() as s:
        s.add_ground()
        s.add_polygons([ob.box([1.5, 0.0], [0.2, 4.0])])
        bodies = s.add_robots(m, st)
        s.step(0.1)
        assert s.count_contacts(bodies) == (0, 0)  # standing on the ground is not a contact
        state = st
        for _ in range(30):  # drive into the wall
            m.apply_physics(s.client, bodies, state, np.array([[0.5, 0.0]]), 0.1)
            s.step(0.1)
            state = m.read_physics(s.client, bodies, state)
        assert s.count_contacts(bodies) == (0, 1)
        assert state.pos[0, 0] < 1.4 - 0.29  # stopped by the wall


def test_step_requires_a_whole_number_of_substeps():
    with Scene(physics_dt=0.01) as s:
        s.step(0.05)
        with pytest.raises(ValueError, match="whole multiple"):
            s.step(0.025)
        with pytest.raises(ValueError, match="whole multiple"):
            s.step(0.0)


def test_scenes_are_independent():
    m, st = _amrs([[0.0, 0.0], [0.3, 0.0]])
    a, b = Scene(), Scene()
    try:
        assert a.client != b.client
        ba = a.add_robots(m, st)
        st2 = st.copy()
        st2.pos[1, 0] = 5.0
        bb = b.add_robots(m, st2)
        a.set_poses(ba, st)
        b.set_poses(bb, st2)
        assert a.count_contacts(ba) == (1, 0)
        assert b.count_contacts(bb) == (0, 0)
        a.close()
        assert b.count_contacts(bb) == (0, 0)  # still alive after the other closed
        u = UavModel()
        us = FleetState.at_rest([[0, 0, 5.0]])
        ub = b.add_robots(u, us)  # a second fleet in the same scene
        assert len(ub) == 1 and ub[0] not in bb
    finally:
        a.close()
        b.close()


# --- GUI guard ------------------------------------------------------------------------------------------
def test_gui_refuses_without_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    ok, why = gui_available()
    assert not ok and "DISPLAY" in why
    with pytest.raises(RuntimeError, match="--gui needs a display"):
        Scene(gui=True)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    ok, why = gui_available()
    assert not ok and "X11" in why


def test_gui_refuses_unreachable_x_display(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":97531")  # no such X server
    ok, why = gui_available()
    assert not ok
    assert "cannot be opened" in why or "libX11" in why


@pytest.mark.slow
def test_bench_kinematic_mirror_1000_amrs_in_lorr_warehouse(capsys):
    """Per-step cost of set_poses + count_contacts for 1,000 AMRs on warehouse_large (kinematic)."""
    rows = (DATA / "lorr" / "warehouse_large.map").read_text().splitlines()[4:]
    blocked = np.array([[ch in "@OTW" for ch in r.rstrip("\r")] for r in rows])
    rng = np.random.default_rng(0)
    free = np.argwhere(~blocked)
    cells = free[rng.choice(len(free), 1000, replace=False)]
    m, st = _amrs(np.column_stack([cells[:, 1] + 0.5, blocked.shape[0] - cells[:, 0] - 0.5]),
                  rng.uniform(-np.pi, np.pi, 1000))
    with Scene() as s:
        s.add_ground()
        t = time.perf_counter()
        s.add_grid_obstacles(blocked, 1.0)
        t_map = time.perf_counter() - t
        t = time.perf_counter()
        bodies = s.add_robots(m, st)
        t_spawn = time.perf_counter() - t
        poses, contacts = [], []
        for _ in range(100):
            st = m.step_kinematic(st, m.velocity_to_control(st, 0.5 * rng.normal(size=(1000, 2))), 0.1)
            t0 = time.perf_counter()
            s.set_poses(bodies, st)
            t1 = time.perf_counter()
            s.count_contacts(bodies)
            contacts.append(time.perf_counter() - t1)
            poses.append(t1 - t0)
    ms = 1e3 * np.median(np.add(poses, contacts))
    with capsys.disabled():
        print(f"\nwarehouse_large map {t_map:.3f} s, spawn 1000 AMRs {t_spawn:.2f} s, per step: set_poses "
              f"{1e3 * np.median(poses):.2f} ms + count_contacts {1e3 * np.median(contacts):.2f} ms")
    assert ms < 100
