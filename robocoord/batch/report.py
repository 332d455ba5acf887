"""Tables and Markdown reports from a results store (``robocoord report RESULTS``).

A *group* is a grid/zip point of the sweep (every swept key except the seed); each numeric summary
metric and the wall-clock ``step_ms_mean`` is reported per group as mean ± the half-width of its 95 %
confidence interval (Student t with n-1 degrees of freedom, :mod:`robocoord.batch.stats`).

The Markdown is one self-contained section between two HTML comments::

    <!-- robocoord-report:begin SLUG -->
    ## Title
    ...table, plots, machine, the commands that reproduce it...
    <!-- robocoord-report:end SLUG -->

so it can be pasted into a longer document (BENCHMARKS.md), and ``--merge`` replaces the section with
the same SLUG in an existing file in place (or appends it), leaving the rest of the file untouched.
"""
from __future__ import annotations

import os
import re
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from robocoord.batch.stats import Estimate, format_estimate, mean_ci
from robocoord.batch.store import ResultsStore, RunRecord, iter_numeric
from robocoord.batch.sweep import canonical_json, distinct_labels, value_label
from robocoord.errors import UserError

RUNTIME = "step_ms_mean"       # from each run's timing; shown as ms/step
BOOKKEEPING = ("steps", "agents")  # summary entries that restate the scenario, hidden unless asked for


@dataclass
class GroupStats:
    group: dict[str, Any]
    label: str
    n_done: int = 0
    n_failed: int = 0
    seeds: list[int] = field(default_factory=list)
    values: dict[str, list[float]] = field(default_factory=dict)

    def estimate(self, metric: str) -> Optional[Estimate]:
        return mean_ci(self.values.get(metric, []))


def aggregate(records: Sequence[RunRecord]) -> list[GroupStats]:
    """Group records by their grid point (first-seen order); collect numeric metrics of done runs."""
    groups: dict[str, GroupStats] = {}
    for r in records:
        key = repr(sorted((k, repr(v)) for k, v in r.group.items()))
        g = groups.get(key)
        if g is None:
            g = groups[key] = GroupStats(group=r.group, label=r.group_label)
        if r.status != "done":
            g.n_failed += 1
            continue
        g.n_done += 1
        g.seeds.append(r.seed)
        for k, v in iter_numeric(r.summary):
            g.values.setdefault(k, []).append(v)
        if isinstance(r.timing.get(RUNTIME), (int, float)):
            g.values.setdefault(RUNTIME, []).append(float(r.timing[RUNTIME]))
    return list(groups.values())


def available_metrics(groups: Sequence[GroupStats]) -> list[str]:
    seen: list[str] = []
    for g in groups:
        for k in g.values:
            if k not in seen and k != RUNTIME:
                seen.append(k)
    return seen


def choose_metrics(groups: Sequence[GroupStats], requested: Optional[Sequence[str]], meta: dict[str, Any]) -> list[str]:
    """``requested`` > the sweep's ``metrics`` > the base scenario's ``metrics`` > every numeric metric."""
    avail = available_metrics(groups)
    if requested:
        unknown = [m for m in requested if m not in avail and m != RUNTIME]
        if unknown:
            raise UserError(f"--metrics: unknown metric(s) {', '.join(unknown)}; the results have: "
                            + (", ".join(avail + [RUNTIME]) if avail else "no finished runs"))
        return [m for m in requested if m != RUNTIME]
    sweep = meta.get("sweep") or {}
    for pref in (sweep.get("metrics"), sweep.get("base_metrics")):
        if pref:
            return [m for m in pref if m in avail]
    return [m for m in avail if m not in BOOKKEEPING]


def parse_metrics_arg(text: Optional[str]) -> Optional[list[str]]:
    if text is None:
        return None
    out = [m.strip() for m in text.split(",") if m.strip()]
    if not out:
        raise UserError("--metrics: expected a comma-separated list of metric names, e.g. throughput,vertex_conflicts")
    return out


def key_labels(groups: Sequence[GroupStats], keys: Sequence[str]) -> dict[str, dict[str, str]]:
    """Per key, the label of each value, unique among the values that key takes in these groups."""
    return {k: distinct_labels([g.group.get(k) for g in groups]) for k in keys}


