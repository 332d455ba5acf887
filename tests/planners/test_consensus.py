import itertools
import math

import numpy as np
import pytest

from planners.consensus import ccloss, generalized_dice, pasac, robosac, robosac_trials


def oracle(attackers):
    return lambda sub: not (set(sub) & set(attackers))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_pasac_finds_any_attacker_subset_within_2n_minus_1_checks(n):
    ids = list(range(1, n + 1))
    for k in range(n + 1):
        for bad in itertools.combinations(ids, k):
            res = pasac(ids, oracle(bad))
            assert res.flagged == sorted(bad)
            assert res.accepted == sorted(set(ids) - set(bad))
            assert res.checks <= 2 * n - 1
            assert res.checks == len(res.log)


def test_pasac_benign_costs_one_check_and_worst_case_is_tight():
    ids = [1, 2, 3, 4, 5]
    assert pasac(ids, oracle([])).checks == 1
    worst = max(pasac(ids, oracle(bad)).checks for k in range(6) for bad in itertools.combinations(ids, k))
    assert worst == 2 * 5 - 1  # every node of the tree checked when all are attackers
    assert pasac(ids, oracle(ids), check_all_first=False).checks == 2 * 5 - 2


def test_robosac_trials_math():
    # w = C(3,3)/C(5,3) = 0.1 -> log(0.01)/log(0.9) = 43.7 -> 44
    assert robosac_trials(5, 2, 3, 0.99) == 44
    assert robosac_trials(5, 1, 4, 0.99) == math.ceil(math.log(0.01) / math.log(1 - 1 / 5))
    assert robosac_trials(5, 0, 5) == 1
    with pytest.raises(ValueError, match="no attacker-free"):
        robosac_trials(5, 3, 3)
    with pytest.raises(ValueError, match="p_success"):
        robosac_trials(5, 1, 2, 1.0)


def test_robosac_finds_consensus_and_counts_checks():
    rng = np.random.default_rng(0)
    ids = [1, 2, 3, 4, 5]
    res = robosac(ids, oracle([3]), rng, assumed_attackers=1)
    assert res.accepted == [1, 2, 4, 5] and res.flagged == [3]
    # with more attackers than assumed no sample is clean: ego only, all flagged, capped trials
    res = robosac(ids, oracle([1, 2]), rng, assumed_attackers=1)
    assert res.accepted == [] and res.flagged == ids and res.checks == 5  # all C(5,4) subsets tried
    # one clean 3-subset among C(5,3) = 10, drawn without replacement: 5.5 checks on average
    runs = [robosac(ids, oracle([2, 4]), np.random.default_rng(s), assumed_attackers=2) for s in range(400)]
    assert np.mean([r.checks for r in runs]) == pytest.approx(5.5, abs=0.4)
    assert all(r.flagged == [2, 4] for r in runs)


def test_generalized_dice_and_ccloss():
    a = np.zeros((8, 8))
    a[2:4, 2:5] = 1
    assert generalized_dice(a, a) == pytest.approx(1.0)
    assert ccloss(a, a) == pytest.approx(0.0, abs=1e-9)
    b = a.copy()
    b[6, 6] = 1  # phantom
    assert ccloss(a, b) > 0.05
    mask = np.ones_like(a, bool)
    mask[6, 6] = False  # phantom where the ego cannot see: invisible to the score
    assert ccloss(a, b, mask) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="shapes"):
        generalized_dice(a, a[:4])
