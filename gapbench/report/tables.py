"""Aggregation: labelled dialogues in, typed tables out. Pure functions, no I/O.

Every mean carries a 95% bootstrap CI over mazes; every difference is paired on the mazes both
sides finished, with a p-value, Holm-adjusted across the report (gapbench.stats, docs/STATISTICS.md).
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from gapbench.grading.agreement import rule_vs_llm
from gapbench.play import is_human
from gapbench.report.load import Entry, RelationTriple, RunSource
from gapbench.stats import METHOD, Difference, Estimate, holm, mean_ci, paired_contrast

if TYPE_CHECKING:
    from gapbench.report.interventions import InterventionRow

SOLO = ("solo_full", "solo_distributed")
BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("fail (<0.25)", float("-inf"), 0.25),
    ("partial fail (0.25-0.5)", 0.25, 0.5),
    ("partial success (0.5-0.75)", 0.5, 0.75),
    ("success (0.75-1)", 0.75, float("inf")),
)


@dataclass(frozen=True)
class Metrics:
    """Weighted outcome and binary success (or differences of them)."""

    weighted: Estimate
    success: Estimate
    errors: int = 0  # dialogues in n that ended in an engine error (they score 0)


@dataclass(frozen=True)
class Contrast:
    """A paired difference (gapbench.stats.Difference) of both outcomes."""

    weighted: Difference
    success: Difference


@dataclass(frozen=True)
class HomogeneousRow:
    model: str
    solo_full: Metrics | None
    solo_distributed: Metrics | None
    collab: Metrics | None  # two copies of the model
    gap_distributed: Contrast | None  # solo_distributed - collab: the collaboration gap
    gap_full: Contrast | None  # solo_full - collab


@dataclass(frozen=True)
class PairCell:
    first: str
    second: str
    metrics: Metrics
    ordering_significant: bool | None = (
        None  # the pair's ordering effect (weighted, Holm) is significant; None: one order only
    )


@dataclass(frozen=True)
class PairMatrix:
    """Collaboration outcome by seat: rows speak first, columns second."""

    models: list[str]
    cells: list[PairCell]

    def get(self, first: str, second: str) -> Metrics | None:
        return next((c.metrics for c in self.cells if c.first == first and c.second == second), None)


@dataclass(frozen=True)
class OrderingRow:
    a: str
    b: str
    a_first: Metrics
    b_first: Metrics
    effect: Contrast | None  # a first minus b first; None when the two orders share no maze


@dataclass(frozen=True)
class RelayPoint:
    k: int
    primer: Metrics | None  # strong + weak for k turns, then weak + weak
    recovery: Metrics | None  # weak + weak for k turns, then strong + weak
    primer_gain: Contrast | None = None  # primer minus weak + weak, paired by maze
    recovery_gain: Contrast | None = None  # recovery minus weak + weak


@dataclass(frozen=True)
class RelayCurve:
    strong: str
    weak: str
    points: list[RelayPoint]
    weak_weak: Metrics | None  # baselines: whole dialogues without a swap
    strong_weak: Metrics | None


@dataclass(frozen=True)
class Relation:
    """A larger model and one derived from it (distilled student, or fine-tune of a base)."""

    source: str
    derived: str
    kind: str  # distilled | fine-tuned
    solo_condition: str | None  # solo_distributed when run, else solo_full
    drop_solo: Difference | None  # source - derived, weighted outcome
    drop_collab: Difference | None
    collapse: Difference | None  # drop_collab - drop_solo: collaboration loses more than solo skill
    collapses: bool | None  # the collapse is positive and significant (Holm)


@dataclass(frozen=True)
class EfficiencyRow:
    models: str
    condition: str
    n: int
    messages: float  # mean agent messages per dialogue
    median_tokens: float | None  # median completion tokens per agent message; None when not recorded
    tokens: float | None  # median tokens per message x mean messages


@dataclass(frozen=True)
class BucketRow:
    models: str
    condition: str
    counts: list[int]  # dialogues per outcome bucket (BUCKETS)
    messages: list[float | None]  # mean agent messages per bucket


@dataclass(frozen=True)
class CacheRow:
    """Prompt-cache reuse of one model in one seat: where a chat template breaks reuse, the share drops."""

    model: str
    seat: str  # agent_1 | agent_2 | solo
    messages: int  # agent messages with a prompt token count
    reuse: float  # cached / prompt tokens over those messages
    by_turn: list[float | None]  # the same for the seat's 1st, 2nd, ... message


@dataclass(frozen=True)
class AgreementRow:
    condition: str
    agreement: Estimate  # share of dialogues where LLM and rule extraction grade alike
    kappa: float | None = None  # Cohen's kappa on success (rule vs LLM grader)
    icc: float | None = None  # ICC(2,1) on the weighted outcome


@dataclass(frozen=True)
class SchemeRow:
    models: str
    condition: str
    n: int
    symbols: dict[str, int]  # how routes were written (directions, number_number, ...)
    schemes: dict[str, int]  # winning interpretation of coordinate routes


@dataclass(frozen=True)
class HumanAIRow:
    """A model playing with people (`gapbench play`), beside two copies of it on the same mazes."""

    model: str
    person_first: Metrics | None  # the person speaks first, the model second
    model_first: Metrics | None
    ai_ai: Metrics | None  # two copies of the model (homogeneous collaboration), from any run of the report
    participants: int
    gave_up: int  # games the person gave up
    versus_ai: Contrast | None = None  # human-AI (both orders) minus AI-AI, paired by maze
    ordering: Contrast | None = None  # person first minus model first


@dataclass(frozen=True)
class PublishedHomogeneous:
    model: str
    weighted: float
    success: float | None
    ours: Metrics | None  # None for the paper's models


@dataclass(frozen=True)
class Report:
    runs: list[RunSource]
    homogeneous: list[HomogeneousRow]
    matrix: PairMatrix | None
    ordering: list[OrderingRow]
    relay: list[RelayCurve]
    relations: list[Relation]
    efficiency: list[EfficiencyRow]
    buckets: list[BucketRow]
    cache: list[CacheRow]
    agreement: list[AgreementRow]
    schemes: list[SchemeRow]
    published: list[PublishedHomogeneous]
    published_ordering: list[dict[str, Any]]
    source: dict[str, str]  # the paper
    interventions: list[InterventionRow] = field(
        default_factory=list
    )  # beyond the study: overlays and the referee
    notes: dict[str, str] = field(default_factory=dict)  # section -> why it is empty
    method: str = METHOD  # the statistics, in one line
    human_ai: list[HumanAIRow] = field(default_factory=list)  # empty unless people played (gapbench play)


# ------------------------------------------------------------------------------------- helpers
def weighted(entries: Iterable[Entry]) -> list[float]:
    return [e.record.grade.weighted for e in entries]


def success(entries: Iterable[Entry]) -> list[float]:
    return [float(e.record.grade.success) for e in entries]


def metrics(entries: list[Entry]) -> Metrics | None:
    """Means over mazes (each maze's dialogues averaged first), CIs resampling mazes."""
    if not entries:
        return None
    mazes = [e.record.maze_id for e in entries]
    errors = sum(e.record.transcript.end == "error" for e in entries)
    return Metrics(
        mean_ci(weighted(entries), clusters=mazes), mean_ci(success(entries), clusters=mazes), errors
    )


Outcome = Literal["weighted", "success"]


def by_maze(entries: Iterable[Entry], outcome: Outcome) -> dict[str, list[float]]:
    """Maze id -> the outcomes of that maze's dialogues."""
    out: dict[str, list[float]] = defaultdict(list)
    for e in entries:
        out[e.record.maze_id].append(float(getattr(e.record.grade, outcome)))
    return out


def paired(
    cells: list[list[Entry]], weights: list[float], outcome: Outcome = "weighted"
) -> Difference | None:
    """A contrast of cells on the mazes all of them finished (see gapbench.stats.paired_contrast)."""
    return paired_contrast([by_maze(c, outcome) for c in cells], weights, binary=outcome == "success")


def difference(a: list[Entry], b: list[Entry]) -> Contrast | None:
    """a minus b on both outcomes, paired by maze; None when they share no maze."""
    w, s = paired([a, b], [1, -1]), paired([a, b], [1, -1], "success")
    return Contrast(w, s) if w and s else None


def group(entries: Iterable[Entry], key: Callable[[Entry], Any]) -> dict[Any, list[Entry]]:
    out: dict[Any, list[Entry]] = defaultdict(list)
    for e in entries:
        out[key(e)].append(e)
    return out


def _order(names: Iterable[str]) -> list[str]:
    return sorted(set(names))


# -------------------------------------------------------------------------------------- tables
def homogeneous(entries: list[Entry]) -> list[HomogeneousRow]:
    """Per model: solo with the full map, solo with both halves, and two copies collaborating."""
    by = group(entries, lambda e: (e.record.condition, e.models))
    models = _order(
        e.models[0]
        for e in entries
        if e.record.condition in SOLO or (e.record.condition == "collab" and len(set(e.models)) == 1)
    )
    rows = []
    for m in models:
        full, dist, collab = (
            by.get(("solo_full", (m,)), []),
            by.get(("solo_distributed", (m,)), []),
            by.get(("collab", (m, m)), []),
        )
        rows.append(
            HomogeneousRow(
                m,
                metrics(full),
                metrics(dist),
                metrics(collab),
                difference(dist, collab),
                difference(full, collab),
            )
        )
    return rows


def pair_matrix(entries: list[Entry]) -> PairMatrix | None:
    """All collaboration pairs by seat; None unless two different models ever collaborated."""
    collab = group((e for e in entries if e.record.condition == "collab"), lambda e: e.models)
    if not any(len(set(pair)) > 1 for pair in collab):
        return None
    models = _order(m for pair in collab for m in pair)
    cells = [PairCell(a, b, metrics(es)) for (a, b), es in sorted(collab.items())]  # type: ignore[arg-type]
    return PairMatrix(models, cells)


def ordering(entries: list[Entry]) -> list[OrderingRow]:
    """Pairs run in both orders: how much it matters who speaks first."""
    collab = group((e for e in entries if e.record.condition == "collab"), lambda e: e.models)
    rows = []
    for (a, b), ab in sorted(collab.items()):
        if a < b and (b, a) in collab:
            ba = collab[(b, a)]
            rows.append(OrderingRow(a, b, metrics(ab), metrics(ba), difference(ab, ba)))  # type: ignore[arg-type]
    return rows


def relay(entries: list[Entry]) -> list[RelayCurve]:
    """Outcome against K per (strong, weak) pairing, beside the unswapped baselines."""

    def roles(e: Entry) -> tuple[str, str]:
        # primer starts strong + weak; recovery starts weak + weak and swaps the strong model in
        if e.record.condition == "relay_primer":
            return e.models[0], e.models[1]
        return (e.after or e.models)[0], e.models[0]

    relays = [
        e for e in entries if e.record.condition in ("relay_primer", "relay_recovery") and e.record.relay_k
    ]
    collab = group((e for e in entries if e.record.condition == "collab"), lambda e: e.models)
    curves = []
    for (strong, weak), es in sorted(group(relays, roles).items()):
        by_k = group(es, lambda e: (e.record.relay_k, e.record.condition))
        ks = sorted({e.record.relay_k for e in es if e.record.relay_k})
        base = collab.get((weak, weak), [])
        points = []
        for k in ks:
            primer, recovery = by_k.get((k, "relay_primer"), []), by_k.get((k, "relay_recovery"), [])
            points.append(
                RelayPoint(
                    k,
                    metrics(primer),
                    metrics(recovery),
                    difference(primer, base),
                    difference(recovery, base),
                )
            )
        curves.append(
            RelayCurve(strong, weak, points, metrics(base), metrics(collab.get((strong, weak), [])))
        )
    return curves


def relations(entries: list[Entry], links: list[RelationTriple]) -> list[Relation]:
    """Source vs derived model, solo and collaborating: does collaboration drop more than solo skill?

    Compared on the weighted outcome, paired by maze; solo uses solo_distributed (the same
    information as the pair) when it was run, else solo_full. ``collapses`` is settled by `adjust`."""
    by = group(entries, lambda e: (e.record.condition, e.models))
    rows = []
    for source, derived, kind in links:

        def cell(condition: str, m: str) -> list[Entry]:
            return by.get((condition, (m,) if condition in SOLO else (m, m)), [])

        solo = next(
            (c for c in ("solo_distributed", "solo_full") if cell(c, source) and cell(c, derived)), None
        )
        collab_s, collab_d = cell("collab", source), cell("collab", derived)
        if solo is None and not (collab_s and collab_d):
            continue
        solo_s, solo_d = (cell(solo, source), cell(solo, derived)) if solo else ([], [])
        drop_solo = paired([solo_s, solo_d], [1, -1]) if solo else None
        drop_collab = paired([collab_s, collab_d], [1, -1]) if collab_s and collab_d else None
        collapse = (
            paired([collab_s, collab_d, solo_s, solo_d], [1, -1, -1, 1])
            if drop_solo and drop_collab
            else None
        )
        rows.append(Relation(source, derived, kind, solo, drop_solo, drop_collab, collapse, None))
    return rows


def _label(e: Entry) -> str:
    return e.pair + (f" K={e.record.relay_k}" if e.record.relay_k else "")


def efficiency(entries: list[Entry]) -> tuple[list[EfficiencyRow], list[BucketRow]]:
    """Tokens spent (median tokens per message x messages) and message counts by outcome bucket."""
    rows, buckets = [], []
    for (label, condition), es in sorted(group(entries, lambda e: (_label(e), e.record.condition)).items()):
        counts = [len(e.record.transcript.agent_messages) for e in es]
        tokens = [
            m.completion_tokens for e in es for m in e.record.transcript.agent_messages if m.completion_tokens
        ]
        mean_messages = sum(counts) / len(counts)
        median = float(statistics.median(tokens)) if tokens else None
        rows.append(
            EfficiencyRow(
                label,
                condition,
                len(es),
                mean_messages,
                median,
                median * mean_messages if median is not None else None,
            )
        )
        per_bucket = [
            [n for e, n in zip(es, counts) if lo <= e.record.grade.weighted < hi] for _, lo, hi in BUCKETS
        ]
        buckets.append(
            BucketRow(
                label,
                condition,
                [len(b) for b in per_bucket],
                [sum(b) / len(b) if b else None for b in per_bucket],
            )
        )
    return rows, buckets


def cache(entries: list[Entry]) -> list[CacheRow]:
    """Cached share of prompt tokens per model and seat, overall and by the seat's k-th message."""
    tally: dict[tuple[str, str], dict[int, list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0, 0])
    )  # turn -> [cached, prompt, messages]
    for e in entries:
        r = e.record
        labels = dict(zip(r.models, e.models)) | dict(zip(r.relay_after or (), e.after or ()))
        turns: Counter[str] = Counter()
        for m in r.transcript.agent_messages:
            seat = "solo" if r.condition in SOLO else m.speaker
            turns[seat] += 1
            if m.prompt_tokens:
                t = tally[(labels.get(m.model or "", m.model or "?"), seat)][turns[seat]]
                t[0] += m.cached_tokens or 0
                t[1] += m.prompt_tokens
                t[2] += 1
    rows = []
    for (model, seat), by_turn in sorted(tally.items()):
        cached, prompt, messages = (sum(t[i] for t in by_turn.values()) for i in (0, 1, 2))
        shares = [by_turn[k][0] / by_turn[k][1] if k in by_turn else None for k in range(1, max(by_turn) + 1)]
        rows.append(CacheRow(model, seat, messages, cached / prompt, shares))
    return rows