def cell(labels: dict[str, dict[str, str]], key: str, value: Any) -> str:
    return labels.get(key, {}).get(canonical_json(value)) or value_label(value)


def group_columns(groups: Sequence[GroupStats], group_keys: Sequence[str]) -> list[str]:
    """Swept keys that actually vary between groups (a one-value grid key is shown in the caption)."""
    cols = []
    for k in group_keys:
        vals = {canonical_json(g.group.get(k)) for g in groups}
        if len(vals) > 1 or len(groups) == 1:
            cols.append(k)
    return cols


def _fmt_cell(e: Optional[Estimate]) -> str:
    return format_estimate(e)


def metric_header(m: str) -> str:
    return "ms/step" if m == RUNTIME else m


# --- rich table (end of `robocoord batch`) ---------------------------------------------------------
def rich_table(store: ResultsStore, metrics: Optional[Sequence[str]] = None) -> Any:
    from rich.table import Table

    meta = store.meta()
    records = store.runs()
    groups = aggregate(records)
    mets = choose_metrics(groups, metrics, meta) + [RUNTIME]
    keys = group_columns(groups, meta.get("group_keys") or [])
    n_failed = sum(g.n_failed for g in groups)
    name = (meta.get("sweep") or {}).get("name", "sweep")
    t = Table(title=f"{name} — {len(records)} runs, {len(records) - n_failed} done, {n_failed} failed "
                    "(mean ± 95% CI over seeds)")
    for k in keys:
        t.add_column(k)
    t.add_column("n", justify="right")
    if n_failed:
        t.add_column("failed", justify="right")
    for m in mets:
        t.add_column(metric_header(m), justify="right")
    labels = key_labels(groups, keys)
    for g in groups:
        row = [cell(labels, k, g.group.get(k)) for k in keys] + [str(g.n_done)]
        if n_failed:
            row.append(str(g.n_failed) if g.n_failed else "")
        row += [_fmt_cell(g.estimate(m)) for m in mets]
        t.add_row(*row)
    return t


# --- Markdown ------------------------------------------------------------------------------------
def slugify(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return s or "report"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[str]], right: list[bool]) -> str:
    lines = ["| " + " | ".join(_md_escape(h) for h in header) + " |",
             "|" + "|".join("---:" if r else "---" for r in right) + "|"]
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass
class ReportOptions:
    metrics: Optional[list[str]] = None
    section_title: Optional[str] = None
    heading_level: int = 2
    plots_dir: Optional[Path] = None     # default: <results>/plots
    plots: bool = True
    command: Optional[str] = None        # the `robocoord report ...` command line, for "reproduce"


