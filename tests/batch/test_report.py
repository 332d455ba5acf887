"""Results store, aggregation (mean ± CI per group), plots and Markdown reports; CLI end to end."""
from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest
import yaml
from test_sweep import TINY_BASE, batch_cli

from robocoord.batch.report import (RUNTIME, ReportOptions, aggregate, choose_metrics, markdown_report,
                                    merge_section)
from robocoord.batch.stats import t_ppf
from robocoord.batch.store import ResultsStore, RunRecord
from robocoord.errors import UserError

PNG = b"\x89PNG\r\n\x1a\n"


def make_store(path: Path, groups: dict, failed: int = 0, sweep_metrics=None) -> ResultsStore:
    """A store as `robocoord batch` leaves it: ``groups`` maps a grid point to per-seed throughputs."""
    st = ResultsStore.create(path / "results.sqlite")
    keys = [k for k, _ in next(iter(groups))] if groups else []
    plan = []
    idx = 0
    for point, values in groups.items():
        group = dict(point)
        label = ", ".join(f"{k}={v}" for k, v in group.items())
        for seed, v in enumerate(values):
            rid = f"r{idx:04d}"
            plan.append(rid)
            st.record(RunRecord(run_id=rid, idx=idx, sweep="syn", group=group, group_label=label, seed=seed,
                                overrides=group, status="done",
                                summary={"throughput": v, "agents": group.get("fleet.count", 1), "steps": 10,
                                         "success": seed % 2 == 0, "min_distance": math.inf},
                                timing={"step_ms_mean": 2.0 * group.get("fleet.count", 1) + seed}, attempts=1,
                                started=1.0, finished=2.0))
            idx += 1
        for j in range(failed):
            rid = f"f{idx:04d}"
            plan.append(rid)
            st.record(RunRecord(run_id=rid, idx=idx, sweep="syn", group=group, group_label=label, seed=100 + j,
                                overrides=group, status="failed", error="ValueError: boom | pipe\nTraceback...",
                                attempts=2))
            idx += 1
    st.set_meta({"sweep": {"name": "syn", "description": "A synthetic sweep.", "base": "/elsewhere/base.yaml",
                           "set": {"horizon": 8}, "seeds": [0, 1, 2], "metrics": sweep_metrics or []},
                 "group_keys": keys, "plan": plan, "command": "robocoord batch syn.yaml --out res",
                 "machine": {"cpu": "TestCPU", "cores": 2, "python": "3.11", "robocoord": "0.1.0", "git": "abc"},
                 "workers": 2, "backend": "process-pool", "batch_finished": 1.7e9})
    return st


TWO_CONTROLLERS = {
    (("fleet.count", 16), ("controller", "a")): [1.0, 2.0, 3.0],
    (("fleet.count", 32), ("controller", "a")): [2.0, 2.0, 2.0],
    (("fleet.count", 16), ("controller", "b")): [0.5, 1.5],
    (("fleet.count", 32), ("controller", "b")): [4.0],
}


def test_store_roundtrip_and_wal(tmp_path: Path) -> None:
    st = make_store(tmp_path, TWO_CONTROLLERS, failed=1)
    assert st.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    st.close()
    with ResultsStore.open(tmp_path) as st:  # the folder or the file
        runs = st.runs()
        assert len(runs) == 9 + 4 and st.count("failed") == 4
        assert runs[0].summary["min_distance"] == math.inf and runs[0].group == {"fleet.count": 16, "controller": "a"}
        st.set_meta({"plan": ["r0000"]})
        assert [r.run_id for r in st.runs()] == ["r0000"] and len(st.runs(planned_only=False)) == 13


@pytest.mark.parametrize("content, needle", [
    (b"hello, not a database\n", "not a results store"),
    (b"SQLite format 3\x00" + b"\x00" * 200, "not a results store"),
])
def test_open_rejects_non_stores(tmp_path: Path, content: bytes, needle: str) -> None:
    f = tmp_path / "results.sqlite"
    f.write_bytes(content)
    with pytest.raises(UserError, match=needle):
        ResultsStore.open(f)


