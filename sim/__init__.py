"""The world: pybullet scene, robot kinds and their dynamics, sensors, maps, goal streams.

Imports neither ``planners`` nor ``policies`` nor ``robocoord`` (see DESIGN.md §2).
"""
import os as _os
import sys as _sys


def _import_pybullet_quietly() -> None:
    # pybullet's C module prints a "pybullet build time" banner at import (stderr in current builds,
    # stdout in older ones), which would corrupt `robocoord run --json`, tables piped to files and
    # batch progress bars; swallow that one line on both descriptors.
    if "pybullet" in _sys.modules:
        return
    try:
        _sys.stdout.flush()
        _sys.stderr.flush()
        saved = [_os.dup(1), _os.dup(2)]
    except (OSError, ValueError):  # no real stdio (embedded interpreters): import as is
        import pybullet  # noqa: F401
        return
    devnull = _os.open(_os.devnull, _os.O_WRONLY)
    try:
        _os.dup2(devnull, 1)
        _os.dup2(devnull, 2)
        import pybullet  # noqa: F401
    finally:
        for fd, old in zip((1, 2), saved):
            _os.dup2(old, fd)
            _os.close(old)
        _os.close(devnull)


_import_pybullet_quietly()
