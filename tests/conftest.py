from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
DATA = ROOT / "data"


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300,
            keep_display: bool = False) -> subprocess.CompletedProcess:
    """Run `python -m robocoord ...` in a fresh process (what a user types), headless unless asked."""
    env = dict(os.environ, PYTHONHASHSEED="random", COLUMNS="200")
    if not keep_display:
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
    return subprocess.run([sys.executable, "-m", "robocoord", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=timeout)


@pytest.fixture
def write_yaml(tmp_path: Path):
    def _write(text: str, name: str = "scenario.yaml") -> Path:
        p = tmp_path / name
        p.write_text(text)
        return p

    return _write
