from __future__ import annotations

import numpy as np
import pytest

from conftest import DATA
from sim.goals import MarkedGoals, TaskListGoals, UniformGoals, sample_starts
from sim.maps import (MapError, cell_to_xy, load_lorr_agents, load_lorr_tasks, load_map, load_scen, parse_ascii,
                      xy_to_cell)


@pytest.mark.parametrize("name", sorted(p.name for p in (DATA / "movingai").glob("*.map")))
def test_every_movingai_map_loads(name):
    g = load_map(DATA / "movingai" / name)
    assert g.blocked.shape == (g.height, g.width) and 0 < (~g.blocked).sum() <= g.blocked.size


def test_wfi_marks_and_protocol_distance():
    g = load_map(DATA / "pogema" / "wfi_warehouse.yaml")
    assert (g.height, g.width) == (33, 46)
    assert set(g.marks) == {"starts", "goals"}
    assert not g.blocked[tuple(g.marks["goals"].T)].any()
    # DESIGN §4.1: mean BFS distance between shelf-adjacent cells is 22.9 for this reading of the map.
    from planners.mapf.distance import DistanceTables

    tables = DistanceTables(g.blocked)
    goals = g.marks["goals"]
    d = [tables.get(a)[goals[:, 0], goals[:, 1]] for a in goals]
    d = np.concatenate(d).astype(float)
    mean = d.sum() / (len(goals) * (len(goals) - 1))
    assert abs(mean - 22.9) < 0.1


def test_lorr_files():
    g = load_map(DATA / "lorr" / "warehouse_large.map")
    assert (g.height, g.width) == (140, 500)
    agents = load_lorr_agents(DATA / "lorr" / "Warehouse_10000.agents", g)
    tasks = load_lorr_tasks(DATA / "lorr" / "warehouse_large.tasks", g)
    assert agents.shape == (10000, 2) and len(tasks) == 500000
    assert len({tuple(a) for a in agents}) == 10000


def test_scen_x_is_column():
    g = load_map(DATA / "movingai" / "random-32-32-20.map")
    s, goal = load_scen(DATA / "movingai" / "random-32-32-20-random-1.scen", g)
    # first line: start_x 5 start_y 16 goal_x 31 goal_y 24
    assert s[0].tolist() == [16, 5] and goal[0].tolist() == [24, 31]


@pytest.mark.parametrize("text, expect", [
    ("type octile\nheight 2\nwidth 3\nmap\n...\n..\n", "line 6: row 1 has 2 cells"),
    ("type octile\nheight 3\nwidth 3\nmap\n...\n...\n", "height 3 but 2 map rows"),
    ("type octile\nheight 2\nwidth 3\nmap\n...\n.x.\n", "line 6: unknown map character(s) 'x'"),
    ("hello world\n", "no 'map' line"),
])
def test_bad_maps(tmp_path, text, expect):
    p = tmp_path / "bad.map"
    p.write_text(text)
    with pytest.raises(MapError, match=None) as e:
        load_map(p)
    assert expect in str(e.value) and "bad.map" in str(e.value)


def test_crlf_and_lorr_chars(tmp_path):
    p = tmp_path / "m.map"
    p.write_bytes(b"type octile\r\nheight 2\r\nwidth 3\r\nmap\r\n.E@\r\nT..\r\n")
    g = load_map(p)
    assert g.blocked.tolist() == [[False, False, True], [True, False, False]]
    assert g.marks["emitters"].tolist() == [[0, 1]]


def test_lorr_agent_on_obstacle(tmp_path):
    g = parse_ascii("..#\n...")
    p = tmp_path / "a.agents"
    p.write_text("2\n0\n2\n")
    with pytest.raises(MapError, match="line 3: cell id 2 is an obstacle"):
        load_lorr_agents(p, g)


def test_coordinates_round_trip():
    cells = np.array([[0, 0], [2, 3], [4, 1]])
    assert (xy_to_cell(cell_to_xy(cells, 5, 0.7), 5, 0.7) == cells).all()
    assert cell_to_xy(np.array([[4, 0]]), 5, 1.0).tolist() == [[0.5, 0.5]]  # bottom row is y≈0


def test_components_and_goal_streams():
    g = parse_ascii("..#..\n..#..\n..#..")
    comp = g.components()
    assert comp[0, 0] == comp[2, 1] != comp[0, 3]
    rng = np.random.default_rng(0)
    stream = UniformGoals(g, rng)
    goals = stream.next(np.arange(50), np.tile([[0, 0]], (50, 1)))
    assert (goals[:, 1] < 2).all() and not (goals == 0).all(axis=1).any()
    with pytest.raises(ValueError, match="only 12 free cells"):
        sample_starts(g, 13, rng)


def test_marked_and_task_list_goals():
    g = parse_ascii("$.@\n#.@")
    rng = np.random.default_rng(1)
    goals = MarkedGoals(g, rng, "goals").next(np.arange(20), np.tile([[0, 0]], (20, 1)))
    assert set(map(tuple, goals)) <= {(0, 2), (1, 2)}
    tl = TaskListGoals(np.array([[0, 1], [1, 1], [0, 2]]))
    assert tl.next(np.array([3, 5]), np.zeros((2, 2), int)).tolist() == [[0, 1], [1, 1]]
    assert tl.next(np.array([0, 1]), np.zeros((2, 2), int)).tolist() == [[0, 2], [0, 1]]
