"""The report's sections as plain text tables, rendered once for report.md and once for report.html."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from gapbench.report.measures import Contrast, Metrics
from gapbench.report.tables import Report
from gapbench.report.usage import BUCKETS
from gapbench.stats import ALPHA, Difference, Estimate


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass(frozen=True)
class Section:
    key: str  # also the key of report.notes and of the plot file name
    title: str
    text: str
    tables: list[Table] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)  # PNG file names
    note: str | None = None  # why the section is empty or partial


def est(e: Estimate | None) -> str:
    return "-" if e is None or math.isnan(e.mean) else str(e)


def est_n(e: Estimate | None, errors: int = 0) -> str:
    """An estimate with its n, and the engine errors counted in n (they score 0), if any."""
    if e is None or e.n == 0:
        return "-"
    return f"{e} (n={e.n}, {errors} error{'s' if errors != 1 else ''})" if errors else f"{e} (n={e.n})"


def _w(m: Metrics | None) -> str:
    return est_n(m.weighted, m.errors) if m else "-"


def _s(m: Metrics | None) -> str:
    return est(m.success) if m else "-"


def _num(x: float | None, fmt: str = ".2f") -> str:
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


FOLLOW_UP_CLOSED = "38.3% \u00b1 14.1%"  # "The Collaboration Tax" (2026), the same maze protocol


def _pct(e: Estimate | None) -> str:
    return "-" if e is None or math.isnan(e.mean) else f"{e.mean:.0%} [{e.low:.0%}, {e.high:.0%}]"


CACHE_TURNS = 8  # columns of the cache table; report.json has every turn


def _share(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def sections(report: Report, plots: dict[str, list[str]]) -> list[Section]:
    """All sections in reading order; ``plots`` maps section keys to the PNGs drawn for them."""
    n = report.notes
    src = report.source
    paper = f"{src.get('title', 'The Collaboration Gap')} (arXiv {src.get('arxiv', '2511.02687')})"
    out = [
        Section(
            "runs",
            "Runs",
            "Results aggregated in this report. Models are named as in each run's config.",
            [
                Table(
                    ["run", "directory", "config hash", "dialogues", "models", "mazes rebuilt"],
                    [
                        [
                            r.name,
                            r.run_dir,
                            r.results_hash,
                            str(r.records),
                            ", ".join(f"{k}={v}" for k, v in r.models.items()),
                            str(r.mazes),
                        ]
                        for r in report.runs
                    ],
                )
            ],
            note="; ".join(r.maze_note for r in report.runs if r.maze_note) or None,
        ),
        Section("method", "Statistics", report.method),
    ]
    out.append(
        Section(
            "homogeneous",
            "Solo vs collaboration",
            "Weighted outcome (1 at the goal, 0 for no progress) and binary success, means over mazes with 95% bootstrap "
            "CIs. The collaboration gap is solo minus homogeneous collaboration: positive when two copies do worse together "
            "than one model with the same information. " + SIGNIFICANCE,
            [
                Table(
                    [
                        "model",
                        "solo full",
                        "solo distributed",
                        "collab",
                        "success: solo full",
                        "success: solo distributed",
                        "success: collab",
                    ],
                    [
                        [
                            r.model,
                            _w(r.solo_full),
                            _w(r.solo_distributed),
                            _w(r.collab),
                            _s(r.solo_full),
                            _s(r.solo_distributed),
                            _s(r.collab),
                        ]
                        for r in report.homogeneous
                    ],
                    "Outcomes (weighted; success)",
                ),
                Table(
                    ["model", "gap", *CONTRAST_HEADERS],
                    [
                        [r.model, name, *contrast_cells(gap)]
                        for r in report.homogeneous
                        for name, gap in (
                            ("solo distributed - collab", r.gap_distributed),
                            ("solo full - collab", r.gap_full),
                        )
                        if gap
                    ],
                    "Collaboration gap",
                ),
            ]
            if report.homogeneous
            else [],
            plots.get("homogeneous", []),
            n.get("homogeneous"),
        )
    )
    out.append(
        Section(
            "published",
            "Next to the paper",
            f"Homogeneous pairs published in {paper} (closed and open models, 6x6 mazes) and the homogeneous pairs of "
            "these runs (marked *), by weighted outcome.",
            [
                Table(
                    ["model", "weighted", "success", "source"],
                    [
                        [
                            p.model + (" *" if p.ours else ""),
                            est(p.ours.weighted) if p.ours else f"{p.weighted:.2f}",
                            est(p.ours.success) if p.ours else _num(p.success),
                            "this report" if p.ours else f"arXiv {src.get('arxiv', '')}",
                        ]
                        for p in report.published
                    ],
                )
            ],
            plots.get("published", []),
        )
    )
    matrix = report.matrix
    tables = []
    if matrix is not None:
        for metric in ("weighted", "success"):
            rows = []
            for a in matrix.models:
                cells = [
                    next((c for c in matrix.cells if (c.first, c.second) == (a, b)), None)
                    for b in matrix.models
                ]
                rows.append(
                    [a]
                    + [
                        est_n(getattr(c.metrics, metric), c.metrics.errors)
                        + (" \u2020" if c.ordering_significant else "")
                        if c
                        else "-"
                        for c in cells
                    ]
                )
            tables.append(
                Table(
                    ["first \\ second", *matrix.models],
                    rows,
                    f"{metric}: rows speak first, columns second; \u2020 significant ordering effect",
                )
            )
    if report.ordering:
        tables.append(
            Table(
                ["A", "B", "A first", "B first", *CONTRAST_HEADERS],
                [
                    [
                        o.a,
                        o.b,
                        est_n(o.a_first.weighted, o.a_first.errors),
                        est_n(o.b_first.weighted, o.b_first.errors),
                        *contrast_cells(o.effect),
                    ]
                    for o in report.ordering
                ],
                "Ordering effect: A first - B first",
            )
        )
    if report.published_ordering:
        tables.append(
            Table(
                ["first", "second", "weighted", "reverse order", "difference"],
                [
                    [
                        p["first"],
                        p["second"],
                        _num(p.get("weighted")),
                        _num(p.get("reverse_weighted")),
                        _num(p["weighted"] - p["reverse_weighted"], "+.2f")
                        if p.get("weighted") is not None and p.get("reverse_weighted") is not None
                        else "-",
                    ]
                    for p in report.published_ordering
                ],
                f"Published ordering effects ({paper})",
            )
        )
    out.append(
        Section(
            "heterogeneous",
            "Heterogeneous pairs and ordering",
            "Two different models collaborating; the first-named model speaks first. The ordering effect is the outcome "
            "with A speaking first minus the outcome with B speaking first (\u2020 in the matrix: significant for the weighted "
            "outcome). " + SIGNIFICANCE,
            tables,
            plots.get("heterogeneous", []),
            "; ".join(x for x in (n.get("heterogeneous"), n.get("ordering")) if x) or None,
        )
    )
    if report.human_ai:
        out.append(
            Section(
                "human_ai",
                "Human-AI pairs",
                "Games people played with a model (`gapbench play`), by who spoke first, beside two copies of the model "
                "(AI-AI) on the same mazes. A person is one seat, recorded as human:<participant id>; games a person gave "
                "up count as played. " + SIGNIFICANCE,
                [
                    Table(
                        [
                            "model",
                            "person first",
                            "model first",
                            "AI-AI (two copies)",
                            "success: person first",
                            "success: model first",
                            "success: AI-AI",
                            "participants",
                            "given up",
                        ],
                        [
                            [
                                r.model,
                                _w(r.person_first),
                                _w(r.model_first),
                                _w(r.ai_ai),
                                _s(r.person_first),
                                _s(r.model_first),
                                _s(r.ai_ai),
                                str(r.participants),
                                str(r.gave_up),
                            ]
                            for r in report.human_ai
                        ],
                        "Outcomes (weighted; success)",
                    ),
                    Table(
                        ["model", "contrast", *CONTRAST_HEADERS],
                        [
                            [r.model, name, *contrast_cells(c)]
                            for r in report.human_ai
                            for name, c in (
                                ("human-AI - AI-AI", r.versus_ai),
                                ("person first - model first", r.ordering),
                            )
                            if c
                        ],
                        "Human-AI against AI-AI, and seat order",
                    ),
                ],
                note=None
                if all(r.ai_ai for r in report.human_ai)
                else "no AI-AI games of some models on these runs' mazes: add a `gapbench run` of the same study to compare",
            )
        )
    relay_tables = [
        Table(
            ["K", "strong primer", "strong recovery", "success: primer", "success: recovery"],
            [[str(p.k), _w(p.primer), _w(p.recovery), _s(p.primer), _s(p.recovery)] for p in c.points]
            + [
                ["weak + weak (no swap)", _w(c.weak_weak), "", _s(c.weak_weak), ""],
                ["strong + weak (no swap)", _w(c.strong_weak), "", _s(c.strong_weak), ""],
            ],
            f"strong = {c.strong}, weak = {c.weak}",
        )
        for c in report.relay
    ]
    relay_tables += [
        Table(
            ["K", "relay", *CONTRAST_HEADERS],
            [
                [str(p.k), mode, *contrast_cells(gain)]
                for p in c.points
                for mode, gain in (("strong primer", p.primer_gain), ("strong recovery", p.recovery_gain))
                if gain
            ],
            f"Gain over weak + weak (strong = {c.strong}, weak = {c.weak})",
        )
        for c in report.relay
    ]
    out.append(
        Section(
            "relay",
            "Relay inference",
            "Strong primer: strong and weak talk for K messages, then the weak model takes the strong seat. Strong recovery: "
            "two weak copies talk for K messages, then the strong model takes the first seat. Gains are relay minus two weak "
            "copies without a swap. " + SIGNIFICANCE,
            relay_tables,
            plots.get("relay", []),
            n.get("relay"),
        )
    )
    out.append(
        Section(
            "relations",
            "Base vs distilled",
            "For each registry relation (distilled_from / base_of): the drop in weighted outcome from the source model to the "
            'derived one, solo and in homogeneous collaboration. Collapse = collab drop - solo drop; "yes" when it is '
            "positive and significant (collaboration suffers more than solo skill). " + SIGNIFICANCE,
            [
                Table(
                    ["source", "derived", "relation", "solo", "contrast", *DIFF_HEADERS, "collapses"],
                    [
                        [
                            r.source,
                            r.derived,
                            r.kind,
                            r.solo_condition or "-",
                            name,
                            *diff_cells(d),
                            ("yes" if r.collapses else "no")
                            if name == "collapse" and r.collapses is not None
                            else "",
                        ]
                        for r in report.relations
                        for name, d in (
                            ("drop solo", r.drop_solo),
                            ("drop collab", r.drop_collab),
                            ("collapse", r.collapse),
                        )
                        if d
                    ],
                )
            ]
            if report.relations
            else [],
            plots.get("relations", []),
            n.get("relations"),
        )
    )
    out.append(
        Section(
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
                            _w(r.metrics),
                            _s(r.metrics),
                            _pct(r.closed),
                            _pct(r.closed_success),
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
    )
    out.append(
        Section(
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
                            _num(r.median_tokens, ".0f"),
                            _num(r.tokens, ".0f"),
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
                            *[f"{_num(m, '.1f')} (n={c})" for m, c in zip(r.messages, r.counts)],
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
                            *[_share(x) for x in r.by_turn[:CACHE_TURNS]],
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
    )
    out.append(
        Section(
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
    )
    out.append(
        Section(
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
    )
    return [dataclasses.replace(s, tables=[t for t in s.tables if t.rows]) for s in out]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(secs: list[Section], title: str) -> str:
    lines = [f"# {title}", ""]
    for s in secs:
        lines += [f"## {s.title}", "", s.text, ""]
        if s.note:
            lines += [f"> Note: {s.note}", ""]
        for t in s.tables:
            if t.caption:
                lines += [f"**{t.caption}**", ""]
            lines.append("| " + " | ".join(_md_cell(h) for h in t.headers) + " |")
            lines.append("|" + "---|" * len(t.headers))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in t.rows]
            lines.append("")
        lines += [f"![{s.title}]({p})" for p in s.plots]
        if s.plots:
            lines.append("")
    return "\n".join(lines)
