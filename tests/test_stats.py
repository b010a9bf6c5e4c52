"""gapbench.stats on synthetic studies with a known truth: coverage, pairing, null p-values, clustering, Holm."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gapbench.stats import bootstrap_means, holm, mean_ci, paired_contrast, sign_flip_p

RESAMPLES = 1_000  # per simulated study; the report uses 10,000


def _study(
    rng: np.random.Generator,
    mazes: int,
    rollouts: int,
    effect: float,
    *,
    maze_sd: float,
    interaction_sd: float,
    rollout_sd: float,
):
    """Two cells on the same mazes: a shared maze effect, a per-maze wobble of the effect, and rollout noise."""
    maze = rng.normal(0, maze_sd, (mazes, 1))
    a = (
        maze
        + effect
        + rng.normal(0, interaction_sd, (mazes, 1))
        + rng.normal(0, rollout_sd, (mazes, rollouts))
    )
    b = maze + rng.normal(0, rollout_sd, (mazes, rollouts))
    ids = [f"m{i}" for i in range(mazes)]
    return dict(zip(ids, a.tolist())), dict(zip(ids, b.tolist()))


def _ks_uniform(p: np.ndarray) -> float:
    """Kolmogorov-Smirnov distance between the sample's CDF and the uniform one."""
    x = np.sort(p)
    i = np.arange(1, x.size + 1)
    return float(max(np.max(i / x.size - x), np.max(x - (i - 1) / x.size)))


def test_paired_ci_covers_the_truth_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(15)
    effect, hits, studies = 0.1, 0, 1000
    for s in range(studies):
        a, b = _study(rng, 100, 2, effect, maze_sd=0.3, interaction_sd=0.1, rollout_sd=0.25)
        d = paired_contrast([a, b], [1, -1], seed=s, resamples=RESAMPLES)
        hits += d.low <= effect <= d.high
    assert abs(hits / studies - 0.95) <= 0.02, hits / studies


def test_paired_ci_is_narrower_than_unpaired_when_mazes_differ() -> None:
    rng = np.random.default_rng(1)
    a, b = _study(rng, 60, 1, 0.1, maze_sd=0.4, interaction_sd=0.05, rollout_sd=0.05)
    paired = paired_contrast([a, b], [1, -1])
    ma, mb = (np.array([np.mean(v) for v in cell.values()]) for cell in (a, b))
    unpaired = np.quantile(bootstrap_means(ma, seed=1) - bootstrap_means(mb, seed=2), [0.025, 0.975])
    assert paired.low <= 0.1 <= paired.high and unpaired[0] <= 0.1 <= unpaired[1]
    assert (
        paired.high - paired.low < (unpaired[1] - unpaired[0]) / 4
    )  # the maze effect cancels only when paired
    assert paired.significant and unpaired[0] < 0  # so only the paired analysis detects the effect


def test_null_effect_gives_uniform_p_values() -> None:
    rng = np.random.default_rng(7)
    weighted, success = [], []
    for s in range(1000):
        a, b = _study(rng, 30, 2, 0.0, maze_sd=0.3, interaction_sd=0.1, rollout_sd=0.25)
        weighted.append(paired_contrast([a, b], [1, -1], seed=s, resamples=RESAMPLES).p)
        # success: one dialogue per maze and cell, the same chance on both sides (McNemar's null)
        chance = rng.uniform(0.1, 0.9, 30)
        ids = [f"m{i}" for i in range(30)]
        sa, sb = ({m: [float(x)] for m, x in zip(ids, rng.random(30) < chance)} for _ in range(2))
        success.append(paired_contrast([sa, sb], [1, -1], binary=True, seed=s, resamples=RESAMPLES).p)
    p = np.array(weighted)
    assert _ks_uniform(p) < 1.63 / math.sqrt(p.size)  # KS at the 1% level
    assert abs(np.mean(p < 0.05) - 0.05) < 0.02
    # McNemar's p-values are discrete, so not uniform, but they must not reject more often than promised
    assert np.mean(np.array(success) < 0.05) <= 0.05 + 0.015