def agreement(entries: list[Entry]) -> list[AgreementRow]:
    """How often the LLM grader's extraction grades like the rule-based one, per condition and overall."""
    graded = [e for e in entries if e.record.grader_agreement is not None]

    def row(condition: str, es: list[Entry]) -> AgreementRow:
        share = mean_ci(
            [float(bool(e.record.grader_agreement)) for e in es], clusters=[e.record.maze_id for e in es]
        )
        a = rule_vs_llm(e.record.grades for e in es)
        return AgreementRow(condition, share, a.kappa_success, a.icc_weighted)

    rows = [row(c, es) for c, es in sorted(group(graded, lambda e: e.record.condition).items())]
    if len(rows) > 1:
        rows.append(row("all", graded))
    return rows


def human_ai(people: list[Entry], ai: list[Entry]) -> list[HumanAIRow]:
    """Per model that played with people: each seat order, and two copies of the model on the same mazes."""

    def model(e: Entry) -> str:
        return next(m for m in e.models if not is_human(m))

    copies = group(
        (e for e in ai if e.record.condition == "collab" and len(set(e.models)) == 1), lambda e: e.models[0]
    )
    rows = []
    for name, es in sorted(group(people, model).items()):
        first = [e for e in es if is_human(e.models[0])]
        second = [e for e in es if not is_human(e.models[0])]
        base = copies.get(name, [])
        rows.append(
            HumanAIRow(
                name,
                metrics(first),
                metrics(second),
                metrics(base),
                participants=len({m for e in es for m in e.models if is_human(m)}),
                gave_up=sum(e.record.transcript.end == "gave_up" for e in es),
                versus_ai=difference(es, base) if base else None,
                ordering=difference(first, second) if first and second else None,
            )
        )
    return rows


