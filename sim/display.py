"""Can pybullet open its GUI window here?

``p.connect(p.GUI)`` without a usable X display does not raise: it kills the whole process. So every
GUI path asks :func:`gui_available` first and turns a ``False`` into a clear error.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys


def _x11_opens(display: str) -> tuple[bool, str]:
    """Try ``XOpenDisplay`` through libX11 (what pybullet's window uses on Linux)."""
    lib_name = ctypes.util.find_library("X11")
    if lib_name is None:
        return False, f"DISPLAY={display!r} is set but libX11 is not installed, so no window can open"
    try:
        x11 = ctypes.cdll.LoadLibrary(lib_name)
    except OSError as exc:
        return False, f"DISPLAY={display!r} is set but libX11 could not be loaded ({exc})"
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    handle = x11.XOpenDisplay(display.encode())
    if not handle:
        return False, f"the X display DISPLAY={display!r} cannot be opened (no X server there, or no access)"
    x11.XCloseDisplay(handle)
    return True, f"X display {display!r} is open"


def gui_available() -> tuple[bool, str]:
    """Whether ``pybullet.connect(pybullet.GUI)`` can work, and why (or why not)."""
    if sys.platform in ("win32", "darwin"):
        return True, f"{sys.platform} has a native window system"
    display = os.environ.get("DISPLAY", "")
    wayland = os.environ.get("WAYLAND_DISPLAY", "")
    if not display:
        if wayland:
            return False, (f"WAYLAND_DISPLAY={wayland!r} is set but DISPLAY is not; pybullet's window needs "
                           "X11 (start XWayland or set DISPLAY)")
        return False, "neither DISPLAY nor WAYLAND_DISPLAY is set (headless machine or SSH without -X)"
    return _x11_opens(display)


__all__ = ["gui_available"]
