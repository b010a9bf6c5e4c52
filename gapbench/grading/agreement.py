"""Agreement between two graders on the same dialogues: Cohen's kappa on success, ICC on weighted.

The study reported these between repeated and different grader models (ICC 0.99 solo / 0.89
collaboration; Fleiss kappa 0.91 / 0.77). gapbench reports them per run between the rule grader
and the LLM grader, so a lab sees how far its grader model can be trusted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def cohen_kappa(a: Sequence[bool], b: Sequence[bool]) -> float | None:
    """Chance-corrected agreement of two binary ratings; None without data, 1.0 when both raters
    agree on every item even if expected agreement is 1 (one class only)."""
    if not a:
        return None
    x, y = np.asarray(a, bool), np.asarray(b, bool)
    observed = float(np.mean(x == y))
    expected = float(x.mean() * y.mean() + (1 - x.mean()) * (1 - y.mean()))
    if expected >= 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - expected) / (1 - expected)


def icc(a: Sequence[float], b: Sequence[float]) -> float | None:
    """ICC(2,1): two-way random effects, absolute agreement, single rater (Shrout and Fleiss)."""
    n = len(a)
    if n < 2:
        return None
    data = np.column_stack([np.asarray(a, float), np.asarray(b, float)])
    k = 2
    grand = data.mean()
    ms_rows = k * np.sum((data.mean(axis=1) - grand) ** 2) / (n - 1)
    ms_cols = n * np.sum((data.mean(axis=0) - grand) ** 2) / (k - 1)
    resid = data - data.mean(axis=1, keepdims=True) - data.mean(axis=0, keepdims=True) + grand
    ms_err = np.sum(resid**2) / ((n - 1) * (k - 1))
    denom = ms_rows + (k - 1) * ms_err + k * (ms_cols - ms_err) / n
    if denom <= 0:
        return 1.0 if np.allclose(data[:, 0], data[:, 1]) else 0.0
    return float((ms_rows - ms_err) / denom)


@dataclass(frozen=True)
class Agreement:
    n: int
    kappa_success: float | None
    icc_weighted: float | None
    exact: float  # share of dialogues with the same success and weighted outcome

    def describe(self) -> str:
        f = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
        return f"n={self.n}, Cohen's kappa (success) {f(self.kappa_success)}, ICC(2,1) (weighted) {f(self.icc_weighted)}, identical {100 * self.exact:.0f}%"


def agreement(pairs: Sequence[tuple[tuple[bool, float], tuple[bool, float]]]) -> Agreement:
    """``pairs``: per dialogue ((success, weighted) by grader A, (success, weighted) by grader B)."""
    sa = [p[0][0] for p in pairs]
    sb = [p[1][0] for p in pairs]
    wa = [p[0][1] for p in pairs]
    wb = [p[1][1] for p in pairs]
    exact = (
        float(np.mean([x == y and abs(u - v) < 1e-9 for x, y, u, v in zip(sa, sb, wa, wb)])) if pairs else 0.0
    )
    return Agreement(len(pairs), cohen_kappa(sa, sb), icc(wa, wb), exact)


def rule_vs_llm(grade_sets: Iterable[Mapping[str, Any]]) -> Agreement:
    """Agreement of the rule and the LLM grader over dialogues' grades (``record.grades``); dialogues
    without both are left out."""
    pairs = [
        ((g["rule"].success, g["rule"].weighted), (g["llm"].success, g["llm"].weighted))
        for g in grade_sets
        if "rule" in g and "llm" in g
    ]
    return agreement(pairs)
