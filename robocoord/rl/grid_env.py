"""A PettingZoo ``ParallelEnv`` over the grid engine: lifelong (or one-shot) MAPF as multi-agent RL.

Each agent observes a local window around itself, as POGEMA and Follower do (Skrynnik et al.,
"Learn to Follow", AAAI 2024): ``(3, 2r+1, 2r+1)`` float32 channels

0. obstacles (cells outside the map count as obstacles),
1. other agents,
2. its own goal: the goal cell when it lies inside the window, otherwise the border cell of the
   window in the goal's direction (so the agent always knows which way to head).

Actions are POGEMA's: 0 wait, 1 up, 2 down, 3 left, 4 right. Reward: 1 when the agent reaches its
goal (lifelong: a new goal is issued at once), else 0. Conflicting moves are resolved by the grid
engine (the agents involved wait), exactly as in ``robocoord run``. Episodes end by truncation at
the scenario's ``horizon``; in one-shot tasks an agent terminates when it reaches its goal and stays
on its cell (it still blocks others), like POGEMA's ``on_target: finish``.

    env = GridMAPFParallelEnv.from_scenario("scenarios/wfi_warehouse.yaml", ["fleet.count=32"])
    obs, infos = env.reset(seed=0)
    obs, rewards, terms, truncs, infos = env.step({a: env.action_space(a).sample() for a in env.agents})
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from planners.mapf.local_view import local_windows
from robocoord.controller import Commands
from robocoord.errors import UserError
from robocoord.scenario import Scenario, load_scenario


class GridMAPFParallelEnv(ParallelEnv):
    """Lifelong/one-shot MAPF on a grid scenario as a PettingZoo parallel environment."""

    metadata = {"name": "robocoord_grid_mapf_v0", "render_modes": []}

    def __init__(self, scenario: Scenario, obs_radius: int = 5) -> None:
        if scenario.fidelity != "grid":
            raise UserError(f"GridMAPFParallelEnv needs a grid-fidelity scenario, {scenario.name!r} is {scenario.fidelity!r}")
        if obs_radius < 1:
            raise UserError(f"obs_radius must be >= 1, got {obs_radius}")
        self.scenario = scenario
        self.radius = int(obs_radius)
        self.possible_agents = [f"agent_{i}" for i in range(scenario.fleet.count)]
        self.agents: list[str] = []
        self._world: Any = None
        k = 2 * self.radius + 1
        self._obs_space = spaces.Box(0.0, 1.0, (3, k, k), np.float32)
        self._act_space = spaces.Discrete(5)

    @classmethod
    def from_scenario(cls, path: str | Path, overrides: Optional[list[str]] = None, obs_radius: int = 5) -> "GridMAPFParallelEnv":
        return cls(load_scenario(path, overrides), obs_radius)

    # PettingZoo asks for the same space object every time (lru_cache per agent id)
    @lru_cache(maxsize=None)
    def observation_space(self, agent: str) -> spaces.Space:
        return self._obs_space

    @lru_cache(maxsize=None)
    def action_space(self, agent: str) -> spaces.Space:
        return self._act_space

    def reset(self, seed: Optional[int] = None, options: Optional[dict] = None) -> tuple[dict, dict]:
        from robocoord.runner import seed_streams
        from robocoord.world import GridWorld

        sc = self.scenario if seed is None else self.scenario.with_changes(seed=int(seed))
        world_rng, _ = seed_streams(sc.seed)
        self._world = GridWorld(sc, world_rng)
        self._blocked = self._world.grid.blocked
        self.agents = list(self.possible_agents)
        self._done = np.zeros(len(self.possible_agents), bool)
        self._t = 0
        return self._observations(), {a: {} for a in self.agents}

    def _observations(self) -> dict[str, np.ndarray]:
        w = self._world
        obs = local_windows(self._blocked, w.engine.positions, w.goals, self.radius)
        return {a: obs[i] for i, a in enumerate(self.possible_agents) if a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        w = self._world
        if w is None:
            raise RuntimeError("call reset() before step()")
        act = np.zeros(w.n, np.int64)
        for a, v in actions.items():
            i = self.possible_agents.index(a)
            if not self._done[i]:
                act[i] = int(v)
        before = w.goals.copy()
        events = w.apply(Commands(actions=act))
        self._t += 1
        if w.lifelong:
            hit = (w.goals != before).any(axis=1)
        else:
            hit = w.reached & ~self._done
        truncate = self._t >= self.scenario.horizon
        live = list(self.agents)
        rewards, terms, truncs, infos = {}, {}, {}, {}
        for a in live:
            i = self.possible_agents.index(a)
            rewards[a] = float(hit[i])
            terms[a] = bool(not w.lifelong and w.reached[i])
            truncs[a] = bool(truncate)
            infos[a] = {"cell": w.engine.positions[i].tolist(), "goal": w.goals[i].tolist(),
                        "conflicts": events.vertex_conflicts + events.edge_conflicts}
        obs = self._observations()
        self._done |= np.array([terms.get(a, False) for a in self.possible_agents])
        self.agents = [a for a in live if not (terms[a] or truncs[a])]
        return obs, rewards, terms, truncs, infos

    def state(self) -> np.ndarray:
        """Global state: ``(3, H, W)`` obstacles, agents, goals (for centralised critics)."""
        w = self._world
        s = np.zeros((3,) + self._blocked.shape, np.float32)
        s[0] = self._blocked
        s[1, w.engine.positions[:, 0], w.engine.positions[:, 1]] = 1.0
        s[2, w.goals[:, 0], w.goals[:, 1]] = 1.0
        return s

    def close(self) -> None:
        if self._world is not None:
            self._world.close()