def describe_scheme(scheme: dict[str, Any] | None) -> str:
    if not scheme:
        return "directions"
    return f"{scheme.get('origin', 0)}-based {scheme.get('order', 'row_col')} from {scheme.get('corner', 'top_left')}"


def schemes(entries: list[Entry]) -> list[SchemeRow]:
    """How agents wrote their route and which interpretation of coordinates won."""
    rows = []
    for (label, condition), es in sorted(group(entries, lambda e: (_label(e), e.record.condition)).items()):
        symbols = Counter(e.record.grade.symbols or "no route" for e in es)
        coords = Counter(describe_scheme(e.record.grade.scheme) for e in es if e.record.grade.scheme)
        rows.append(
            SchemeRow(label, condition, len(es), dict(symbols.most_common()), dict(coords.most_common()))
        )
    return rows


def published_homogeneous(
    published: dict[str, Any], rows: list[HomogeneousRow]
) -> list[PublishedHomogeneous]:
    """The paper's homogeneous pairs and ours on one scale, best first."""
    out = [
        PublishedHomogeneous(p["model"], float(p["weighted"]), p.get("success"), None)
        for p in published.get("homogeneous", [])
    ]
    out += [
        PublishedHomogeneous(r.model, r.collab.weighted.mean, r.collab.success.mean, r.collab)
        for r in rows
        if r.collab
    ]
    return sorted(out, key=lambda p: -p.weighted)