def test_clustered_rollouts_widen_the_ci_of_a_mean() -> None:
    """Rollouts of one maze share its difficulty: intraclass correlation 0.5 and 5 rollouts make the
    variance of the mean 1 + 4 * 0.5 = 3 times what independent draws would give."""
    rng = np.random.default_rng(3)
    ratios, covered, naive_covered, studies = [], 0, 0, 300
    for s in range(studies):
        values = (rng.normal(0, 0.3, (80, 1)) + rng.normal(0, 0.3, (80, 5))).ravel()
        mazes = [f"m{i // 5}" for i in range(values.size)]
        clustered, naive = (
            mean_ci(values, clusters=mazes, seed=s, resamples=RESAMPLES),
            mean_ci(values, seed=s, resamples=RESAMPLES),
        )
        assert clustered.n == 400 and clustered.mazes == 80 and naive.mazes == 400
        ratios.append((clustered.high - clustered.low) / (naive.high - naive.low))
        covered += clustered.low <= 0 <= clustered.high
        naive_covered += naive.low <= 0 <= naive.high
    assert np.mean(ratios) == pytest.approx(math.sqrt(3), rel=0.1)
    assert covered / studies > 0.92 and naive_covered / studies < 0.8


def test_only_mazes_finished_by_every_cell_are_compared() -> None:
    a = {"m1": [1.0], "m2": [0.0, 1.0], "m3": [1.0]}
    b = {"m2": [0.0], "m3": [0.0], "m4": [1.0], "m5": []}
    d = paired_contrast([a, b], [1, -1])
    assert d.mazes == 2 and d.dialogues == 5 and d.mean == pytest.approx(((0.5 - 0) + (1 - 0)) / 2)
    assert paired_contrast([a, {"m9": [1.0]}], [1, -1]) is None
    with pytest.raises(ValueError, match="2 cells but 1 weights"):
        paired_contrast([a, b], [1])
    with pytest.raises(ValueError, match="3 values but 2 cluster labels"):
        mean_ci([1.0, 0.0, 1.0], clusters=["a", "b"])


def test_sign_flips_of_equal_differences_are_mcnemars_exact_test() -> None:
    for pos, neg in ((9, 2), (30, 14), (5, 5)):  # enumerated (11 discordant) and binomial (44) paths
        d = [1.0] * pos + [-1.0] * neg + [0.0] * 7  # concordant mazes do not count
        k, low = pos + neg, min(pos, neg)
        exact = min(1.0, 2 * sum(math.comb(k, j) for j in range(low + 1)) / 2**k)
        assert sign_flip_p(d) == pytest.approx(exact)
    assert sign_flip_p([0.0, 0.0]) == 1.0
    a = {f"m{i}": [float(i < 9)] for i in range(12)}
    b = {f"m{i}": [float(i >= 9 and i < 11)] for i in range(12)}
    d = paired_contrast([a, b], [1, -1], binary=True)
    assert d.test == "McNemar exact" and d.p == pytest.approx(
        2 * sum(math.comb(11, j) for j in range(3)) / 2**11
    )


def test_random_sign_flips_agree_with_the_exact_distribution() -> None:
    rng = np.random.default_rng(0)
    d = rng.normal(0.3, 1.0, 12)  # exact: 2**12 patterns
    exact = sign_flip_p(d)
    d13 = np.append(d, 1e-3)  # one more, tiny: the p-value barely moves, now from random flips
    assert sign_flip_p(d13, n=20_000) == pytest.approx(exact, abs=0.01)


def test_holm_adjusts_step_down() -> None:
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0]) and holm([]) == []


def test_components_split_maze_and_rollout_variance() -> None:
    rng = np.random.default_rng(5)
    a, b = _study(rng, 2000, 4, 0.0, maze_sd=0.5, interaction_sd=0.2, rollout_sd=0.3)
    c = paired_contrast([a, b], [1, -1], resamples=200).components
    assert c.within == pytest.approx(0.09, rel=0.05) and c.between == pytest.approx(0.04, rel=0.15)
    assert c.total == pytest.approx(0.04 + 2 * 0.09 / 4, rel=0.1) and (c.scale, c.rollouts) == (2.0, 4.0)
