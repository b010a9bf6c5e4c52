"""Report figures (matplotlib, Agg backend: no display needed). Each returns the PNGs it wrote."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

from gapbench.report.measures import Metrics
from gapbench.report.tables import Report
from gapbench.report.usage import BUCKETS
from gapbench.stats import Difference, Estimate

COLORS = {"solo_full": "#4c72b0", "solo_distributed": "#55a868", "collab": "#c44e52", "paper": "#b0b0b0"}


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _whisker(e: Estimate | Difference | None) -> tuple[float, float, float]:
    """(mean, below, above) for errorbar; NaN when missing so the bar is simply absent."""
    if e is None or math.isnan(e.mean):
        return math.nan, 0.0, 0.0
    return e.mean, max(e.mean - e.low, 0.0), max(e.high - e.mean, 0.0)


def _bars(
    ax: plt.Axes, x: np.ndarray, values: list[Estimate | Difference | None], width: float, **kw: object
) -> None:
    mean, lo, hi = zip(*(_whisker(v) for v in values))
    ax.bar(x, mean, width, yerr=[lo, hi], capsize=3, error_kw={"elinewidth": 1}, **kw)  # type: ignore[arg-type]


def _short(label: str, width: int = 22) -> str:
    return label if len(label) <= width else label[: width - 1] + "\u2026"


def homogeneous(report: Report, out: Path) -> list[Path]:
    rows = report.homogeneous
    if not rows:
        return []
    fig, axes = plt.subplots(1, 2, figsize=(max(7.0, 1.6 * len(rows) + 3), 4.0), sharey=True)
    x = np.arange(len(rows))
    conds = [c for c in ("solo_full", "solo_distributed", "collab") if any(getattr(r, c) for r in rows)]
    width = 0.8 / len(conds)
    for ax, metric in zip(axes, ("weighted", "success")):
        for i, cond in enumerate(conds):
            vals = [getattr(getattr(r, cond), metric) if getattr(r, cond) else None for r in rows]
            _bars(
                ax,
                x + (i - (len(conds) - 1) / 2) * width,
                vals,
                width,
                color=COLORS[cond],
                label=cond.replace("_", " "),
            )
        ax.set_xticks(x, [_short(r.model) for r in rows], rotation=20, ha="right")
        ax.set_title("weighted outcome" if metric == "weighted" else "binary success")
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_ylim(min(0.0, ax.get_ylim()[0]), 1.05)
    axes[-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1))
    fig.suptitle("Solo vs homogeneous collaboration (95% CI)")
    return [_save(fig, out / "homogeneous.png")]


def published(report: Report, out: Path) -> list[Path]:
    rows = report.published
    if not any(p.ours for p in rows):
        return []
    fig, ax = plt.subplots(figsize=(7.5, 0.28 * len(rows) + 1.4))
    y = np.arange(len(rows))[::-1]
    for yi, p in zip(y, rows):
        mean, lo, hi = _whisker(p.ours.weighted) if p.ours else (p.weighted, 0.0, 0.0)
        ax.barh(
            yi,
            mean,
            xerr=[[lo], [hi]] if p.ours else None,
            color=COLORS["collab"] if p.ours else COLORS["paper"],
            capsize=3,
        )
    ax.set_yticks(y, [_short(p.model + (" *" if p.ours else ""), 30) for p in rows], fontsize=8)
    ax.set_xlim(min(0.0, ax.get_xlim()[0]), 1.05)
    ax.set_xlabel("weighted outcome, homogeneous pair")
    src = report.source.get("arxiv", "2511.02687")
    ax.set_title(f"grey: published (arXiv {src}); red *: this report", fontsize=9)
    return [_save(fig, out / "published.png")]


def heterogeneous(report: Report, out: Path) -> list[Path]:
    paths = []
    m = report.matrix
    if m is not None:
        k = len(m.models)
        grid = np.full((k, k), np.nan)
        for i, a in enumerate(m.models):
            for j, b in enumerate(m.models):
                c = m.get(a, b)
                if c is not None:
                    grid[i, j] = c.weighted.mean
        size = max(4.5, 1.3 * k + 2.5)
        fig, ax = plt.subplots(figsize=(size, size * 0.85))
        im = ax.imshow(np.ma.masked_invalid(grid), cmap="RdYlGn", vmin=0, vmax=1)
        for i, a in enumerate(m.models):
            for j, b in enumerate(m.models):
                c = m.get(a, b)
                text = (
                    f"{c.weighted.mean:.2f}\n[{c.weighted.low:.2f}, {c.weighted.high:.2f}]\nn={c.weighted.n}"
                    if c
                    else "not run"
                )
                ax.text(j, i, text, ha="center", va="center", fontsize=8, color="black")
        ax.set_xticks(range(k), [_short(x, 18) for x in m.models], rotation=20, ha="right")
        ax.set_yticks(range(k), [_short(x, 18) for x in m.models])
        ax.set_xlabel("second speaker")
        ax.set_ylabel("first speaker")
        ax.set_title("Weighted outcome by seat (95% CI)")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        paths.append(_save(fig, out / "heterogeneous.png"))
    if report.ordering:
        fig, ax = plt.subplots(figsize=(max(5.0, 1.2 * len(report.ordering) + 2), 3.6))
        x = np.arange(len(report.ordering))
        _bars(ax, x, [o.effect.weighted if o.effect else None for o in report.ordering], 0.4, color="#8172b2")
        ax.set_xlim(-0.8, len(x) - 0.2)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_xticks(
            x, [f"{_short(o.a, 16)}\nbefore\n{_short(o.b, 16)}" for o in report.ordering], fontsize=8
        )
        ax.set_ylabel("A first - B first")
        ax.set_title("Ordering effect, weighted outcome (95% CI, paired by maze)")
        paths.append(_save(fig, out / "ordering.png"))
    return paths


def _band(ax: plt.Axes, m: Metrics | None, color: str, label: str) -> None:
    if m is None:
        return
    ax.axhline(m.weighted.mean, color=color, linestyle="--", linewidth=1, label=label)
    ax.axhspan(m.weighted.low, m.weighted.high, color=color, alpha=0.12)


def relay(report: Report, out: Path) -> list[Path]:
    curves = report.relay
    if not curves:
        return []
    fig, axes = plt.subplots(1, len(curves), figsize=(5.5 * len(curves), 4.0), squeeze=False)
    for ax, c in zip(axes[0], curves):
        ks = [p.k for p in c.points]
        for mode, color, shift in (("primer", "#dd8452", -0.06), ("recovery", "#4c72b0", 0.06)):
            vals = [getattr(p, mode) for p in c.points]
            if not any(vals):
                continue
            mean, lo, hi = zip(*(_whisker(v.weighted if v else None) for v in vals))
            # shifted sideways a little so the two curves' whiskers do not hide each other
            ax.errorbar(
                [k + shift for k in ks],
                mean,
                yerr=[lo, hi],
                marker="o",
                capsize=3,
                color=color,
                label=f"strong {mode}",
            )
        _band(ax, c.weak_weak, "#937860", "weak + weak")
        _band(ax, c.strong_weak, "#55a868", "strong + weak")
        ax.set_xticks(ks)
        ax.set_xlabel("K (messages before the swap)")
        ax.set_ylabel("weighted outcome")
        ax.set_ylim(min(0.0, ax.get_ylim()[0]), 1.05)
        ax.set_title(f"strong {_short(c.strong)}, weak {_short(c.weak)}", fontsize=9)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("Relay inference (95% CI)")
    return [_save(fig, out / "relay.png")]


def relations(report: Report, out: Path) -> list[Path]:
    rows = report.relations
    if not rows:
        return []
    fig, ax = plt.subplots(figsize=(max(5.5, 1.6 * len(rows) + 2), 3.8))
    x = np.arange(len(rows))
    _bars(ax, x - 0.2, [r.drop_solo for r in rows], 0.4, color=COLORS["solo_distributed"], label="drop solo")
    _bars(ax, x + 0.2, [r.drop_collab for r in rows], 0.4, color=COLORS["collab"], label="drop collab")
    ax.set_xlim(-0.9, len(x) - 0.1)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xticks(x, [f"{_short(r.source, 18)}\n\u2192 {_short(r.derived, 18)}" for r in rows], fontsize=8)
    ax.set_ylabel("source - derived, weighted outcome")
    ax.set_title("Base vs distilled: drop solo and in collaboration (95% CI, paired by maze)")
    ax.legend(fontsize=8)
    return [_save(fig, out / "relations.png")]


def efficiency(report: Report, out: Path) -> list[Path]:
    rows = [r for r in report.buckets if r.condition not in ("solo_full", "solo_distributed")]
    if not rows:
        return []
    fig, ax = plt.subplots(figsize=(8.0, 0.45 * len(rows) + 1.5))
    y = np.arange(len(rows))[::-1]
    height = 0.8 / len(BUCKETS)
    colors = ("#c44e52", "#dd8452", "#ccb974", "#55a868")
    for i, ((name, _, _), color) in enumerate(zip(BUCKETS, colors)):
        vals: list[float] = [math.nan if (v := r.messages[i]) is None else v for r in rows]
        ax.barh(y + (1.5 - i) * height, vals, height, color=color, label=name)
    ax.set_yticks(y, [f"{r.models}\n{r.condition}" for r in rows], fontsize=7)
    ax.set_xlabel("mean messages per dialogue")
    ax.set_title("Messages by outcome bucket")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    return [_save(fig, out / "efficiency.png")]


def cache(report: Report, out: Path) -> list[Path]:
    """Cached share of the prompt by the seat's k-th message: a template that rewrites earlier turns shows as a drop."""
    rows = [r for r in report.cache if len(r.by_turn) > 1]
    if not rows:
        return []
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    for r in rows:
        points = [(k, x) for k, x in enumerate(r.by_turn, 1) if x is not None]
        ax.plot(
            [k for k, _ in points],
            [x for _, x in points],
            marker="o",
            markersize=3,
            label=_short(f"{r.model} ({r.seat})", 40),
        )
    ax.set_ylim(-0.02, 1.02)
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("the seat's k-th message")
    ax.set_ylabel("cached / prompt tokens")
    ax.set_title("Prompt-cache reuse by message, per model and seat")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    return [_save(fig, out / "cache.png")]


def draw_all(report: Report, out: Path) -> dict[str, list[str]]:
    """Every figure the report's data allow, by section key (file names relative to ``out``)."""
    drawn = {
        "homogeneous": homogeneous(report, out),
        "published": published(report, out),
        "heterogeneous": heterogeneous(report, out),
        "relay": relay(report, out),
        "relations": relations(report, out),
        "efficiency": efficiency(report, out) + cache(report, out),
    }
    return {key: [p.name for p in paths] for key, paths in drawn.items() if paths}
