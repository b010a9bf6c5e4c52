"""The report's sections beyond the paper's outcomes: interventions and the referee, efficiency and
the prefix cache, grader agreement, and how routes were written."""

from __future__ import annotations

from gapbench.report.cells import (
    SIGNIFICANCE,
    diff_cells,
    est,
    num,
    pct,
    share,
    success_cell,
    weighted_cell,
)
from gapbench.report.document import Section, Table
from gapbench.report.tables import Report
from gapbench.report.usage import BUCKETS

FOLLOW_UP_CLOSED = "38.3% \u00b1 14.1%"  # "The Collaboration Tax" (2026), the same maze protocol

CACHE_TURNS = 8  # columns of the cache table; report.json has every turn


def diagnostic_sections(report: Report, plots: dict[str, list[str]]) -> list[Section]:
    """These sections in reading order; ``plots`` maps section keys to the PNGs drawn for them."""
    return [_interventions(report), _efficiency(report, plots), _agreement(report), _schemes(report)]


def _interventions(report: Report) -> Section:
    n = report.notes
    return Section(
        "interventions",
        "Interventions and the referee",
        "Beyond the study. Per model (two copies) and collaboration variant: each prompt intervention, and the referee, "
        "which executes a move as soon as both agents agree on it and reports the result (its executed route is the "
        "ground truth). Gap closed = (collab with intervention - collab without) / (solo - collab without), on the mazes "
        "all three cells share, with a maze-clustered bootstrap CI of the ratio (resamples without a positive gap "
        "dropped); solo runs without interventions. Reference point: a four-clause prompt intervention closed "
        f'{FOLLOW_UP_CLOSED} of the gap in "The Collaboration Tax" (arXiv 2608.22152). Walls: share of dialogues ending '
        "in a wall or off the maze. Disagreements: messages that reject a move (a DISAGREE tag, or a rejection the "
        "grader's dialogue acts find). Referee agreement: the rule grader's route equals the route the referee "
        "executed, a continuous check of the grader on this very output. " + SIGNIFICANCE,
        [
            Table(
                [
                    "model",
                    "variant",
                    "intervention",
                    "weighted",
                    "success",
                    "gap closed: weighted [95% CI]",
                    "gap closed: success [95% CI]",
                    "vs collab: weighted difference [95% CI]",
                    "p (Holm)",
                    "walls/dialogue",
                    "disagreements/dialogue",
                    "referee agreement [95% CI]",
                ],
                [
                    [
                        r.model,
                        r.condition,
                        r.intervention,
                        weighted_cell(r.metrics),
                        success_cell(r.metrics),
                        pct(r.closed),
                        pct(r.closed_success),
                        *(diff_cells(r.change.weighted)[:2] if r.change else ["-", "-"]),
                        f"{r.walls:.2f}",
                        f"{r.disagreements:.2f}",
                        est(r.referee_agreement),
                    ]
                    for r in report.interventions
                ],
                "Gap closed against "
                + ", ".join(sorted({f"{r.model}: {r.solo}" for r in report.interventions if r.solo})),
            )
        ]
        if report.interventions
        else [],
        note=n.get("interventions"),
    )


def _efficiency(report: Report, plots: dict[str, list[str]]) -> Section:
    n = report.notes
    return Section(
        "efficiency",
        "Efficiency",
        "Tokens per dialogue estimated as median completion tokens per message x mean messages; mean messages by "
        "weighted-outcome bucket; and the share of each prompt served from the prefix cache, per model and seat, "
        "overall and by the seat's k-th message (a drop after the first shows a chat template that rewrites "
        "earlier turns).",
        [
            Table(
                ["models", "condition", "n", "messages", "median tokens/message", "tokens"],
                [
                    [
                        r.models,
                        r.condition,
                        str(r.n),
                        f"{r.messages:.1f}",
                        num(r.median_tokens, ".0f"),
                        num(r.tokens, ".0f"),
                    ]
                    for r in report.efficiency
                ],
            ),
            Table(
                ["models", "condition", *[b[0] for b in BUCKETS]],
                [
                    [
                        r.models,
                        r.condition,
                        *[f"{num(m, '.1f')} (n={c})" for m, c in zip(r.messages, r.counts)],
                    ]
                    for r in report.buckets
                ],
                "Mean messages by outcome bucket",
            ),
            Table(
                [
                    "model",
                    "seat",
                    "messages",
                    "cached share",
                    *[f"message {k}" for k in range(1, CACHE_TURNS + 1)],
                ],
                [
                    [
                        r.model,
                        r.seat,
                        str(r.messages),
                        f"{r.cached_fraction:.0%}",
                        *[share(x) for x in r.by_turn[:CACHE_TURNS]],
                        *[""] * max(0, CACHE_TURNS - len(r.by_turn)),
                    ]
                    for r in report.cache
                ],
                f"Prompt-cache reuse (cached / prompt tokens; the first {CACHE_TURNS} messages of a seat, report.json has all)",
            ),
        ],
        plots.get("efficiency", []),
        "; ".join(x for x in (n.get("efficiency"), n.get("cache")) if x) or None,
    )


def _agreement(report: Report) -> Section:
    n = report.notes
    return Section(
        "agreement",
        "Grader agreement",
        "Share of dialogues where the LLM grader's extracted route and the rule-based extraction lead to the same outcome, "
        "Cohen's kappa on success and ICC(2,1) on the weighted outcome (the study: ICC 0.99 solo / 0.89 collaboration, "
        "kappa 0.91 / 0.77 between grader models).",
        [
            Table(
                ["condition", "agreement", "kappa (success)", "ICC (weighted)", "n"],
                [
                    [
                        a.condition,
                        est(a.agreement),
                        "n/a" if a.kappa is None else f"{a.kappa:.2f}",
                        "n/a" if a.icc is None else f"{a.icc:.2f}",
                        str(a.agreement.n),
                    ]
                    for a in report.agreement
                ],
            )
        ]
        if report.agreement
        else [],
        note=n.get("agreement"),
    )


def _schemes(report: Report) -> Section:
    return Section(
        "schemes",
        "Coordinate schemes",
        "How the graded route was written, and for coordinate routes which interpretation (origin, order, corner) scored best.",
        [
            Table(
                ["models", "condition", "n", "route written as", "coordinate scheme"],
                [
                    [
                        r.models,
                        r.condition,
                        str(r.n),
                        ", ".join(f"{k} {v}" for k, v in r.symbols.items()),
                        ", ".join(f"{k} {v}" for k, v in r.schemes.items()) or "-",
                    ]
                    for r in report.schemes
                ],
            )
        ],
    )
