"""Lifelong-MAPF planners on real maps: legal, conflict-free joint moves; distances; reservations."""
from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np
import pytest

from planners.mapf import (PIBT, DistanceTables, GridGraph, IndependentAStar, ReservationTable, WindowedPlanner,
                           astar, cells_to_actions, check_conflicts, space_time_astar)
from planners.mapf.bench_lifelong import load_pogema_ascii
from planners.mapf.guidance import highway_costs

DATA = Path(__file__).resolve().parents[2] / "data"
WFI = load_pogema_ascii(DATA / "pogema" / "wfi_warehouse.yaml")
WFI_BLOCKED = WFI == "#"


def bfs(blocked: np.ndarray, goal: tuple[int, int]) -> np.ndarray:
    H, W = blocked.shape
    d = np.full((H, W), -1)
    d[goal] = 0
    q = deque([goal])
    while q:
        r, c = q.popleft()
        for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            rr, cc = r + dr, c + dc
            if 0 <= rr < H and 0 <= cc < W and not blocked[rr, cc] and d[rr, cc] < 0:
                d[rr, cc] = d[r, c] + 1
                q.append((rr, cc))
    return d


def random_grid(rng: np.random.Generator, h: int = 14, w: int = 17, p: float = 0.25) -> np.ndarray:
    return rng.random((h, w)) < p


def test_distance_tables_match_bfs():
    rng = np.random.default_rng(1)
    blocked = random_grid(rng)
    g = GridGraph(blocked)
    tables = DistanceTables(g)
    for node in rng.choice(g.F, 5, replace=False).tolist():
        cell = tuple(g.cell_of[node])
        ref = bfs(blocked, cell)
        got = tables.get(cell).astype(np.int64)
        reach = ref >= 0
        assert np.array_equal(got[reach], ref[reach])
        assert (got[~reach] >= tables.unreachable).all()


def test_check_conflicts_and_actions():
    cur = np.array([[0, 0], [0, 1], [2, 2], [3, 3]])
    nxt = np.array([[0, 1], [0, 0], [3, 3], [3, 3]])          # 0<->1 swap; 2 moves onto waiting 3
    vertex, edge = check_conflicts(cur, nxt)
    assert edge.tolist() == [[0, 1]] and vertex.tolist() == [[2, 3]]
    follow = np.array([[0, 1], [0, 2]])                         # 0 follows 1 into its vacated cell: legal
    v2, e2 = check_conflicts(np.array([[0, 0], [0, 1]]), follow)
    assert len(v2) == 0 and len(e2) == 0
    assert cells_to_actions(np.array([[5, 5]] * 5), np.array([[5, 5], [4, 5], [6, 5], [5, 4], [5, 6]])).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="agent 0"):
        cells_to_actions(np.array([[0, 0]]), np.array([[1, 1]]))


def _lifelong(planner, n: int, steps: int, seed: int) -> tuple[int, np.ndarray]:
    """Run a planner on wfi_warehouse; assert every joint move is legal and conflict-free."""
    rng = np.random.default_rng(seed)
    starts, goal_cells = np.argwhere(WFI == "$"), np.argwhere(WFI == "@")
    pos = starts[rng.choice(len(starts), n, replace=False)]
    goals = goal_cells[rng.choice(len(goal_cells), n, replace=False)]
    planner.reset(WFI_BLOCKED, pos, goals, np.random.default_rng(seed + 1))
    reached = 0
    for _ in range(steps):
        nxt = planner.step(pos, goals)
        assert (np.abs(nxt - pos).sum(axis=1) <= 1).all(), "a move longer than one cell"
        assert not WFI_BLOCKED[nxt[:, 0], nxt[:, 1]].any(), "a move into an obstacle"
        vertex, edge = check_conflicts(pos, nxt)
        assert len(vertex) == 0 and len(edge) == 0, f"conflicts {vertex.tolist()} {edge.tolist()}"
        pos = nxt
        hit = np.flatnonzero((pos == goals).all(axis=1))
        reached += len(hit)
        for i in hit:
            while (goals[i] == pos[i]).all():
                goals[i] = goal_cells[rng.integers(len(goal_cells))]
    return reached, pos


@pytest.mark.parametrize("make", [lambda: PIBT(), lambda: PIBT(10.0, 0.5), lambda: WindowedPlanner(10, 5)],
                         ids=["pibt", "pibt-guided", "windowed"])
def test_planners_conflict_free_and_productive(make):
    reached, _ = _lifelong(make(), n=96, steps=60, seed=3)
    # 96 agents, 60 steps: free flow would reach ~4 goals/step after the first ~25 steps.
    assert reached >= 40


