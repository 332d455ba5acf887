"""Executing a sweep: a local process pool by default, Ray on request, one SQLite store either way.

Local pool (``concurrent.futures.ProcessPoolExecutor``, spawn context, ``--workers`` processes): at
most one run in flight per worker, so "submitted" means "running" and a run past its time limit is
known. Failure handling, in increasing order of violence:

* a run that raises (or exceeds ``timeout_s``: an alarm inside the worker raises there) is recorded
  ``failed`` with the exception type, message and the last traceback lines; the sweep goes on;
* a worker process that dies (segfault, ``os._exit``, the OOM killer: ``BrokenProcessPool``) takes the
  pool down with it. If one run was in flight it is the culprit: it is retried once in a fresh pool,
  and recorded ``failed`` if it dies again. If several were in flight the culprit is unknown, so the
  suspects are re-run one at a time in a fresh pool until the culprit is identified (innocent runs
  simply finish); the rest of the sweep then continues in parallel;
* a run stuck past ``timeout_s`` + grace in code the alarm cannot interrupt (a C solver) gets its
  worker killed; it is recorded failed, the other in-flight runs are re-submitted.

Ray (``--ray [ADDRESS]``): one ``@ray.remote(num_cpus=1, max_retries=1)`` task per run (Ray retries
once when the worker dies), at most as many in flight as the cluster has CPUs, gathered as they finish
into the same store by this (driver) process.
"""
from __future__ import annotations

import multiprocessing
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter, deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from robocoord.batch.store import STORE_NAME, ResultsStore, RunRecord
from robocoord.batch.sweep import RunSpec, Sweep
from robocoord.batch.worker import DEFAULT_RUN_FN, THREAD_ENV, Task, execute, init_worker
from robocoord.errors import UserError

OnOutcome = Callable[[dict[str, Any], int], None]  # (worker outcome, attempts made in this batch)


@dataclass
class BatchSummary:
    out: Path
    store: Path
    total: int          # runs in the sweep
    skipped: int        # already done (resume)
    done: int           # done in this batch
    failed: int         # failed in this batch
    elapsed_s: float


# --- local process pool ----------------------------------------------------------------------------
def _failure(task: Task, error: str, started: Optional[float] = None) -> dict[str, Any]:
    now = time.time()
    return {"run_id": task.run_id, "status": "failed", "summary": {}, "timing": {}, "error": error,
            "started": started or now, "finished": now, "worker": None, "run_dir": None}


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    # No public API before Python 3.14 (terminate_workers): reach for the pool's process table.
    for p in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            if p.is_alive():
                p.kill()
        except (OSError, ValueError):
            pass


def _dead_exit_codes(procs: dict[int, Any]) -> list[int]:
    """Exit codes of workers that died by themselves (the executor SIGTERMs the others)."""
    codes = []
    for p in list(procs.values()):
        code = getattr(p, "exitcode", None)
        if code not in (None, 0, -signal.SIGTERM):
            codes.append(code)
    return codes


def _describe_codes(codes: list[int]) -> str:
    parts = []
    for c in codes:
        if c < 0:
            try:
                parts.append(f"killed by {signal.Signals(-c).name}")
            except ValueError:
                parts.append(f"signal {-c}")
        else:
            parts.append(f"exit code {c}")
    return ", ".join(parts) if parts else "exit status unknown"


