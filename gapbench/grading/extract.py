"""Route extraction: transcript in, the route that was executed (as written) out.

Two extractors share the ``Extraction`` type: the rule-based one below (deterministic, no model) and
the LLM grader (``grading.llm``). Both go through the same interpretation and walk (``validate``).

The rule extractor follows the game's own rule: a move is executed when one agent's concrete
proposal is accepted by the other, or when both state the same move. See docs/GRADING.md for the
semantics with examples.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from typing import Literal

from gapbench.grading.acts import Acts, Run, read_message
from gapbench.grading.routes import convention
from gapbench.grading.schemes import Step
from gapbench.grading.text import message_text, sentences
from gapbench.transcript import Transcript

RULE_GRADER_VERSION = "rule-2"


@dataclass(frozen=True)
class Claim:
    """A position the agents stated, valid after between ``lo`` and ``hi`` executed steps."""

    cell: Step
    lo: int
    hi: int


@dataclass(frozen=True)
class Extraction:
    steps: tuple[Step, ...]
    method: Literal["rule", "llm"]
    message_index: tuple[int, ...] = ()  # per step: index in transcript.messages where it was agreed
    error: str | None = None  # why nothing could be extracted (the route is then empty)
    detail: dict = field(default_factory=dict)  # extractor-specific (e.g. the LLM's declared scheme)
    claims: tuple[Claim, ...] = ()  # stated positions: evidence for the scheme, never moves
    no_route: bool = False  # the answer gives no route at all (solo): weighted 0, never partial credit
    version: str = RULE_GRADER_VERSION


def _matches(run: tuple[Step, ...], proposal: tuple[Step, ...], *, strict: bool = False) -> bool:
    """Does ``run`` restate ``proposal`` (the same steps, a direction matching a cell's hint)?
    Unless ``strict``, a cell without a hint may restate a direction ("Right?" - "(0,1).")."""
    if len(run) != len(proposal):
        return False
    for a, b in zip(run, proposal):
        if a.same_move(b):
            continue
        if a.is_direction and not b.is_direction and b.hint == a.first:
            continue
        if not strict and b.is_direction and not a.is_direction and not a.hint:
            continue  # "Move right." - "(3,1) ACTI!": the same move if (3,1) is right of us
        if not strict and a.is_direction and not b.is_direction and not b.hint:
            continue
        return False
    return True


_ACTI = re.compile(r"\bACTI\b", re.IGNORECASE)


def _sentence_end(text: str, pos: int) -> int:
    for start, piece in sentences(text):
        if start <= pos < start + len(piece):
            return start + len(piece)
    return len(text)


def _first_sentence_end(text: str) -> int:
    pieces = sentences(text)
    return pieces[0][0] + len(pieces[0][1]) if pieces else 0


def _within(run: tuple[Step, ...], block: tuple[Step, ...]) -> bool:
    """Is ``run`` a contiguous part of ``block`` (e.g. the end cell of an accepted plan)?"""
    n = len(run)
    return any(_matches(run, block[i : i + n]) for i in range(len(block) - n + 1))


def _richer(
    run: tuple[Step, ...], proposal: tuple[Step, ...], refuted: tuple[Step, ...] = ()
) -> tuple[Step, ...]:
    """Of two restatements of one move, the one that carries more evidence (a cell with its hint).
    A cell the accepting message refutes ("Down takes us to (1,0), not (1,1). But yes, down.")
    gives way to the direction."""
    out = []
    for a, b in zip(run, proposal):
        cell, direction = (a, b) if b.is_direction else (b, a)
        if direction.is_direction and any(cell.same_move(x) for x in refuted):
            out.append(direction)
        elif not cell.is_direction and direction.is_direction and not cell.hint:
            out.append(Step(cell.first, cell.second, cell.order, cell.origin, direction.first))
        else:
            out.append(a if (not a.is_direction and a.hint) else b)
    return tuple(out)


def _rejects(acts: Acts, proposal: tuple[Step, ...]) -> bool:
    """An explicit rejection, a negated restatement, or a wall report aimed at the proposal."""
    if acts.rejects:
        return True
    after_yes = (
        acts.accept_end if acts.accepts else len(acts.text) + 1
    )  # "Great, let's do it. We can't go up": the next up
    for r in acts.runs:
        if r.start >= after_yes:
            continue
        if r.role in ("negated", "conditional") and (
            _matches(r.steps, proposal, strict=True) or _matches(r.steps[:1], proposal[:1], strict=True)
        ):
            return True
    for lo, hi in acts.wall_sentences:
        if lo >= after_yes:
            continue
        inside = [r for r in acts.runs if lo <= r.start < hi and r.role in ("info", "negated", "proposal")]
        if (not inside and not acts.accepts) or any(
            _matches(r.steps[:1], proposal[:1], strict=True) for r in inside
        ):
            return True
    return False


def _accepted_part(acts: Acts, plan: tuple[Step, ...]) -> int:
    """How many steps of ``plan`` a partial acceptance takes: "only the first step", "the first two",
    "as far as (2,1)" (0: no partial acceptance)."""
    if acts.only_first:
        return acts.only_first
    for cell in acts.until:
        for k, step in enumerate(plan):
            if not step.is_direction and step.same_move(cell):
                return k + 1
    return 0


@dataclass
class _Table:
    """The proposal on the table and the moves just executed (which narration may confirm)."""

    speaker: str | None = None
    steps: tuple[Step, ...] = ()
    executed: tuple[Step, ...] = ()  # the last executed block, still open to narration
    narrated: int = 0  # how many of ``executed`` have been narrated since
    from_plan: bool = False
    asked: bool = False  # the proposer also asked about the map: a bare "Yes" answers that question
    offer: bool = False  # "If (0,1) is open, then right": only the partner's restatement executes it


def _collab(transcript: Transcript) -> Extraction:
    steps: list[Step] = []
    where: list[int] = []
    claims: list[Claim] = []
    table = _Table()
    texts: list[str] = []
    for i, m in enumerate(transcript.messages):
        if m.speaker == "user":
            continue
        texts.append(message_text(m.text))
        acts = read_message(texts[-1])
        before = len(steps)
        moving = [r for r in acts.runs if r.role == "proposal"]
        if acts.repeats and steps and steps[-1].is_direction:
            # "Again?" after an executed down proposes down; "Again." answering it restates it.
            question = acts.text.rstrip().endswith("?")
            moving = [Run((steps[-1],), 0, len(acts.text), "proposal", question=question, again=True)]
        consumed: set[int] = set()
        accepted_now: tuple[Step, ...] = ()
        accepting: Run | None = None
        # 1. The partner's proposal: accepted, rejected, or left on the table.
        if table.steps and table.speaker != m.speaker:
            # "Fine. Up, please.": accepted by its first sentence; the later, worded move is a new proposal.
            fresh_ask = {
                k
                for k, r in enumerate(moving)
                if acts.bare_accept and 0 <= acts.accept_end <= r.start and r.marked
            }
            # A cell answering a direction (or the reverse) restates it only with a sign of agreement.
            loose = acts.accepts or acts.reports_arrival or bool(_ACTI.search(acts.text))
            restating = [
                k
                for k, r in enumerate(moving)
                if _matches(r.steps, table.steps, strict=not (loose or r.narration))
                and not r.question
                and k not in fresh_ask
                and not any(
                    lo <= r.start < hi for lo, hi in acts.reject_sentences
                )  # "No, (1,3) gets us nowhere"
            ]
            # "why →?", "is ← open on your side?": a challenge leaves the proposal on the table; "Down then?" adopts it.
            echoed = [
                k
                for k, r in enumerate(moving)
                if _matches(r.steps, table.steps) and r.question and r.challenges
            ]
            prefix = [
                k
                for k, r in enumerate(moving)
                if not r.question
                and len(r.steps) < len(table.steps)
                and _matches(r.steps, table.steps[: len(r.steps)])
                and not any(lo <= r.start < hi for lo, hi in acts.reject_sentences)
            ]
            extends = [
                k
                for k, r in enumerate(moving)
                if not r.question
                and len(r.steps) > len(table.steps)
                and r.parts > 1
                and _matches(r.steps[: len(table.steps)], table.steps)
            ]
            accepted: tuple[Step, ...] | None = None
            if restating:
                refuted = tuple(st for r in acts.runs if r.role == "negated" and len(r.steps) == 1 for st in r.steps)
                accepted = _richer(moving[restating[0]].steps, table.steps, refuted)
                consumed.add(restating[0])
            elif table.offer:
                accepted = None  # a conditional offer waits for the partner to state the move
            elif prefix and acts.accepts and moving[prefix[0]].narration:
                accepted = table.steps  # "Agreed. Moving right.": the plan, narrated from its first step
                consumed.add(prefix[0])
            elif prefix:
                # "d1, e1 fine. e2, e3 fine.": consecutive runs that go on with the plan add up.
                n, k = 0, prefix[0]
                end = _sentence_end(acts.text, moving[k].start)  # "r2c2, r2c3 yes; r2c4 onward later."
                while (
                    k < len(moving)
                    and moving[k].start < end
                    and not moving[k].question
                    and _matches(moving[k].steps, table.steps[n : n + len(moving[k].steps)])
                    and n + len(moving[k].steps) <= len(table.steps)
                ):
                    consumed.add(k)
                    n += len(moving[k].steps)
                    k += 1
                accepted = table.steps[:n]  # "Down, yes. Not the right yet."
            elif _rejects(acts, table.steps):
                accepted = None
            elif extends:
                accepted = table.steps  # "Right again, and then down": accepts right, proposes down
                accepting = moving[extends[0]]
            elif (
                (acts.accepts and not table.asked)
                or (acts.reports_arrival and not moving)
                or (_accepted_part(acts, table.steps) and not acts.rejects)
            ):
                accepted = table.steps[: _accepted_part(acts, table.steps) or len(table.steps)]
            if accepted is not None:
                # "Yes, all four, down to (2,4)": restating part of what was accepted adds nothing.
                first = _first_sentence_end(acts.text)
                consumed |= {
                    k
                    for k, r in enumerate(moving)
                    if k not in fresh_ask
                    and not (r.again or r.question)
                    and (r.narration or r.start < first)
                    and _within(r.steps, accepted)
                }
                steps += accepted
                accepted_now = accepted
                where += [i] * len(accepted)
                table = _Table(
                    executed=accepted,
                    narrated=len(accepted) if restating or prefix else 0,
                    from_plan=len(table.steps) > 1,
                )
            elif echoed and not acts.rejects:
                consumed |= set(echoed)  # "is ← open on your side?": a question about it, the proposal stays
            elif acts.rejects or _rejects(acts, table.steps) or moving:
                table = _Table(executed=table.executed, narrated=table.narrated, from_plan=table.from_plan)
        # 2. Narration of moves just executed confirms them; it is not a new move.
        for k, r in enumerate(moving):
            echo = (
                acts.accepts and not table.steps and not r.marked and r.start < acts.accept_end
            )  # "Agreed, up." after the up
            if k in consumed or r.question or not table.executed or not (r.narration or echo):
                continue
            remaining = table.executed[table.narrated :] or table.executed
            if _matches(r.steps, remaining[: len(r.steps)], strict=True) and (table.from_plan or not r.again):
                consumed.add(k)
                table.narrated = min(len(table.executed), table.narrated + len(r.steps))
        # 3. The last concrete proposal of the message goes on the table.
        fresh = [r for k, r in enumerate(moving) if k not in consumed]
        first = _first_sentence_end(acts.text)
        if (
            accepted_now
            and fresh
            and len(fresh[-1].steps) > len(accepted_now)
            and _matches(fresh[-1].steps[: len(accepted_now)], accepted_now)
            and (fresh[-1] is accepting or (fresh[-1].start < first and not fresh[-1].again))
        ):
            r = fresh[-1]  # "Yes (4,1), then (5,1)": accepts (4,1), proposes (5,1)
            fresh[-1] = replace(r, steps=r.steps[len(accepted_now) :])
        if not fresh and acts.names_goal is not None:
            fresh = [acts.names_goal]  # "(0,6) is the goal on my map."
        if not fresh and table.speaker == m.speaker and acts.asks_about_map:
            table.asked = True  # "Is (1,0) open for you?" after its own proposal: a "Yes" answers that
        offers = [r for r in acts.runs if r.offer]
        if not fresh and offers:
            table = _Table(m.speaker, offers[-1].steps, table.executed, table.narrated, table.from_plan, offer=True)
        if fresh:
            table = _Table(
                m.speaker,
                fresh[-1].steps,
                table.executed,
                table.narrated,
                table.from_plan,
                acts.asks_about_map,
            )
        for r in acts.claims:
            claims += [Claim(s, before, len(steps)) for s in r.steps if not s.is_direction]
    error = None if steps else "no agreed moves found"
    stated = convention("\n".join(texts))
    return Extraction(
        tuple(steps),
        "rule",
        tuple(where),
        error=error,
        claims=tuple(claims),
        detail={"convention": stated} if stated else {},
    )


# Solo answers: the final route usually follows a marker, and may span lines (a list).
_FINAL_MARKER = re.compile(
    r"\b(?:final|corrected|revised|updated|complete|my)\s+(?:answer|solution|route|path|list|sequence|moves)\b|\b(?:solution|route|path|answer|moves)\s*(?:is)?\s*:",
    re.IGNORECASE,
)
_PARAGRAPH = re.compile(r"\n\s*\n")


def _enumerates_directions(run: tuple[Step, ...]) -> bool:
    """ "The possible moves are up, down, left and right" lists options, not a route."""
    names = [s.first for s in run if s.is_direction]
    return len(run) == 4 and len(set(names)) == 4


def _route_in(acts: Acts, lo: int, hi: int) -> tuple[Step, ...]:
    runs = [
        r
        for r in acts.runs
        if r.role == "proposal" and lo <= r.start < hi and not _enumerates_directions(r.steps)
    ]
    if any(sum(not s.is_direction for s in r.steps) >= 2 for r in runs):
        # A list of cells is the route; "a more direct route down the first column:" only names it.
        runs = [r for r in runs if not all(s.is_direction for s in r.steps)]
    return tuple(s for r in runs for s in r.steps)


def _solo_route(text: str) -> tuple[tuple[Step, ...], Acts]:
    """The route of one solo answer: every proposed step after the last final-answer marker; else
    the last paragraph that proposes two or more steps; else the last proposed step."""
    acts = read_message(text)
    markers = list(_FINAL_MARKER.finditer(text))
    if markers:
        route = _route_in(acts, markers[-1].start(), len(text))
        if route:
            return route, acts
    bounds = [0] + [m.end() for m in _PARAGRAPH.finditer(text)] + [len(text)]
    routes = [_route_in(acts, lo, hi) for lo, hi in itertools.pairwise(bounds)]
    long = [r for r in routes if len(r) >= 2]
    short = [r for r in routes if r]
    return (long[-1] if long else short[-1] if short else ()), acts


def _solo(transcript: Transcript) -> Extraction:
    answers = [(i, message_text(m.text)) for i, m in enumerate(transcript.messages) if m.speaker != "user"]
    for i, text in reversed(answers):
        route, _ = _solo_route(text)
        if route:
            # Conventions and stated positions count from every answer: the first often sets them up.
            claims: list[Claim] = []
            for _, answer in answers:
                acts = read_message(answer)
                for r in acts.claims:
                    at_start = _START.search(answer, max(0, r.start - 30), r.start) is not None
                    claims += [
                        Claim(s, 0, 0 if at_start else len(route)) for s in r.steps if not s.is_direction
                    ]
            stated = convention("\n".join(text for _, text in answers))
            return Extraction(
                route,
                "rule",
                (i,) * len(route),
                claims=tuple(claims),
                detail={"convention": stated} if stated else {},
            )
    return Extraction((), "rule", error="the answer gives no route", no_route=True)


_START = re.compile(r"\bstart(?:ing)?\b[^.\n]*$", re.IGNORECASE)


def extract_rule(transcript: Transcript) -> Extraction:
    """Deterministic extraction. Collaboration: the moves both agents agreed to, with the positions
    they stated. Solo: the route of the final answer (the first answer's if the final one has none)."""
    if not any(m.speaker != "user" for m in transcript.messages):
        return Extraction(
            (), "rule", error="transcript has no agent messages", no_route=transcript.condition != "collab"
        )
    if transcript.condition != "collab":
        return _solo(transcript)
    return _collab(transcript)
