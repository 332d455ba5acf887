"""``robocoord batch`` and ``robocoord report``.

The main CLI wires these in with::

    add_batch_commands(sub)                  # in build_parser(), after the other sub-commands
    rc = dispatch_batch(args)                # in _dispatch(): None when the command is not ours
    if rc is not None: return rc

``python -m robocoord.batch`` runs the two commands on their own (same arguments).
Only the standard library is imported at module level: spawned pool workers may import this module.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from robocoord.errors import UserError, cli_guard
from robocoord.paths import SWEEP_DIR, find_file



def add_batch_commands(subparsers: Any) -> None:
    """Add the ``batch`` and ``report`` sub-commands to an ``argparse`` sub-parser group."""
    p = subparsers.add_parser(
        "batch", help="run a sweep (controllers x params x seeds) on all local cores or on Ray; resumable",
        description="Run every combination of a sweep file on a process pool (or Ray), recording each finished "
                    "run in OUT/results.sqlite; prints a mean ± 95%% CI table and writes plots to OUT/plots.")
    p.add_argument("sweep", help="sweep YAML file, or the name of one in scenarios/sweeps/")
    p.add_argument("--out", help="results folder (default: results/<sweep name>)")
    p.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run on Ray: a local Ray without ADDRESS, else ray.init(address=ADDRESS), e.g. auto or "
                        "ray://head:10001 (needs pip install 'robocoord[ray]'; put it after the sweep file)")
    p.add_argument("--resume", action="store_true", help="continue OUT: skip done runs, retry failed ones")
    p.add_argument("--overwrite", action="store_true", help="delete the results already in OUT and start over")
    p.add_argument("--keep-runs", action="store_true", help="write each run's directory to OUT/runs/<run_id>/")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="per-run time limit (overrides timeout_s)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override a scenario field in every run (adds to the sweep's 'set'; repeatable)")
    p.add_argument("--metrics", help="comma-separated metrics for the final table and plots")
    p.add_argument("--no-plots", action="store_true", help="do not write OUT/plots")
    p.add_argument("--dry-run", action="store_true", help="validate the sweep and list its groups; run nothing")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no table")

    r = subparsers.add_parser(
        "report", help="Markdown report (tables with mean ± 95%% CI, plots) from a batch's results",
        description="Write a Markdown section from RESULTS (a folder written by `robocoord batch`, or its "
                    "results.sqlite): a table of mean ± 95%% CI per group, plots, failed runs, the machine and "
                    "the commands that reproduce it.")
    r.add_argument("results", help="results folder or its results.sqlite")
    r.add_argument("--out", help="Markdown file (default: RESULTS/report.md; '-' for stdout)")
    r.add_argument("--metrics", help="comma-separated metrics to show (default: the sweep's, else all)")
    r.add_argument("--section-title", help="heading of the section (default: Sweep `<name>`)")
    r.add_argument("--heading-level", type=int, default=2, help="Markdown heading level of the section (default 2)")
    r.add_argument("--merge", action="store_true",
                   help="update this section (same title) inside an existing --out file instead of overwriting it")
    r.add_argument("--plots-dir", help="where the PNGs go (default: RESULTS/plots); linked relative to --out")
    r.add_argument("--no-plots", action="store_true", help="tables only")


def dispatch_batch(args: argparse.Namespace) -> Optional[int]:
    """Run ``batch``/``report``; None for any other command."""
    if args.command == "batch":
        return cmd_batch(args)
    if args.command == "report":
        return cmd_report(args)
    return None


def _sweep_path(arg: str) -> Path:
    return find_file(arg, SWEEP_DIR, "sweep")


def batch_command(args: argparse.Namespace, out: str) -> str:
    """The command line that reproduces this batch from scratch (no --resume)."""
    parts = ["robocoord", "batch", args.sweep, "--out", out]
    if args.workers is not None:
        parts += ["--workers", str(args.workers)]
    for o in args.overrides:
        parts += ["--set", o]
    if args.timeout is not None:
        parts += ["--timeout", f"{args.timeout:g}"]
    if args.keep_runs:
        parts.append("--keep-runs")
    if args.ray is not None:
        parts += ["--ray"] + ([args.ray] if args.ray else [])
    return shlex.join(parts)


def cmd_batch(args: argparse.Namespace) -> int:
    from robocoord.batch.executor import run_batch
    from robocoord.batch.report import parse_metrics_arg
    from robocoord.batch.sweep import load_sweep

    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers {args.workers}: expected at least 1")
    if args.timeout is not None and args.timeout <= 0:
        raise UserError(f"--timeout {args.timeout:g}: expected a positive number of seconds")
    if args.resume and args.overwrite:
        raise UserError("--resume and --overwrite contradict each other; give one")
    metrics = parse_metrics_arg(args.metrics)
    sweep = load_sweep(_sweep_path(args.sweep), args.overrides)
    runs = sweep.runs()
    if args.dry_run:
        print(f"{sweep.source}: ok — {len(sweep.points())} groups x {len(sweep.seeds)} seeds = {len(runs)} runs "
              f"(base {sweep.base_source})")
        for point in sweep.points():
            from robocoord.batch.sweep import group_label

            print(f"  {group_label(point) or '(base scenario)'}")
        return 0
    out = args.out or str(Path("results") / sweep.name)
    res = run_batch(sweep, out, workers=args.workers, resume=args.resume, overwrite=args.overwrite,
                    keep_runs=args.keep_runs, ray=args.ray is not None, ray_address=args.ray or None,
                    progress=not args.quiet, timeout_s=args.timeout, command=batch_command(args, out))
    from robocoord.batch.store import ResultsStore

    with ResultsStore.open(res.store) as store:
        records = store.runs()
        n_failed = sum(1 for r in records if r.status == "failed")
        if not args.quiet:
            from rich.console import Console

            from robocoord.batch.report import rich_table

            Console().print(rich_table(store, metrics))
        if not args.no_plots:
            from robocoord.batch.plots import make_plots
            from robocoord.batch.report import aggregate, choose_metrics

            groups = aggregate(records)
            made = make_plots(groups, store.meta().get("group_keys") or [],
                              choose_metrics(groups, metrics, store.meta()), Path(out) / "plots", title=sweep.name)
        else:
            made = []
    print(f"{res.done} runs done, {res.failed} failed, {res.skipped} already done (of {res.total}) "
          f"in {res.elapsed_s:.1f} s — results: {res.store}" + (f", plots: {Path(out) / 'plots'}" if made else ""))
    print(f"report: robocoord report {shlex.quote(out)}")
    if n_failed:
        first = next(r for r in records if r.status == "failed")
        head = (first.error or "").strip().splitlines()[0] if first.error else "?"
        print(f"robocoord: {n_failed} of {len(records)} runs failed (e.g. {first.group_label} seed {first.seed}: "
              f"{head}); `robocoord batch ... --resume` retries them", file=sys.stderr)
        return 1
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from robocoord.batch.report import ReportOptions, markdown_report, merge_section, parse_metrics_arg, report_command
    from robocoord.batch.store import ResultsStore

    if not 1 <= args.heading_level <= 6:
        raise UserError(f"--heading-level {args.heading_level}: expected 1..6")
    metrics = parse_metrics_arg(args.metrics)
    store = ResultsStore.open(args.results)
    try:
        results_dir = store.path.parent
        to_stdout = args.out == "-"
        out_path = None if to_stdout else Path(args.out) if args.out else results_dir / "report.md"
        if args.merge and to_stdout:
            raise UserError("--merge needs a file to merge into (--out FILE)")
        opts = ReportOptions(metrics=metrics, section_title=args.section_title, heading_level=args.heading_level,
                             plots_dir=Path(args.plots_dir) if args.plots_dir else None, plots=not args.no_plots,
                             command=report_command(args.results, args.out, args.metrics, args.section_title,
                                                    args.heading_level, args.merge, args.plots_dir))
        text = markdown_report(store, out_path, opts)
    finally:
        store.close()
    if out_path is None:
        sys.stdout.write(text)
        return 0
    if out_path.is_dir():
        raise UserError(f"--out {out_path}: is a folder; expected a Markdown file path")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if args.merge and out_path.exists():
        text = merge_section(out_path.read_text(encoding="utf-8"), text)
    out_path.write_text(text, encoding="utf-8")
    print(f"report: {out_path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="robocoord", description="robocoord batch evaluation")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    add_batch_commands(sub)
    return ap


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.command is None:
        ap.print_help()
        return 2
    return cli_guard(lambda: dispatch_batch(args), default_rc=2,
                     interrupted="interrupted (finished runs are saved; continue with --resume)")

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
