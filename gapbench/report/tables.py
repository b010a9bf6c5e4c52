"""Aggregation: labelled dialogues in, typed tables out. Pure functions, no I/O.

Every mean carries a 95% bootstrap CI over mazes; every difference is paired on the mazes both
sides finished, with a p-value, Holm-adjusted across the report (gapbench.stats, docs/STATISTICS.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gapbench.play import is_human
from gapbench.report.load import Entry, RelationTriple, RunSource
from gapbench.report.measures import SOLO, Contrast, Metrics, difference, group, metrics, paired
from gapbench.report.references import HumanAIRow, PublishedHomogeneous, human_ai, published_homogeneous
from gapbench.report.usage import (
    AgreementRow,
    BucketRow,
    CacheRow,
    EfficiencyRow,
    SchemeRow,
    agreement,
    cache,
    efficiency,
    schemes,
)
from gapbench.stats import METHOD, Difference, holm

if TYPE_CHECKING:
    from gapbench.report.interventions import InterventionRow


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
