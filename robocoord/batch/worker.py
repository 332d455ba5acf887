"""One sweep run inside a worker process (process pool or Ray task).

Only the standard library is imported at module level: a spawned worker unpickles :func:`init_worker`
(importing this module) *before* anything else, so the thread limits below are in the environment
before numpy or torch load their BLAS/OpenMP runtimes (DESIGN.md §5: a 50x slowdown otherwise, with
every worker spinning a thread per core).
"""
from __future__ import annotations

import importlib
import os
import signal
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Optional

THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
DEFAULT_RUN_FN = "robocoord.runner:run"

# Whether numpy was already loaded when the worker was initialised (it must not be: checked by tests).
NUMPY_LOADED_AT_INIT: Optional[bool] = None


def init_worker() -> None:
    """Process-pool initializer: one thread per worker; Ctrl-C is the parent's business."""
    global NUMPY_LOADED_AT_INIT
    NUMPY_LOADED_AT_INIT = "numpy" in sys.modules
    os.environ.update(THREAD_ENV)
    # The parent handles Ctrl-C (and stops the pool); workers ignoring it print no tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Warm up now, with the limits in place: imports then never run under a run's alarm (an alarm
    # firing inside an import would leave half-initialised modules behind in this worker).
    import robocoord.runner  # noqa: F401
    import robocoord.scenario  # noqa: F401

    limit_torch_threads()


def limit_torch_threads() -> None:
    """``torch.set_num_threads(1)`` when torch is loaded.

    torch is not imported just for this (1-2 s and ~300 MB per worker for runs that never use it):
    a torch imported later reads OMP_NUM_THREADS=1, set above, as its default.
    """
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)


class RunTimeout(BaseException):
    """Raised by the alarm inside a run; a BaseException so a controller's ``except Exception`` cannot eat it."""


@dataclass(frozen=True)
class Task:
    """Everything a worker needs; plain data so it pickles to a spawned process or a Ray node."""

    run_id: str
    scenario_data: dict[str, Any]
    source: str
    base_dir: str
    seed: int
    run_fn: str = DEFAULT_RUN_FN
    out_dir: Optional[str] = None
    timeout_s: Optional[float] = None


def resolve_run_fn(spec: str) -> Callable[..., Any]:
    """``"package.module:function"`` -> the function (run functions travel by name, not by pickle)."""
    mod, _, attr = spec.partition(":")
    if not mod or not attr:
        raise ValueError(f"run function {spec!r}: expected 'module:function'")
    fn = importlib.import_module(mod)
    for part in attr.split("."):
        fn = getattr(fn, part)
    return fn  # type: ignore[return-value]


def error_text(exc: BaseException, last_lines: int = 12) -> str:
    """``Type: message`` then the last lines of the traceback (enough to find the failing frame)."""
    head = f"{type(exc).__name__}: {exc}".strip()
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip().splitlines()
    tail = tb[-last_lines:]
    return head + "\n" + "\n".join(tail)


def _alarm(timeout_s: float) -> Callable[[], None]:
    """Arm SIGALRM to raise :class:`RunTimeout`; returns the disarm function (no-op off the main thread)."""
    if timeout_s is None or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        return lambda: None

    def _fire(signum: int, frame: Any) -> None:
        raise RunTimeout(f"run exceeded timeout_s={timeout_s:g}")

    old = signal.signal(signal.SIGALRM, _fire)
    signal.setitimer(signal.ITIMER_REAL, float(timeout_s))

    def disarm() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, old)

    return disarm


def execute(task: Task) -> dict[str, Any]:
    """Run one task; never raises for a failing run: returns ``{'status': 'failed', 'error': ...}``."""
    os.environ.update(THREAD_ENV)
    limit_torch_threads()
    started = time.time()
    out: dict[str, Any] = {"run_id": task.run_id, "started": started, "worker": f"{socket.gethostname()}:{os.getpid()}",
                           "run_dir": task.out_dir}
    try:
        from robocoord.scenario import scenario_from_dict

        sc = scenario_from_dict(task.scenario_data, source=task.source, base_dir=task.base_dir)
        fn = resolve_run_fn(task.run_fn)
        # The limit covers the run itself, not loading the scenario and the run function.
        disarm = _alarm(task.timeout_s) if task.timeout_s else (lambda: None)
        try:
            res = fn(sc, seed=task.seed, out_dir=task.out_dir)
        finally:
            disarm()
        out.update(status="done", summary=_plain(dict(res.summary)), timing=_plain(dict(res.timing)), error=None)
    except (Exception, RunTimeout, SystemExit) as exc:  # KeyboardInterrupt propagates: the parent stops
        out.update(status="failed", summary={}, timing={}, error=error_text(exc), run_dir=None)
    out["finished"] = time.time()
    return out


def _plain(obj: Any) -> Any:
    """numpy scalars and arrays to Python numbers and lists, so the record pickles and JSON-dumps anywhere."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if hasattr(obj, "tolist") and type(obj).__module__ == "numpy":
        return obj.tolist()
    return obj


def probe() -> dict[str, Any]:
    """What a worker's environment looks like (tests use this to check the thread limits)."""
    info: dict[str, Any] = {"pid": os.getpid(), "numpy_loaded_at_init": NUMPY_LOADED_AT_INIT,
                            **{k: os.environ.get(k) for k in THREAD_ENV}}
    try:
        import torch

        limit_torch_threads()
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:  # pragma: no cover
        info["torch_threads"] = None
    return info
