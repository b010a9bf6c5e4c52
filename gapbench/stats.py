"""Statistics for reports: maze-clustered bootstrap CIs, paired contrasts on shared mazes, sign-flip tests, Holm.

Every comparison of the study is made on the same mazes and rollouts are nested in mazes, so the
unit of resampling is the maze: a maze's dialogues travel together, and both sides of a contrast
are evaluated on the same resampled mazes, so maze difficulty cancels. docs/STATISTICS.md explains
the model and why rollouts are not resampled a second time inside each maze.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

N_BOOTSTRAP = 10_000
N_FLIPS = 10_000  # random sign patterns when the exact null distribution is too large to enumerate
EXACT_FLIPS = 12  # up to 2**12 patterns are enumerated exactly
ALPHA = 0.05
METHOD = (
    f"Means: percentile bootstrap over mazes ({N_BOOTSTRAP:,} resamples; a maze's rollouts stay together). "
    "Differences: paired on the mazes both sides finished, both sides on the same resampled mazes; "
    "p-values by sign flips of the per-maze difference (weighted outcome) and McNemar's test, exact or "
    "clustered by maze (success); Holm-adjusted across the report's comparisons of each outcome. "
    "See docs/STATISTICS.md."
)

Sample = Mapping[str, Sequence[float]]  # maze id -> outcomes of that maze's dialogues


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95% CI; ``mazes`` counts the clusters resampled (each dialogue its own when unclustered)."""

    mean: float
    low: float
    high: float
    n: int  # dialogues
    mazes: int = 0

    def __str__(self) -> str:
        return f"{self.mean:.2f} [{self.low:.2f}, {self.high:.2f}]"


@dataclass(frozen=True)
class Components:
    """Where the variance of a contrast's per-maze value comes from, for planning (gapbench.power).

    Var(per-maze contrast with n dialogues per cell) = between + scale * within / n.
    """

    total: float  # observed variance across mazes of the per-maze contrast
    within: (
        float | None
    )  # variance of one dialogue around its maze's cell mean, pooled; None: no maze has two
    between: float | None  # variance across mazes of the true per-maze contrast (total minus rollout noise)
    scale: float  # sum of squared contrast weights: how many cells' rollout noise adds up
    rollouts: float  # mean dialogues per maze and cell in this sample


@dataclass(frozen=True)
class Difference:
    """A paired contrast of cells on the mazes all of them finished."""

    mean: float
    low: float  # 95% CI bounds, cluster bootstrap over the shared mazes
    high: float
    mazes: int  # shared mazes compared
    dialogues: int
    p: float  # two-sided, unadjusted
    test: str
    binary: bool  # a difference of success rates (its own Holm family)
    components: Components
    p_adjusted: float | None = None  # Holm across the report's family; set by the report

    @property
    def significant(self) -> bool:
        p = self.p if self.p_adjusted is None else self.p_adjusted
        return p < ALPHA

    def __str__(self) -> str:
        return f"{self.mean:+.2f} [{self.low:.2f}, {self.high:.2f}]"


