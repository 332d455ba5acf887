"""Quick lifelong-MAPF benchmark on the POGEMA ``wfi_warehouse`` map, pure (no simulator).

Protocol (POGEMA lifelong / Follower, read so that it matches the published numbers): agents
start on distinct ``$`` cells (side columns), initial goals are distinct ``@`` cells
(shelf-adjacent), a goal reached at the end of a step is replaced at once by a uniform ``@`` cell
other than the current one; throughput = goals reached / steps. Reading the marks the other way
round (POGEMA's current parser: ``.`` and ``@`` starts, ``.`` and ``$`` goals) caps throughput at
1.08 goals/step with 32 agents, below RHCR's published 1.22, so that reading cannot be the one
the anchors were measured on. A joint move with conflicts (only the independent-A* baseline
makes them) is repaired like POGEMA's ``soft`` collision system: agents in a vertex or swap
conflict wait, repeatedly, until none is left.

    python -m planners.mapf.bench_lifelong --agents 32 64 128 192 --seeds 0 1 2

Anchors (DESIGN.md 4.1; POGEMA benchmark, 256 steps): RHCR 1.22 @32, 3.49 @128; Follower
3.94 @192; free-flow limit 1.40 @32, 5.59 @128, 8.39 @192.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Callable

import numpy as np

from planners.mapf.astar import IndependentAStar
from planners.mapf.base import LifelongPlanner
from planners.mapf.moves import check_conflicts
from planners.mapf.pibt import PIBT
from planners.mapf.windowed import WindowedPlanner

DATA = Path(__file__).resolve().parents[2] / "data"
WFI = DATA / "pogema" / "wfi_warehouse.yaml"
LORR = DATA / "lorr"

PLANNERS: dict[str, Callable[[], LifelongPlanner]] = {
    "pibt": PIBT,
    "pibt+hw": lambda: PIBT(corridor_penalty=10.0, lane_penalty=0.5),
    "rhcr-pp": lambda: WindowedPlanner(window=10, replan_every=5),
    "astar": IndependentAStar,
}


def load_pogema_ascii(path: Path, name: str = "wfi_warehouse") -> np.ndarray:
    """The ``(H, W)`` char array of one map in a POGEMA yaml (``name: |- <rows>``); tiny parser
    so that this benchmark needs neither the simulator nor pyyaml."""
    rows, inside = [], False
    for line in Path(path).read_text().splitlines():
        if line.strip().strip('"').startswith(name):
            inside = True
            continue
        if inside:
            if not line.startswith((" ", "\t")) or not line.strip():
                break
            rows.append(list(line.strip()))
    if not rows or len({len(r) for r in rows}) != 1:
        raise ValueError(f"{path}: map {name!r} not found or rows of unequal length")
    return np.array(rows)


def load_movingai(path: Path) -> np.ndarray:
    """``(H, W)`` bool blocked grid of a MovingAI / LoRR ``.map`` (``.GSE`` free, ``@OTW`` blocked)."""
    lines = Path(path).read_text().splitlines()
    k = next(i for i, line in enumerate(lines) if line.strip() == "map")
    rows = [line.rstrip("\r\n") for line in lines[k + 1:] if line.strip()]
    return np.array([[ch in "@OTW" for ch in row] for row in rows])


def resolve_soft(cur: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """Make a joint move conflict-free by making conflicting agents wait (cascading)."""
    nxt = nxt.copy()
    while True:
        vertex, edge = check_conflicts(cur, nxt)
        if not len(vertex) and not len(edge):
            return nxt
        bad = np.unique(np.concatenate([vertex.ravel(), edge.ravel()]))
        bad = bad[(nxt[bad] != cur[bad]).any(axis=1)]
        if not bad.size:     # only waiting agents left in conflict: impossible from a valid state
            raise RuntimeError("resolve_soft: two agents occupy one cell")
        nxt[bad] = cur[bad]


def run_episode(planner: LifelongPlanner, grid: np.ndarray, n_agents: int, steps: int,
                seed: int) -> dict:
    """One lifelong episode; returns throughput, ms/step and conflict counts."""
    rng = np.random.default_rng(seed)
    blocked = grid == "#"
    start_cells, goal_cells = np.argwhere(grid == "$"), np.argwhere(grid == "@")
    pos = start_cells[rng.choice(len(start_cells), n_agents, replace=False)]
    goals = goal_cells[rng.choice(len(goal_cells), n_agents, replace=False)]
    planner.reset(blocked, pos, goals, np.random.default_rng(seed + 1_000_003))
    reached, conflicts, plan_s = 0, 0, 0.0
    for _ in range(steps):
        t0 = time.perf_counter()
        nxt = planner.step(pos, goals)
        plan_s += time.perf_counter() - t0
        v, e = check_conflicts(pos, nxt)
        conflicts += len(v) + len(e)
        if len(v) or len(e):
            nxt = resolve_soft(pos, nxt)
        if (np.abs(nxt - pos).sum(axis=1) > 1).any() or blocked[nxt[:, 0], nxt[:, 1]].any():
            raise RuntimeError(f"{type(planner).__name__}: illegal move")
        pos = nxt
        hit = np.flatnonzero((pos == goals).all(axis=1))
        reached += hit.size
        for i in hit:          # a new goal uniform over '@' cells, never the current cell
            while (goals[i] == pos[i]).all():
                goals[i] = goal_cells[rng.integers(len(goal_cells))]
    return {"throughput": reached / steps, "ms_per_step": 1e3 * plan_s / steps, "conflicts": conflicts}


def run_lorr(planner: LifelongPlanner, steps: int, seed: int = 0) -> dict:
    """LoRR 2023 ``warehouse_large`` with its 10,000 agents: tasks from the task file handed out
    in order (first N to agents 0..N-1, then the next one to whoever finishes). One-step moves,
    no orientation (LoRR's own action model rotates; this is the POGEMA move model). Returns
    throughput, the first step's time (distance tables for 10,000 goals) and ms/step after it."""
    blocked = load_movingai(LORR / "warehouse_large.map")
    W = blocked.shape[1]
    lin = np.loadtxt(LORR / "Warehouse_10000.agents", dtype=np.int64, skiprows=1)
    tasks = np.loadtxt(LORR / "warehouse_large.tasks", dtype=np.int64, skiprows=1)
    pos = np.stack(np.divmod(lin, W), axis=1)
    n = len(pos)
    goals = np.stack(np.divmod(tasks[:n], W), axis=1)
    nxt_task = n
    planner.reset(blocked, pos, goals, np.random.default_rng(seed))
    reached, times = 0, []
    for _ in range(steps):
        t0 = time.perf_counter()
        nxt = planner.step(pos, goals)
        times.append(time.perf_counter() - t0)
        pos = nxt
        for i in np.flatnonzero((pos == goals).all(axis=1)).tolist():
            reached += 1
            goals[i] = divmod(int(tasks[nxt_task % len(tasks)]), W)
            nxt_task += 1
    return {"throughput": reached / steps, "first_step_s": times[0],
            "ms_per_step": 1e3 * float(np.mean(times[1:])) if steps > 1 else float("nan")}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agents", type=int, nargs="+", default=[32, 64, 96, 128, 160, 192])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--steps", type=int, default=256)
    ap.add_argument("--planners", nargs="+", default=list(PLANNERS), choices=list(PLANNERS))
    ap.add_argument("--lorr", type=int, metavar="STEPS", default=0,
                    help="instead: run the PIBT planners on LoRR warehouse_large, 10,000 agents")
    ap.add_argument("--guidance-search", action="store_true",
                    help="instead: PIBT throughput for a grid of (corridor, lane) guidance weights "
                         "(how the density rule of planners.mapf.guidance was chosen)")
    args = ap.parse_args(argv)
    if args.guidance_search:
        grid = load_pogema_ascii(WFI)
        for cp, lp in [(2, 0.2), (3, 0.3), (4, 0.3), (5, 0.5), (10, 0.5)]:
            row = [np.mean([run_episode(PIBT(cp, lp), grid, n, args.steps, s)["throughput"] for s in args.seeds])
                   for n in args.agents]
            print(f"corridor {cp:>4} lane {lp:>4}: " + "  ".join(f"{n}:{t:.3f}" for n, t in zip(args.agents, row)),
                  flush=True)
        return
    if args.lorr:
        for name in [p for p in args.planners if p.startswith("pibt")]:
            r = run_lorr(PLANNERS[name](), args.lorr)
            print(f"{name}: LoRR warehouse_large 10,000 agents, {args.lorr} steps: throughput "
                  f"{r['throughput']:.2f} tasks/step, first step {r['first_step_s']:.1f} s "
                  f"(distance tables), then {r['ms_per_step']:.0f} ms/step", flush=True)
        return
    grid = load_pogema_ascii(WFI)
    print(f"wfi_warehouse {grid.shape}, {args.steps} steps, seeds {args.seeds}")
    print(f"{'planner':<12}{'agents':>7}{'throughput':>12}{'±sd':>7}{'ms/step':>10}{'conflicts':>11}")
    for name in args.planners:
        for n in args.agents:
            runs = [run_episode(PLANNERS[name](), grid, n, args.steps, s) for s in args.seeds]
            thr = np.array([r["throughput"] for r in runs])
            print(f"{name:<12}{n:>7}{thr.mean():>12.3f}{thr.std():>7.3f}"
                  f"{np.mean([r['ms_per_step'] for r in runs]):>10.2f}"
                  f"{np.mean([r['conflicts'] for r in runs]):>11.1f}", flush=True)


if __name__ == "__main__":
    main()
