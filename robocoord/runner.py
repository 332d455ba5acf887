"""The fixed-step loop: observe → act → apply → measure, seeded end to end."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from robocoord.controller import Controller
from robocoord.metrics import MetricsRecorder
from robocoord.registry import make_controller
from robocoord.rundir import ReplayRecorder, write_run_dir
from robocoord.scenario import ControllerSpec, Scenario
from robocoord.world import build_world


@dataclass
class Result:
    """The outcome of one controller on one scenario and seed."""

    scenario: Scenario
    label: str
    summary: dict[str, Any]
    timing: dict[str, Any]
    timeseries: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    run_dir: Optional[Path] = None


def seed_streams(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Independent generators for the world (layout, goals) and the controller.

    The world stream does not depend on the controller, so every controller and baseline of a
    scenario faces the same starts and goal sequence.
    """
    world_ss, ctrl_ss = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(world_ss), np.random.default_rng(ctrl_ss)


def run(scenario: Scenario, *, controller: ControllerSpec | None = None, out_dir: str | Path | None = None,
        gui: bool = False, progress: bool = False, seed: int | None = None,
        on_step: Any = None) -> Result:
    """Run one controller (default: the scenario's) and return its :class:`Result`.

    ``out_dir`` writes a run directory (see :mod:`robocoord.rundir`); ``on_step(world, obs, cmd)`` is
    called after each step (used by live viewers).
    """
    if seed is not None:
        scenario = scenario.with_changes(seed=seed)
    spec = controller or scenario.controller
    world_rng, ctrl_rng = seed_streams(scenario.seed)
    if "torch" in sys.modules:  # learned controllers: make torch's own RNG follow the scenario seed too
        sys.modules["torch"].manual_seed(scenario.seed)
    world = build_world(scenario, world_rng, gui=gui)
    ctrl: Controller = make_controller(spec)
    ctx = world.context
    ctx.rng = ctrl_rng
    try:
        ctrl.reset(ctx)
        rec = MetricsRecorder(scenario.fidelity, world.n, ctx.radius if scenario.fidelity != "grid" else 0.5,
                              scenario.dt, ctx.dim, world.lifelong)
        replay = ReplayRecorder(scenario.output.replay_every) if (out_dir and scenario.output.replay) else None
        pos, yaw = world.poses()
        rec.start(pos)
        if replay:
            replay.record(0, pos, yaw, None)
        bar = _progress(scenario, spec, progress)
        for step in range(1, scenario.horizon + 1):
            obs = world.observe()
            t0 = time.perf_counter()
            cmd = ctrl.act(obs)
            t1 = time.perf_counter()
            events = world.apply(cmd)
            t2 = time.perf_counter()
            pos, yaw = world.poses()
            rec.record(step, events, pos, world.reached, (t1 - t0) * 1e3, (t2 - t1) * 1e3,
                       goals=world.goals if scenario.fidelity != "grid" else None, diagnostics=cmd.diagnostics)
            if replay:
                replay.record(step, pos, yaw, cmd.overlay)
            if on_step is not None:
                on_step(world, obs, cmd)
            if bar is not None:
                bar.update(1)
                if step % 50 == 0:
                    bar.set_postfix(goals=int(sum(r["goals_reached"] for r in rec.rows[-50:])), refresh=False)
            if not world.lifelong and world.reached.all() and _can_stop_early(scenario):
                break
        if bar is not None:
            bar.close()
        summary = rec.summary(world.arrival_step, world.reached)
        summary.update(rec.diagnostics_summary())
        timing = rec.timing()
        task_summary, task_timing = world.task_summary()
        summary.update(task_summary)
        timing.update(task_timing)
        scene = world.scene_description()
    finally:
        ctrl.close()
        world.close()
    result = Result(scenario=scenario, label=spec.display, summary=summary, timing=timing,
                    timeseries=rec.timeseries())
    if out_dir is not None:
        resolved = scenario.resolved()
        resolved["controller"] = spec.model_dump(mode="json")
        resolved["baselines"] = []
        result.run_dir = write_run_dir(Path(out_dir), scenario=resolved, summary=summary, timing=timing,
                                       timeseries=result.timeseries if scenario.output.timeseries else None,
                                       scene=scene, replay=replay)
    return result


def _can_stop_early(sc: Scenario) -> bool:
    # One-shot grid MAPF ends when all agents stand on their goals; continuous runs keep going so that
    # robots pushed off their goal after arrival are still measured for safety until the horizon.
    return sc.fidelity == "grid"


def _progress(sc: Scenario, spec: ControllerSpec, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=sc.horizon, desc=f"{sc.name} [{spec.display}]", unit="step", file=sys.stderr,
                dynamic_ncols=True, leave=False)


def run_all(scenario: Scenario, *, out_dir: str | Path | None = None, gui: bool = False,
            progress: bool = False, seed: int | None = None, on_step: Any = None) -> list[Result]:
    """The scenario's controller, then each baseline on the same seed; baselines go to ``out/baselines/<label>``.

    ``on_step`` (e.g. a live viewer) follows the scenario's own controller only.
    """
    results = [run(scenario, out_dir=out_dir, gui=gui, progress=progress, seed=seed, on_step=on_step)]
    for spec in scenario.baselines:
        sub = Path(out_dir) / "baselines" / spec.display if out_dir is not None else None
        results.append(run(scenario, controller=spec, out_dir=sub, progress=progress, seed=seed))
    return results
