"""Every bad-input case gives one clear message naming file, field and expectation; exit code 2."""
from __future__ import annotations

import pytest

from conftest import SCENARIOS, run_cli
from robocoord.cli import main

GOOD = """
name: t
fidelity: kinematic
dt: 0.1
horizon: 5
world: {arena: [10, 10]}
fleet: {kind: amr, count: 2}
controller: {name: goto}
"""

GRID = """
name: g
fidelity: grid
horizon: 5
world: {map: {ascii: "....\\n.##.\\n...."}}
fleet: {kind: amr, count: 2}
tasks: {type: lifelong}
controller: {name: goto}
"""


def _err(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.err


@pytest.mark.parametrize("patch, field, expect", [
    ("fleet: {kind: amr, count: 2, colour: red}", "fleet.colour", "unknown key"),
    ("dt: -0.1", "dt", "greater than 0"),
    ("dt: 0", "dt", "greater than 0"),
    ("fleet: {kind: amr, count: -3}", "fleet.count", "greater than or equal to 1"),
    ("fleet: {kind: amr, count: many}", "fleet.count", "valid integer"),
    ("fleet: {kind: boat, count: 2}", "fleet.kind", "'amr', 'uav' or 'cav'"),
    ("controller: {name: teleport}", "controller.name", "unknown controller 'teleport'"),
    ("controller: {name: goto, params: {gain: -1}}", "controller.params.gain", "greater than 0"),
    ("controller: {name: goto, params: {gian: 1}}", "controller.params.gian", "unknown key"),
    ("fleet: {kind: amr, count: 2, params: {radius: 0}}", "fleet.params.radius", "greater than 0"),
    ("fidelity: warp", "fidelity", "'grid', 'kinematic' or 'physics'"),
    ("metrics: [throughput, happiness]", "metrics.1", "unknown metric 'happiness'"),
    ("horizon: 2.5", "horizon", "integer"),
    ("fleet: {kind: amr, count: 2000}", "fleet.count", "cannot be placed"),
])
def test_bad_field(write_yaml, capsys, patch, field, expect):
    key = patch.split(":")[0]
    text = "\n".join(l for l in GOOD.splitlines() if not l.startswith(key + ":")) + "\n" + patch + "\n"
    path = write_yaml(text)
    code, err = _err(capsys, ["validate", str(path)])
    assert code == 2
    assert str(path) in err
    assert f"{field}:" in err
    assert expect in err
    assert "Traceback" not in err


def test_missing_required_field(write_yaml, capsys):
    path = write_yaml(GOOD.replace("horizon: 5\n", ""))
    code, err = _err(capsys, ["validate", str(path)])
    assert code == 2 and "horizon: required field is missing" in err


def test_missing_map_file(write_yaml, capsys):
    path = write_yaml(GRID.replace('{ascii: "....\\n.##.\\n...."}', "{file: nowhere.map}"))
    code, err = _err(capsys, ["validate", str(path)])
    assert code == 2 and "world.map.file: map file not found" in err and "nowhere.map" in err


def test_more_robots_than_free_cells(write_yaml, capsys):
    path = write_yaml(GRID.replace("count: 2", "count: 11"))
    code, err = _err(capsys, ["validate", str(path)])
    assert code == 2 and "fleet.count: 11 robots but the map has only 10 free cells" in err


def test_map_that_does_not_parse(write_yaml, tmp_path, capsys):
    (tmp_path / "bad.map").write_text("type octile\nheight 2\nwidth 3\nmap\n...\n.x.\n")
    path = write_yaml(GRID.replace('{ascii: "....\\n.##.\\n...."}', "{file: bad.map}"))
    code, err = _err(capsys, ["validate", str(path)])
    assert code == 2 and "bad.map" in err and "Traceback" not in err


def test_start_on_obstacle(write_yaml, capsys):
    text = GRID.replace("fleet: {kind: amr, count: 2}",
                        "fleet: {kind: amr, count: 2, start: {layout: list, positions: [[0, 0], [1, 1]]}}")
    code, err = _err(capsys, ["run", str(write_yaml(text)), "--quiet", "--out", "unused"])
    assert code == 2 and "fleet.start.positions.1: cell [1, 1] is an obstacle" in err


def test_yaml_syntax_error_names_line(write_yaml, capsys):
    path = write_yaml("name: t\nfleet: {kind: amr,, count: 2\n")
    code, err = _err(capsys, ["validate", str(path)])
    assert code == 2 and "line 2" in err and "not valid YAML" in err


def test_empty_and_non_mapping(write_yaml, capsys):
    code, err = _err(capsys, ["validate", str(write_yaml(""))])
    assert code == 2 and "empty" in err
    code, err = _err(capsys, ["validate", str(write_yaml("- a\n- b\n"))])
    assert code == 2 and "expected a mapping" in err


def test_missing_scenario_file(capsys):
    code, err = _err(capsys, ["run", "no/such/file.yaml"])
    assert code == 2 and "no such scenario file" in err


def test_yaml_cannot_run_code(write_yaml, capsys):
    path = write_yaml(GOOD + "extra: !!python/object/apply:os.system ['echo pwned']\n")
    code, err = _err(capsys, ["validate", str(path)])
    assert code == 2 and "not valid YAML" in err


@pytest.mark.parametrize("override, expect", [
    ("fleet.count", "expected KEY.PATH=VALUE"),
    ("fleet.count=-1", "fleet.count: Input should be greater than or equal to 1"),
    ("fleet.wheels=4", "fleet.wheels: unknown key"),
    ("dt=0", "dt: Input should be greater than 0"),
])
def test_bad_overrides(capsys, override, expect):
    code, err = _err(capsys, ["validate", str(SCENARIOS / "amr_goto.yaml"), "--set", override])
    assert code == 2 and expect in err


def test_override_applies(capsys):
    assert main(["validate", str(SCENARIOS / "amr_goto.yaml"), "--set", "fidelity=physics",
                 "--set", "horizon=7"]) == 0
    assert "fidelity physics" in capsys.readouterr().out


def test_every_error_in_one_message(write_yaml, capsys):
    text = GOOD.replace("dt: 0.1", "dt: -1").replace("horizon: 5", "horizon: 0")
    code, err = _err(capsys, ["validate", str(write_yaml(text))])
    assert code == 2 and "dt:" in err and "horizon:" in err and err.count("invalid scenario") == 1


def test_subprocess_exit_code_and_no_traceback(write_yaml):
    path = write_yaml(GOOD.replace("count: 2", "count: -3"))
    proc = run_cli("run", str(path))
    assert proc.returncode == 2
    assert "fleet.count" in proc.stderr and "Traceback" not in proc.stderr
