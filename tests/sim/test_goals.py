from __future__ import annotations

import numpy as np
import pytest

from conftest import DATA
from sim.goals import (FixedGoals, GoalStream, MarkedGoals, TaskListGoals, UniformGoals, check_capacity,
                       count_free_cells, sample_starts)
from sim.maps import load_map, parse_ascii

WFI = DATA / "pogema" / "wfi_warehouse.yaml"


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_streams_implement_the_protocol():
    g = parse_ascii("$.@")
    for s in (UniformGoals(g, rng()), MarkedGoals(g, rng()), TaskListGoals(np.array([[0, 0]])),
              FixedGoals(np.array([[0, 1]]))):
        assert isinstance(s, GoalStream)


# --- uniform over the agent's component -----------------------------------------------------------
def test_uniform_goals_stay_in_the_component_and_leave_the_current_cell():
    g = parse_ascii("..#..\n..#..\n..#..")
    pos = np.array([[0, 0]] * 200 + [[1, 4]] * 200)
    goals = UniformGoals(g, rng()).next(np.arange(400), pos)
    assert (goals[:200, 1] < 2).all() and (goals[200:, 1] > 2).all()
    assert not (goals == pos).all(axis=1).any()


def test_uniform_goals_are_uniform():
    g = parse_ascii("....\n....")  # 8 cells: from (0, 0) each of the other 7 has p = 1/7
    goals = UniformGoals(g, rng(3)).next(np.arange(7000), np.zeros((7000, 2), dtype=int))
    counts = np.bincount(goals[:, 0] * 4 + goals[:, 1], minlength=8)
    assert counts[0] == 0
    expected = 1000
    chi2 = ((counts[1:] - expected) ** 2 / expected).sum()
    assert chi2 < 22.5  # 6 degrees of freedom, p = 0.001


def test_uniform_goals_are_reproducible_and_depend_on_the_seed():
    g = load_map(DATA / "movingai" / "Paris_1_256.map")  # 34 components
    free = g.free_cells()
    pos = free[rng(9).choice(len(free), 500, replace=False)]
    a = UniformGoals(g, rng(1)).next(np.arange(500), pos)
    b = UniformGoals(g, rng(1)).next(np.arange(500), pos)
    c = UniformGoals(g, rng(2)).next(np.arange(500), pos)
    assert (a == b).all() and not (a == c).all()
    comp = g.components()
    assert (comp[tuple(a.T)] == comp[tuple(pos.T)]).all()
    assert not (a == pos).all(axis=1).any()


def test_isolated_agent_keeps_its_cell():
    g = parse_ascii(".#..")
    goals = UniformGoals(g, rng()).next(np.array([0, 1]), np.array([[0, 0], [0, 2]]))
    assert goals.tolist() == [[0, 0], [0, 3]]


def test_uniform_initial_goals():
    g = parse_ascii("...\n...")
    pos = np.array([[0, 0], [1, 2]])
    goals = UniformGoals(g, rng()).initial(2, pos)
    assert not (goals == pos).all(axis=1).any()
    assert UniformGoals(g, rng()).initial(5).shape == (5, 2)  # one component: positions not needed
    with pytest.raises(ValueError, match="several connected components; initial goals need the agents' positions"):
        UniformGoals(parse_ascii(".#."), rng()).initial(2)
    with pytest.raises(ValueError, match="2 agents but 1 positions"):
        UniformGoals(g, rng()).initial(2, pos[:1])
    with pytest.raises(ValueError, match=r"position \[0, 5\] is blocked or outside"):
        UniformGoals(g, rng()).next(np.array([0]), np.array([[0, 5]]))


# --- marked cells (the WFI protocol) --------------------------------------------------------------
def test_marked_goals_draw_only_marked_cells():
    g = parse_ascii("$.@\n#.@")
    goals = MarkedGoals(g, rng(1), "goals").next(np.arange(50), np.tile([[0, 0]], (50, 1)))
    assert set(map(tuple, goals.tolist())) == {(0, 2), (1, 2)}
    # standing on a marked cell: the other one every time
    goals = MarkedGoals(g, rng(1)).next(np.arange(20), np.tile([[0, 2]], (20, 1)))
    assert (goals == [1, 2]).all()


def test_marked_goals_errors():
    g = parse_ascii("$.#@")
    with pytest.raises(ValueError, match="has no cell set 'shelves' \\(it has: 'starts', 'goals'\\)"):
        MarkedGoals(g, rng(), "shelves")
    with pytest.raises(ValueError, match=r"no 'goals' cell is reachable from \[0, 0\]"):
        MarkedGoals(g, rng()).next(np.array([0]), np.array([[0, 0]]))


def test_wfi_protocol_starts_and_goals():
    g = load_map(WFI)
    starts = sample_starts(g, 192, rng(4), mark="starts")
    assert len({tuple(c) for c in starts.tolist()}) == 192
    assert {tuple(c) for c in starts.tolist()} == {tuple(c) for c in g.marks["starts"].tolist()}
    stream = MarkedGoals(g, rng(5))
    goals = stream.initial(192, starts)
    marked = {tuple(c) for c in g.marks["goals"].tolist()}
    assert {tuple(c) for c in goals.tolist()} <= marked
    again = stream.next(np.arange(192), goals)  # reached: a new shelf cell, not the same one
    assert {tuple(c) for c in again.tolist()} <= marked and not (again == goals).all(axis=1).any()
    with pytest.raises(ValueError, match="193 robots but the cell set 'starts' of map 'wfi_warehouse' has only 192"):
        sample_starts(g, 193, rng(), mark="starts")


