"""Sweep files: expansion into runs, stable run ids, and one clear message for every bad sweep."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, SCENARIOS

from robocoord.batch.sweep import load_sweep, run_id, sweep_from_dict
from robocoord.errors import UserError

# A grid scenario on a small inline map: validates and runs in milliseconds (shared by the batch tests).
TINY_BASE = {
    "name": "tiny", "fidelity": "grid", "dt": 1.0, "horizon": 16,
    "world": {"map": {"ascii": "........\n..#..#..\n........\n..#..#..\n........"}},
    "fleet": {"kind": "amr", "count": 4}, "tasks": {"type": "lifelong"}, "controller": {"name": "goto"},
}


def batch_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m robocoord.batch ...` in a fresh process (the same parser `robocoord batch/report` uses)."""
    env = dict(os.environ, PYTHONHASHSEED="random", COLUMNS="200")
    env.pop("DISPLAY", None)
    return subprocess.run([sys.executable, "-m", "robocoord.batch", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=timeout)


def test_grid_zip_seeds_expand_in_order() -> None:
    sw = sweep_from_dict({
        "base": TINY_BASE, "set": {"horizon": 8},
        "grid": {"fleet.count": [2, 4], "controller": [{"name": "goto"}, {"name": "goto", "label": "slow"}]},
        "zip": {"dt": [1.0, 0.5], "description": ["a", "b"]},
        "seeds": 3,
    }, source="s.yaml")
    sw.validate()
    runs = sw.runs()
    assert len(runs) == 2 * 2 * 2 * 3
    assert sw.group_keys == ["fleet.count", "controller", "dt", "description"]
    first = runs[0]
    assert first.group == {"fleet.count": 2, "controller": {"name": "goto"}, "dt": 1.0, "description": "a"}
    assert first.group_label == "fleet.count=2, controller=goto, dt=1, description=a"
    assert [r.seed for r in runs[:3]] == [0, 1, 2]
    assert runs[3].group["description"] == "b" and runs[3].group["dt"] == 0.5  # zip rows advance together
    assert runs[6].group["controller"] == {"name": "goto", "label": "slow"}
    last = runs[-1].scenario_data
    assert last["fleet"]["count"] == 4 and last["horizon"] == 8 and last["seed"] == 2 and last["dt"] == 0.5
    assert last["controller"] == {"name": "goto", "label": "slow"}
    assert TINY_BASE["horizon"] == 16  # the base is never mutated
    assert len({r.run_id for r in runs}) == len(runs)


def test_colliding_value_labels_are_disambiguated() -> None:
    sw = sweep_from_dict({"base": TINY_BASE, "grid": {"controller": [
        {"name": "goto"}, {"name": "goto", "params": {"gain": 2.0}}, {"name": "goto", "label": "fast"}]}},
        source="s.yaml")
    assert [r.group_label for r in sw.runs()] == ["controller=goto()", "controller=goto(gain=2)", "controller=fast"]


def test_parent_keys_apply_before_children() -> None:
    sw = sweep_from_dict({"base": TINY_BASE, "grid": {"controller.params.gain": [0.5, 2.0],
                                                      "controller": [{"name": "goto", "label": "g"}]}},
                         source="s.yaml")
    sw.validate()
    data = sw.runs()[1].scenario_data
    assert data["controller"] == {"name": "goto", "label": "g", "params": {"gain": 2.0}}


def test_run_ids_are_stable_and_content_addressed() -> None:
    a = sweep_from_dict({"base": TINY_BASE, "grid": {"fleet.count": [2], "horizon": [4]}, "seeds": [5]}, source="a")
    b = sweep_from_dict({"base": TINY_BASE, "grid": {"horizon": [4], "fleet.count": [2]}, "seeds": [5]}, source="b")
    assert a.runs()[0].run_id == b.runs()[0].run_id  # key order does not matter
    rid = a.runs()[0].run_id
    assert rid == run_id(TINY_BASE, {"fleet.count": 2, "horizon": 4}, 5)
    assert run_id(TINY_BASE, {"fleet.count": 2, "horizon": 4}, 6) != rid
    assert run_id(TINY_BASE, {"fleet.count": 3, "horizon": 4}, 5) != rid
    assert run_id({**TINY_BASE, "horizon": 17}, {"fleet.count": 2, "horizon": 4}, 5) != rid  # base edited
    # Same id in a fresh process with another hash seed.
    code = ("import json,sys; from robocoord.batch.sweep import run_id; "
            "print(run_id(json.loads(sys.argv[1]), {'horizon': 4, 'fleet.count': 2}, 5))")
    import json

    out = subprocess.run([sys.executable, "-c", code, json.dumps(TINY_BASE)], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONHASHSEED="123"), check=True).stdout.strip()
    assert out == rid


