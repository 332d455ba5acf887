"""The viser scene and GUI: a recorded run with a timeline (:class:`ReplayViewer`) or a live run that
the runner feeds step by step (:class:`LiveViewer`).

Robots are drawn as instanced ("batched") meshes, two per fleet (coloured body + dark accent: heading
arrow, rotors, wheels), so the browser issues a constant number of draw calls however many robots
there are; a frame update sends only the (N, 3) positions and (N, 4) quaternions. Static obstacles are
one merged mesh. viser: https://viser.studio (Yi et al., "viser: imperative, web-based 3D
visualization in Python", 2025).
"""
from __future__ import annotations

import json
import math
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from robocoord.errors import UserError
from robocoord.viewer import meshes, overlays
from robocoord.viewer.rundata import OverlayLog, RunData, load_run, validate_scene

SPEEDS = ("0.25x", "0.5x", "1x", "2x", "4x", "8x", "16x", "32x")
PLAY_FPS = 30.0
FLOOR_RGB = (236, 236, 232)
OBSTACLE_RGB = (120, 124, 135)
ACCENT_RGB = (45, 45, 50)
SELECT_RGB = (255, 200, 0)


def _import_viser() -> Any:
    try:
        import viser
    except ImportError:
        raise UserError("the viewer needs the 'viser' package: pip install viser") from None
    return viser


def check_port(host: str, port: int) -> None:
    """Raise :class:`UserError` if ``host:port`` cannot be listened on (viser would silently take the next port)."""
    if not (0 <= port <= 65535):
        raise UserError(f"--port {port}: expected 0..65535")
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UserError(f"--host {host}: cannot resolve ({exc.strerror})") from None
    for family, stype, proto, _, addr in infos[:1]:
        with socket.socket(family, stype, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(addr)
            except OSError as exc:
                raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc} "
                                "(the port is probably in use; pick another with --port)") from None


def start_server(host: str, port: int, label: str) -> Any:
    """A viser server on exactly ``host:port`` (port 0: any free port), quiet, z up."""
    viser = _import_viser()
    check_port(host, port)
    server = viser.ViserServer(host=host, port=port, label=label, verbose=False)
    if port != 0 and server.get_port() != port:  # lost a race for the port after our check
        server.stop()
        raise UserError(f"cannot listen on {host}:{port}: the port is in use; pick another with --port")
    server.scene.set_up_direction("+z")
    return server


class FrameStore:
    """Frames the timeline can show: recorded arrays (replay) or a growing buffer (live)."""

    def __init__(self, steps: np.ndarray, pos: np.ndarray, yaw: np.ndarray,
                 goal: Optional[np.ndarray] = None, history: Optional[int] = None) -> None:
        self._steps = [int(s) for s in steps]
        self._pos = list(pos)
        self._yaw = list(yaw)
        self._goal = list(goal) if goal is not None else None
        self.history = history
        self.dropped = 0  # frames discarded from the front (live mode with a history cap)

    def __len__(self) -> int:
        return len(self._steps)

    def step(self, k: int) -> int:
        return self._steps[k]

    @property
    def first_step(self) -> int:
        return self._steps[0]

    @property
    def last_step(self) -> int:
        return self._steps[-1]

    def frame(self, k: int) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        return self._pos[k], self._yaw[k], (self._goal[k] if self._goal is not None else None)

    def index_of_step(self, step: int) -> int:
        """Last frame at or before ``step`` (0 if before the first)."""
        import bisect

        return max(bisect.bisect_right(self._steps, step) - 1, 0)

    def append(self, step: int, pos: np.ndarray, yaw: np.ndarray, goal: Optional[np.ndarray] = None) -> None:
        if self._steps and step <= self._steps[-1]:
            raise ValueError(f"step {step} is not after the last step {self._steps[-1]}")
        self._steps.append(int(step))
        self._pos.append(np.asarray(pos, np.float32).copy())
        self._yaw.append(np.asarray(yaw, np.float32).copy())
        if goal is not None:
            if self._goal is None:
                self._goal = [None] * (len(self._steps) - 1)  # type: ignore[list-item]
            self._goal.append(np.asarray(goal, np.float32).copy())
        elif self._goal is not None:
            self._goal.append(None)  # type: ignore[arg-type]
        if self.history is not None and len(self._steps) > self.history:
            cut = len(self._steps) - self.history
            del self._steps[:cut], self._pos[:cut], self._yaw[:cut]
            if self._goal is not None:
                del self._goal[:cut]
            self.dropped += cut