def test_open_rejects_other_sqlite_and_empty_folder(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as c:
        c.execute("CREATE TABLE x (a)")
    with pytest.raises(UserError, match="SQLite file, but not a robocoord results store"):
        ResultsStore.open(other)
    with pytest.raises(UserError, match="not a results folder"):
        ResultsStore.open(tmp_path)
    with pytest.raises(UserError, match="no such results store"):
        ResultsStore.open(tmp_path / "nope")


def test_aggregate_mean_ci_per_group(tmp_path: Path) -> None:
    st = make_store(tmp_path, TWO_CONTROLLERS, failed=1)
    groups = aggregate(st.runs())
    assert [g.label for g in groups] == ["fleet.count=16, controller=a", "fleet.count=32, controller=a",
                                         "fleet.count=16, controller=b", "fleet.count=32, controller=b"]
    g = groups[0]
    assert (g.n_done, g.n_failed, g.seeds) == (3, 1, [0, 1, 2])
    e = g.estimate("throughput")
    assert e.mean == pytest.approx(2.0) and e.ci == pytest.approx(t_ppf(0.975, 2) * 1.0 / math.sqrt(3))
    assert groups[1].estimate("throughput").ci == 0.0
    assert groups[3].estimate("throughput").ci is None  # one seed: no interval
    assert g.estimate("success").mean == pytest.approx(2 / 3)  # booleans count as 0/1
    assert g.estimate(RUNTIME).mean == pytest.approx(33.0)
    assert choose_metrics(groups, None, st.meta()) == ["throughput", "success", "min_distance"]
    assert choose_metrics(groups, ["agents"], st.meta()) == ["agents"]
    with pytest.raises(UserError, match="unknown metric.*nope.*throughput"):
        choose_metrics(groups, ["nope"], st.meta())
    st.close()
    st = make_store(tmp_path / "m", TWO_CONTROLLERS, sweep_metrics=["success", "not_there"])
    assert choose_metrics(aggregate(st.runs()), None, st.meta()) == ["success"]


def test_markdown_report_section(tmp_path: Path) -> None:
    st = make_store(tmp_path / "res", TWO_CONTROLLERS, failed=1)
    out = tmp_path / "docs" / "bench.md"
    text = markdown_report(st, out, ReportOptions(metrics=["throughput"], section_title="Goto: warehouse",
                                                  heading_level=3, command="robocoord report res"))
    lines = text.splitlines()
    assert lines[0] == "<!-- robocoord-report:begin goto-warehouse -->" and lines[1] == "### Goto: warehouse"
    assert lines[-1] == "<!-- robocoord-report:end goto-warehouse -->"
    assert "A synthetic sweep." in text and "13 runs (9 done, 4 failed)" in text and "`horizon=8`" in text
    assert "| fleet.count | controller | n | failed | throughput | ms/step |" in text
    assert "|---|---|---:|---:|---:|---:|" in text
    ci = t_ppf(0.975, 2) / math.sqrt(3)
    assert f"| 16 | a | 3 | 1 | 2.0 ± {ci:.1f} | 33.0 ± 2.5 |" in text
    assert "| 32 | b | 1 | 1 | 4 | 64 |" in text
    # Plots are written next to the store and linked relative to the report file.
    assert "![syn: throughput vs agents](../res/plots/throughput_vs_agents.png)" in text
    assert "![syn: runtime per step vs agents](../res/plots/ms_per_step_vs_agents.png)" in text
    for name in ("throughput_vs_agents.png", "ms_per_step_vs_agents.png"):
        assert (tmp_path / "res" / "plots" / name).read_bytes()[:8] == PNG
    assert "Failed runs (4)" in text and "ValueError: boom \\| pipe" in text and "(attempts 2)" in text
    assert "Measured 2023-11-14 on TestCPU (2 cores, 2 workers, process-pool)" in text and "git abc" in text
    assert "robocoord batch syn.yaml --out res\nrobocoord report res\n```" in text


def test_bar_plots_without_a_size_key(tmp_path: Path) -> None:
    st = make_store(tmp_path, {(("controller", "a"),): [1.0, 2.0], (("controller", "b"),): [3.0, 3.5]})
    text = markdown_report(st, tmp_path / "r.md", ReportOptions(metrics=["throughput"]))
    assert "![syn: throughput](plots/throughput.png)" in text and "![syn: ms / step (wall clock)](plots/ms_per_step.png)" in text
    assert (tmp_path / "plots" / "throughput.png").read_bytes()[:8] == PNG
    assert "## Sweep `syn`" in text


def test_merge_section_replaces_in_place() -> None:
    a1 = "<!-- robocoord-report:begin a -->\nold A\n<!-- robocoord-report:end a -->\n"
    a2 = "<!-- robocoord-report:begin a -->\nnew A\n<!-- robocoord-report:end a -->\n"
    b = "<!-- robocoord-report:begin b -->\nB\n<!-- robocoord-report:end b -->\n"
    doc = "# Benchmarks\n\nintro\n\n" + a1 + "\n## Hand-written\ntext\n"
    merged = merge_section(doc, a2)
    assert merged == "# Benchmarks\n\nintro\n\n" + a2 + "\n## Hand-written\ntext\n"
    appended = merge_section(merged, b)
    assert appended.endswith("text\n\n" + b) and appended.count("begin a") == 1
    assert merge_section("", b) == b


def test_cli_batch_then_report(tmp_path: Path) -> None:
    sweep = tmp_path / "tiny.yaml"
    sweep.write_text(yaml.safe_dump({"name": "tiny_cli", "description": "two sizes", "base": TINY_BASE,
                                     "set": {"horizon": 8}, "grid": {"fleet.count": [2, 4]}, "seeds": 2,
                                     "metrics": ["throughput", "vertex_conflicts"]}))
    out = tmp_path / "res"
    r = batch_cli("batch", str(sweep), "--out", str(out), "--workers", "2")
    assert r.returncode == 0, r.stderr
    assert "tiny_cli — 4 runs, 4 done, 0 failed" in r.stdout and "vertex_conflicts" in r.stdout
    assert "4 runs done, 0 failed, 0 already done (of 4)" in r.stdout
    assert "done=4, failed=0" in r.stderr  # the progress bar's postfix
    assert (out / "plots" / "throughput_vs_agents.png").read_bytes()[:8] == PNG
    again = batch_cli("batch", str(sweep), "--out", str(out))
    assert again.returncode == 2 and "pass --resume" in again.stderr

    doc = tmp_path / "BENCH.md"
    doc.write_text("# Benchmarks\n\nKeep me.\n")
    for _ in range(2):  # merging twice updates the one section
        r = batch_cli("report", str(out), "--out", str(doc), "--section-title", "Tiny grid", "--merge",
                      "--metrics", "throughput")
        assert r.returncode == 0, r.stderr
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nKeep me.\n\n<!-- robocoord-report:begin tiny-grid -->")
    assert text.count("robocoord-report:begin tiny-grid") == 1
    assert "| fleet.count | n | throughput | ms/step |" in text
    assert f"robocoord batch {sweep} --out {out} --workers 2" in text
    assert "--section-title 'Tiny grid' --merge" in text
    assert "![tiny_cli: throughput vs agents](res/plots/throughput_vs_agents.png)" in text

    r = batch_cli("report", str(out), "--out", "-", "--no-plots")
    assert r.returncode == 0 and r.stdout.startswith("<!-- robocoord-report:begin tiny-cli -->") and "![" not in r.stdout
    assert (out / "report.md").exists() is False
    r = batch_cli("report", str(out))
    assert r.returncode == 0 and (out / "report.md").read_text().count("| 4 | 2 |") == 1


@pytest.mark.parametrize("setup, args, needle", [
    ("text", [], "not a results store"),
    ("dir", [], "not a results folder"),
    ("none", [], "no such results store"),
    ("store", ["--metrics", "nope"], "unknown metric(s) nope"),
    ("store", ["--metrics", ","], "comma-separated"),
    ("store", ["--heading-level", "9"], "--heading-level 9"),
])
def test_report_bad_input_exit_2(tmp_path: Path, setup: str, args: list, needle: str) -> None:
    target = tmp_path / "target"
    if setup == "text":
        target.write_text("just text\n")
    elif setup == "dir":
        target.mkdir()
    elif setup == "store":
        make_store(target, TWO_CONTROLLERS).close()
    r = batch_cli("report", str(target), *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert needle in r.stderr and "Traceback" not in r.stderr and r.stderr.count("robocoord: error:") == 1
