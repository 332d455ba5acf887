"""The viewer as a person uses it: a recorded run served by viser, loaded in headless Chromium.

Chromium is driven over the DevTools protocol (websocket), so the test moves the timeline *in the
browser* (keyboard on the slider), checks that the Python side followed, and compares screenshots at
the robots' projected pixel positions (the camera pose comes back from the browser through viser).
Skipped only when Debian's ``chromium`` is not installed.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("viser", reason="the viewer needs the 'viser' package (pip install viser)")
from PIL import Image  # noqa: E402  (pillow comes with matplotlib)

from robocoord.viewer.app import ReplayViewer  # noqa: E402
from robocoord.viewer.demo import demo_scene, write_run  # noqa: E402
from robocoord.viewer.devtools import CHROMIUM, H, W, Chrome, settled_screenshot, wait_for  # noqa: E402

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless browser test needs Chromium "
                                "(Debian: apt-get install chromium); none found on PATH")


def project(cam: Any, pts: np.ndarray) -> np.ndarray:
    """World points -> pixel (u, v) with the browser's camera (OpenCV convention, as viser reports it)."""
    w, x, y, z = cam.wxyz
    r = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                  [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                  [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    pc = (pts - cam.position) @ r  # R^T (p - t), row-wise
    f = (cam.image_height / 2) / np.tan(cam.fov / 2)
    return np.column_stack([W / 2 + f * pc[:, 0] / pc[:, 2], H / 2 + f * pc[:, 1] / pc[:, 2]])


def test_view_recorded_run_in_chromium(tmp_path: Path) -> None:
    # A recorded run: 4 AMRs cross a 10 x 10 m arena from left to right (large moves between frames).
    n, steps = 4, 20
    t = np.arange(steps + 1)
    pos = np.zeros((steps + 1, n, 3), np.float32)
    pos[..., 0] = (1.5 + 7.0 * t / steps)[:, None]
    pos[..., 1] = np.array([2.0, 4.0, 6.0, 8.0])[None]
    yaw = np.zeros((steps + 1, n), np.float32)
    scene = demo_scene("amr", n, 10.0)
    scene["robot"] = {"radius": 0.45}
    run = write_run(tmp_path / "run", scene, t, pos, yaw,
                    overlays=[{"step": 0, "paths": [[[9, float(y)]] for y in (2, 4, 6, 8)]}], dt=0.1)

    viewer = ReplayViewer(run, host="127.0.0.1", port=0)
    chrome = None
    try:
        chrome = Chrome(Path(tempfile.mkdtemp(dir=tmp_path)))
        chrome.send("Page.navigate", url=viewer.url)
        client = wait_for(lambda: next(iter(viewer.server.get_clients().values()), None), 45, "the page to connect")
        wait_for(lambda: chrome.eval("document.body.innerText.includes('step 0')"), 45, "the GUI panel")
        cam = wait_for(lambda: client.camera if client.camera.update_timestamp > 0 and client.camera.image_height
                       else None, 45, "the browser's camera pose")

        def robot_boxes(k: int) -> list[tuple[slice, slice]]:
            """17x17 px boxes around the robots' projected centres at frame ``k``."""
            uv = project(cam, pos[k].astype(float) + np.array([0, 0, 0.1]))
            for u, v in uv:
                assert 8 <= u < W - 8 and 8 <= v < H - 8, f"robot projected off-screen at ({u:.0f}, {v:.0f})"
            return [(slice(int(v) - 8, int(v) + 9), slice(int(u) - 8, int(u) + 9)) for u, v in uv]

        # Non-blank: the 3D canvas region (left of the GUI panel) has real content, not one colour.
        before = settled_screenshot(chrome, lambda im: im[200:, :900].std() > 8, 60, "the scene to render")

        # Move the timeline in the browser: focus the slider thumb, press End (jump to the last step).
        rect = wait_for(lambda: chrome.eval(
            "(() => { const s = document.querySelector('[role=slider]'); if (!s) return null;"
            " const r = s.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"),
            30, "the timeline slider")
        chrome.click(*rect)
        chrome.key("End", "End", 35)
        wait_for(lambda: viewer.current == steps, 30, "the viewer to follow the browser's timeline to the end")
        wait_for(lambda: chrome.eval(f"document.body.innerText.includes('step {steps} / {steps}')"), 30,
                 "the step readout to update")

        def moved(im: np.ndarray) -> bool:
            d = np.abs(im - before).sum(axis=2)
            return all(float((d[sv, su] > 60).mean()) > 0.3 for k in (0, steps) for sv, su in robot_boxes(k))

        # The robots' pixels where they stood at step 0 and at the end (projected with the browser's
        # camera) must change; far from every robot (the empty floor at the arena's left edge) not.
        after = settled_screenshot(chrome, moved, 60, "every robot region to change after moving the timeline")
        diff = np.abs(after - before).sum(axis=2)
        floor = project(cam, np.array([[0.6, 5.0, 0.0]]))[0]
        quiet = diff[int(floor[1]) - 8:int(floor[1]) + 9, int(floor[0]) - 8:int(floor[0]) + 9]
        assert (quiet > 60).mean() < 0.1, "pixels away from the robots changed: the whole view moved"

        # Clicking a robot selects it and the panel shows its state.
        u, v = project(cam, pos[steps, 2:3].astype(float) + np.array([0, 0, 0.15]))[0]
        chrome.click(u, v)
        wait_for(lambda: viewer.selected == 2, 30, "a click on robot 2 to select it")
        wait_for(lambda: chrome.eval("document.body.innerText.includes('yaw_deg')"), 30, "the selection panel")
        Image.fromarray(after.astype(np.uint8)).save(tmp_path / "after.png")
    finally:
        if chrome is not None:
            chrome.close()
        viewer.close()
