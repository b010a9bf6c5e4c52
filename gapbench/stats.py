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
    return contrast_ci([a, b], [1.0, -1.0], seed=seed, level=level)


def contrast_ci(samples: Sequence[Sequence[float]], weights: Sequence[float], *, seed: int = 0, level: float = 0.95) -> Estimate:
    """A weighted sum of the means of independent samples, with a bootstrap CI.

    E.g. a difference of differences, (a - b) - (c - d), is ``weights=(1, -1, -1, 1)``.
    """
    xs = [np.asarray(s, dtype=float) for s in samples]
    if len(xs) != len(weights):
        raise ValueError(f"contrast_ci: {len(xs)} samples but {len(weights)} weights")
    if any(x.size == 0 for x in xs):
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    boot = sum(w * x[rng.integers(0, x.size, size=(N_BOOTSTRAP, x.size))].mean(axis=1) for w, x in zip(weights, xs))
    alpha = (1 - level) / 2
    point = sum(w * x.mean() for w, x in zip(weights, xs))
    return Estimate(float(point), float(np.quantile(boot, alpha)), float(np.quantile(boot, 1 - alpha)), int(min(x.size for x in xs)))
