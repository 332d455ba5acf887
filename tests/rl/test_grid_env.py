"""The PettingZoo adapter passes PettingZoo's own API test and observes what is really there."""
from __future__ import annotations

import numpy as np
from pettingzoo.test import parallel_api_test

from conftest import SCENARIOS
from robocoord.rl import GridMAPFParallelEnv, local_windows


def test_pettingzoo_parallel_api():
    env = GridMAPFParallelEnv.from_scenario(SCENARIOS / "wfi_warehouse.yaml", ["fleet.count=16", "horizon=60"])
    parallel_api_test(env, num_cycles=60)


def test_window_channels_are_placed_correctly():
    blocked = np.zeros((9, 9), bool)
    blocked[2, 5] = True                               # obstacle at (-2, +1) from the agent
    cells = np.array([[4, 4], [4, 6]])                 # another agent at (0, +2)
    goals = np.array([[8, 0], [4, 6]])                 # goal 4 down, 4 left: inside radius 5
    w = local_windows(blocked, cells, goals, radius=5)
    r = 5
    assert w.shape == (2, 3, 11, 11)
    assert w[0, 0, r - 2, r + 1] == 1 and w[0, 0, r, r] == 0
    assert w[0, 0, 0, 0] == 1                          # (-5, -5) is off the map: obstacle
    assert w[0, 1, r, r + 2] == 1 and w[0, 1, r, r] == 0
    assert w[0, 2, r + 4, r - 4] == 1 and w[0, 2].sum() == 1
    far = local_windows(blocked, np.array([[0, 0]]), np.array([[8, 8]]), radius=2)
    assert far[0, 2, 4, 4] == 1                        # out of view: projected onto the border corner


def test_rewards_count_reached_goals_and_episode_truncates():
    env = GridMAPFParallelEnv.from_scenario(SCENARIOS / "wfi_warehouse.yaml", ["fleet.count=8", "horizon=40"])
    obs, _ = env.reset(seed=1)
    from planners.mapf import PIBT

    pl = PIBT()
    w = env._world
    pl.reset(w.grid.blocked, w.engine.positions.copy(), w.goals.copy(), np.random.default_rng(0))
    total = 0.0
    for t in range(40):
        cur = w.engine.positions.copy()
        from planners.mapf import cells_to_actions

        act = cells_to_actions(cur, pl.step(cur, w.goals.copy()))
        obs, rew, term, trunc, info = env.step({a: act[i] for i, a in enumerate(env.possible_agents)})
        total += sum(rew.values())
    assert total > 0 and env.agents == [] and all(trunc.values())
    # the same seed gives the same observations
    o1, _ = env.reset(seed=3)
    o2, _ = env.reset(seed=3)
    assert all(np.array_equal(o1[a], o2[a]) for a in o1)