class LocalPool:
    """Runs tasks on a spawn-context process pool with the failure handling of the module docstring."""

    def __init__(self, workers: int, timeout_s: Optional[float] = None, poll_s: float = 0.5,
                 grace_s: Optional[float] = None) -> None:
        if workers < 1:
            raise UserError(f"--workers {workers}: expected at least 1")
        self.workers = workers
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        # Grace covers spawning a fresh worker (imports) and lets the in-worker alarm act first.
        self.hard_limit = None if timeout_s is None else timeout_s + (grace_s if grace_s is not None
                                                                       else max(10.0, 0.25 * timeout_s))

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=init_worker)

    def run(self, tasks: list[Task], on_outcome: OnOutcome) -> None:
        pending: deque[Task] = deque(tasks)
        isolate: deque[Task] = deque()
        crashes: Counter[str] = Counter()
        inflight: dict[Future, tuple[Task, float]] = {}
        pool: Optional[ProcessPoolExecutor] = None
        procs: dict[int, Any] = {}
        try:
            while pending or isolate or inflight:
                if pool is None:
                    pool = self._new_pool()
                    procs = {}
                if isolate:  # one suspect at a time, so a death names its culprit
                    if not inflight:
                        task = isolate.popleft()
                        inflight[pool.submit(execute, task)] = (task, time.monotonic())
                else:
                    while pending and len(inflight) < self.workers:
                        task = pending.popleft()
                        inflight[pool.submit(execute, task)] = (task, time.monotonic())
                procs.update(getattr(pool, "_processes", None) or {})
                done, _ = wait(list(inflight), timeout=self.poll_s, return_when=FIRST_COMPLETED)
                broken: list[Task] = []
                for f in done:
                    self._collect(f, inflight.pop(f)[0], crashes, broken, on_outcome)
                timed_out: set[str] = set()
                if self.hard_limit is not None and not broken:
                    now = time.monotonic()
                    timed_out = {t.run_id for t, t0 in inflight.values() if now - t0 > self.hard_limit}
                    if timed_out:
                        _kill_workers(pool)
                if not broken and not timed_out:
                    continue
                # The pool is broken: every remaining future now ends, with a result or BrokenProcessPool.
                rest, _ = wait(list(inflight))
                for f in rest:
                    self._collect(f, inflight.pop(f)[0], crashes, broken, on_outcome)
                pool.shutdown(wait=True)
                pool = None
                codes = _dead_exit_codes(procs)
                suspects = []
                for t in broken:
                    if t.run_id in timed_out:
                        on_outcome(_failure(t, f"RunTimeout: run exceeded timeout_s={self.timeout_s:g} and did not "
                                               "stop (stuck outside Python?); its worker was killed"),
                                   crashes[t.run_id] + 1)
                    else:
                        suspects.append(t)
                if timed_out:
                    pending.extendleft(reversed(suspects))  # victims of our kill, not culprits
                elif len(suspects) == 1:
                    t = suspects[0]
                    crashes[t.run_id] += 1
                    if crashes[t.run_id] >= 2:
                        on_outcome(_failure(t, f"WorkerDied: the worker process died while running this run "
                                               f"({_describe_codes(codes)}); it was retried once in a fresh "
                                               "process pool and died again"), crashes[t.run_id])
                    else:
                        pending.appendleft(t)
                else:
                    isolate.extend(suspects)
        except BaseException:
            if pool is not None:
                _kill_workers(pool)
            raise
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    @staticmethod
    def _collect(f: Future, task: Task, crashes: Counter[str], broken: list[Task], on_outcome: OnOutcome) -> None:
        exc = f.exception()
        if isinstance(exc, BrokenProcessPool):
            broken.append(task)
        elif isinstance(exc, KeyboardInterrupt):
            raise exc
        elif exc is not None:  # e.g. a result that did not pickle back
            from robocoord.batch.worker import error_text

            on_outcome(_failure(task, error_text(exc)), crashes[task.run_id] + 1)
        else:
            on_outcome(f.result(), crashes[task.run_id] + 1)


# --- Ray -------------------------------------------------------------------------------------------
def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("--ray needs Ray, which is an optional extra: pip install 'robocoord[ray]' "
                        "(or run without --ray on the local process pool)") from None
    return ray


