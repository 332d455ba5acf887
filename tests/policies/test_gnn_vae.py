"""GNN-VAE scheduler: features, batched sampling, feasibility of every decoded sample (property
test over random graphs), shipped weights, dataset labels."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
pytest.importorskip("torch_geometric")

from planners.scheduling.baselines import fifo  # noqa: E402
from planners.scheduling.decode import ranks_to_choices  # noqa: E402
from planners.scheduling.evaluate import evaluate  # noqa: E402
from planners.scheduling.graph import build_graph  # noqa: E402
from planners.scheduling.instances import open_area_instance  # noqa: E402
from policies.gnn_vae.model import (EDGE_DIM, NODE_DIM, WEIGHTS, Config, GnnVae,  # noqa: E402
                                    graph_tensors, load)
from policies.gnn_vae.scheduler import GnnVaeScheduler  # noqa: E402


def _decode_tests():
    """The rank decoder's tests own the random-graph strategy; reuse it (forced orders on)."""
    path = Path(__file__).resolve().parents[1] / "planners" / "test_sched_decode.py"
    spec = importlib.util.spec_from_file_location("_sched_decode_tests", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


random_graphs = _decode_tests().random_graphs


def _random_model(seed: int, scale: float = 1.0) -> GnnVae:
    torch.manual_seed(seed)
    m = GnnVae(Config(hidden=16, latent=4, enc_layers=1, dec_layers=2, heads=2))
    with torch.no_grad():  # large random rank offsets: the decoder must stay feasible anyway
        for p in m.rank_head[-1].parameters():
            p.normal_(0, scale)
    return m.eval()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(random_graphs(forced=True), st.integers(0, 1000), st.sampled_from([0.1, 10.0]))
def test_every_decoded_sample_is_feasible(graph_rng, seed, scale):
    g, rng = graph_rng
    sch = GnnVaeScheduler(_random_model(seed, scale))
    k = 6
    z = torch.from_numpy(rng.standard_normal((k, 4)).astype(np.float32))
    ranks, modes = sch.raw(g, z)
    for s in range(k):
        ch = ranks_to_choices(g, ranks[s], modes[s])
        sc = evaluate(g, ch)
        assert not sc.deadlock and sc.violations == []
        used = np.bincount(g.edge_region[ch.follow], minlength=g.n_regions)
        assert np.all(used <= g.region_cap)
    res = sch(g, rng, k=k)
    assert res.feasible == res.samples == k


def _small_graph(n=8, seed=3):
    return build_graph(open_area_instance(n, np.random.default_rng(seed)))


def test_features_shapes_and_batching_equals_single_passes():
    g = _small_graph()
    d = graph_tensors(g)
    P, E = g.prec_edges.shape[1], g.n_edges
    assert d.x.shape == (g.n_nodes, NODE_DIM)
    assert d.edge_attr.shape == (P + 2 * E, EDGE_DIM)
    assert torch.isfinite(d.x).all() and torch.isfinite(d.edge_attr).all()
    sch = GnnVaeScheduler(_random_model(0))
    z = torch.randn(3, 4)
    ranks, modes = sch.raw(g, z)  # one batched pass over 3 copies
    for s in range(3):
        r1, m1 = sch.raw(g, z[s:s + 1])
        np.testing.assert_allclose(ranks[s], r1[0], atol=1e-5)
        np.testing.assert_allclose(modes[s], m1[0], atol=1e-5)
    assert not np.allclose(ranks[0], ranks[1])  # the latent changes the decode


def test_untrained_rank_head_decodes_fifo():
    """The rank head starts at zero: rank = nominal entry time, i.e. FIFO's order."""
    g = _small_graph()
    torch.manual_seed(0)
    m = GnnVae(Config(hidden=16, latent=4)).eval()
    res = GnnVaeScheduler(m)(g, np.random.default_rng(0), use_vae=False)
    assert np.array_equal(res.choices.first, fifo(g).choices.first)
    assert res.samples == 1


def test_bad_arguments_are_rejected(tmp_path):
    g = _small_graph()
    with pytest.raises(ValueError, match="k: need at least one sample"):
        GnnVaeScheduler(_random_model(0))(g, np.random.default_rng(0), k=0)
    with pytest.raises(FileNotFoundError, match="no GNN-VAE weights"):
        load(tmp_path / "missing.pt")


@pytest.mark.skipif(not (WEIGHTS / "gnn_vae.pt").is_file(), reason="no shipped weights")
def test_shipped_weights_load_and_schedule_feasibly():
    cfg = json.loads((WEIGHTS / "gnn_vae.json").read_text())
    assert "training" in cfg and "command" in cfg["training"]
    m = load()  # weights_only=True inside
    g = _small_graph(12, 5)
    res = GnnVaeScheduler(m)(g, np.random.default_rng(0), k=8)
    assert res.feasible == 8
    assert res.schedule.feasible
    assert res.objective <= res.objectives.min() + 1e-9


def test_dataset_labels_decode_back_to_the_milp_solution(tmp_path):
    from policies.gnn_vae.dataset import generate, load as load_ds, main

    out = tmp_path / "d.pkl"
    assert main(["--out", str(out), "--count", "3", "--n-min", "4", "--n-max", "6",
                 "--milp-time", "5", "--workers", "1"]) == 0
    samples = load_ds(str(out))
    assert samples
    for s in samples:
        back = evaluate(s.graph, ranks_to_choices(s.graph, s.entry,
                                                  np.where(s.follow, 1.0, -1.0)))
        assert back.objective == pytest.approx(s.milp_J, rel=1e-6)
        assert s.milp_J <= s.fifo_J + 1e-6
    with pytest.raises(ValueError, match="not a GNN-VAE dataset"):
        bad = tmp_path / "bad.pkl"
        import pickle

        bad.write_bytes(pickle.dumps([1, 2]))
        load_ds(str(bad))
    assert generate  # public API