def test_pibt_is_deterministic_for_a_seed():
    a = _lifelong(PIBT(10.0, 0.5), n=48, steps=40, seed=5)
    b = _lifelong(PIBT(10.0, 0.5), n=48, steps=40, seed=5)
    assert a[0] == b[0] and np.array_equal(a[1], b[1])


def test_pibt_reaches_every_goal_on_a_ring():
    # PIBT's reachability guarantee holds on graphs where adjacent vertices lie on a cycle: a ring
    # corridor around a block, 6 agents shifting by a third of the ring, crowded but solvable.
    blocked = np.ones((6, 7), bool)
    blocked[1:5, 1:6] = False
    blocked[2:4, 2:5] = True
    ring = [(1, c) for c in range(1, 6)] + [(r, 5) for r in (2, 3)] + [(4, c) for c in range(5, 0, -1)] + [(r, 1) for r in (3, 2)]
    idx = np.arange(0, 12, 2)
    starts = np.array([ring[i] for i in idx])
    goals = np.array([ring[(i + 4) % len(ring)] for i in idx])
    pl = PIBT()
    pl.reset(blocked, starts, goals, np.random.default_rng(0))
    pos, arrived = starts.copy(), np.zeros(len(idx), bool)
    for _ in range(200):
        nxt = pl.step(pos, goals)
        v, e = check_conflicts(pos, nxt)
        assert len(v) == 0 and len(e) == 0
        pos = nxt
        arrived |= (pos == goals).all(axis=1)
        if arrived.all():
            break
    assert arrived.all(), "PIBT must bring every agent to its goal at least once"


def test_space_time_astar_avoids_reservations():
    g = GridGraph(np.zeros((1, 5), bool))                 # a corridor 0-1-2-3-4
    res = ReservationTable(g.F)
    res.reserve([2, 2, 2, 2, 2, 2, 2])                    # someone parks on node 2 for 6 steps
    h = [abs(4 - v) for v in range(g.F)] + [0]
    assert space_time_astar(g, 0, 4, h, res, horizon=6) is not None
    path = space_time_astar(g, 0, 4, h, res, horizon=6)
    assert 2 not in path                                  # it can never pass the parked agent
    res2 = ReservationTable(g.F)
    res2.reserve([3, 2, 1])                               # an agent walking 3 -> 2 -> 1
    p = space_time_astar(g, 1, 4, h, res2, horizon=3)
    for t in range(1, len(p)):
        assert res2.move_free(p[t - 1], p[t], t)
    assert astar(g, 0, 4) == [0, 1, 2, 3, 4]


def test_independent_astar_moves_along_shortest_paths():
    rng = np.random.default_rng(2)
    free = np.argwhere(~WFI_BLOCKED)
    pos = free[rng.choice(len(free), 30, replace=False)]
    goals = free[rng.choice(len(free), 30, replace=False)]
    pl = IndependentAStar()
    pl.reset(WFI_BLOCKED, pos, goals, np.random.default_rng(0))
    nxt = pl.step(pos, goals)
    for p, q, gl in zip(pos, nxt, goals):
        d = bfs(WFI_BLOCKED, tuple(gl))
        if (p == gl).all():
            assert (q == p).all()
        else:
            assert d[tuple(q)] == d[tuple(p)] - 1


def test_highway_costs_penalise_only_against_the_lane():
    g = GridGraph(WFI_BLOCKED)
    cost = highway_costs(g, corridor_penalty=10.0, lane_penalty=0.5, scale=4)
    moves = cost[: g.F, 1:][g.nbr[: g.F, 1:] < g.F]
    assert set(np.unique(moves).tolist()) <= {4, 4 + 2, 4 + 40}
    # on any axis, of two opposite moves through the same pair of cells at most one is penalised
    for v in range(0, g.F, 7):
        for a, b in ((1, 2), (3, 4)):
            u = g.nbr[v, a]
            if u < g.F:
                assert min(cost[v, a], cost[u, b]) == 4


def test_density_guidance_grows_with_density():
    from planners.mapf.guidance import density_guidance

    low, mid, high = density_guidance(10, 1000), density_guidance(50, 1000), density_guidance(500, 1000)
    assert low == (2.0, 0.2) and high == (10.0, 0.5)
    assert low[0] < mid[0] < high[0] and low[1] < mid[1] < high[1]
    with pytest.raises(ValueError):
        density_guidance(3, 0)
