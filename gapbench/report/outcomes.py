"""The report's sections on outcomes: the runs, solo vs collaboration, the paper's numbers, heterogeneous
pairs and ordering, human-AI pairs, relay inference, and base vs distilled models."""

from __future__ import annotations

from gapbench.report.cells import (
    CONTRAST_HEADERS,
    DIFF_HEADERS,
    SIGNIFICANCE,
    contrast_cells,
    diff_cells,
    est,
    est_n,
    num,
    success_cell,
    weighted_cell,
)
from gapbench.report.document import Section, Table
from gapbench.report.tables import Report


def outcome_sections(report: Report, plots: dict[str, list[str]]) -> list[Section]:
    """The outcome sections in reading order; ``plots`` maps section keys to the PNGs drawn for them."""
    human_ai = _human_ai(report)
    return [
        _runs(report),
        Section("method", "Statistics", report.method),
        _homogeneous(report, plots),
        _published(report, plots),
        _heterogeneous(report, plots),
        *([human_ai] if human_ai else []),
        _relay(report, plots),
        _relations(report, plots),
    ]


def _paper(report: Report) -> str:
    """The paper the published numbers come from, as the report names it."""
    src = report.source
    return f"{src.get('title', 'The Collaboration Gap')} (arXiv {src.get('arxiv', '2511.02687')})"


def _runs(report: Report) -> Section:
    return Section(
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
    )


def _homogeneous(report: Report, plots: dict[str, list[str]]) -> Section:
    n = report.notes
    return Section(
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
                        weighted_cell(r.solo_full),
                        weighted_cell(r.solo_distributed),
                        weighted_cell(r.collab),
                        success_cell(r.solo_full),
                        success_cell(r.solo_distributed),
                        success_cell(r.collab),
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


def _published(report: Report, plots: dict[str, list[str]]) -> Section:
    src = report.source
    paper = _paper(report)
    return Section(
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
                        est(p.ours.success) if p.ours else num(p.success),
                        "this report" if p.ours else f"arXiv {src.get('arxiv', '')}",
                    ]
                    for p in report.published
                ],
            )
        ],
        plots.get("published", []),
    )


def _heterogeneous(report: Report, plots: dict[str, list[str]]) -> Section:
    n = report.notes
    paper = _paper(report)
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
                        num(p.get("weighted")),
                        num(p.get("reverse_weighted")),
                        num(p["weighted"] - p["reverse_weighted"], "+.2f")
                        if p.get("weighted") is not None and p.get("reverse_weighted") is not None
                        else "-",
                    ]
                    for p in report.published_ordering
                ],
                f"Published ordering effects ({paper})",
            )
        )
    return Section(
        "heterogeneous",
        "Heterogeneous pairs and ordering",
        "Two different models collaborating; the first-named model speaks first. The ordering effect is the outcome "
        "with A speaking first minus the outcome with B speaking first (\u2020 in the matrix: significant for the weighted "
        "outcome). " + SIGNIFICANCE,
        tables,
        plots.get("heterogeneous", []),
        "; ".join(x for x in (n.get("heterogeneous"), n.get("ordering")) if x) or None,
    )


def _human_ai(report: Report) -> Section | None:
    if not report.human_ai:
        return None
    return Section(
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
                        weighted_cell(r.person_first),
                        weighted_cell(r.model_first),
                        weighted_cell(r.ai_ai),
                        success_cell(r.person_first),
                        success_cell(r.model_first),
                        success_cell(r.ai_ai),
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


def _relay(report: Report, plots: dict[str, list[str]]) -> Section:
    n = report.notes
    relay_tables = [
        Table(
            ["K", "strong primer", "strong recovery", "success: primer", "success: recovery"],
            [
                [
                    str(p.k),
                    weighted_cell(p.primer),
                    weighted_cell(p.recovery),
                    success_cell(p.primer),
                    success_cell(p.recovery),
                ]
                for p in c.points
            ]
            + [
                ["weak + weak (no swap)", weighted_cell(c.weak_weak), "", success_cell(c.weak_weak), ""],
                [
                    "strong + weak (no swap)",
                    weighted_cell(c.strong_weak),
                    "",
                    success_cell(c.strong_weak),
                    "",
                ],
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
    return Section(
        "relay",
        "Relay inference",
        "Strong primer: strong and weak talk for K messages, then the weak model takes the strong seat. Strong recovery: "
        "two weak copies talk for K messages, then the strong model takes the first seat. Gains are relay minus two weak "
        "copies without a swap. " + SIGNIFICANCE,
        relay_tables,
        plots.get("relay", []),
        n.get("relay"),
    )


def _relations(report: Report, plots: dict[str, list[str]]) -> Section:
    n = report.notes
    return Section(
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
