"""Headless batch evaluation: sweeps on a process pool or Ray, a resumable SQLite store, reports.

``robocoord batch SWEEP`` (:mod:`robocoord.batch.cli`) runs a sweep file (:mod:`robocoord.batch.sweep`)
with :func:`robocoord.batch.executor.run_batch` into ``OUT/results.sqlite``
(:mod:`robocoord.batch.store`); ``robocoord report OUT`` writes Markdown (:mod:`robocoord.batch.report`).

Nothing heavy is imported here: spawned pool workers import this package before they may load numpy.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["load_sweep", "Sweep", "RunSpec", "run_batch", "BatchSummary", "ResultsStore", "RunRecord"]

if TYPE_CHECKING:  # pragma: no cover
    from robocoord.batch.executor import BatchSummary, run_batch
    from robocoord.batch.store import ResultsStore, RunRecord
    from robocoord.batch.sweep import RunSpec, Sweep, load_sweep

_LAZY = {
    "load_sweep": "robocoord.batch.sweep", "Sweep": "robocoord.batch.sweep", "RunSpec": "robocoord.batch.sweep",
    "run_batch": "robocoord.batch.executor", "BatchSummary": "robocoord.batch.executor",
    "ResultsStore": "robocoord.batch.store", "RunRecord": "robocoord.batch.store",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