def test_load_sweep_file_relative_base_and_cli_set(tmp_path: Path) -> None:
    (tmp_path / "scen").mkdir()
    (tmp_path / "scen" / "base.yaml").write_text(yaml.safe_dump(TINY_BASE))
    (tmp_path / "sweeps").mkdir()
    f = tmp_path / "sweeps" / "my_sweep.yaml"
    f.write_text("base: ../scen/base.yaml\ngrid: {fleet.count: [2, 3]}\nseeds: [4, 9]\n")
    sw = load_sweep(f, ["horizon=5"])
    assert sw.name == "my_sweep" and sw.seeds == [4, 9] and sw.set == {"horizon": 5}
    assert Path(sw.base_source) == (tmp_path / "scen" / "base.yaml").resolve()
    assert all(r.scenario_data["horizon"] == 5 for r in sw.runs())


def test_shipped_sweep_validates() -> None:
    sw = load_sweep(SCENARIOS / "sweeps" / "grid_goto_sweep.yaml")
    assert sw.group_keys == ["fleet.count"] and len(sw.runs()) == 15


def _err(data: dict, **kw) -> str:
    with pytest.raises(UserError) as ei:
        sw = sweep_from_dict(data, source="sweeps/bad.yaml", **kw)
        sw.validate()
    return str(ei.value)


@pytest.mark.parametrize("data, expected", [
    ({"base": TINY_BASE, "grdi": {}}, ["sweeps/bad.yaml", "grdi", "unknown key"]),
    ({"base": TINY_BASE, "grid": {"fleet.count": []}}, ["grid", "fleet.count", "empty list"]),
    ({"base": TINY_BASE, "grid": {"fleet.count": 4}}, ["grid.fleet.count", "valid list"]),
    ({"base": TINY_BASE, "zip": {"horizon": [1, 2], "dt": [1.0]}}, ["zip", "same length", "horizon: 2", "dt: 1"]),
    ({"base": TINY_BASE, "set": {"horizon": 3}, "grid": {"horizon": [1, 2]}}, ["'horizon'", "both 'set' and 'grid'"]),
    ({"base": TINY_BASE, "seeds": 0}, ["seeds", "greater than or equal to 1"]),
    ({"base": TINY_BASE, "seeds": [1, 1]}, ["seeds", "repeat"]),
    ({"base": TINY_BASE, "grid": {"seed": [1, 2]}}, ["grid", "'seeds'"]),
    ({"base": TINY_BASE, "grid": {"fleet..count": [1]}}, ["empty parts"]),
    ({"grid": {}}, ["base", "required field is missing"]),
    ({"base": "nope/missing.yaml"}, ["sweeps/bad.yaml", "base", "not found", "missing.yaml"]),
    ({"base": TINY_BASE, "timeout_s": -1}, ["timeout_s", "greater than 0"]),
    ({"base": TINY_BASE, "grid": {"horizon.x": [1]}}, ["'horizon.x'", "'horizon' is a value, not a mapping"]),
])
def test_bad_sweeps_give_one_clear_message(data: dict, expected: list[str]) -> None:
    msg = _err(data)
    for part in expected:
        assert part in msg, (part, msg)
    assert "Traceback" not in msg


def test_invalid_combination_names_file_combination_and_field() -> None:
    msg = _err({"base": TINY_BASE, "grid": {"fleet.count": [2, 0, -1], "controller.nmae": ["x"]}})
    assert msg.startswith("sweeps/bad.yaml: combination 1 of 3 (fleet.count=2, controller.nmae=x)")
    assert "controller.nmae: unknown key" in msg
    assert "2 more of the 3 combinations are invalid" in msg
    msg = _err({"base": TINY_BASE, "grid": {"fleet.count": [2, 0]}})
    assert "combination 2 of 2 (fleet.count=0)" in msg and "fleet.count: Input should be greater than or equal to 1" in msg
    msg = _err({"base": TINY_BASE, "grid": {"controller": [{"name": "no_such_controller"}]}})
    assert "controller" in msg and "no_such_controller" in msg


def test_cli_bad_input_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"base": TINY_BASE, "grid": {"fleet.count": []}}))
    for args, needle in [
        ([str(bad)], "empty list"),
        ([str(tmp_path / "missing.yaml")], "no such sweep file"),
        ([str(bad).replace("bad", "x"), "--workers", "0"], "--workers 0"),
    ]:
        r = batch_cli("batch", *args, "--out", str(tmp_path / "out"))
        assert r.returncode == 2, r.stderr
        assert needle in r.stderr and "Traceback" not in r.stderr
        assert r.stderr.count("robocoord: error:") == 1
    assert not (tmp_path / "out").exists()  # nothing was started


def test_cli_dry_run_lists_groups(tmp_path: Path) -> None:
    f = tmp_path / "ok.yaml"
    f.write_text(yaml.safe_dump({"base": TINY_BASE, "grid": {"fleet.count": [2, 3]}, "seeds": 4}))
    r = batch_cli("batch", str(f), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "2 groups x 4 seeds = 8 runs" in r.stdout and "fleet.count=3" in r.stdout


def test_main_cli_has_batch_commands() -> None:
    from robocoord import cli

    sub = next(a for a in cli.build_parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    if "batch" not in sub.choices:
        pytest.skip("robocoord.cli does not wire in robocoord.batch.cli.add_batch_commands yet")
    from conftest import run_cli

    r = run_cli("report", "/nonexistent/results")
    assert r.returncode == 2 and "no such results store" in r.stderr
