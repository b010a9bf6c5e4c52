"""How estimates, differences and contrasts print in a report table cell, and the shared headers."""

from __future__ import annotations

import math

from gapbench.report.measures import Contrast, Metrics
from gapbench.stats import ALPHA, Difference, Estimate


def est(e: Estimate | None) -> str:
    return "-" if e is None or math.isnan(e.mean) else str(e)


def est_n(e: Estimate | None, errors: int = 0) -> str:
    """An estimate with its n, and the engine errors counted in n (they score 0), if any."""
    if e is None or e.n == 0:
        return "-"
    return f"{e} (n={e.n}, {errors} error{'s' if errors != 1 else ''})" if errors else f"{e} (n={e.n})"


def weighted_cell(m: Metrics | None) -> str:
    return est_n(m.weighted, m.errors) if m else "-"


def success_cell(m: Metrics | None) -> str:
    return est(m.success) if m else "-"


def num(x: float | None, fmt: str = ".2f") -> str:
    return "-" if x is None else format(x, fmt)


def p_value(d: Difference) -> str:
    p = d.p if d.p_adjusted is None else d.p_adjusted
    return ("<0.001" if p < 0.001 else f"{p:.3f}") + (" *" if d.significant else "")


DIFF_HEADERS = ["difference [95% CI]", "p (Holm)", "mazes"]
CONTRAST_HEADERS = [
    "weighted: difference [95% CI]",
    "p (Holm)",
    "success: difference [95% CI]",
    "p (Holm)",
    "mazes",
]
SIGNIFICANCE = f"Differences are paired by maze; * marks a Holm-adjusted p below {ALPHA}."


def diff_cells(d: Difference | None) -> list[str]:
    """Estimate [CI], adjusted p and mazes of one paired difference."""
    return ["-", "-", "-"] if d is None else [str(d), p_value(d), str(d.mazes)]


def contrast_cells(c: Contrast | None) -> list[str]:
    if c is None:
        return ["-"] * len(CONTRAST_HEADERS)
    return [*diff_cells(c.weighted)[:2], *diff_cells(c.success)]


def pct(e: Estimate | None) -> str:
    return "-" if e is None or math.isnan(e.mean) else f"{e.mean:.0%} [{e.low:.0%}, {e.high:.0%}]"


def share(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"
