"""Rotations (agents moving round a cycle in one step) make an ADG cyclic; the ADG planner avoids them."""
from __future__ import annotations

import numpy as np
import pytest

from planners.mapf import PIBT, check_conflicts
from planners.mapf.guidance import density_guidance
from planners.mapf_exec import build_adg
from planners.mapf_exec.rotations import RotationFreePIBT, dependency_cycle, rotation_cycles

# the map of scenarios/warehouse_physics.yaml
MAP = ["................", "................", "..###..###..###.", "..###..###..###.", "................",
       "................", "..###..###..###.", "..###..###..###.", "................", "................"]
BLOCKED = np.array([[c == "#" for c in row] for row in MAP])

SQUARE = np.array([[0, 0], [0, 1], [1, 1], [1, 0]])          # clockwise round a 2x2 block
CHAIN = np.array([[3, 0], [3, 1]])                           # agent 4 follows agent 5 along row 3


def test_rotation_found_and_following_chain_is_not_one():
    pos = np.vstack([SQUARE, CHAIN])
    nxt = np.vstack([np.roll(SQUARE, -1, axis=0), [[3, 1], [3, 2]]])
    assert len(check_conflicts(pos, nxt)[0]) == 0 and len(check_conflicts(pos, nxt)[1]) == 0
    cycles = rotation_cycles(pos, nxt)
    assert len(cycles) == 1 and sorted(cycles[0]) == [0, 1, 2, 3]
    assert rotation_cycles(pos[4:], nxt[4:]) == []


def test_adg_of_a_rotation_is_cyclic_and_of_a_chain_is_not():
    rot = np.stack([SQUARE, np.roll(SQUARE, -1, axis=0)], axis=1)         # (4, 2, 2)
    cyc = dependency_cycle(build_adg(rot))
    assert cyc is not None and sorted(i for i, _ in cyc) == [0, 1, 2, 3]
    chain = np.stack([CHAIN, CHAIN + [0, 1]], axis=1)
    assert dependency_cycle(build_adg(chain)) is None


def _plan(cls, n: int, seed: int, steps: int = 200) -> tuple[np.ndarray, int, bool]:
    free = np.argwhere(~BLOCKED)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(free), 2 * n, replace=False)
    s, g = free[pick[:n]], free[pick[n:]]
    pl = cls(*density_guidance(n, int((~BLOCKED).sum())))
    pl.reset(BLOCKED, s, g, np.random.default_rng(seed))
    pos, traj, rotations = s.copy(), [s.copy()], 0
    for _ in range(steps):
        if (pos == g).all():
            break
        nxt = pl.step(pos, g)
        v, e = check_conflicts(pos, nxt)
        assert len(v) == 0 and len(e) == 0
        rotations += len(rotation_cycles(pos, nxt))
        pos = nxt
        traj.append(pos)
    return np.stack(traj, axis=1), rotations, bool((pos == g).all())


CASES = [(16, 8), (32, 0), (32, 1), (32, 4)]                 # plain PIBT rotates on each of these


def test_plain_pibt_rotates_on_these_instances():
    assert all(_plan(PIBT, n, seed)[1] > 0 for n, seed in CASES)


@pytest.mark.parametrize("n,seed", CASES)
def test_rotation_free_pibt_plans_execute_under_random_delays(n, seed):
    paths, rotations, complete = _plan(RotationFreePIBT, n, seed)
    assert rotations == 0 and complete
    adg = build_adg(paths)
    assert dependency_cycle(adg) is None
    rng = np.random.default_rng(seed)
    pos = paths[:, 0].copy()
    for _ in range(3000):
        if adg.finished().all():
            break
        nxt = pos.copy()
        for i in range(adg.n):
            if adg.enabled(i) and rng.random() < 0.3:               # each robot late at random
                nxt[i] = adg.target_cell(i)
        v, e = check_conflicts(pos, nxt)
        assert len(v) == 0 and len(e) == 0
        for i in np.flatnonzero((nxt != pos).any(axis=1)):
            adg.complete(int(i))
        pos = nxt
    assert adg.finished().all() and (pos == paths[:, -1]).all()