def markdown_report(store: ResultsStore, out_path: Optional[Path], opts: ReportOptions) -> str:
    """The report section as Markdown; plots are written to ``opts.plots_dir`` and linked relative to ``out_path``."""
    meta = store.meta()
    records = store.runs()
    sweep = meta.get("sweep") or {}
    name = sweep.get("name", "sweep")
    title = opts.section_title or f"Sweep `{name}`"
    slug = slugify(opts.section_title or name)
    groups = aggregate(records)
    mets = choose_metrics(groups, opts.metrics, meta)
    shown = mets + [RUNTIME]
    all_keys = list(meta.get("group_keys") or [])
    keys = group_columns(groups, all_keys)
    n_failed = sum(g.n_failed for g in groups)
    h = "#" * max(1, min(6, opts.heading_level))
    out: list[str] = [f"<!-- robocoord-report:begin {slug} -->", f"{h} {title}", ""]
    if sweep.get("description"):
        out += [str(sweep["description"]).strip(), ""]
    fixed = [f"`{k}` = {value_label(groups[0].group.get(k))}" for k in all_keys if k not in keys and groups]
    set_ = sweep.get("set") or {}
    base = sweep.get("base")
    facts = [f"{len(records)} runs ({len(records) - n_failed} done, {n_failed} failed)",
             f"{len(groups)} groups x {len(sweep.get('seeds') or [])} seeds"]
    if base:
        facts.append(f"base scenario `{_short_path(base)}`")
    if set_:
        facts.append("set " + ", ".join(f"`{k}={value_label(v)}`" for k, v in set_.items()))
    facts += fixed
    out += ["; ".join(facts) + ".", ""]
    if not records:
        out += ["_No finished runs in this store yet._", ""]
    else:
        header = list(keys) + ["n"] + (["failed"] if n_failed else []) + [metric_header(m) for m in shown]
        right = [False] * len(keys) + [True] * (len(header) - len(keys))
        rows = []
        labels = key_labels(groups, keys)
        for g in groups:
            row = [cell(labels, k, g.group.get(k)) for k in keys] + [str(g.n_done)]
            if n_failed:
                row.append(str(g.n_failed))
            row += [_fmt_cell(g.estimate(m)) for m in shown]
            rows.append(row)
        out += [_md_table(header, rows, right), ""]
        out += ["Mean ± half-width of the 95 % confidence interval over seeds (Student t, n−1 degrees of "
                "freedom); `ms/step` is wall-clock time per control step (controller + world) on one core.", ""]
    if opts.plots and records:
        from robocoord.batch.plots import make_plots

        plots_dir = opts.plots_dir or (store.path.parent / "plots")
        made = make_plots(groups, all_keys, mets, plots_dir, title=name)
        rel_to = (out_path.parent if out_path is not None else Path.cwd()).resolve()
        for caption, path in made:
            rel = os.path.relpath(Path(path).resolve(), rel_to)
            out += [f"![{caption}]({Path(rel).as_posix()})", ""]
    failed = [r for r in records if r.status == "failed"]
    if failed:
        out += [f"<details><summary>Failed runs ({len(failed)})</summary>", ""]
        for r in failed[:20]:
            first = (r.error or "").strip().splitlines()[0] if r.error else "(no error text)"
            out.append(f"- `{r.run_id}` {_md_escape(r.group_label)} seed {r.seed} (attempts {r.attempts}): "
                       f"`{_md_escape(first)[:300]}`")
        if len(failed) > 20:
            out.append(f"- ... and {len(failed) - 20} more (`sqlite3 {store.path} \"SELECT run_id, error FROM runs "
                       "WHERE status='failed'\"`)")
        out += ["", "</details>", ""]
    m = meta.get("machine") or {}
    if m:
        when = meta.get("batch_finished") or meta.get("batch_started")
        date = time.strftime("%Y-%m-%d", time.gmtime(when)) if when else "?"
        out += [f"Measured {date} on {m.get('cpu', '?')} ({m.get('cores', '?')} cores, "
                f"{meta.get('workers', '?')} workers, {meta.get('backend', '?')}), Python {m.get('python', '?')}, "
                f"robocoord {m.get('robocoord', '?')}" + (f" (git {m['git']})" if m.get("git") else "") + ".", ""]
    cmds = [c for c in (meta.get("command"), opts.command) if c]
    if cmds:
        out += ["Reproduce:", "", "```bash", *cmds, "```", ""]
    out.append(f"<!-- robocoord-report:end {slug} -->")
    return "\n".join(out) + "\n"


REPO_ROOT = Path(__file__).resolve().parents[2]


def _short_path(p: str) -> str:
    """Inside this repository: relative to its root (reads the same on every machine); else as stored."""
    try:
        return Path(p).resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return p


def merge_section(existing: str, section: str) -> str:
    """Replace the section with the same slug in ``existing`` (or append it)."""
    m = re.match(r"<!-- robocoord-report:begin (\S+) -->", section)
    if m is None:  # pragma: no cover (markdown_report always writes the marker)
        return existing.rstrip("\n") + "\n\n" + section
    slug = re.escape(m.group(1))
    pat = re.compile(rf"<!-- robocoord-report:begin {slug} -->.*?<!-- robocoord-report:end {slug} -->\n?", re.S)
    if pat.search(existing):
        return pat.sub(lambda _: section, existing, count=1)
    return (existing.rstrip("\n") + "\n\n" if existing.strip() else "") + section


def report_command(results: str, out: Optional[str], metrics: Optional[str], section_title: Optional[str],
                   heading_level: int, merge: bool, plots_dir: Optional[str]) -> str:
    parts = ["robocoord", "report", results]
    if out:
        parts += ["--out", out]
    if metrics:
        parts += ["--metrics", metrics]
    if section_title:
        parts += ["--section-title", section_title]
    if heading_level != 2:
        parts += ["--heading-level", str(heading_level)]
    if plots_dir:
        parts += ["--plots-dir", plots_dir]
    if merge:
        parts.append("--merge")
    return shlex.join(parts)
