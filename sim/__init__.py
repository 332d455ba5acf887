"""The world: pybullet scene, robot kinds and their dynamics, sensors, maps, goal streams.

Imports neither ``planners`` nor ``policies`` nor ``robocoord`` (see DESIGN.md §2).
"""
import os as _os
import sys as _sys


def _import_pybullet_quietly() -> None:
    # pybullet's C module prints a "pybullet build time" banner on stdout at import, which would
    # corrupt `robocoord run --json` and tables piped to files; swallow that one line.
    if "pybullet" in _sys.modules:
        return
    try:
        _sys.stdout.flush()
        saved = _os.dup(1)
    except (OSError, ValueError):  # no real stdout (embedded interpreters): import as is
        import pybullet  # noqa: F401
        return
    devnull = _os.open(_os.devnull, _os.O_WRONLY)
    try:
        _os.dup2(devnull, 1)
        import pybullet  # noqa: F401
    finally:
        _os.dup2(saved, 1)
        _os.close(saved)
        _os.close(devnull)


_import_pybullet_quietly()
