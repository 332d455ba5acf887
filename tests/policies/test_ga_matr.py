"""GA-MATR-style policy: the numpy env, graph construction, size-agnostic actor, shipped weights."""
import numpy as np
import pytest
import torch

from policies.ga_matr.env import MOVES, EnvConfig, VecUavEnv
from policies.ga_matr.model import GatActorCritic, graph_batch, mlp_features, node_features
from policies.ga_matr.policy import WEIGHTS, MovePolicy, inputs
from policies.ga_matr.train import main as train_main


def test_env_seeded_and_reward_matches_radio():
    cfg = EnvConfig(n_uav=3, n_users=12, horizon=5)
    a, b = VecUavEnv(cfg, 2, seed=1), VecUavEnv(cfg, 2, seed=1)
    acts = np.array([[1, 3, 0], [5, 7, 8]])
    ra, _ = a.step(acts)
    rb, _ = b.step(acts)
    assert np.array_equal(ra, rb)
    from sim.radio import jain

    r = a.last_rate[0]
    assert ra[0] == pytest.approx(jain(r) * r.sum() / (12 * 180e3) - a.violations[0])
    assert np.allclose(np.linalg.norm(MOVES[1:], axis=1), 1.0)


def test_env_resets_at_horizon():
    env = VecUavEnv(EnvConfig(n_uav=2, n_users=5, horizon=3), 1, seed=0)
    dones = [env.step(np.zeros((1, 2), int))[1][0] for _ in range(3)]
    assert dones == [False, False, True] and env.t == 0


def test_graph_batch_edges():
    E, M, U = 2, 3, 5
    hist = np.random.default_rng(0).uniform(0, 1000, (E, 3, M, 2))
    users = np.random.default_rng(1).uniform(0, 1000, (E, U, 2))
    uf, sf = node_features(hist, users, np.zeros((E, U)), 1000.0, 10.0, 1e6)
    x, ei, ea = graph_batch(uf, sf, 1000.0)
    assert x.shape == (E * (M + U), uf.shape[-1])
    assert ei.shape[1] == E * (M * (M - 1) + U * M)
    assert int(ei[1].max()) < E * (M + U) and torch.all(ei[1] % (M + U) < M)  # every edge ends at a UAV
    assert ea.shape == (ei.shape[1], 3)


@pytest.mark.parametrize("M,U", [(4, 40), (8, 200), (16, 400)])
def test_gat_actor_is_size_agnostic(M, U):
    rng = np.random.default_rng(0)
    hist, users = rng.uniform(0, 1000, (1, 3, M, 2)), rng.uniform(0, 1000, (1, U, 2))
    x, shp = inputs("gat", hist, users, np.zeros((1, U)), 1000.0, 10.0, 1e6)
    net = GatActorCritic(x[0].shape[1])
    assert net.logits(x, *shp).shape == (1, M, 9) and net.value(x, *shp).shape == (1, M)
    assert mlp_features(hist, users, np.zeros((1, U)), 1000.0, 10.0, 1e6).shape[:2] == (1, M)


@pytest.mark.parametrize("which", ["gat", "gat_sumrate", "mlp"])
def test_shipped_weights_load_weights_only(which):
    pol = MovePolicy(which)
    assert pol.cfg["arch"] == which.split("_")[0] and "command" in pol.cfg["train"]
    rng = np.random.default_rng(0)
    a = pol.act(rng.uniform(0, 1000, (pol.history, 8, 2)), rng.uniform(0, 1000, (200, 2)), np.zeros(200), 1000.0)
    assert a.shape == (8,) and a.min() >= 0 and a.max() < 9


def test_train_smoke(tmp_path):
    train_main(["--arch", "mlp", "--minutes", "0.02", "--envs", "2", "--rollout", "10", "--out", str(tmp_path)])
    assert (tmp_path / "mlp_log.json").exists()
