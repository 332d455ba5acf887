"""Student t quantiles and mean ± CI, checked against published table values (no scipy here)."""
from __future__ import annotations

import math

import pytest

from robocoord.batch.stats import Estimate, betainc, format_estimate, mean_ci, t_cdf, t_ppf


# Reference values: mpmath at 30 digits (findroot on the regularised incomplete beta).
@pytest.mark.parametrize("df, q", [
    (1, 12.706204736174705), (2, 4.3026527297494639), (3, 3.1824463052837096), (4, 2.7764451051977944),
    (9, 2.2621571627982055), (29, 2.0452296421327043), (30, 2.0422724563012383), (127, 1.9788195347028542),
    (1000, 1.9623390808264085),
])
def test_t_ppf_975_matches_tables(df: int, q: float) -> None:
    assert t_ppf(0.975, df) == pytest.approx(q, rel=1e-10)


def test_t_ppf_other_levels_and_symmetry() -> None:
    assert t_ppf(0.995, 5) == pytest.approx(4.0321429835552281, rel=1e-10)
    assert t_ppf(0.95, 10) == pytest.approx(1.8124611228116764, rel=1e-10)
    assert t_ppf(0.025, 7) == pytest.approx(-t_ppf(0.975, 7))
    assert t_ppf(0.5, 3) == 0.0
    # Large df tends to the normal quantile.
    assert t_ppf(0.975, 1e7) == pytest.approx(1.959963984540054, rel=1e-6)


def test_t_cdf_and_betainc_identities() -> None:
    assert t_cdf(0.0, 4) == pytest.approx(0.5)
    # df = 1 is the Cauchy distribution: F(t) = 1/2 + atan(t)/pi.
    for t in (-3.0, -0.5, 0.7, 10.0):
        assert t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, abs=1e-12)
    # I_x(1, 1) = x, I_x(a, b) = 1 - I_{1-x}(b, a).
    assert betainc(1, 1, 0.3) == pytest.approx(0.3)
    assert betainc(2.5, 0.5, 0.8) == pytest.approx(1 - betainc(0.5, 2.5, 0.2))
    with pytest.raises(ValueError):
        t_ppf(1.0, 3)


def test_mean_ci_values() -> None:
    e = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert e.n == 4 and e.mean == pytest.approx(2.5)
    assert e.std == pytest.approx(math.sqrt(5 / 3))
    assert e.ci == pytest.approx(3.182446305284263 * math.sqrt(5 / 3) / 2)
    one = mean_ci([7])
    assert one.n == 1 and one.mean == 7 and one.ci is None
    assert mean_ci([]) is None
    assert mean_ci([None, float("nan"), 2.0]).n == 1  # missing values are dropped, not zeros


def test_format_estimate() -> None:
    assert format_estimate(Estimate(5, 1.23456, 0.1, 0.0567)) == "1.235 ± 0.057"
    assert format_estimate(Estimate(5, 1350.2, 300, 350.4)) == "1350 ± 350"
    assert format_estimate(Estimate(5, 3.0, 0.0, 0.0)) == "3 ± 0"
    assert format_estimate(Estimate(1, 0.125, 0.0, None)) == "0.125"
    assert format_estimate(None) == "—"
