"""Statistics for reports and summaries: means with percentile-bootstrap 95% confidence intervals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

N_BOOTSTRAP = 10_000


@dataclass(frozen=True)
class Estimate:
    mean: float
    low: float  # 95% CI bounds
    high: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.2f} [{self.low:.2f}, {self.high:.2f}]"


def mean_ci(values: Sequence[float], *, seed: int = 0, level: float = 0.95) -> Estimate:
    """Mean and percentile-bootstrap CI. Deterministic for a given seed; n=1 gives a zero-width CI."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    idx = np.random.default_rng(seed).integers(0, x.size, size=(N_BOOTSTRAP, x.size))
    means = x[idx].mean(axis=1)
    alpha = (1 - level) / 2
    return Estimate(float(x.mean()), float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha)), int(x.size))


def diff_ci(a: Sequence[float], b: Sequence[float], *, seed: int = 0, level: float = 0.95) -> Estimate:
    """Difference of means a - b of two independent samples, with a bootstrap CI."""
    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if xa.size == 0 or xb.size == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    da = xa[rng.integers(0, xa.size, size=(N_BOOTSTRAP, xa.size))].mean(axis=1)
    db = xb[rng.integers(0, xb.size, size=(N_BOOTSTRAP, xb.size))].mean(axis=1)
    alpha = (1 - level) / 2
    d = da - db
    return Estimate(float(xa.mean() - xb.mean()), float(np.quantile(d, alpha)), float(np.quantile(d, 1 - alpha)), int(min(xa.size, xb.size)))