def _map_differences(obj: Any, fn: Callable[[Difference], Difference]) -> Any:
    """``obj`` with ``fn`` applied to every Difference inside its dataclasses and lists."""
    if isinstance(obj, Difference):
        return fn(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.replace(
            obj,
            **{f.name: _map_differences(getattr(obj, f.name), fn) for f in dataclasses.fields(obj) if f.init},
        )
    if isinstance(obj, list):
        return [_map_differences(v, fn) for v in obj]
    return obj


def adjust(report: Report) -> Report:
    """Holm-adjust every difference of the report (one family per outcome), then settle what hangs on significance:
    which relations collapse and which matrix cells have a significant ordering effect."""
    found: dict[int, Difference] = {}
    _map_differences(report, lambda d: found.setdefault(id(d), d))  # a first walk only collects them
    adjusted: dict[int, float] = {}
    for binary in (False, True):
        family = [(i, d.p) for i, d in found.items() if d.binary == binary]
        adjusted.update(zip((i for i, _ in family), holm([p for _, p in family])))
    report = _map_differences(report, lambda d: dataclasses.replace(d, p_adjusted=adjusted[id(d)]))
    relations = [
        dataclasses.replace(r, collapses=r.collapse.mean > 0 and r.collapse.significant) if r.collapse else r
        for r in report.relations
    ]
    matrix = report.matrix
    if matrix is not None:
        marks = {}
        for o in report.ordering:
            if o.effect is not None:
                marks[(o.a, o.b)] = marks[(o.b, o.a)] = o.effect.weighted.significant
        matrix = dataclasses.replace(
            matrix,
            cells=[
                dataclasses.replace(c, ordering_significant=marks.get((c.first, c.second)))
                for c in matrix.cells
            ],
        )
    return dataclasses.replace(report, relations=relations, matrix=matrix)


def build(
    entries: list[Entry],
    runs: list[RunSource],
    links: list[RelationTriple],
    published: dict[str, Any],
    notes: dict[str, str],
) -> Report:
    """Every table of the report, with a note for each section the runs cannot fill. Games people
    played (`gapbench play`) fill the human-AI table only, so no participant becomes a model row. The
    study's tables use the dialogues without intervention; the interventions section compares the rest with them."""
    from gapbench.report.interventions import rows as intervention_rows  # it builds on this module's helpers

    notes = dict(notes)
    people = [e for e in entries if any(is_human(m) for m in e.models)]
    entries = [e for e in entries if not any(is_human(m) for m in e.models)]
    beyond = intervention_rows(entries)
    if not beyond:
        notes["interventions"] = (
            "no interventions and no referee in these runs (set `interventions:` or add `referee` to `conditions`)"
        )
    entries = [e for e in entries if e.record.intervention == "none" and e.record.condition != "referee"]
    conditions = {e.record.condition for e in entries}
    homo = homogeneous(entries)
    if not homo:
        notes["homogeneous"] = "no solo conditions and no homogeneous pairs in these runs"
    elif not conditions & set(SOLO):
        notes.setdefault(
            "homogeneous",
            "no solo conditions in these runs, so no collaboration gap; add solo_full / solo_distributed to `conditions`",
        )
    unpaired = [
        r.model
        for r in homo
        if r.collab and (r.solo_full or r.solo_distributed) and not (r.gap_full or r.gap_distributed)
    ]
    if unpaired:
        notes.setdefault(
            "homogeneous",
            f"solo and collaboration share no maze for {', '.join(unpaired)}, so no gap; run both on the same mazes",
        )
    matrix = pair_matrix(entries)
    if matrix is None:
        notes["heterogeneous"] = (
            "no heterogeneous pairs in these runs (set `pairs: all_ordered` or list pairs)"
        )
    order = ordering(entries)
    if matrix is not None and not order:
        notes["ordering"] = "no pair was run in both orders"
    curves = relay(entries)
    if not curves:
        notes["relay"] = "no relay conditions in these runs (add `relay` to `conditions`)"
    rels = relations(entries, links)
    if not rels:
        notes.setdefault(
            "relations",
            "no two models of these runs are related in the registry (distilled_from / base_of), or they lack solo or homogeneous runs",
        )
    eff, buckets = efficiency(entries)
    if all(r.median_tokens is None for r in eff):
        notes["efficiency"] = "no token counts were recorded (e.g. scripted agents); message counts only"
    reuse = cache(entries)
    if not reuse:
        notes["cache"] = (
            "no prompt token counts were recorded (e.g. scripted agents), so no prompt-cache reuse"
        )
    agree = agreement(entries)
    if not agree:
        notes["agreement"] = "no LLM grader in these runs (grader: rule), so nothing to compare"
    return adjust(
        Report(
            runs=runs,
            homogeneous=homo,
            matrix=matrix,
            ordering=order,
            relay=curves,
            relations=rels,
            efficiency=eff,
            buckets=buckets,
            cache=reuse,
            agreement=agree,
            schemes=schemes(entries),
            published=published_homogeneous(published, homo),
            published_ordering=list(published.get("ordering", [])),
            source=dict(published.get("source", {})),
            interventions=beyond,
            notes=notes,
            human_ai=human_ai(people, entries),
        )
    )
