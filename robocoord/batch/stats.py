"""Mean and 95 % confidence interval of a metric over seeds, with Student's t quantile (no scipy).

The t quantile inverts the t CDF, written through the regularised incomplete beta function
(continued fraction, Lentz's method; Press et al., *Numerical Recipes* 3rd ed., §6.4):
``F(t; nu) = 1 - I_{nu/(nu+t^2)}(nu/2, 1/2) / 2`` for t >= 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Optional


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function I_x(a, b) for a, b > 0 and 0 <= x <= 1."""
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"betainc: x must lie in [0, 1], got {x}")
    if x in (0.0, 1.0):
        return x
    lbeta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    front = math.exp(lbeta + a * math.log(x) + b * math.log1p(-x))
    # The continued fraction converges fast for x < (a+1)/(a+b+2); use the symmetry otherwise.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Student's t cumulative distribution function."""
    if df <= 0:
        raise ValueError(f"t_cdf: degrees of freedom must be positive, got {df}")
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


@lru_cache(maxsize=512)
def t_ppf(p: float, df: float) -> float:
    """Quantile of Student's t (inverse CDF), accurate to ~1e-12, by bisection on the monotone CDF."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"t_ppf: p must lie in (0, 1), got {p}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_ppf(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


@dataclass(frozen=True)
class Estimate:
    """Sample mean with a two-sided confidence interval half-width (None when n < 2)."""

    n: int
    mean: float
    std: float
    ci: Optional[float]

    @property
    def low(self) -> float:
        return self.mean - (self.ci or 0.0)

    @property
    def high(self) -> float:
        return self.mean + (self.ci or 0.0)


def mean_ci(values: Iterable[float], level: float = 0.95) -> Optional[Estimate]:
    """Mean ± t_{(1+level)/2, n-1} * s / sqrt(n); NaN/None values are dropped; None if nothing is left."""
    xs = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    n = len(xs)
    if n == 0:
        return None
    mean = math.fsum(xs) / n
    if n == 1 or not math.isfinite(mean):
        return Estimate(n, mean, 0.0 if n == 1 else math.nan, None)
    var = math.fsum((x - mean) ** 2 for x in xs) / (n - 1)
    std = math.sqrt(var)
    return Estimate(n, mean, std, t_ppf(0.5 + level / 2.0, n - 1) * std / math.sqrt(n))


def format_estimate(e: Optional[Estimate], plus_minus: str = "±") -> str:
    """``1.235 ± 0.057``: the mean gets the decimals of the CI's second significant digit."""
    if e is None:
        return "—"
    if not math.isfinite(e.mean):
        return str(e.mean)
    if e.ci is None or not math.isfinite(e.ci):
        return _fmt_plain(e.mean)
    if e.ci == 0.0:
        return f"{_fmt_plain(e.mean)} {plus_minus} 0"
    decimals = min(8, max(0, 1 - math.floor(math.log10(e.ci))))
    return f"{e.mean:.{decimals}f} {plus_minus} {e.ci:.{decimals}f}"


def _fmt_plain(x: float) -> str:
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.4g}"
