"""A four-way road intersection for connected-vehicle (CAV) collaborative perception.

Two crossing roads (``lanes_per_dir`` lanes each way, right-hand traffic, straight-through only),
buildings (static boxes) along the kerbs, parked cars in the kerb lane, moving traffic on the lanes
(scripted: car following + a fixed-time signal with all-red clearance) and ``n_cav`` connected
vehicles (CAV 0 = ego) whose poses are integrated by the kinematic bicycle model
(:class:`sim.robots.cav.CavModel`) tracking their lane. Every CAV carries a two-layer planar lidar
(low layer sees cars and buildings, high layer only buildings) cast for all CAVs in one
``rayTestBatch`` pass (:func:`sim.lidar.lidar_scan`), turned into a BEV grid around itself
(:func:`sim.bev.lidar_bev`); ground-truth vehicle occupancy is the footprints of the simulator's
vehicles rasterised in a CAV's frame (:func:`sim.bev.rasterise_boxes`).

The scene can own its pybullet client (dataset generation, benchmarks) or add its static bodies
and traffic to an existing one whose CAV bodies are driven by someone else (the robocoord task):
pass ``client`` and ``cav_bodies`` then and feed CAV poses with :meth:`set_cav_poses`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pybullet as p

from sim.bev import BevSpec, lidar_bev, rasterise_boxes
from sim.lidar import lidar_scan


@dataclass
class IntersectionConfig:
    arm: float = 70.0  # road length from the centre (m); movers wrap around at the end
    lane_width: float = 3.5
    lanes_per_dir: int = 2
    n_parked: int = 14
    n_traffic: int = 14
    n_cav: int = 6
    car_length: float = 4.5
    car_width: float = 1.8
    car_height: float = 1.5
    speed: float = 8.0  # free-flow speed of movers (m/s)
    signal_period: float = 24.0  # s for both phases, each ending in ``all_red`` s
    all_red: float = 4.0
    min_gap: float = 4.0  # bumper-to-bumper gap kept by car following (m)
    decel: float = 3.0  # comfortable braking used by car following (m/s^2)
    building_height: tuple[float, float] = (6.0, 15.0)
    lidar_rays: int = 720
    lidar_range: float = 45.0
    z_low: float = 0.8
    z_high: float = 2.2
    cav_spread: float = 40.0  # CAVs start within this distance along their lanes of the stop line
    origin: tuple[float, float] = (0.0, 0.0)  # world position of the intersection centre
    bev: BevSpec = field(default_factory=BevSpec)

    def __post_init__(self) -> None:
        for name in ("arm", "lane_width", "car_length", "car_width", "speed", "signal_period", "lidar_range"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"IntersectionConfig {name}: expected a number > 0, got {v!r}")
        if self.n_cav < 1 or self.lanes_per_dir < 1:
            raise ValueError("IntersectionConfig: need n_cav >= 1 and lanes_per_dir >= 1")
        if self.all_red * 2 >= self.signal_period:
            raise ValueError("IntersectionConfig all_red: must be < signal_period / 2")

    @property
    def road_half(self) -> float:
        return self.lanes_per_dir * self.lane_width

    @property
    def stop_s(self) -> float:
        """Lane coordinate of the stop line (the road is entered at ``-road_half``)."""
        return -self.road_half - 1.0 - 0.5 * self.car_length


# direction index -> (unit vector along the lane, unit normal pointing to the lane's right side)
_DIRS = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
_RIGHT = np.array([[0.0, -1.0], [0.0, 1.0], [1.0, 0.0], [-1.0, 0.0]])


def noisy_poses(poses: np.ndarray, sigma_xy: float, sigma_yaw: float, rng: np.random.Generator) -> np.ndarray:
    """Poses (N, 3) as reported over the air: Gaussian noise on x, y (m) and yaw (rad)."""
    out = np.array(poses, dtype=float, copy=True)
    if sigma_xy > 0:
        out[:, :2] += rng.normal(0.0, sigma_xy, size=(len(out), 2))
    if sigma_yaw > 0:
        out[:, 2] += rng.normal(0.0, sigma_yaw, size=len(out))
    return out


class IntersectionScene:
    """Intersection world; see the module docstring. All random choices come from ``rng``."""

    def __init__(self, cfg: IntersectionConfig, rng: np.random.Generator, client: int | None = None,
                 cav_bodies: list[int] | None = None, dt: float = 0.1, defer: bool = False) -> None:
        self.cfg = cfg
        self.rng = rng
        self.dt = float(dt)
        self.t = 0.0
        self._origin = np.asarray(cfg.origin, float)
        self.scan_ms: list[float] = []
        self.raster_ms: list[float] = []
        lanes = []  # (direction, lateral offset from the road centre line to the right)
        for d in range(4):
            for k in range(cfg.lanes_per_dir):
                lanes.append((d, (k + 0.5) * cfg.lane_width))
        self.lane_dir = np.array([l[0] for l in lanes])
        self.lane_off = np.array([l[1] for l in lanes])
        self.buildings = self._make_buildings()  # (B, 5): cx, cy, lx, ly, h (centred coordinates)
        self.parked = self._make_parked()  # (P, 3): x, y, yaw
        n_mov = cfg.n_cav + cfg.n_traffic
        self.m_lane, self.m_s = self._place_movers(n_mov)
        self.m_v = np.full(n_mov, cfg.speed)
        from sim.robots.cav import CavModel, CavParams  # bicycle model for the CAVs

        self.cav_model = CavModel(CavParams(length=cfg.car_length, width=cfg.car_width, height=cfg.car_height))
        from sim.state import FleetState

        start = np.array([self.mover_pose(i) for i in range(cfg.n_cav)])
        self.cav_state = FleetState.at_rest(np.column_stack([start[:, :2], np.full(cfg.n_cav, 0.55)]), start[:, 2])
        self.cav_state.extra["speed"] = np.full(cfg.n_cav, cfg.speed)
        self.client = -1
        self._own_client = False
        if not defer:
            self.attach(client, cav_bodies)

    def attach(self, client: int | None = None, cav_bodies: list[int] | None = None) -> None:
        """Create the bodies: in ``client`` (or a new DIRECT client with a ground plane when None); the
        CAVs are ``cav_bodies`` owned by the caller (poses fed by :meth:`set_cav_poses`) or, when None,
        boxes this scene drives itself."""
        cfg = self.cfg
        self._own_client = client is None
        self.client = p.connect(p.DIRECT) if client is None else int(client)
        kw = {"physicsClientId": self.client}
        if self._own_client:
            p.createMultiBody(0, p.createCollisionShape(p.GEOM_PLANE, **kw), **kw)
        self.building_bodies = [self._box([b[0], b[1], 0.5 * b[4]], [0.5 * b[2], 0.5 * b[3], 0.5 * b[4]], 0.0)
                                for b in self.buildings]
        self.parked_bodies = [self._car_body(q) for q in self.parked]
        self.traffic_bodies = [self._car_body(self.mover_pose(i)) for i in range(cfg.n_cav, cfg.n_cav + cfg.n_traffic)]
        if cav_bodies is None:
            self.cav_bodies = [self._car_body(q, rgba=(0.15, 0.45, 0.85, 1)) for q in self.cav_poses()]
            self._own_cavs = True
        else:
            if len(cav_bodies) != cfg.n_cav:
                raise ValueError(f"IntersectionScene cav_bodies: expected {cfg.n_cav} ids, got {len(cav_bodies)}")
            self.cav_bodies = list(cav_bodies)
            self._own_cavs = False

    # --- construction ----------------------------------------------------------------------------
    def _box(self, pos: list[float], half: list[float], yaw: float, rgba=(0.6, 0.6, 0.6, 1)) -> int:
        kw = {"physicsClientId": self.client}
        col = p.createCollisionShape(p.GEOM_BOX, halfExtents=half, **kw)
        w = [pos[0] + self._origin[0], pos[1] + self._origin[1], pos[2]]
        return p.createMultiBody(0, col, -1, w, p.getQuaternionFromEuler([0, 0, yaw]), **kw)

    def _car_body(self, pose: np.ndarray, rgba=(0.8, 0.3, 0.2, 1)) -> int:
        c = self.cfg
        return self._box([pose[0], pose[1], 0.1 + 0.5 * (c.car_height - 0.1)],
                         [0.5 * c.car_length, 0.5 * c.car_width, 0.5 * (c.car_height - 0.1)], float(pose[2]), rgba)

    def _make_buildings(self) -> np.ndarray:
        c, rng = self.cfg, self.rng
        kerb = c.road_half + 3.5  # building front line: kerb lane (parking) + sidewalk
        out = []
        for sx in (-1, 1):
            for sy in (-1, 1):
                # buildings along the x-road side of this quadrant, then along the y-road side
                for along_x in (True, False):
                    s = kerb + rng.uniform(0.0, 3.0)
                    while s < c.arm - 5:
                        length = rng.uniform(8.0, 20.0)
                        depth = rng.uniform(8.0, 16.0)
                        front = kerb + rng.uniform(0.0, 2.0)
                        h = rng.uniform(*c.building_height)
                        if along_x:
                            out.append([sx * (s + 0.5 * length), sy * (front + 0.5 * depth), length, depth, h])
                        else:
                            out.append([sx * (front + 0.5 * depth), sy * (s + 0.5 * length), depth, length, h])
                        s += length + rng.uniform(3.0, 10.0)
        b = np.array(out)
        # drop buildings that overlap an earlier one (corner clashes between the two sides)
        keep: list[int] = []
        for i in range(len(b)):
            ok = all(abs(b[i, 0] - b[j, 0]) * 2 >= b[i, 2] + b[j, 2] or abs(b[i, 1] - b[j, 1]) * 2 >= b[i, 3] + b[j, 3]
                     for j in keep)
            if ok:
                keep.append(i)
        return b[keep]

    def _make_parked(self) -> np.ndarray:
        c, rng = self.cfg, self.rng
        off = c.road_half + 1.3
        out: list[list[float]] = []
        tries = 0
        while len(out) < c.n_parked and tries < 50 * max(c.n_parked, 1):
            tries += 1
            d = int(rng.integers(4))
            s = rng.uniform(c.road_half + 4.0, c.arm - 5.0) * rng.choice([-1.0, 1.0])
            u, r = _DIRS[d], _RIGHT[d]
            xy = s * u + off * r
            if abs(xy[0]) < c.road_half + 3 and abs(xy[1]) < c.road_half + 3:
                continue
            if any(np.hypot(xy[0] - q[0], xy[1] - q[1]) < c.car_length + 1.5 for q in out):
                continue
            out.append([xy[0], xy[1], float(np.arctan2(u[1], u[0]))])
        return np.array(out).reshape(-1, 3)

    def _place_movers(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        c, rng = self.cfg, self.rng
        n_l = len(self.lane_dir)
        lane = np.zeros(n, np.int64)
        s = np.zeros(n)
        spacing = c.car_length + c.min_gap + 2.0
        for i in range(n):
            for _ in range(1000):
                if i == 0:  # ego: inner lane heading +x, approaching the intersection
                    li, si = 0, -c.cav_spread * 0.5 - rng.uniform(0.0, 0.5 * c.cav_spread)
                elif i < c.n_cav:  # collaborators near the intersection, on every approach
                    li = int(rng.integers(n_l))
                    si = c.stop_s - rng.uniform(0.0, c.cav_spread) if rng.random() < 0.7 else rng.uniform(-5, 25)
                else:
                    li, si = int(rng.integers(n_l)), rng.uniform(-c.arm, c.arm)
                same = lane[:i] == li
                if not np.any(np.abs(s[:i][same] - si) < spacing):
                    lane[i], s[i] = li, si
                    break
            else:
                raise RuntimeError("IntersectionScene: could not place movers; reduce n_traffic")
        return lane, s

    # --- kinematics ------------------------------------------------------------------------------
    def lane_point(self, lane: np.ndarray, s: np.ndarray) -> np.ndarray:
        d = self.lane_dir[lane]
        return _DIRS[d] * np.asarray(s)[..., None] + _RIGHT[d] * self.lane_off[lane][..., None]

    def mover_pose(self, i: int) -> np.ndarray:
        d = self.lane_dir[self.m_lane[i]]
        xy = self.lane_point(self.m_lane[i:i + 1], self.m_s[i:i + 1])[0]
        return np.array([xy[0], xy[1], np.arctan2(_DIRS[d, 1], _DIRS[d, 0])])

    def green(self, t: float | None = None) -> np.ndarray:
        """(4,) bool per travel direction: may enter the intersection now."""
        c = self.cfg
        ph = ((self.t if t is None else t) % c.signal_period) / (0.5 * c.signal_period)
        x_phase = ph < 1.0
        active = (ph % 1.0) < 1.0 - c.all_red / (0.5 * c.signal_period)
        g_x, g_y = x_phase and active, (not x_phase) and active
        return np.array([g_x, g_x, g_y, g_y])

    def target_speeds(self, s: np.ndarray, include_leaders: np.ndarray | None = None) -> np.ndarray:
        """Car-following + signal speed for every mover at lane positions ``s``: ``v = min(v0,
        sqrt(2 b (gap - min_gap)))`` to the leader in the lane and to a red stop line ahead.
        ``include_leaders`` (n,) False: that mover ignores leaders (the ego perceives them itself)."""
        c = self.cfg
        n = len(s)
        gap = np.full(n, np.inf)
        for li in np.unique(self.m_lane):
            idx = np.flatnonzero(self.m_lane == li)
            order = idx[np.argsort(s[idx])]
            if len(order) > 1:
                gap[order[:-1]] = s[order[1:]] - s[order[:-1]] - c.car_length
        if include_leaders is not None:
            gap[~include_leaders] = np.inf
        red = ~self.green()[self.lane_dir[self.m_lane]]
        before = s <= c.stop_s + 0.5
        stop_gap = np.where(red & before, c.stop_s - s + c.min_gap, np.inf)
        g = np.minimum(gap, stop_gap)
        return np.minimum(c.speed, np.sqrt(2 * c.decel * np.maximum(g - c.min_gap, 0.0)))

    def nominal_cav_velocity(self, cav_xy: np.ndarray, cav_s: np.ndarray, speeds: np.ndarray) -> np.ndarray:
        """(n_cav, 2) desired world velocity: along the lane at ``speeds`` plus a pull to the lane centre."""
        lanes = self.m_lane[: self.cfg.n_cav]
        d = self.lane_dir[lanes]
        centre = self.lane_point(lanes, cav_s)
        lat = np.einsum("ni,ni->n", cav_xy - centre, _RIGHT[d])
        return _DIRS[d] * speeds[:, None] - _RIGHT[d] * (0.5 * lat * np.maximum(speeds, 0.5))[:, None]

    def cav_lane_s(self, cav_xy: np.ndarray) -> np.ndarray:
        d = self.lane_dir[self.m_lane[: self.cfg.n_cav]]
        return np.einsum("ni,ni->n", cav_xy, _DIRS[d])

    def step(self, cav_speed_override: np.ndarray | None = None) -> None:
        """Advance traffic and (when the scene owns them) the CAVs by ``dt``.

        CAVs drive with the bicycle model; ``cav_speed_override`` (n_cav,) caps their speeds (NaN: no cap).
        """
        c = self.cfg
        if self._own_cavs:
            self.m_s[: c.n_cav] = self.cav_lane_s(self.cav_state.pos[:, :2])
        v = self.target_speeds(self.m_s)
        n_cav = c.n_cav
        self.m_v = v
        self.m_s[n_cav:] += v[n_cav:] * self.dt
        wrap = self.m_s > c.arm
        self.m_s[wrap] -= 2 * c.arm
        for k, b in enumerate(self.traffic_bodies):
            q = self.mover_pose(n_cav + k)
            p.resetBasePositionAndOrientation(b, [q[0] + self._origin[0], q[1] + self._origin[1],
                                                  0.1 + 0.5 * (c.car_height - 0.1)],
                                              p.getQuaternionFromEuler([0, 0, q[2]]), physicsClientId=self.client)
        if self._own_cavs:
            sp = v[:n_cav].copy()
            if cav_speed_override is not None:
                cap = np.asarray(cav_speed_override, float)
                sp = np.where(np.isnan(cap), sp, np.minimum(sp, cap))
            vel = self.nominal_cav_velocity(self.cav_state.pos[:, :2], self.m_s[:n_cav], sp)
            u = self.cav_model.velocity_to_control(self.cav_state, vel)
            self.cav_state = self.cav_model.step_kinematic(self.cav_state, u, self.dt)
            # wrap CAVs that left the map back to the start of their lane (dataset generation only)
            s_now = self.cav_lane_s(self.cav_state.pos[:, :2])
            out = s_now > c.arm
            if np.any(out):
                for i in np.flatnonzero(out):
                    self.m_s[i] = s_now[i] - 2 * c.arm
                    q = self.mover_pose(i)
                    self.cav_state.pos[i, :2] = q[:2]
            for i, b in enumerate(self.cav_bodies):
                q = self.cav_state.pos[i]
                p.resetBasePositionAndOrientation(b, [q[0] + self._origin[0], q[1] + self._origin[1],
                                                      0.1 + 0.5 * (c.car_height - 0.1)],
                                                  p.getQuaternionFromEuler([0, 0, self.cav_state.yaw[i]]),
                                                  physicsClientId=self.client)
        self.t += self.dt

    def set_cav_poses(self, xy_world: np.ndarray, yaw: np.ndarray) -> None:
        """CAV poses (world coordinates) from an external driver (bodies are moved by their owner)."""
        xy = np.asarray(xy_world, float)[:, :2] - self._origin
        self.cav_state.pos[:, :2] = xy
        self.cav_state.yaw = np.asarray(yaw, float).copy()
        self.m_s[: self.cfg.n_cav] = self.cav_lane_s(xy)

    # --- queries ---------------------------------------------------------------------------------
    def cav_poses(self) -> np.ndarray:
        """(n_cav, 3) x, y, yaw in centred coordinates (the intersection centre at 0; add ``cfg.origin``
        for world coordinates). Every frame/BEV quantity is in these coordinates."""
        return np.column_stack([self.cav_state.pos[:, :2], self.cav_state.yaw])

    def vehicles(self) -> dict[str, np.ndarray]:
        """Every vehicle of the scene: ``pose`` (K, 3), ``body`` (K,), ``kind`` (K,) 0 parked / 1 traffic / 2 CAV."""
        c = self.cfg
        tr = np.array([self.mover_pose(i) for i in range(c.n_cav, c.n_cav + c.n_traffic)]).reshape(-1, 3)
        pose = np.concatenate([self.parked, tr, self.cav_poses()])
        body = np.array(self.parked_bodies + self.traffic_bodies + self.cav_bodies, np.int64)
        kind = np.concatenate([np.zeros(len(self.parked)), np.ones(len(tr)), np.full(c.n_cav, 2)]).astype(np.int64)
        return {"pose": pose, "body": body, "kind": kind}

    def scan(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Two-layer lidar of every CAV: (low ranges, low hit ids, high ranges, rel angles), (n_cav, R)."""
        c = self.cfg
        poses = self.cav_poses()
        n = len(poses)
        xy = poses[:, :2] + self._origin
        origins = np.concatenate([np.column_stack([xy, np.full(n, c.z_low)]),
                                  np.column_stack([xy, np.full(n, c.z_high)])])
        yaws = np.concatenate([poses[:, 2], poses[:, 2]])
        radius = 0.5 * float(np.hypot(c.car_length, c.car_width)) + 0.05  # rays start outside the own car
        t0 = time.perf_counter()
        dist, ids = lidar_scan(self.client, origins, yaws, n_rays=c.lidar_rays, max_range=c.lidar_range,
                               min_range=radius)
        self.scan_ms.append(1e3 * (time.perf_counter() - t0))
        rel = np.arange(c.lidar_rays) * (2 * np.pi / c.lidar_rays)
        return dist[:n], ids[:n], dist[n:], np.broadcast_to(rel, (n, c.lidar_rays))

    def frame(self) -> dict[str, np.ndarray]:
        """One perception frame for every CAV (all arrays numpy):

        ``poses`` (n, 3) true poses; ``bev`` (n, 4, S, S) each CAV's lidar BEV in its own frame;
        ``gt`` (n, S, S) vehicle occupancy (every vehicle but the CAV itself) in each CAV's frame;
        ``gt_ids`` (S, S) vehicle index per ego-frame cell (-1 none); ``visible`` (n, K) bool: CAV i's
        low lidar hit vehicle k; ``vehicles`` pose/kind (K, 3)/(K,).
        """
        c = self.cfg
        spec = c.bev
        low, ids, high, rel = self.scan()
        t0 = time.perf_counter()
        poses = self.cav_poses()
        n = len(poses)
        veh = self.vehicles()
        k = len(veh["pose"])
        bev = np.stack([lidar_bev(low[i], rel[i], c.lidar_range, spec, high[i]) for i in range(n)])
        lens = np.full(k, c.car_length)
        wids = np.full(k, c.car_width)
        gt = np.zeros((n, spec.size, spec.size), np.float32)
        gt_ids = None
        for i in range(n):
            others = np.ones(k, bool)
            others[k - n + i] = False  # the CAV itself is not a target in its own frame
            idx = rasterise_boxes(veh["pose"][others, :2], veh["pose"][others, 2], lens[others], wids[others],
                                  poses[i], spec, return_ids=True)
            gt[i] = idx >= 0
            if i == 0:
                gt_ids = np.where(idx >= 0, np.flatnonzero(others)[np.maximum(idx, 0)], -1)
        body_to_k = {int(b): j for j, b in enumerate(veh["body"])}
        visible = np.zeros((n, k), bool)
        for i in range(n):
            for b in np.unique(ids[i]):
                j = body_to_k.get(int(b))
                if j is not None:
                    visible[i, j] = True
        self.raster_ms.append(1e3 * (time.perf_counter() - t0))
        return {"poses": poses, "bev": bev.astype(np.float32), "gt": gt, "gt_ids": gt_ids, "visible": visible,
                "veh_pose": veh["pose"], "veh_kind": veh["kind"]}

    def close(self) -> None:
        if self._own_client:
            try:
                p.disconnect(self.client)
            except p.error:  # pragma: no cover - already gone
                pass


__all__ = ["IntersectionConfig", "IntersectionScene", "noisy_poses"]