def run_on_ray(tasks: list[Task], on_outcome: OnOutcome, *, address: Optional[str], workers: int,
               timeout_s: Optional[float] = None, poll_s: float = 0.5) -> None:
    """One Ray task per run; ``address`` None/"" starts a local Ray with ``workers`` CPUs, else connects."""
    import logging

    ray = import_ray()
    started_here = False
    if not ray.is_initialized():
        kw: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING,
                              "runtime_env": {"env_vars": dict(THREAD_ENV)}}
        try:
            if address:
                ray.init(address=address, **kw)
            else:
                ray.init(num_cpus=workers, **kw)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise UserError(f"--ray {address or ''}: could not start or reach Ray: {exc}".replace("  ", " ")) from None
        started_here = True
    try:
        remote = ray.remote(num_cpus=1, max_retries=1, retry_exceptions=False)(execute)
        cpus = max(1, int(ray.cluster_resources().get("CPU", workers)))
        hard = None if timeout_s is None else timeout_s + max(10.0, 0.25 * timeout_s)
        pending = deque(tasks)
        inflight: dict[Any, tuple[Task, float]] = {}
        cancelled: set[str] = set()
        while pending or inflight:
            while pending and len(inflight) < cpus:
                t = pending.popleft()
                inflight[remote.remote(t)] = (t, time.monotonic())
            ready, _ = ray.wait(list(inflight), num_returns=1, timeout=poll_s)
            for ref in ready:
                t, _t0 = inflight.pop(ref)
                try:
                    on_outcome(ray.get(ref), 1)
                except ray.exceptions.RayError as exc:
                    if t.run_id in cancelled:
                        msg, attempts = (f"RunTimeout: run exceeded timeout_s={timeout_s:g} and did not stop; "
                                         "its Ray task was force-cancelled"), 1
                    elif isinstance(exc, ray.exceptions.WorkerCrashedError):
                        msg, attempts = ("WorkerDied: the Ray worker died while running this run; Ray retried it "
                                         f"once and it died again ({type(exc).__name__})"), 2
                    else:
                        from robocoord.batch.worker import error_text

                        msg, attempts = error_text(exc), 1
                    on_outcome(_failure(t, msg), attempts)
            if hard is not None:
                now = time.monotonic()
                for ref, (t, t0) in inflight.items():
                    if now - t0 > hard and t.run_id not in cancelled:
                        cancelled.add(t.run_id)
                        ray.cancel(ref, force=True)
    finally:
        if started_here:
            ray.shutdown()


# --- the batch ------------------------------------------------------------------------------------
def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import robocoord

        version = robocoord.__version__
    except Exception:  # pragma: no cover
        version = "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(terse=True),
            "python": platform.python_version(), "robocoord": version, "git": _git_info()}


def _git_info() -> Optional[str]:
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (head + ("-dirty" if dirty else "")) or None


def sweep_meta(sweep: Sweep) -> dict[str, Any]:
    return {"name": sweep.name, "description": sweep.description, "source": sweep.source, "base": sweep.base_source,
            "set": sweep.set, "grid": sweep.grid, "zip": sweep.zip, "seeds": sweep.seeds,
            "timeout_s": sweep.timeout_s, "metrics": sweep.metrics,
            "base_metrics": list(sweep.base_data.get("metrics") or [])}


