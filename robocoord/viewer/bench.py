"""How fluid is the viewer with many robots? Server frame time and browser frame rate while playing.

    python -m robocoord.viewer.bench --n 1000 5000 10000 [--kind amr] [--seconds 8] [--no-browser]

For each fleet size a synthetic circling run (every robot moves every frame) is served by
:class:`~robocoord.viewer.app.ReplayViewer` and played at 10 frames/s:

- ``render ms``: the Python side of one frame (batched transforms + overlays, one atomic message);
- ``browser fps``: ``requestAnimationFrame`` callbacks per second in headless Chromium while the run
  plays (software WebGL on this machine's CPU: a lower bound of what a desktop GPU shows);
- ``frames/s seen``: distinct step readouts the page showed per second (updates actually delivered).

Prints a Markdown table (what BENCHMARKS.md holds).
"""
from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from robocoord.viewer.app import ReplayViewer
from robocoord.viewer.demo import circling_replay, demo_scene, write_run
from robocoord.viewer.devtools import CHROMIUM, Chrome, wait_for

FPS_PROBE = """new Promise(resolve => {
  let frames = 0; const t0 = performance.now();
  function tick() { frames++; if (performance.now() - t0 < %d) requestAnimationFrame(tick);
                    else resolve(frames * 1000 / (performance.now() - t0)); }
  requestAnimationFrame(tick);
})"""


def measure(n: int, kind: str, seconds: float, browser: bool, tmp: Path) -> dict[str, float]:
    steps = 200
    t, pos, yaw = circling_replay(n, steps, 60.0, kind, np.random.default_rng(0))
    run = write_run(tmp / f"run{n}", demo_scene(kind, n, 60.0), t, pos, yaw, dt=0.1)
    viewer = ReplayViewer(run, host="127.0.0.1", port=0)
    row: dict[str, float] = {"n": n}
    try:
        ms = []
        for k in range(1, 101):
            viewer.seek_frame(k)
            ms.append(viewer.last_render_ms)
        row["render_ms_mean"] = float(np.mean(ms))
        row["render_ms_p95"] = float(np.percentile(ms, 95))
        if browser and CHROMIUM is not None:
            chrome = Chrome(Path(tempfile.mkdtemp(dir=tmp)))
            try:
                chrome.send("Page.navigate", url=viewer.url)
                wait_for(lambda: viewer.server.get_clients(), 60, "the page to connect")
                wait_for(lambda: chrome.eval("document.body.innerText.includes('step ')"), 60, "the GUI panel")
                time.sleep(3.0)  # let the first full scene upload finish
                viewer.gui_speed.value = "1x"
                viewer.play()
                seen: set[int] = set()
                t_end = time.monotonic() + seconds
                fps_promise = chrome.eval(FPS_PROBE % int(seconds * 1000 / 2))  # first half: frame rate
                while time.monotonic() < t_end:  # second half: which steps the page shows
                    m = re.search(r"step (\d+) /", chrome.eval("document.body.innerText") or "")
                    if m:
                        seen.add(int(m.group(1)))
                    time.sleep(0.02)
                viewer.pause()
                row["browser_fps"] = float(fps_promise or 0.0)
                row["frames_seen_per_s"] = len(seen) / (seconds / 2)
            finally:
                chrome.close()
    finally:
        viewer.close()
    return row


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1000, 5000, 10000])
    ap.add_argument("--kind", default="amr", choices=["amr", "uav", "cav"])
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--no-browser", action="store_true")
    a = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for n in a.n:
            rows.append(measure(n, a.kind, a.seconds, not a.no_browser, Path(d)))
            print(rows[-1], flush=True)
    print("\n| robots | render ms (mean / p95) | browser fps | frames/s seen (played at 10) |")
    print("|---:|---:|---:|---:|")
    for r in rows:
        fps = f"{r['browser_fps']:.1f}" if "browser_fps" in r else "–"
        seen = f"{r['frames_seen_per_s']:.1f}" if "frames_seen_per_s" in r else "–"
        print(f"| {r['n']:,} | {r['render_ms_mean']:.2f} / {r['render_ms_p95']:.2f} | {fps} | {seen} |")


if __name__ == "__main__":
    main()