def _as_pos3(pos: np.ndarray) -> np.ndarray:
    p = np.asarray(pos, np.float32)
    if p.ndim == 2 and p.shape[1] == 2:
        p = np.column_stack([p, np.zeros(len(p), np.float32)])
    return p


class _ViewerBase:
    """The scene (floor, obstacles, robots), overlays, selection panel and the shared render path."""

    def __init__(self, scene: dict[str, Any], frames: FrameStore, overlay_log: OverlayLog, *,
                 host: str, port: int, title: str, dt: Optional[float] = None,
                 info: Optional[dict[str, Any]] = None) -> None:
        self.scene = validate_scene(scene)
        self.frames = frames
        self.overlays = overlay_log
        self.dt = dt
        self.n = int(np.asarray(frames.frame(0)[0]).shape[0]) if len(frames) else int(self.scene.get("n") or 0)
        self.shape = meshes.robot_shape(self.scene, self.n)
        self.base_colors = meshes.distinct_colors(self.n)
        self.robot_scale = self.auto_robot_scale()
        self.selected: Optional[int] = None
        self.current = 0  # frame index shown
        self.show_overlays = True
        self.last_render_ms = 0.0
        self._lock = threading.RLock()
        self._labels: dict[int, Any] = {}
        self._layers: dict[str, Any] = {}
        self._ov_obj: Any = None
        self._geo: Optional[overlays.OverlayGeometry] = None
        self._closed = False
        self.server = start_server(host, port, title)
        self.host = host
        self.port = int(self.server.get_port())
        self._build_static()
        self._build_robots()
        self._build_gui_common(title, info or {})

    # --- scene --------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        h = self.host
        if h in ("0.0.0.0", "::", ""):
            h = "localhost"
        elif ":" in h:
            h = f"[{h}]"
        return f"http://{h}:{self.port}"

    def _build_static(self) -> None:
        s, sc = self.server.scene, self.scene
        x0, y0, x1, y1 = sc["bounds"]
        w, h = x1 - x0, y1 - y0
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        cell = float(sc.get("cell_size") or 1.0)
        grid = sc.get("grid")
        thick = 0.02 * max(min(w, h), 1.0)
        v, f = meshes.box((w, h, thick), (cx, cy, -thick / 2 - 1e-3))
        s.add_mesh_simple("/world/floor", v, f, color=FLOOR_RGB, flat_shading=True, cast_shadow=False)
        step = cell if grid else (1.0 if max(w, h) <= 100 else 10.0)
        s.add_grid("/world/grid", width=w, height=h, position=(cx, cy, 0.001), cell_size=step,
                   section_size=step * (10 if grid else 5), cell_color=(205, 205, 200),
                   section_color=(170, 170, 165), fade_distance=10 * max(w, h), shadow_opacity=0.0)
        # Arena border, so the extent is visible without walls in the scene file.
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]], float)
        border = np.stack([corners[:-1], corners[1:]], axis=1)
        border = np.concatenate([border, np.full((4, 2, 1), 0.005)], axis=2)
        s.add_line_segments("/world/border", border.astype(np.float32), (90, 90, 90),
                            thickness=1.5, thickness_units="screen")
        parts = []
        if grid:
            oh = float(sc.get("obstacle_height") or 0.8 * cell)
            parts.append(meshes.grid_obstacle_mesh(grid, cell, oh))
        if sc.get("obstacles"):
            oh = float(sc.get("obstacle_height") or (3.0 if sc["kind"] == "uav" else 1.0))
            parts.append(meshes.polygon_obstacle_mesh(sc["obstacles"], oh))
        v, f = meshes.merge(parts)
        self.obstacle_triangles = int(len(f))
        if len(f):
            s.add_mesh_simple("/world/obstacles", v, f, color=OBSTACLE_RGB, flat_shading=True)
        # Camera: oblique view of the whole arena.
        ext = max(w / 1.5, h)  # the view is wider than tall
        self.server.initial_camera.look_at = (cx, cy, 0.0)
        self.server.initial_camera.position = (cx, cy - 0.75 * ext, 0.85 * ext)
        self.server.initial_camera.up = (0.0, 0.0, 1.0)

    def auto_robot_scale(self) -> float:
        """Draw robots enlarged (1-5x) when at true size they would be a few pixels in the arena view.

        Never past 30% of the mean spacing between robots, so dense fleets stay at true size; grid
        fidelity keeps true size (cells give the scale).
        """
        if self.scene.get("fidelity") == "grid" or self.n == 0:
            return 1.0
        x0, y0, x1, y1 = self.scene["bounds"]
        spacing = math.sqrt((x1 - x0) * (y1 - y0) / self.n)
        want = min(0.025 * max(x1 - x0, y1 - y0), 0.3 * spacing) / max(self.shape.footprint, 1e-6)
        return float(np.clip(np.floor(want * 2) / 2, 1.0, 5.0))

    def set_robot_scale(self, factor: float) -> None:
        """Draw every robot ``factor`` times its true size (a display aid; the panel says so)."""
        with self._lock:
            self.robot_scale = float(factor)
            sc = np.full(self.n, self.robot_scale, np.float32)
            with self.server.atomic():
                for h in (self.body, self.accent, self.shadow):
                    if h is not None:
                        h.batched_scales = sc
                self.ring.scale = self.robot_scale
            self.render(self.current)

    def _build_robots(self) -> None:
        s = self.server.scene
        n = self.n
        pos = np.zeros((n, 3), np.float32)
        q = meshes.yaw_to_wxyz(np.zeros(n))
        sc = np.full(n, self.robot_scale, np.float32)
        bv, bf = self.shape.body
        av, af = self.shape.accent
        # lod="off": robots are small and few triangles; decimated LODs would only blur the shapes.
        self.body = s.add_batched_meshes_simple("/robots/body", bv, bf, batched_wxyzs=q, batched_positions=pos,
                                                batched_scales=sc, batched_colors=meshes.instance_colors(self.base_colors), lod="off", flat_shading=True,
                                                cast_shadow=n <= 300, receive_shadow=False)
        self.accent = s.add_batched_meshes_simple("/robots/accent", av, af, batched_wxyzs=q, batched_positions=pos,
                                                  batched_scales=sc, batched_colors=meshes.instance_colors(np.tile(np.array(ACCENT_RGB, np.uint8), (n, 1))),
                                                  lod="off", flat_shading=True, cast_shadow=False,
                                                  receive_shadow=False)
        self.shadow = None
        if not self.shape.on_ground:  # UAVs: a ground shadow disc gives the altitude away
            dv, df = meshes.disc(0.8 * self.shape.footprint, 20, z=0.004)
            self.shadow = s.add_batched_meshes_simple("/robots/shadow", dv, df, batched_wxyzs=q,
                                                      batched_positions=pos, batched_scales=sc,
                                                      batched_colors=meshes.instance_colors(np.array([60, 60, 60])),
                                                      opacity=0.35, lod="off", cast_shadow=False,
                                                      receive_shadow=False)
        rv, rf = meshes.annulus(1.15 * self.shape.footprint, 1.15 * self.shape.footprint + max(
            0.25 * self.shape.footprint, 0.05), 48, z=0.0)
        self.ring = s.add_mesh_simple("/robots/selected", rv, rf, color=SELECT_RGB, side="double",
                                      cast_shadow=False, receive_shadow=False, visible=False,
                                      scale=self.robot_scale)
        for h in (self.body, self.accent):
            h.on_click(self._on_robot_click)

    def _on_robot_click(self, event: Any) -> None:
        i = event.instance_index
        if i is not None:
            self.select(int(i))

    # --- GUI --------------------------------------------------------------------------------------
    def _build_gui_common(self, title: str, info: dict[str, Any]) -> None:
        gui = self.server.gui
        head = f"**{title}** — {self.n} {self.scene['kind'].upper()}, fidelity {self.scene.get('fidelity')}"
        self.gui_title = gui.add_markdown(head)
        if info:
            with gui.add_folder("Summary", expand_by_default=False):
                gui.add_markdown("  \n".join(f"{k}: {_fmt(v)}" for k, v in info.items()))
        self.gui_step = gui.add_markdown("")
        self._build_controls()
        with gui.add_folder("Selection"):
            self.gui_select = gui.add_number("robot #", initial_value=-1, min=-1, max=max(self.n - 1, 0), step=1,
                                             hint="index of the robot to inspect (-1: none); or click a robot")
            self.gui_info = gui.add_markdown("Click a robot to see its state.")

            @self.gui_select.on_update
            def _(_: Any) -> None:
                v = int(self.gui_select.value)
                if v != (self.selected if self.selected is not None else -1):
                    self.select(v if v >= 0 else None)

        with gui.add_folder("Display"):
            self.gui_scale = gui.add_slider("robot size", min=1.0, max=10.0, step=0.5,
                                            initial_value=self.robot_scale,
                                            hint="draw robots enlarged (display only; 1 = true size)")

            @self.gui_scale.on_update
            def _(_: Any) -> None:
                if float(self.gui_scale.value) != self.robot_scale:
                    self.set_robot_scale(float(self.gui_scale.value))

        with gui.add_folder("Overlays"):
            self.gui_overlays = gui.add_checkbox("show overlays", initial_value=True)
            self.gui_legend = gui.add_markdown("")

            @self.gui_overlays.on_update
            def _(_: Any) -> None:
                self.show_overlays = bool(self.gui_overlays.value)
                self._geo = None  # rebuild the record layers
                self.render(self.current)

    def _build_controls(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def select(self, i: Optional[int]) -> None:
        """Select robot ``i`` (None: clear); the panel shows its state and a ring marks it."""
        with self._lock:
            if i is not None and not (0 <= i < self.n):
                i = None
            self.selected = i
            if int(self.gui_select.value) != (i if i is not None else -1):
                self.gui_select.value = i if i is not None else -1
            self.render(self.current)

    def selection_info(self) -> dict[str, Any]:
        """State of the selected robot at the current frame (empty if none)."""
        i = self.selected
        if i is None or not len(self.frames):
            return {}
        k = min(self.current, len(self.frames) - 1)
        pos, yaw, goal = self.frames.frame(k)
        p = _as_pos3(pos)[i]
        step = self.frames.step(k)
        out: dict[str, Any] = {"robot": i, "step": step, "position": [round(float(c), 3) for c in p],
                               "yaw_deg": round(math.degrees(float(yaw[i])), 1)}
        if self.dt:
            out["time_s"] = round(step * self.dt, 3)
        if k > 0:
            p0 = _as_pos3(self.frames.frame(k - 1)[0])[i]
            ds = self.frames.step(k) - self.frames.step(k - 1)
            if self.dt and ds > 0:
                out["speed_m_s"] = round(float(np.linalg.norm(p - p0)) / (ds * self.dt), 3)
        if goal is not None:
            out["goal"] = [round(float(c), 3) for c in np.asarray(goal)[i]]
        ov = self.overlays.at(step)
        extra = overlays.agent_info(ov, i, self.n, self.scene)
        if "goal" in out:
            extra.pop("goal", None)
        out.update(extra)
        return out

    # --- rendering ---------------------------------------------------------------------------------
    def render(self, k: int) -> None:
        """Show frame ``k``: robot transforms, colours, overlays, selection; in one atomic update."""
        if self._closed or not len(self.frames):
            return
        with self._lock:
            t0 = time.perf_counter()
            k = int(np.clip(k, 0, len(self.frames) - 1))
            self.current = k
            pos, yaw, _ = self.frames.frame(k)
            p = _as_pos3(pos).copy()
            if self.shape.on_ground:
                p[:, 2] = 0.0
            q = meshes.yaw_to_wxyz(yaw)
            step = self.frames.step(k)
            ov = self.overlays.at(step) if self.show_overlays else None
            new_record = ov is not self._ov_obj or self._geo is None
            if new_record:
                self._geo = overlays.build(ov, n=self.n, base_colors=self.base_colors, scene=self.scene)
                self._ov_obj = ov  # holding it keeps the identity check valid
            geo = self._geo
            with self.server.atomic():
                self.body.batched_positions = p
                self.body.batched_wxyzs = q
                self.accent.batched_positions = p
                self.accent.batched_wxyzs = q
                if self.shadow is not None:
                    sp = p.copy()
                    sp[:, 2] = 0.0
                    self.shadow.batched_positions = sp
                if new_record:
                    colors = geo.robot_colors if geo.robot_colors is not None else self.base_colors
                    self.body.batched_colors = meshes.instance_colors(colors)
                    self._render_record(geo)
                self._render_moving(geo, p)
                self._render_selection(p)
                self.gui_step.content = self._step_text(k, geo)
            self.last_render_ms = (time.perf_counter() - t0) * 1e3

    def _render_record(self, geo: overlays.OverlayGeometry) -> None:
        """Layers that change only with the overlay record: paths, goals, users, ring sets, legend."""
        s = self.server.scene
        size = 0.12 * max(self.shape.footprint, 0.2) + 0.05
        # viser replaces a node added again under the same name; empty layers are removed.
        self._set_layer("paths", s.add_line_segments("/overlay/paths", geo.segments, geo.segment_colors,
                                                     thickness=2.0, thickness_units="screen")
                        if len(geo.segments) else None)
        self._set_layer("users", s.add_point_cloud("/overlay/users", geo.points, geo.point_colors,
                                                   point_size=2 * size, point_shape="circle")
                        if len(geo.points) else None)
        self._set_layer("goals", s.add_point_cloud("/overlay/goals", geo.goal_points, geo.goal_colors,
                                                   point_size=3 * size, point_shape="diamond")
                        if len(geo.goal_points) else None)
        if len(geo.ring_index):
            # Instanced unit rings scaled to each radius: they then move with the robots at the cost of
            # one positions array per frame, not a re-sent line set.
            rv, rf = meshes.annulus(0.96, 1.0, 2 * meshes.segments_for(len(geo.ring_index)))
            r = len(geo.ring_index)
            self._set_layer("rings", s.add_batched_meshes_simple(
                "/overlay/rings", rv, rf, batched_wxyzs=meshes.yaw_to_wxyz(np.zeros(r)),
                batched_positions=np.zeros((r, 3), np.float32),
                batched_scales=np.repeat(geo.ring_radius[:, None], 3, axis=1).astype(np.float32),
                batched_colors=meshes.instance_colors(geo.ring_colors), side="double", lod="off",
                cast_shadow=False, receive_shadow=False))
        else:
            self._set_layer("rings", None)
        legend = geo.legend or ("no overlay at this step" if self.show_overlays else "overlays hidden")
        if geo.text:
            legend += f"  \n{geo.text}"
        self.gui_legend.content = legend

    def _render_moving(self, geo: overlays.OverlayGeometry, p: np.ndarray) -> None:
        """Overlay parts tied to robot positions: edges and user links, rings, rank labels."""
        s = self.server.scene
        segs, cols = overlays.dynamic_segments(geo, p, self.scene)
        self._set_layer("links", s.add_line_segments("/overlay/links", segs, cols, thickness=1.5,
                                                     thickness_units="screen") if len(segs) else None)
        if "rings" in self._layers:
            self._layers["rings"].batched_positions = overlays.ring_positions(geo, p, self.scene)
        want = dict(geo.labels)
        for i in list(self._labels):
            if i not in want:
                self._labels.pop(i).remove()
        for i, text in want.items():
            at = (float(p[i, 0]), float(p[i, 1]), float(p[i, 2]) + self.robot_scale * self.shape.height + 0.1)
            h = self._labels.get(i)
            if h is None:
                self._labels[i] = s.add_label(f"/overlay/labels/{i}", text, position=at)
            else:
                h.text = text
                h.position = at

    def _set_layer(self, name: str, handle: Any) -> None:
        old = self._layers.get(name)
        if handle is None:
            if old is not None:
                old.remove()
                del self._layers[name]
        else:
            self._layers[name] = handle

    def _render_selection(self, p: np.ndarray) -> None:
        i = self.selected
        if i is None:
            self.ring.visible = False
            self.gui_info.content = "Click a robot to see its state."
            return
        z = float(p[i, 2]) if not self.shape.on_ground else 0.01
        self.ring.position = (float(p[i, 0]), float(p[i, 1]), z)
        self.ring.visible = True
        self.gui_info.content = "\n".join(["| | |", "|---|---|"] + [f"| {k} | {_fmt(v)} |"
                                                                    for k, v in self.selection_info().items()])

    def _step_text(self, k: int, geo: overlays.OverlayGeometry) -> str:
        step = self.frames.step(k)
        txt = f"step **{step}** / {self.frames.last_step}"
        if self.dt:
            txt += f" — t = {step * self.dt:.2f} s"
        if self.robot_scale != 1.0:
            txt += f"  \nrobots drawn {self.robot_scale:g}x true size"
        return txt

    def close(self) -> None:
        """Stop the server (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.server.stop()

    def __enter__(self) -> "_ViewerBase":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list) and len(v) <= 4 and all(isinstance(x, (int, float)) for x in v):
        return "(" + ", ".join(_fmt(float(x)) if isinstance(x, float) else str(x) for x in v) + ")"
    return str(v)


class ReplayViewer(_ViewerBase):
    """A recorded run with a timeline slider, play/pause, speed and loop.

    >>> v = ReplayViewer(load_run("runs/amr_goto/seed0"), port=0)   # doctest: +SKIP
    >>> v.seek(100); v.play(); ...; v.close()                          # doctest: +SKIP
    """

    def __init__(self, run: RunData | str | Path, *, host: str = "127.0.0.1", port: int = 8080) -> None:
        data = run if isinstance(run, RunData) else load_run(run)
        self.run = data
        frames = FrameStore(data.steps, data.pos, data.yaw, data.goal)
        info = _summary_info(data.root) if data.root is not None else {}
        self.playing = False
        self._stop = threading.Event()
        super().__init__(data.scene, frames, data.overlays, host=host, port=port, title=data.name, dt=data.dt,
                         info=info)
        self.render(0)
        self._thread = threading.Thread(target=self._play_loop, name="robocoord-view-play", daemon=True)
        self._thread.start()

    def _build_controls(self) -> None:
        gui = self.server.gui
        f = self.frames
        steps = np.array([f.step(k) for k in range(len(f))])
        d = np.diff(steps)
        inc = int(d[0]) if len(d) and np.all(d == d[0]) else 1
        with gui.add_folder("Timeline"):
            self.gui_timeline = gui.add_slider("step", min=f.first_step, max=max(f.last_step, f.first_step + 1),
                                               step=inc, initial_value=f.first_step)
            self.gui_play = gui.add_button("Play", icon=None)
            self.gui_prev = gui.add_button("◀ step")
            self.gui_next = gui.add_button("step ▶")
            rate = 1.0 / self.dt if self.dt else 10.0
            default = "1x" if rate >= 4 else "4x"
            self.gui_speed = gui.add_dropdown("speed", SPEEDS, initial_value=default,
                                              hint="playback speed, x real time (dt from scenario.yaml)")
            self.gui_loop = gui.add_checkbox("loop", initial_value=True)

        @self.gui_timeline.on_update
        def _(_: Any) -> None:
            self.render(self.frames.index_of_step(int(self.gui_timeline.value)))

        @self.gui_play.on_click
        def _(_: Any) -> None:
            self.pause() if self.playing else self.play()

        @self.gui_prev.on_click
        def _(_: Any) -> None:
            self.pause()
            self.seek_frame(self.current - 1)

        @self.gui_next.on_click
        def _(_: Any) -> None:
            self.pause()
            self.seek_frame(self.current + 1)

    # --- timeline API (also what the GUI calls) ---------------------------------------------------
    def seek(self, step: int) -> None:
        """Move the timeline to ``step`` (the last recorded frame at or before it is shown)."""
        k = self.frames.index_of_step(int(step))
        self.seek_frame(k)

    def seek_frame(self, k: int) -> None:
        k = int(np.clip(k, 0, len(self.frames) - 1))
        step = self.frames.step(k)
        if int(self.gui_timeline.value) != step:
            self.gui_timeline.value = step  # fires the slider callback, which renders
        else:
            self.render(k)

    def play(self) -> None:
        if self.current >= len(self.frames) - 1:
            self.seek_frame(0)
        self.playing = True
        self.gui_play.label = "Pause"

    def pause(self) -> None:
        self.playing = False
        self.gui_play.label = "Play"

    @property
    def steps_per_second(self) -> float:
        mult = float(str(self.gui_speed.value).rstrip("x"))
        return mult * (1.0 / self.dt if self.dt else 10.0)

    def _play_loop(self) -> None:
        acc = 0.0
        last = time.perf_counter()
        while not self._stop.wait(1.0 / PLAY_FPS):
            now = time.perf_counter()
            elapsed, last = now - last, now
            if not self.playing:
                acc = 0.0
                continue
            acc += elapsed * self.steps_per_second
            if acc < 1.0:
                continue
            adv, acc = int(acc), acc - int(acc)
            target = self.frames.step(self.current) + adv
            if target > self.frames.last_step:
                if bool(self.gui_loop.value):
                    self.seek_frame(0)
                else:
                    self.seek_frame(len(self.frames) - 1)
                    self.pause()
                continue
            k = self.frames.index_of_step(target)
            if k == self.current:  # sparse replay: jump to the next recorded frame
                k = min(k + 1, len(self.frames) - 1)
            self.seek_frame(k)

    def close(self) -> None:
        self._stop.set()
        super().close()

    def serve_forever(self, open_browser: bool = False) -> None:
        """Block until Ctrl-C (what ``robocoord view`` does)."""
        print(f"robocoord view: {self.run.name} — {self.n} {self.scene['kind']} robots, {len(self.frames)} frames",
              file=sys.stderr)
        print(f"open {self.url} in a browser (Ctrl-C to stop)", file=sys.stderr, flush=True)
        if open_browser:
            _open_browser(self.url)
        try:
            while not self._closed:
                time.sleep(0.5)
        finally:
            self.close()


def _summary_info(root: Path) -> dict[str, Any]:
    p = root / "summary.json"
    if not p.is_file():
        return {}
    try:
        s = json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    if not isinstance(s, dict):
        return {}
    return {k: v for k, v in s.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _open_browser(url: str) -> None:
    # Without a display, webbrowser would fall back to a text browser inside this terminal.
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        print("no display: not opening a browser (open the address above yourself)", file=sys.stderr)
        return
    import webbrowser

    webbrowser.open(url)


class LiveViewer(_ViewerBase):
    """Live view of a running simulation with Pause / Step / Resume that block the caller's loop.

    Wire it to :func:`robocoord.runner.run` with ``on_step=viewer.on_step``: the runner calls it after
    every step; while paused the call blocks (the simulation waits) until Resume, or returns after one
    step for Step. The timeline slider scrubs back through the last ``history`` frames while paused.

    ``scene_desc`` may be None: the scene is then built on the first :meth:`on_step` from
    ``world.scene_description()``, so the runner does not need to build the world twice.
    """

    def __init__(self, scene_desc: Optional[dict[str, Any]] = None, *, host: str = "127.0.0.1", port: int = 8080,
                 title: str = "live run", dt: Optional[float] = None, history: int = 2000,
                 start_paused: bool = False) -> None:
        self._host, self._port, self._title, self._dt = host, port, title, dt
        self._history = history
        self._run_event = threading.Event()
        self._step_budget = 0
        self._state_lock = threading.Lock()
        self._closed = False
        self._feeding = False
        self.paused = start_paused
        if not start_paused:
            self._run_event.set()
        self._built = False
        self._pending_server: Any = None
        if scene_desc is not None:
            self._build(scene_desc)
        else:
            # Take the port now so that a port in use fails before the run starts.
            check_port(host, port)

    def _build(self, scene_desc: dict[str, Any], n: Optional[int] = None) -> None:
        scene = validate_scene(scene_desc)
        n = int(n if n is not None else scene.get("n") or 0)
        if n <= 0:
            raise UserError("LiveViewer: the scene description needs 'n' (number of robots) > 0")
        frames = FrameStore(np.zeros(0, int), np.zeros((0, n, 3), np.float32), np.zeros((0, n), np.float32),
                            history=self._history)
        scene = dict(scene, n=n)
        super().__init__(scene, frames, OverlayLog(), host=self._host, port=self._port, title=self._title,
                         dt=self._dt)
        self._built = True

    def _build_controls(self) -> None:
        gui = self.server.gui
        with gui.add_folder("Live"):
            self.gui_status = gui.add_markdown("running")
            self.gui_pause = gui.add_button("Pause")
            self.gui_step_btn = gui.add_button("Step")
            self.gui_timeline = gui.add_slider("step", min=0, max=1, step=1, initial_value=0, disabled=True,
                                               hint="scrub back while paused")

        @self.gui_pause.on_click
        def _(_: Any) -> None:
            self.resume() if self.paused else self.pause()

        @self.gui_step_btn.on_click
        def _(_: Any) -> None:
            self.step_once()

        @self.gui_timeline.on_update
        def _(_: Any) -> None:
            if self.paused and not self._feeding and len(self.frames):
                self.render(self.frames.index_of_step(int(self.gui_timeline.value)))

    # --- controls (the GUI buttons call these) ----------------------------------------------------
    def pause(self) -> None:
        with self._state_lock:
            self.paused = True
            self._step_budget = 0
            self._run_event.clear()
        if self._built:
            self.gui_pause.label = "Resume"
            self.gui_status.content = "**paused** — Step advances one step"
            self.gui_timeline.disabled = False

    def resume(self) -> None:
        with self._state_lock:
            self.paused = False
            self._step_budget = 0
            self._run_event.set()
        if self._built:
            self.gui_pause.label = "Pause"
            self.gui_status.content = "running"
            self.gui_timeline.disabled = True

    def step_once(self) -> None:
        """While paused: let the simulation advance by one step, then pause again."""
        with self._state_lock:
            if not self.paused:
                self.paused = True
            self._step_budget += 1
            self._run_event.set()
        if self._built:
            self.gui_pause.label = "Resume"
            self.gui_status.content = "**paused** — stepping"
            self.gui_timeline.disabled = False

    def wait_if_paused(self, timeout: Optional[float] = None) -> bool:
        """Block while paused (consuming one Step press if any); False if ``timeout`` ran out or closed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._closed:
                return False
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            if not self._run_event.wait(0.1 if remaining is None else min(0.1, remaining)):
                if remaining is not None and remaining <= 0:
                    return False
                continue
            with self._state_lock:
                if not self.paused:
                    return True
                if self._step_budget > 0:
                    self._step_budget -= 1
                    if self._step_budget == 0:
                        self._run_event.clear()
                    return True
                self._run_event.clear()

    # --- feeding -----------------------------------------------------------------------------------
    def update(self, step: int, pos: np.ndarray, yaw: np.ndarray, overlay: Optional[dict[str, Any]] = None,
               goal: Optional[np.ndarray] = None) -> None:
        """Show the state after ``step``; blocks here while the viewer is paused."""
        if not self._built:
            raise RuntimeError("LiveViewer.update before the scene is known: pass scene_desc or use on_step")
        pos = _as_pos3(pos)
        if pos.shape != (self.n, 3):
            raise ValueError(f"pos must have shape ({self.n}, 3), got {pos.shape}")
        with self._lock:
            self.frames.append(step, pos, np.asarray(yaw, np.float32).reshape(self.n),
                               None if goal is None else np.asarray(goal, np.float32).reshape(self.n, -1))
            if overlay:
                from robocoord.rundir import _jsonable

                self.overlays.append({"step": int(step), **_jsonable(overlay)})
            first = self.frames.first_step
            self._feeding = True  # the slider follows the newest frame; its callback must not re-render
            try:
                with self.server.atomic():
                    self.gui_timeline.max = max(step, first + 1)
                    self.gui_timeline.min = first
                    self.gui_timeline.value = step
            finally:
                self._feeding = False
            self.render(len(self.frames) - 1)
        self.wait_if_paused()

    def on_step(self, world: Any, obs: Any, cmd: Any) -> None:
        """The runner's ``on_step(world, obs, cmd)`` hook (see :func:`robocoord.runner.run`)."""
        if not self._built:
            self._build(world.scene_description(), n=int(world.n))
            print(f"robocoord: live view at {self.url}", file=sys.stderr, flush=True)
        pos, yaw = world.poses()
        goal = getattr(world, "goals", None)
        if goal is not None:
            goal = np.asarray(goal, float)
            if self.scene.get("grid") and self.scene.get("fidelity") == "grid":
                goal = overlays.cells_to_xy(goal, len(self.scene["grid"]), float(self.scene["cell_size"]))
        self.update(int(getattr(world, "step_count", len(self.frames))), pos, yaw,
                    getattr(cmd, "overlay", None), goal=goal)

    def close(self) -> None:
        self._run_event.set()  # release a blocked runner
        if self._built:
            super().close()
        self._closed = True

    def wait_closed(self) -> None:
        """After the run: keep serving (scrubbing the history) until Ctrl-C."""
        if self._built:
            self.pause()
            self.gui_status.content = "**run finished** — scrub the timeline; Ctrl-C to stop"
        try:
            while not self._closed:
                time.sleep(0.5)
        finally:
            self.close()
