"""Executing sweeps: failures recorded, dying workers retried once, timeouts, resume, determinism.

The fake run functions below travel to spawned workers by name (``test_executor:fake_run``): pytest puts
this folder on ``sys.path`` and spawned processes inherit it. Their behaviour is steered by a JSON
``description`` in the scenario, so every run of a sweep sees the same instructions.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from test_sweep import TINY_BASE

from robocoord.batch.executor import LocalPool, import_ray, run_batch
from robocoord.batch.store import ResultsStore
from robocoord.batch.sweep import sweep_from_dict
from robocoord.batch.worker import Task
from robocoord.errors import UserError

FAKE = f"{__name__}:fake_run"
PROBE = f"{__name__}:probe_run"


def _marker(spec: dict, key: str, seed: int) -> bool:
    """True the first time (per seed) a ``*_once`` instruction fires: a file marks that it happened."""
    d = spec.get(key)
    if d is None or seed not in spec.get(key + "_seeds", []):
        return False
    m = Path(d) / f"{key}-{seed}"
    if m.exists():
        return False
    m.touch()
    return True


def fake_run(scenario, seed=None, out_dir=None):
    spec = json.loads(scenario.description or "{}")
    seed = scenario.seed if seed is None else seed
    if spec.get("sleep"):
        time.sleep(spec["sleep"])
    if seed in spec.get("raise", []) or _marker(spec, "raise_once", seed):
        raise ValueError(f"bad seed {seed}")
    if seed in spec.get("die", []) or _marker(spec, "die_once", seed):
        os._exit(3)
    if seed in spec.get("hang", []):
        signal.signal(signal.SIGALRM, signal.SIG_IGN)  # like a C solver that the alarm cannot stop
        time.sleep(120)
    summary = {"throughput": 0.1 * seed + 0.01 * scenario.fleet.count, "agents": scenario.fleet.count,
               "success": seed % 2 == 0}
    if out_dir:
        Path(out_dir).mkdir(parents=True)
        (Path(out_dir) / "summary.json").write_text(json.dumps(summary))
    return SimpleNamespace(summary=summary, timing={"step_ms_mean": 1.0 + seed})


def probe_run(scenario, seed=None, out_dir=None):
    from robocoord.batch import worker

    numpy_at_init = worker.NUMPY_LOADED_AT_INIT
    import numpy  # noqa: F401
    import torch

    return SimpleNamespace(summary={"omp": os.environ.get("OMP_NUM_THREADS"), "mkl": os.environ.get("MKL_NUM_THREADS"),
                                    "torch_threads": torch.get_num_threads(), "numpy_at_init": numpy_at_init},
                           timing={})


def fake_sweep(seeds=4, counts=(2,), **instructions):
    return sweep_from_dict({"name": "fake", "base": TINY_BASE, "set": {"description": json.dumps(instructions)},
                            "grid": {"fleet.count": list(counts)}, "seeds": seeds}, source="fake.yaml")


def records(out: Path):
    with ResultsStore.open(out) as st:
        return {r.seed: r for r in st.runs()}


def test_raising_run_is_recorded_failed_and_others_finish(tmp_path: Path) -> None:
    res = run_batch(fake_sweep(raise_=None, **{"raise": [1]}), tmp_path, workers=2, run_fn=FAKE, progress=False)
    assert (res.done, res.failed, res.total) == (3, 1, 4)
    recs = records(tmp_path)
    bad = recs[1]
    assert bad.status == "failed" and bad.attempts == 1 and bad.summary == {}
    assert bad.error.startswith("ValueError: bad seed 1")
    assert "in fake_run" in bad.error  # the last traceback lines name the failing frame
    for s in (0, 2, 3):
        assert recs[s].status == "done" and recs[s].error is None
        assert recs[s].summary["throughput"] == pytest.approx(0.1 * s + 0.02)
        assert recs[s].timing == {"step_ms_mean": 1.0 + s}
        assert recs[s].started <= recs[s].finished


def test_dying_worker_is_retried_once_then_recorded(tmp_path: Path) -> None:
    # Runs overlap (sleep), so the death happens with several runs in flight: innocent ones must finish.
    res = run_batch(fake_sweep(seeds=4, sleep=0.2, die=[2]), tmp_path, workers=2, run_fn=FAKE, progress=False)
    assert (res.done, res.failed) == (3, 1)
    recs = records(tmp_path)
    assert recs[2].status == "failed" and recs[2].attempts == 2
    assert recs[2].error.startswith("WorkerDied") and "exit code 3" in recs[2].error
    assert all(recs[s].status == "done" and recs[s].attempts == 1 for s in (0, 1, 3))


def test_worker_dying_once_succeeds_on_retry(tmp_path: Path) -> None:
    sweep = fake_sweep(seeds=2, die_once=str(tmp_path), die_once_seeds=[0])
    res = run_batch(sweep, tmp_path / "out", workers=1, run_fn=FAKE, progress=False)
    assert (res.done, res.failed) == (2, 0)
    recs = records(tmp_path / "out")
    assert recs[0].attempts == 2 and recs[1].attempts == 1


def test_timeout_inside_the_run(tmp_path: Path) -> None:
    t0 = time.monotonic()
    res = run_batch(fake_sweep(seeds=1, sleep=60), tmp_path, workers=1, run_fn=FAKE, progress=False, timeout_s=0.5)
    assert res.failed == 1 and time.monotonic() - t0 < 30
    assert records(tmp_path)[0].error.startswith("RunTimeout: run exceeded timeout_s=0.5")


def test_run_stuck_outside_python_gets_its_worker_killed(tmp_path: Path) -> None:
    sweep = fake_sweep(seeds=3, hang=[1])
    tasks = [Task(run_id=r.run_id, scenario_data=r.scenario_data, source="fake", base_dir=str(tmp_path), seed=r.seed,
                  run_fn=FAKE, timeout_s=0.5) for r in sweep.runs()]
    outcomes = {}
    t0 = time.monotonic()
    LocalPool(2, timeout_s=0.5, grace_s=2.0, poll_s=0.2).run(tasks, lambda o, a: outcomes.__setitem__(o["run_id"], (o, a)))
    assert time.monotonic() - t0 < 40
    by_seed = {t.seed: outcomes[t.run_id] for t in tasks}
    assert by_seed[1][0]["status"] == "failed" and "worker was killed" in by_seed[1][0]["error"]
    assert by_seed[0][0]["status"] == "done" and by_seed[2][0]["status"] == "done"


def test_resume_skips_done_and_retries_failed(tmp_path: Path) -> None:
    sweep = fake_sweep(seeds=4, raise_once=str(tmp_path), raise_once_seeds=[1, 3])
    out = tmp_path / "out"
    first = run_batch(sweep, out, workers=2, run_fn=FAKE, progress=False)
    assert (first.done, first.failed) == (2, 2)
    before = records(out)
    with pytest.raises(UserError, match="--resume"):
        run_batch(sweep, out, workers=2, run_fn=FAKE, progress=False)
    again = run_batch(sweep, out, workers=2, run_fn=FAKE, progress=False, resume=True)
    assert (again.skipped, again.done, again.failed) == (2, 2, 0)
    after = records(out)
    for s in (0, 2):  # untouched
        assert after[s].started == before[s].started and after[s].attempts == 1
    for s in (1, 3):
        assert after[s].status == "done" and after[s].attempts == 2 and after[s].started > before[s].finished
    nothing = run_batch(sweep, out, workers=2, run_fn=FAKE, progress=False, resume=True)
    assert (nothing.skipped, nothing.done) == (4, 0)
    fresh = run_batch(sweep, out, workers=2, run_fn=FAKE, progress=False, overwrite=True)
    assert (fresh.skipped, fresh.done) == (0, 4)
    other = sweep_from_dict({"name": "other", "base": TINY_BASE}, source="o.yaml")
    with pytest.raises(UserError, match="holds sweep 'fake', not 'other'"):
        run_batch(other, out, run_fn=FAKE, progress=False, resume=True)


def test_edited_sweep_reports_only_its_own_runs(tmp_path: Path) -> None:
    run_batch(fake_sweep(seeds=2, counts=(2, 3)), tmp_path, workers=2, run_fn=FAKE, progress=False)
    res = run_batch(fake_sweep(seeds=3, counts=(3,)), tmp_path, workers=2, run_fn=FAKE, progress=False, resume=True)
    assert (res.skipped, res.done) == (2, 1)  # fleet.count=3 seeds 0, 1 were already done
    with ResultsStore.open(tmp_path) as st:
        assert st.count() == 5
        assert sorted((r.group["fleet.count"], r.seed) for r in st.runs()) == [(3, 0), (3, 1), (3, 2)]


def test_keep_runs_writes_run_directories(tmp_path: Path) -> None:
    run_batch(fake_sweep(seeds=2), tmp_path, workers=1, run_fn=FAKE, progress=False, keep_runs=True)
    for rec in records(tmp_path).values():
        assert Path(rec.run_dir) == (tmp_path / "runs" / rec.run_id).resolve()
        assert json.loads((Path(rec.run_dir) / "summary.json").read_text()) == rec.summary


def test_workers_run_single_threaded(tmp_path: Path) -> None:
    run_batch(fake_sweep(seeds=1), tmp_path, workers=1, run_fn=PROBE, progress=False)
    s = records(tmp_path)[0].summary
    assert s == {"omp": "1", "mkl": "1", "torch_threads": 1, "numpy_at_init": False}


def test_unloadable_run_function_fails_up_front(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="run function 'no_such_module:run' cannot be loaded"):
        run_batch(fake_sweep(seeds=1), tmp_path, run_fn="no_such_module:run", progress=False)


def test_ray_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` raise ImportError
    with pytest.raises(UserError, match=r"pip install 'robocoord\[ray\]'"):
        import_ray()
    with pytest.raises(UserError, match="optional extra"):
        run_batch(fake_sweep(seeds=1), tmp_path, ray=True, run_fn=FAKE, progress=False)
    assert not (tmp_path / "results.sqlite").exists()


# --- real runs (the grid engine on a tiny map) -----------------------------------------------------------
def real_sweep(seeds=3, horizon=16):
    return sweep_from_dict({"name": "tiny_real", "base": TINY_BASE, "set": {"horizon": horizon},
                            "grid": {"fleet.count": [2, 4]}, "seeds": seeds}, source="tiny.yaml")


def test_same_sweep_twice_gives_identical_summaries(tmp_path: Path) -> None:
    from robocoord.runner import run
    from robocoord.scenario import scenario_from_dict

    sweep = real_sweep()
    run_batch(sweep, tmp_path / "a", workers=2, progress=False)
    run_batch(sweep, tmp_path / "b", workers=1, progress=False)
    with ResultsStore.open(tmp_path / "a") as a, ResultsStore.open(tmp_path / "b") as b:
        ra = {r.run_id: r for r in a.runs()}
        rb = {r.run_id: r for r in b.runs()}
    assert set(ra) == set(rb) and len(ra) == 6
    assert all(r.status == "done" for r in ra.values())
    for rid in ra:
        assert ra[rid].summary == rb[rid].summary
    spec = sweep.runs()[4]  # and the same as running it in this process
    here = run(scenario_from_dict(spec.scenario_data), seed=spec.seed)
    assert json.loads(json.dumps(here.summary)) == ra[spec.run_id].summary
    assert len({json.dumps(r.summary, sort_keys=True) for r in ra.values()}) > 1  # seeds do differ


def test_sigkill_halfway_then_resume(tmp_path: Path) -> None:
    sweep_file = tmp_path / "tiny.yaml"
    sweep_file.write_text(yaml.safe_dump({"name": "killme", "base": TINY_BASE, "set": {"horizon": 200},
                                          "grid": {"fleet.count": [4, 8]}, "seeds": 8}))
    out = tmp_path / "out"
    db = out / "results.sqlite"
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    cmd = [sys.executable, "-m", "robocoord.batch", "batch", str(sweep_file), "--out", str(out), "--workers", "2",
           "--quiet", "--no-plots"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, start_new_session=True)

    def done_count() -> int:
        try:
            with sqlite3.connect(db, timeout=5) as c:
                return c.execute("SELECT COUNT(*) FROM runs WHERE status='done'").fetchone()[0]
        except sqlite3.Error:
            return 0

    try:
        deadline = time.monotonic() + 120
        while done_count() < 3:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no run committed in time"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the batch and its workers, mid-sweep
        proc.wait()
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        before = dict(c.execute("SELECT run_id, started FROM runs WHERE status='done'").fetchall())
    assert 3 <= len(before) < 16, len(before)
    r = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"{16 - len(before)} runs done, 0 failed, {len(before)} already done (of 16)" in r.stdout
    with sqlite3.connect(db) as c:
        rows = c.execute("SELECT run_id, status, started, attempts FROM runs").fetchall()
    assert len(rows) == 16 and all(s == "done" for _, s, _, _ in rows)
    for rid, _, started, attempts in rows:
        if rid in before:
            assert started == before[rid] and attempts == 1  # not redone


def test_ray_local_cluster(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray", reason="Ray is an optional extra (pip install 'robocoord[ray]'); not installed")
    from robocoord.runner import run
    from robocoord.scenario import scenario_from_dict

    here = Path(__file__).resolve().parent  # so Ray's workers can import this module's fake run function
    path = os.pathsep.join([str(here), str(here.parent), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    try:
        sweep = real_sweep(seeds=2)
        res = run_batch(sweep, tmp_path / "ray", ray=True, progress=False)
        fail = run_batch(fake_sweep(seeds=2, **{"raise": [1]}), tmp_path / "ray_fail", ray=True, run_fn=FAKE,
                         progress=False)
    finally:
        ray.shutdown()
    assert (res.done, res.failed) == (4, 0)
    with ResultsStore.open(tmp_path / "ray") as st:
        assert st.meta()["backend"] == "ray local"
        for r in st.runs():  # the same summaries as a run in this process
            spec = next(s for s in sweep.runs() if s.run_id == r.run_id)
            assert r.summary == json.loads(json.dumps(run(scenario_from_dict(spec.scenario_data), seed=r.seed).summary))
    assert (fail.done, fail.failed) == (1, 1), records(tmp_path / "ray_fail")[0].error
    assert records(tmp_path / "ray_fail")[1].error.startswith("ValueError: bad seed 1")
