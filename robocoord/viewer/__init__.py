"""Interactive 3D viewer (viser, in the browser): ``robocoord view RUN_DIR`` and the live ``--view`` hook.

- :class:`ReplayViewer` — a run directory with a timeline, play/pause, speed, overlays, click-to-inspect.
- :class:`LiveViewer` — fed by the runner's ``on_step`` hook; Pause/Step block the simulation loop.
- :mod:`robocoord.viewer.overlays` — the overlay conventions controllers follow.

viser is imported only when a viewer starts, so ``import robocoord.viewer`` stays cheap.
"""
from __future__ import annotations

from typing import Any

from robocoord.viewer.rundata import OverlayLog, RunData, load_run

__all__ = ["LiveViewer", "OverlayLog", "ReplayViewer", "RunData", "load_run"]


def __getattr__(name: str) -> Any:
    if name in ("LiveViewer", "ReplayViewer"):
        from robocoord.viewer import app

        return getattr(app, name)
    raise AttributeError(name)
