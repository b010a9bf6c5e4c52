"""Beyond the outcome: messages and tokens per dialogue, prompt-cache reuse per seat, how routes
were written, and how often the LLM grader agrees with the rule grader."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from gapbench.engines.base import cached_fraction
from gapbench.grading.agreement import rule_vs_llm
from gapbench.report.load import Entry
from gapbench.report.measures import SOLO, group
from gapbench.stats import Estimate, mean_ci

BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("fail (<0.25)", float("-inf"), 0.25),
    ("partial fail (0.25-0.5)", 0.25, 0.5),
    ("partial success (0.5-0.75)", 0.5, 0.75),
    ("success (0.75-1)", 0.75, float("inf")),
)


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
    cached_fraction: float  # cached / prompt tokens over those messages
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
            seat: str = "solo" if r.condition in SOLO else m.speaker
            turns[seat] += 1
            if m.prompt_tokens:
                t = tally[(labels.get(m.model or "", m.model or "?"), seat)][turns[seat]]
                t[0] += m.cached_tokens or 0
                t[1] += m.prompt_tokens
                t[2] += 1
    rows = []
    for (model, seat), by_turn in sorted(tally.items()):
        cached, prompt, messages = (sum(t[i] for t in by_turn.values()) for i in (0, 1, 2))
        shares = [
            cached_fraction(*by_turn[k][:2]) if k in by_turn else None for k in range(1, max(by_turn) + 1)
        ]
        rows.append(CacheRow(model, seat, messages, cached_fraction(cached, prompt), shares))
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
