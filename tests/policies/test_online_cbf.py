"""Online CBF policy: bounded outputs, locality and permutation equivariance of the GNN, safety of
the training simulator whatever the policy does, GAE, weights round trip (weights_only)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from policies.online_cbf.bench import gnn_step_ms
from policies.online_cbf.env import EnvConfig, SwapEnv, nearest_obstacles
from policies.online_cbf.model import (N_OBS, OnlineCBFPolicy, PolicyConfig, alpha_from_raw, knn_graph,
                                       turn_from_raw)
from policies.online_cbf.train import gae, main


def _inputs(n, rng, side=3.0):
    pos = rng.uniform(0, side, (n, 2))
    vel = rng.normal(scale=0.2, size=(n, 2))
    goal = rng.uniform(0, side, (n, 2))
    obst = np.full((n, N_OBS, 2), np.nan)
    obst[: n // 2, 0] = pos[: n // 2] + 0.3
    return pos, vel, goal, obst, rng.uniform(0, 1, n)


def test_alpha_and_turn_stay_in_range():
    cfg = PolicyConfig()
    z = torch.linspace(-50, 50, 101)
    a, t = alpha_from_raw(z, cfg), turn_from_raw(z, cfg)
    assert a.min() >= cfg.alpha_min * (1 - 1e-5) and a.max() <= (1 / cfg.dt) * (1 + 1e-5)
    assert t.abs().max() <= cfg.max_turn + 1e-6
    torch.manual_seed(0)
    pol = OnlineCBFPolicy(cfg)
    alpha, turn = pol.act(*_inputs(20, np.random.default_rng(0)))
    assert alpha.shape == (20,) and np.all(alpha * cfg.dt <= 1 + 1e-6)
    assert np.allclose(alpha, cfg.alpha_init, rtol=0.1)   # initialised at the best fixed alpha


def test_knn_graph_respects_k_and_radius():
    pos = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [5.0, 0.0], [5.5, 0.0]]])
    ei, _ = knn_graph(pos, k=2, radius=1.5)
    edges = set(map(tuple, ei.T.tolist()))
    assert edges == {(1, 0), (0, 1), (3, 2), (2, 3)}


def test_gnn_is_permutation_equivariant_and_local():
    torch.manual_seed(1)
    pol = OnlineCBFPolicy(PolicyConfig())
    with torch.no_grad():
        for p in pol.parameters():
            p.add_(0.3 * torch.randn_like(p))  # leave the near-constant initial head
    rng = np.random.default_rng(1)
    pos, vel, goal, obst, tag = _inputs(12, rng)
    a0, t0 = pol.act(pos, vel, goal, obst, tag)
    perm = rng.permutation(12)
    a1, t1 = pol.act(pos[perm], vel[perm], goal[perm], obst[perm], tag[perm])
    assert np.allclose(a1, a0[perm], atol=1e-5) and np.allclose(t1, t0[perm], atol=1e-5)
    # an agent far beyond two hops of sensing changes nothing for the others
    far = np.array([[100.0, 100.0]])
    a2, _ = pol.act(np.vstack([pos, far]), np.vstack([vel, [[0, 0]]]), np.vstack([goal, far]),
                    np.concatenate([obst, np.full((1, N_OBS, 2), np.nan)]), np.append(tag, 0.5))
    assert np.allclose(a2[:12], a0, atol=1e-5)
    assert not np.allclose(t0, t0[0])   # world-frame features: agents can break symmetry
    # the random tag alone separates agents with identical surroundings
    a3, _ = pol.act(pos, vel, goal, obst, 1.0 - tag)
    assert not np.allclose(a3, a0)


@pytest.mark.parametrize("layout", ["random", "circle"])
def test_training_env_is_safe_under_any_policy(layout):
    env = SwapEnv(EnvConfig())
    rng = np.random.default_rng(3)
    env.reset(12, layout, rng)
    for _ in range(150):  # adversarial-ish: random alpha over the whole range, random turns
        alpha = np.exp(rng.uniform(np.log(0.2), np.log(20.0), 12))
        r, done = env.step(alpha, rng.uniform(-0.8, 0.8, 12))
        assert r.shape == (12,)
        if done:
            break
    assert env.min_sep >= 2 * env.cfg.radius - 1e-9
    assert env.infeasible == 0


def test_progress_reward_is_positive_on_an_open_path():
    env = SwapEnv(EnvConfig())
    env.reset(4, "random", np.random.default_rng(0))
    env.pos = np.array([[-1.5, -1.5], [1.5, -1.5], [-1.5, 1.5], [1.5, 1.5]])
    env.goal = env.pos + np.array([0.5, 0.0])
    r, _ = env.step(np.full(4, 5.0), np.zeros(4))
    assert np.all(r > 0)


def test_nearest_obstacles_picks_two_closest_and_pads():
    pos = np.zeros((2, 2))
    q = np.array([[[3.0, 0], [1.0, 0], [np.nan, np.nan], [2.0, 0]],
                  [[np.nan, np.nan]] * 4])
    out = nearest_obstacles(q, pos, 2)
    assert np.allclose(out[0], [[1.0, 0], [2.0, 0]]) and np.isnan(out[1]).all()


def test_gae_matches_reference():
    rng = np.random.default_rng(0)
    r, v, last = rng.normal(size=(6, 3)).astype(np.float32), rng.normal(size=(6, 3)).astype(np.float32), \
        rng.normal(size=3).astype(np.float32)
    adv = gae(r, v, last, 0.9, 0.8)
    vals = np.vstack([v, last])
    deltas = r + 0.9 * vals[1:] - vals[:-1]
    ref = np.array([sum((0.9 * 0.8) ** (l - t) * deltas[l] for l in range(t, 6)) for t in range(6)])
    assert np.allclose(adv, ref, atol=1e-5)


def test_train_writes_loadable_weights(tmp_path):
    main(["--seed", "0", "--minutes", "0.001", "--out", str(tmp_path), "--batch-agent-steps", "200",
          "--epochs", "1", "--eval-seeds", "0"])
    cfg = PolicyConfig(**json.loads((tmp_path / "config.json").read_text()))
    pol = OnlineCBFPolicy(cfg)
    pol.load_state_dict(torch.load(tmp_path / "online_cbf.pt", weights_only=True))
    assert math.isclose(cfg.dt, 0.05)


def test_shipped_weights_load_and_gnn_step_is_timed():
    from robocoord.controllers.online_cbf import load_policy

    pol = load_policy()
    out = gnn_step_ms(64, reps=3, policy=pol)
    assert out["agents"] == 64 and out["cpu_ms_mean"] > 0
