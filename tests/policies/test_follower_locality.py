"""The follower controller: a short run is reproducible, and an agent's chosen move (after the local
conflict resolution, not only the network's logits) does not depend on agents outside its window."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

import robocoord  # noqa: E402
from conftest import SCENARIOS  # noqa: E402
from planners.mapf.bench_lifelong import WFI, load_pogema_ascii  # noqa: E402
from policies.follower.planner import FollowerPlanner  # noqa: E402

BLOCKED = load_pogema_ascii(WFI) == "#"


def test_short_run_is_deterministic_for_a_seed():
    def once() -> dict:
        sc = robocoord.load_scenario(SCENARIOS / "wfi_warehouse.yaml",
                                     ["controller.name=follower", "baselines=[]", "fleet.count=48",
                                      "horizon=24", "seed=5"])
        return robocoord.run(sc).summary

    a, b = once(), once()
    assert a == b and a["vertex_conflicts"] == 0


@pytest.mark.parametrize("me,near", [((16, 20), (16, 21)), ((16, 20), (17, 20)), ((9, 11), (9, 12))])
def test_chosen_move_ignores_agents_outside_the_window(me, near):
    free = np.argwhere(~BLOCKED)
    local = np.array([me, near])
    assert not BLOCKED[local[:, 0], local[:, 1]].any()
    goals_local = np.array([[3, 30], [30, 5]])
    far = free[np.abs(free - np.array(me)).max(axis=1) > 8][::7][:60]     # > 8 cells from me, > 5 from near
    moves = []
    for cells, goals in ((local, goals_local), (np.vstack([local, far]), np.vstack([goals_local, far[::-1]]))):
        pl = FollowerPlanner()
        pl.reset(BLOCKED, cells, goals, np.random.default_rng(0))
        moves.append(pl.step(cells, goals)[:2])
    assert (moves[0] == moves[1]).all()