def run_batch(sweep: Sweep, out: str | Path, *, workers: Optional[int] = None, resume: bool = False,
              overwrite: bool = False, keep_runs: bool = False, ray: bool = False, ray_address: Optional[str] = None,
              run_fn: str = DEFAULT_RUN_FN, progress: bool = True, timeout_s: Optional[float] = None,
              command: Optional[str] = None, on_record: Optional[Callable[[RunRecord], None]] = None) -> BatchSummary:
    """Run every not-yet-done run of ``sweep`` and record each into ``<out>/results.sqlite``.

    ``run_fn`` names the function that runs one scenario (``"module:function"``, called as
    ``fn(scenario, seed=..., out_dir=...)`` and returning an object with ``.summary`` and ``.timing``).
    """
    t_start = time.monotonic()
    runs = sweep.runs()
    try:  # a run function that does not import would fail every run: say so once, up front
        from robocoord.batch.worker import resolve_run_fn

        resolve_run_fn(run_fn)
    except (ImportError, AttributeError, ValueError) as exc:
        raise UserError(f"run function {run_fn!r} cannot be loaded: {exc}") from None
    if ray:
        import_ray()  # fail before touching the store
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise UserError(f"--workers {workers}: expected at least 1")
    timeout = timeout_s if timeout_s is not None else sweep.timeout_s
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    store = ResultsStore.create(out / STORE_NAME)
    try:
        meta = store.meta()
        existing = store.count()
        old_name = (meta.get("sweep") or {}).get("name")
        if existing and not resume and not overwrite:
            raise UserError(f"{store.path} already holds {existing} runs of sweep {old_name!r}; pass --resume to "
                            "continue it (done runs are kept, failed ones retried) or --overwrite to start over, "
                            "or choose another --out")
        if existing and resume and old_name not in (None, sweep.name):
            raise UserError(f"{store.path} holds sweep {old_name!r}, not {sweep.name!r}; choose another --out")
        if overwrite:
            store.clear()
            for sub in ("runs", "plots"):
                shutil.rmtree(out / sub, ignore_errors=True)
        store.set_meta({"sweep": sweep_meta(sweep), "plan": [r.run_id for r in runs], "group_keys": sweep.group_keys,
                        "command": command, "machine": machine_info(), "workers": workers,
                        "backend": ("ray " + (ray_address or "local")) if ray else "process-pool",
                        "batch_started": time.time()})
        statuses = store.statuses()
        todo = [r for r in runs if statuses.get(r.run_id, ("", 0))[0] != "done"]
        prior = {r.run_id: statuses[r.run_id][1] for r in todo if r.run_id in statuses}
        by_id: dict[str, RunSpec] = {r.run_id: r for r in runs}
        tasks = [Task(run_id=r.run_id, scenario_data=r.scenario_data, source=sweep.base_source,
                      base_dir=str(sweep.base_dir), seed=r.seed, run_fn=run_fn,
                      out_dir=str((out / "runs" / r.run_id).resolve()) if keep_runs else None, timeout_s=timeout)
                 for r in todo]
        counts = {"done": 0, "failed": 0}
        bar = _bar(sweep.name, len(tasks), progress)

        def on_outcome(o: dict[str, Any], attempts: int) -> None:
            spec = by_id[o["run_id"]]
            rec = RunRecord(run_id=spec.run_id, idx=spec.index, sweep=sweep.name, group=spec.group,
                            group_label=spec.group_label, seed=spec.seed, overrides=spec.overrides,
                            status=o["status"], summary=o.get("summary") or {}, timing=o.get("timing") or {},
                            error=o.get("error"), attempts=prior.get(spec.run_id, 0) + attempts,
                            started=o.get("started"), finished=o.get("finished"), worker=o.get("worker"),
                            run_dir=o.get("run_dir"))
            store.record(rec)
            counts[rec.status] += 1
            if bar is not None:
                bar.set_postfix(done=counts["done"], failed=counts["failed"], refresh=False)
                bar.update(1)
            if on_record is not None:
                on_record(rec)

        try:
            if tasks and ray:
                run_on_ray(tasks, on_outcome, address=ray_address, workers=workers, timeout_s=timeout)
            elif tasks:
                LocalPool(min(workers, len(tasks)), timeout_s=timeout).run(tasks, on_outcome)
        finally:
            if bar is not None:
                bar.close()
            store.set_meta({"batch_finished": time.time()})
        return BatchSummary(out=out, store=store.path, total=len(runs), skipped=len(runs) - len(todo),
                            done=counts["done"], failed=counts["failed"], elapsed_s=time.monotonic() - t_start)
    finally:
        store.close()


def _bar(name: str, total: int, enabled: bool) -> Any:
    if not enabled or total == 0:
        return None
    from tqdm import tqdm

    bar = tqdm(total=total, desc=name, unit="run", file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
    bar.set_postfix(done=0, failed=0)
    return bar