def _chunks(total: int, width: int, budget: int = 4_000_000) -> Iterator[int]:
    """Row counts that keep a (rows x width) block under ``budget`` cells."""
    step = max(1, budget // max(width, 1))
    for start in range(0, total, step):
        yield min(step, total - start)


def bootstrap_means(values: np.ndarray, *, seed: int = 0, n: int = N_BOOTSTRAP) -> np.ndarray:
    """Means of ``n`` resamples (with replacement, same size) of ``values``: one value per maze."""
    rng = np.random.default_rng(seed)
    k = values.size
    return np.concatenate([values[rng.integers(0, k, size=(rows, k))].mean(axis=1) for rows in _chunks(n, k)])


def _interval(boot: np.ndarray, level: float) -> tuple[float, float]:
    alpha = (1 - level) / 2
    return float(np.quantile(boot, alpha)), float(np.quantile(boot, 1 - alpha))


def mean_ci(
    values: Sequence[float],
    *,
    clusters: Sequence[str] | None = None,
    seed: int = 0,
    level: float = 0.95,
    resamples: int = N_BOOTSTRAP,
) -> Estimate:
    """Mean and percentile-bootstrap CI, resampling clusters (mazes) when given, else single values.

    With clusters the mean is the mean of the cluster means (every maze counts once). Deterministic for
    a seed; one cluster gives a zero-width CI.
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return Estimate(math.nan, math.nan, math.nan, 0, 0)
    if clusters is None:
        means = x
    else:
        if len(clusters) != x.size:
            raise ValueError(f"mean_ci: {x.size} values but {len(clusters)} cluster labels")
        _, inverse = np.unique(np.asarray(clusters), return_inverse=True)
        means = np.bincount(inverse, weights=x) / np.bincount(inverse)
    low, high = _interval(bootstrap_means(means, seed=seed, n=resamples), level)
    return Estimate(float(means.mean()), low, high, int(x.size), int(means.size))


def sign_flip_p(d: Sequence[float] | np.ndarray, *, seed: int = 0, n: int = N_FLIPS) -> float:
    """Two-sided p-value of mean(d) = 0 when each maze's difference is as likely negated (paired permutation).

    Exact by enumeration for few non-zero differences, exact by the binomial when all have one size
    (then it is McNemar's exact test), else from ``n`` random sign patterns.
    """
    x = np.asarray(d, dtype=float)
    x = x[x != 0]
    k = x.size
    if k == 0:
        return 1.0
    observed = abs(x.sum())
    tol = 1e-9 * (1 + np.abs(x).sum())
    if k <= EXACT_FLIPS:
        signs = ((np.arange(2**k)[:, None] >> np.arange(k)) & 1) * 2 - 1
        return float(np.mean(np.abs(signs @ x) >= observed - tol))
    size = np.abs(x)
    if np.all(np.abs(size - size[0]) <= tol):  # binomial: |#positive - #negative| at least as large
        excess = round(observed / size[0])
        hits = sum(math.comb(k, j) for j in range(k + 1) if abs(2 * j - k) >= excess)
        return min(1.0, hits / 2**k)
    rng = np.random.default_rng(seed)
    extreme = sum(
        int(np.sum(np.abs((rng.integers(0, 2, size=(rows, k)) * 2 - 1) @ x) >= observed - tol))
        for rows in _chunks(n, k)
    )
    return (1 + extreme) / (1 + n)


def components(
    cells: Sequence[Sample], weights: Sequence[float], mazes: Sequence[str], per_maze: np.ndarray
) -> Components:
    """Split the variance of a per-maze contrast into maze-to-maze and rollout-to-rollout parts."""
    total = float(per_maze.var(ddof=1)) if per_maze.size > 1 else math.nan
    ss = df = 0.0
    for cell in cells:
        for m in mazes:
            v = cell[m]
            if len(v) > 1:
                mean = sum(v) / len(v)
                ss += sum((x - mean) ** 2 for x in v)
                df += len(v) - 1
    within = ss / df if df else None
    noise = sum(w * w / len(cell[m]) for cell, w in zip(cells, weights) for m in mazes) / len(mazes)
    between = None if within is None or math.isnan(total) else max(0.0, total - within * noise)
    rollouts = sum(len(cell[m]) for cell in cells for m in mazes) / (len(cells) * len(mazes))
    return Components(total, within, between, float(sum(w * w for w in weights)), rollouts)


def shared_mazes(cells: Sequence[Sample]) -> list[str]:
    """Mazes with at least one dialogue in every cell, in a stable order."""
    common = set.intersection(*({m for m, v in c.items() if len(v)} for c in cells)) if cells else set()
    return sorted(common)


def paired_contrast(
    cells: Sequence[Sample],
    weights: Sequence[float],
    *,
    binary: bool = False,
    seed: int = 0,
    level: float = 0.95,
    resamples: int = N_BOOTSTRAP,
) -> Difference | None:
    """Sum of weight x cell mean on the mazes every cell finished, with a cluster-bootstrap CI and a p-value.

    E.g. a difference a - b is ``weights=(1, -1)``, a difference of differences ``(1, -1, -1, 1)``.
    ``binary``: 0/1 outcomes, tested with McNemar (exact with one dialogue per maze and cell, else
    clustered: sign flips of per-maze rates). ``resamples``: bootstrap resamples and random sign patterns.
    None when the cells share no maze.
    """
    if len(cells) != len(weights):
        raise ValueError(f"paired_contrast: {len(cells)} cells but {len(weights)} weights")
    mazes = shared_mazes(cells)
    if not mazes:
        return None
    per_maze = np.array(
        [sum(w * sum(cell[m]) / len(cell[m]) for cell, w in zip(cells, weights)) for m in mazes], dtype=float
    )
    low, high = _interval(bootstrap_means(per_maze, seed=seed, n=resamples), level)
    single = all(len(cell[m]) == 1 for cell in cells for m in mazes)
    test = (
        ("McNemar exact" if single else "clustered McNemar (sign flips by maze)")
        if binary
        else "sign flips by maze"
    )
    return Difference(
        mean=float(per_maze.mean()),
        low=low,
        high=high,
        mazes=len(mazes),
        dialogues=sum(len(cell[m]) for cell in cells for m in mazes),
        p=sign_flip_p(per_maze, seed=seed, n=resamples),
        test=test,
        binary=binary,
        components=components(cells, weights, mazes, per_maze),
    )


def holm(p: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment: controls the chance of any false rejection among these tests."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    adjusted = [0.0] * len(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def paired_ratio(
    cells: Sequence[Sample],
    numerator: Sequence[float],
    denominator: Sequence[float],
    *,
    seed: int = 0,
    level: float = 0.95,
    resamples: int = N_BOOTSTRAP,
) -> Estimate | None:
    """Ratio of two contrasts of the same cells (e.g. the share of a gap an intervention closes), on the
    mazes every cell finished; both contrasts are taken on the same resampled mazes. None when the
    cells share no maze or the denominator's mean is not positive (no gap to close)."""
    mazes = shared_mazes(cells)
    if not mazes:
        return None
    means = np.array([[sum(cell[m]) / len(cell[m]) for m in mazes] for cell in cells], dtype=float)
    num, den = np.asarray(numerator, dtype=float) @ means, np.asarray(denominator, dtype=float) @ means
    if den.mean() <= 0:
        return None
    rng = np.random.default_rng(seed)
    k = len(mazes)
    ratios = []
    for rows in _chunks(resamples, k):
        idx = rng.integers(0, k, size=(rows, k))
        d = den[idx].mean(axis=1)
        ratios.append(np.where(d > 0, num[idx].mean(axis=1) / np.where(d > 0, d, 1.0), np.nan))
    boot = np.concatenate(ratios)
    boot = boot[~np.isnan(boot)]
    low, high = _interval(boot, level) if boot.size else (math.nan, math.nan)
    return Estimate(
        float(num.mean() / den.mean()), low, high, sum(len(cell[m]) for cell in cells for m in mazes), k
    )
