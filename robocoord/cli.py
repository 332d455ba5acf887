"""The ``robocoord`` command line.

Every command reports bad input as one clear message on stderr and exits with code 2; no traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from robocoord.errors import UserError, cli_guard
from robocoord.paths import SCENARIO_DIR, find_file



def _scenario_path(arg: str) -> Path:
    """A scenario file, or the name of one shipped in ``scenarios/`` (``robocoord run amr_goto``)."""
    return find_file(arg, SCENARIO_DIR, "scenario")


def _add_set(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override a scenario field, e.g. --set fleet.count=64 (repeatable; value read as YAML)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="robocoord", description="Multi-robot coordination: scenarios, controllers, MILP baselines.")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="run one scenario (its controller and baselines) and print a metrics table")
    p.add_argument("scenario", help="scenario YAML file, or the name of a shipped scenario")
    p.add_argument("--out", help="run directory (default: runs/<name>/seed<seed>)")
    p.add_argument("--seed", type=int, help="override the scenario's seed")
    p.add_argument("--gui", action="store_true", help="open pybullet's own window (needs a display)")
    p.add_argument("--view", action="store_true", help="stream the run live to the browser viewer (pause/step buttons)")
    p.add_argument("--host", default="127.0.0.1", help="--view: address to listen on (default: this machine only)")
    p.add_argument("--port", type=int, default=8080, help="--view: port (default 8080)")
    p.add_argument("--no-baselines", action="store_true", help="run only the scenario's controller")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the summaries as JSON instead of a table")
    _add_set(p)

    p = sub.add_parser("validate", help="check a scenario file and report every problem")
    p.add_argument("scenario")
    _add_set(p)

    p = sub.add_parser("schema", help="print the scenario JSON Schema")
    p.add_argument("--out", help="write to this file instead of stdout")

    sub.add_parser("list", help="list controllers, shipped scenarios and robot kinds")

    from robocoord.batch.cli import add_batch_commands
    from robocoord.viewer.cli import add_view_command

    add_batch_commands(sub)
    add_view_command(sub)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.command is None:
        ap.print_help()
        return 2
    return cli_guard(lambda: _dispatch(args))


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return cmd_run(args)
    if args.command == "validate":
        return cmd_validate(args)
    if args.command == "schema":
        return cmd_schema(args)
    if args.command == "list":
        return cmd_list()
    from robocoord.batch.cli import dispatch_batch
    from robocoord.viewer.cli import dispatch_view

    for dispatch in (dispatch_batch, dispatch_view):
        code = dispatch(args)
        if code is not None:
            return code
    raise AssertionError(args.command)  # pragma: no cover


def cmd_validate(args: argparse.Namespace) -> int:
    from robocoord.scenario import load_scenario

    sc = load_scenario(_scenario_path(args.scenario), args.overrides)
    print(f"{args.scenario}: ok — {sc.fleet.count} {sc.fleet.kind} robots, fidelity {sc.fidelity}, "
          f"controller {sc.controller.name}, {sc.horizon} steps of {sc.dt} s")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from robocoord.scenario import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_list() -> int:
    from rich.console import Console
    from rich.table import Table

    from robocoord.registry import controller_class, controller_names
    from robocoord.scenario import load_yaml
    from sim.robots import ROBOT_KINDS, robot_model_class

    con = Console()
    t = Table(title="controllers")
    for col in ("name", "kinds", "fidelities", "decentralised", "summary"):
        t.add_column(col)
    for name in controller_names():
        try:
            c = controller_class(name)
            t.add_row(name, ",".join(sorted(c.kinds)), ",".join(sorted(c.fidelities)), "yes" if c.decentralised else "",
                      c.summary)
        except UserError as exc:
            t.add_row(name, "", "", "", f"[red]cannot load: {exc}[/red]")
    con.print(t)
    t = Table(title=f"scenarios ({SCENARIO_DIR})")
    t.add_column("name")
    t.add_column("description")
    for f in sorted(SCENARIO_DIR.glob("*.yaml")):
        try:
            desc = str(load_yaml(f).get("description", ""))
        except UserError:
            desc = "(does not parse)"
        t.add_row(f.stem, _first_line(desc))
    con.print(t)
    t = Table(title="robot kinds")
    t.add_column("kind")
    t.add_column("controls")
    t.add_column("model")
    for kind in ROBOT_KINDS:
        cls = robot_model_class(kind)
        t.add_row(kind, ",".join(cls.control_names), _first_line(cls.__doc__))
    con.print(t)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from robocoord.runner import run_all
    from robocoord.scenario import load_scenario

    path = _scenario_path(args.scenario)
    sc = load_scenario(path, args.overrides)
    if args.seed is not None:
        if args.seed < 0:
            raise UserError(f"--seed {args.seed}: expected a non-negative integer")
        sc = sc.with_changes(seed=args.seed)
    if args.gui:
        from sim.display import gui_available

        ok, why = gui_available()
        if not ok:
            raise UserError(f"--gui needs a display: {why}. Run without --gui (headless), "
                            "or view the run afterwards with `robocoord view RUN_DIR`.")
    if args.no_baselines:
        sc = sc.with_changes(baselines=[])
    out = Path(args.out) if args.out else Path("runs") / sc.name / f"seed{sc.seed}"
    show_progress = not args.quiet and not args.json
    viewer = None
    if args.view:
        from robocoord.viewer.app import LiveViewer

        viewer = LiveViewer(None, host=args.host, port=args.port, title=sc.name, dt=sc.dt)
        print(f"live viewer: http://{args.host}:{args.port}", file=sys.stderr)
    try:
        results = run_all(sc, out_dir=out, gui=args.gui, progress=show_progress,
                          on_step=viewer.on_step if viewer is not None else None)
    finally:
        if viewer is not None:
            viewer.close()
    if args.json:
        print(json.dumps({r.label: {"summary": r.summary, "timing": r.timing} for r in results}, indent=2))
    else:
        print_summary_table(results, sc.metrics)
        print(f"run directory: {out}")
    return 0


def print_summary_table(results: list[Any], metrics: list[str] | None = None) -> None:
    """One column per controller, one row per metric: reads well with many metrics and few controllers."""
    from rich.console import Console
    from rich.table import Table

    keys: list[str] = []
    for r in results:
        for k, v in r.summary.items():
            if k not in keys and v is not None and (not metrics or k in metrics):
                keys.append(k)
    sc = results[0].scenario
    t = Table(title=f"{sc.name} — {sc.fleet.count} {sc.fleet.kind}, {sc.fidelity}, seed {sc.seed}", min_width=64)
    t.add_column("metric")
    for r in results:
        t.add_column(r.label, justify="right")
    for k in keys:
        t.add_row(k, *[_cell(r.summary.get(k)) for r in results])
    t.add_row("ms/step (wall)", *[f"{r.timing['step_ms_mean']:.2f}" for r in results])
    Console().print(t)


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0] if lines else ""


def _cell(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
