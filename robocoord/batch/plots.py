"""PNG plots of a sweep (matplotlib's Agg canvas directly: no pyplot, no global backend, no display).

* ``fleet.count`` swept: each metric against the agent count, one line per remaining group key
  combination (e.g. per controller), error bars = 95 % CI; and ms/step against the agent count on
  log-log axes (``<metric>_vs_agents.png``, ``ms_per_step_vs_agents.png``).
* otherwise, with more than one group: a horizontal bar per group with its CI (``<metric>.png``,
  ``ms_per_step.png``).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from robocoord.batch.report import RUNTIME, GroupStats, cell, key_labels
from robocoord.batch.sweep import canonical_json

SIZE_KEY = "fleet.count"


def _figure(w: float = 6.4, h: float = 4.2) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def make_plots(groups: Sequence[GroupStats], group_keys: Sequence[str], metrics: Sequence[str], out_dir: Path,
               title: str = "") -> list[tuple[str, Path]]:
    """Write the plots; returns ``(caption, path)`` in the order a report shows them."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if SIZE_KEY in group_keys:
        return _vs_size(groups, [k for k in group_keys if k != SIZE_KEY], metrics, out_dir, title)
    if len(groups) > 1:
        return _bars(groups, metrics, out_dir, title)
    return []


def _series(groups: Sequence[GroupStats], other: Sequence[str]) -> dict[str, list[GroupStats]]:
    # Keys with a single value across all groups do not name a series.
    varying = [k for k in other if len({canonical_json(g.group.get(k)) for g in groups}) > 1]
    labels = key_labels(groups, varying)
    out: dict[str, list[GroupStats]] = {}
    for g in groups:
        if len(varying) == 1:
            name = cell(labels, varying[0], g.group.get(varying[0]))
        else:
            name = ", ".join(f"{k}={cell(labels, k, g.group.get(k))}" for k in varying)
        out.setdefault(name, []).append(g)
    return out


def _vs_size(groups: Sequence[GroupStats], other: Sequence[str], metrics: Sequence[str], out_dir: Path,
             title: str) -> list[tuple[str, Path]]:
    series = _series(groups, other)
    made = []
    for metric in list(metrics) + [RUNTIME]:
        fig = _figure()
        ax = fig.add_subplot(1, 1, 1)
        drawn = 0
        xs_all: list[float] = []
        for name, gs in series.items():
            pts = []
            for g in gs:
                e = g.estimate(metric)
                x = g.group.get(SIZE_KEY)
                if e is not None and isinstance(x, (int, float)) and math.isfinite(e.mean):
                    pts.append((float(x), e.mean, e.ci or 0.0))
            if not pts:
                continue
            pts.sort()
            xs, ys, cis = zip(*pts)
            xs_all += xs
            ax.errorbar(xs, ys, yerr=cis, marker="o", capsize=3, label=name or None)
            drawn += 1
        if not drawn:
            continue
        if metric == RUNTIME:
            from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

            ax.set_yscale("log")
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y:g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.set_ylabel("ms / step (wall clock)")
            caption = f"{title}: runtime per step vs agents"
            fname = "ms_per_step_vs_agents.png"
        else:
            ax.set_ylabel(metric)
            caption = f"{title}: {metric} vs agents"
            fname = f"{_safe(metric)}_vs_agents.png"
        if xs_all and min(xs_all) > 0 and max(xs_all) / min(xs_all) >= 4:
            ax.set_xscale("log", base=2)
            ax.set_xticks(sorted(set(xs_all)))
            ax.set_xticklabels([f"{x:g}" for x in sorted(set(xs_all))])
        ax.set_xlabel("agents (fleet.count)")
        ax.set_title(caption, fontsize=10)
        ax.grid(True, alpha=0.3, which="both")
        if ax.get_legend_handles_labels()[1]:
            ax.legend(fontsize=8)
        fig.tight_layout()
        path = out_dir / fname
        fig.savefig(path)
        made.append((caption, path))
    return made


def _bars(groups: Sequence[GroupStats], metrics: Sequence[str], out_dir: Path, title: str) -> list[tuple[str, Path]]:
    made = []
    for metric in list(metrics) + [RUNTIME]:
        rows = [(g.label or "(base)", g.estimate(metric)) for g in groups]
        rows = [(n, e) for n, e in rows if e is not None and math.isfinite(e.mean)]
        if not rows:
            continue
        fig = _figure(6.4, max(2.0, 0.45 * len(rows) + 1.2))
        ax = fig.add_subplot(1, 1, 1)
        ys = list(range(len(rows)))
        ax.barh(ys, [e.mean for _, e in rows], xerr=[e.ci or 0.0 for _, e in rows], capsize=3, color="#4c72b0")
        ax.set_yticks(ys)
        ax.set_yticklabels([n for n, _ in rows], fontsize=8)
        ax.invert_yaxis()
        label = "ms / step (wall clock)" if metric == RUNTIME else metric
        ax.set_xlabel(label)
        caption = f"{title}: {label}"
        ax.set_title(caption, fontsize=10)
        ax.grid(True, axis="x", alpha=0.3)
        fig.tight_layout()
        path = out_dir / ("ms_per_step.png" if metric == RUNTIME else f"{_safe(metric)}.png")
        fig.savefig(path)
        made.append((caption, path))
    return made