# --- starts and capacity --------------------------------------------------------------------------
def test_sample_starts_distinct_free_and_seeded():
    g = load_map(DATA / "movingai" / "random-32-32-20.map")
    a = sample_starts(g, 500, rng(7))
    assert len({tuple(c) for c in a.tolist()}) == 500 and g.is_free(a).all()
    assert (a == sample_starts(g, 500, rng(7))).all()
    assert sample_starts(g, 819, rng(7)).shape == (819, 2)  # every free cell
    with pytest.raises(ValueError, match="820 robots but the map 'random-32-32-20' has only 819 free cells"):
        sample_starts(g, 820, rng(7))
    with pytest.raises(ValueError, match="must be >= 0"):
        sample_starts(g, -1, rng(7))


def test_count_free_cells_and_check_capacity():
    g = parse_ascii("$$.\n#@.")
    assert count_free_cells(g) == 5 and count_free_cells(g, "starts") == 2 and count_free_cells(g, "goals") == 1
    check_capacity(g, 5)
    check_capacity(g, 2, "starts")
    with pytest.raises(ValueError, match="6 robots but the map 'ascii' has only 5 free cells"):
        check_capacity(g, 6)
    with pytest.raises(ValueError, match="no cell set 'docks'"):
        check_capacity(g, 1, "docks")


# --- LoRR task lists ------------------------------------------------------------------------------
TASKS = np.array([[0, t] for t in range(7)])  # task t is the cell (0, t): easy to read back


def test_task_list_roundrobin_is_strided_per_agent():
    s = TaskListGoals(TASKS)  # LoRR InfAssignSystem: agent k's j-th task = (j * N + k) mod T
    assert s.initial(3)[:, 1].tolist() == [0, 1, 2]
    assert s.next(np.array([1]), np.zeros((1, 2), int))[:, 1].tolist() == [4]
    assert s.next(np.array([1]), np.zeros((1, 2), int))[:, 1].tolist() == [7 % 7]
    assert s.next(np.array([2, 0]), np.zeros((2, 2), int))[:, 1].tolist() == [5, 3]
    assert s.next(np.array([2]), np.zeros((1, 2), int))[:, 1].tolist() == [8 % 7]


def test_task_list_greedy_hands_out_in_file_order():
    s = TaskListGoals(TASKS, strategy="greedy")  # LoRR TaskAssignSystem (+ wrap-around)
    assert s.initial(3)[:, 1].tolist() == [0, 1, 2]
    assert s.next(np.array([2, 0]), np.zeros((2, 2), int))[:, 1].tolist() == [4, 3]  # ties: lower id first
    assert s.next(np.array([1, 2, 0]), np.zeros((3, 2), int))[:, 1].tolist() == [6, 0, 5]  # 0:5, 1:6, 2:0 (wrapped)


def test_task_list_first_next_call_fixes_the_fleet_size():
    s = TaskListGoals(TASKS)
    assert s.next(np.arange(2), np.zeros((2, 2), int))[:, 1].tolist() == [0, 1]
    assert s.next(np.array([0]), np.zeros((1, 2), int))[:, 1].tolist() == [2]
    with pytest.raises(ValueError, match="call initial"):
        TaskListGoals(TASKS).next(np.array([3]), np.zeros((1, 2), int))
    with pytest.raises(ValueError, match=r"agent ids must lie in \[0, 2\)"):
        s.next(np.array([2]), np.zeros((1, 2), int))
    with pytest.raises(ValueError, match="appears twice"):
        s.next(np.array([1, 1]), np.zeros((2, 2), int))
    with pytest.raises(ValueError, match="empty"):
        TaskListGoals(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="unknown task assignment strategy 'fifo'"):
        TaskListGoals(TASKS, strategy="fifo")


def test_task_list_on_the_lorr_instance():
    from sim.maps import load_lorr_agents, load_lorr_tasks

    g = load_map(DATA / "lorr" / "warehouse_large.map")
    tasks = load_lorr_tasks(DATA / "lorr" / "warehouse_large.tasks", g)
    agents = load_lorr_agents(DATA / "lorr" / "Warehouse_10000.agents", g)
    s = TaskListGoals(tasks)
    first = s.initial(len(agents), agents)
    assert (first == tasks[:10000]).all()
    assert (s.next(np.array([7]), agents[[7]]) == tasks[10007]).all()


def test_fixed_goals():
    goals = np.array([[0, 1], [2, 3]])
    s = FixedGoals(goals)
    assert s.initial(2).tolist() == goals.tolist()
    assert s.next(np.array([1]), np.array([[2, 3]])).tolist() == [[2, 3]]
    with pytest.raises(ValueError, match="holds 2 goals but 3 agents"):
        s.initial(3)
