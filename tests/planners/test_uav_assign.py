"""UAV assignment MILPs against brute force on small instances; fast layers; k-means."""
import itertools

import numpy as np
import pytest

from planners.uav_assign import fair_assign, greedy_sumrate, kmeans, lpt_pack, maxmin_assignment, sumrate_assignment


def brute_sumrate(rate, K):
    M, U = rate.shape
    best = 0.0
    for assoc in itertools.product(range(-1, M), repeat=U):
        a = np.array(assoc)
        if any((a == m).sum() > K for m in range(M)):
            continue
        best = max(best, sum(rate[m, u] for u, m in enumerate(a) if m >= 0))
    return best


def brute_maxmin(rate, K):
    """Pooled time-sharing model: users of UAV m get equal rate K / sum 1/r (capped by one block each)."""
    M, U = rate.shape
    best = 0.0
    for assoc in itertools.product(range(M), repeat=U):
        a = np.array(assoc)
        t = np.inf
        for m in range(M):
            idx = np.flatnonzero(a == m)
            if len(idx):
                t = min(t, K / np.sum(1.0 / rate[m, idx]), rate[m, idx].min())
        best = max(best, t)
    return best


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_sumrate_matches_brute_force(seed, solver):
    rng = np.random.default_rng(seed)
    M, U, K = 2, 5, 2
    rate = rng.uniform(1e4, 1e6, (M, U))
    res = sumrate_assignment(rate, K, solver=solver)
    assert res.status == "optimal" and res.gap == pytest.approx(0.0, abs=1e-6)
    assert res.objective == pytest.approx(brute_sumrate(rate, K), rel=1e-9)
    for m in range(M):  # one user per block, subchannels distinct per UAV
        subs = res.sub[res.assoc == m]
        assert len(subs) <= K and len(set(subs)) == len(subs) and np.all((subs >= 0) & (subs < K))


@pytest.mark.parametrize("seed", range(6))
def test_maxmin_matches_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    M, U, K = 2, 5, 2
    rate = rng.uniform(1e4, 1e6, (M, U))
    res = maxmin_assignment(rate, K, rel_tol=1e-4, max_iter=40)
    opt = brute_maxmin(rate, K)
    assert res.status == "optimal"
    assert res.objective <= opt * (1 + 1e-9)
    assert res.objective >= opt * (1 - 2e-4)
    assert np.all(res.assoc >= 0)  # everyone served
    # pooled capacity holds: the time fractions t / r of each UAV's users fit in its K subchannels
    need = res.objective / rate[res.assoc, np.arange(U)]
    for m in range(M):
        assert need[res.assoc == m].sum() <= K * (1 + 1e-9)
    # after packing into blocks no block is over-booked
    tot = {}
    for u in range(U):
        tot[(res.assoc[u], res.sub[u])] = tot.get((res.assoc[u], res.sub[u]), 0.0) + res.share[u]
    assert max(tot.values()) <= 1 + 1e-9


def test_maxmin_records_time_limit():
    rng = np.random.default_rng(0)
    res = maxmin_assignment(rng.uniform(1e4, 1e6, (8, 200)), 8, time_limit=0.3)
    assert res.status in ("optimal", "time_limit_feasible")
    assert res.solve_s < 3.0 and 0 <= res.gap < 1 and res.objective > 0


def test_lpt_pack_balances():
    assoc = np.zeros(6, dtype=int)
    need = np.array([0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    sub, share = lpt_pack(assoc, need, 1, 3)
    loads = [need[sub == k].sum() for k in range(3)]
    assert max(loads) - min(loads) <= 0.2 + 1e-12 and np.allclose(share, need)


def test_greedy_and_fair_layers():
    rate = np.array([[5.0, 4.0, 1.0], [1.0, 3.0, 2.0]])
    a, s = greedy_sumrate(rate, 1)
    assert list(a) == [0, 1, -1] and list(s) == [0, 0, -1]
    g = np.array([[3.0, 2.0, 1.0, 0.5], [0.1, 0.2, 5.0, 4.0]])
    a, s = fair_assign(g, 1)
    assert list(a) == [0, 0, 1, 1] and list(s) == [0, 0, 0, 0]
    a, s = fair_assign(g, 2)
    assert sorted(s[a == 0]) == [0, 1] and sorted(s[a == 1]) == [0, 1]


def test_kmeans_finds_clusters():
    rng = np.random.default_rng(1)
    centres = np.array([[100, 100], [800, 200], [500, 900]], float)
    pts = np.concatenate([c + rng.normal(0, 10, (30, 2)) for c in centres])
    c = kmeans(pts, 3, np.random.default_rng(0))
    d = np.linalg.norm(c[:, None] - centres[None], axis=-1).min(axis=0)
    assert np.all(d < 10)
    with pytest.raises(ValueError, match="at least"):
        kmeans(pts[:2], 3, rng)
