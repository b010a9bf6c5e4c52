"""Runs: route symbols that stand together, each with the role its own clause gives it.

Symbols next to each other ("right, right, down", "(0,0) -> (0,1)", a numbered list) form one *run*;
the words of the run's clause decide what it does: a proposal, a position claim, a described cell,
a negated, conditional or alternative move. ``grading.acts`` reads whole messages from these runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from gapbench.grading import cues
from gapbench.grading.routes import Mention
from gapbench.grading.schemes import Step

Role = Literal["proposal", "claim", "info", "negated", "conditional", "alternatives"]


@dataclass(frozen=True)
class Run:
    steps: tuple[Step, ...]
    start: int
    end: int
    role: Role
    question: bool = False  # stands in a question ("Down?")
    narration: bool = False  # reports a move as happening ("Moving right now", "moved down")
    again: bool = False  # marked as a further move ("down again", "another right")
    marked: bool = False  # put forward in words ("I propose", "let's", "please"), not just stated
    asks: bool = False  # explicitly a new proposal ("I suggest", "please", "next move")
    parts: int = 1  # how many mentions it joins ("right, and then right" is 2; "right twice" is 1)
    challenges: bool = False  # in a question that challenges the move ("why down?", "is ← open?")
    offer: bool = False  # "If (0,1) is open, then right": executes only if the partner states it too


# A run's clause is read within this many characters on each side of it, so that reading a sentence
# stays linear in its length however many runs it holds (real clauses are far shorter).
_REACH = 240


_TOO_ALONE = re.compile(r"\s*(?:too|as well|also)\W*$", re.IGNORECASE)
_DIRECTION_WORD = re.compile(r"\b(?:up|down|left|right)\b", re.IGNORECASE)

# the run is the verb's object inside the condition itself: "if we go down", "when you move right"
_IN_CONDITION = re.compile(
    r"\s+(?:we|you|i|they)\s+(?:\w+\s+){0,1}(?:go|move|step|head|take|went|moved)\s*(?:to\s+)?", re.IGNORECASE
)


def _clause_left(sentence: str, pos: int) -> str:
    """The sentence text from the last clause break before ``pos`` up to ``pos``."""
    left = sentence[:pos]
    breaks = list(cues.CLAUSE_BREAK.finditer(left))
    return left[breaks[-1].end() :] if breaks else left


def _clause_break_before(sentence: str, pos: int) -> str:
    """The clause break that opens the clause holding ``pos`` (and what follows it), or ''."""
    breaks = list(cues.CLAUSE_BREAK.finditer(sentence, 0, pos))
    return sentence[breaks[-1].start() : pos] if breaks else ""


def _clause_right(sentence: str, pos: int) -> str:
    m = cues.CLAUSE_BREAK.search(sentence, pos)
    return sentence[pos : m.start() if m else len(sentence)]


def group_runs(
    text: str, mentions: list[Mention], gap: re.Pattern[str] = cues.RUN_GAP
) -> list[list[Mention]]:
    """Mentions that follow each other with only connectors between them form one run."""
    runs: list[list[Mention]] = []
    for m in mentions:
        if runs and gap.fullmatch(text, runs[-1][-1].end, m.start):
            runs[-1].append(m)
        else:
            runs.append([m])
    return runs


def _role(
    sentence: str,
    start: int,
    end: int,
    alternatives: bool,
    plan: bool = False,
    cells: bool = True,
    *,
    question: bool = False,
    later: bool = False,
) -> Role:
    """The role of the run at ``sentence[start:end]`` (``sentence`` is the run's window of its
    sentence); ``question``: the sentence asks; ``later``: the run follows "Once we're at X,"."""
    before = sentence[max(0, start - 60) : start]
    left = _clause_left(sentence, start)
    after = sentence[end:]
    if cells and (
        cues.CLAIM_AFTER.match(sentence, end)
        or (cues.CLAIM_BEFORE.search(before) and not cues.NARRATION_BEFORE.search(left[-14:]))
    ):
        return "claim"  # a position is a cell: "back up" is a move
    if (
        cues.BLOCKED_AFTER.match(_clause_right(sentence, end))
        or cues.WHICH_BLOCKED.match(after)
        or cues.NEGATION.search(left)
        or cues.NEG_AFTER.match(_clause_right(sentence, end))
    ):
        return "negated"
    if cues.FALLBACK.match(_clause_break_before(sentence, start)) or cues.FALLBACK_BEFORE.search(before):
        return "alternatives"  # "Go right if (0,1) is free, otherwise down."
    if later:
        return "conditional"
    if cues.ENDORSED_AFTER.match(after):
        return "proposal"  # "Right is fine.": the move, endorsed
    cond = list(cues.CONDITIONAL.finditer(left))
    modal = bool(cond) and re.search(r"(?:could|might|may)$", cond[-1].group(), re.IGNORECASE) is not None
    if (
        cond
        and not re.search(r"\bwhat if\b", left, re.IGNORECASE)
        and (
            modal
            or not cues.PROPOSAL_MARKER.search(left, cond[-1].end())
            or _IN_CONDITION.fullmatch(left, cond[-1].end()) is not None  # "If we go down, ..."
        )
    ):
        return "conditional"  # "if we went down ...", but not "after going right we should go right again"
    if cues.HYPOTHETICAL_AFTER.match(_clause_right(sentence, end)) and not question:
        return "conditional"
    if cues.DEFERRED.match(sentence, end):
        return "conditional"  # "the ↑↑ I'll confirm once we're at (3,5)"
    reason = _clause_break_before(sentence, start)
    if (cues.REASON.search(reason) and ":" not in reason) or re.search(
        r"\breasons?\s*:", sentence[:start], re.IGNORECASE
    ):
        return "info"  # "..., because (3,2) looks open", "Reason: (1,0) is #" (not "as you do: route ...")
    goal = cues.GOAL_EARLIER.search(sentence[:start])
    if (
        goal
        and not cues.PROPOSAL_MARKER.search(sentence[goal.end() : start])
        and not re.search(r"\s[-–—]\s|:", sentence[goal.end() : start])
    ):
        return "info"  # "I can see the goal on my side, in the top row, at (0,4)."
    if cells and (cues.GOAL_NAMED_AFTER.match(after) or cues.GOAL_LABEL.search(before)):
        return "info"  # "Is (4,4) the goal for you?"
    # "is down to (1,1) open on your map?" asks about a move, so it puts the move forward
    move_asked = question and _DIRECTION_WORD.search(sentence, start, end) is not None
    if cells and cues.OPEN_AFTER.match(after) and not cues.PROPOSAL_MARKER.search(left) and not move_asked:
        return "info"  # "Is (1,0) open for you?"
    if (
        (cues.INFO_AFTER.match(after) and not plan and not move_asked)
        or cues.SO_IS.search(before)
        or (cells and cues.DESCRIBED_LIST.search(before) and not cues.PROPOSAL_MARKER.search(before))
        or (cues.INFO_BEFORE.search(left) and not cues.PROPOSAL_MARKER.search(left))
    ):
        return "info"
    if cells and _TOO_ALONE.match(after) and not cues.PROPOSAL_MARKER.search(left):
        return "info"  # "B1 is hidden for me. A2 too.": the description before goes on
    if alternatives:
        return "alternatives"
    return "proposal"


def sentence_runs(text: str, offset: int, sentence: str, mine: list[Mention]) -> list[Run]:
    """The runs of one sentence, each with its role."""
    question = sentence.rstrip().endswith("?")
    if cues.HISTORY.search(sentence) and not question:
        # "To summarize, we have moved down and down": the path so far, not a proposal.
        return [
            Run(tuple(st for m in g for st in m.steps), g[0].start, g[-1].end, "info")
            for g in group_runs(text, mine)
        ]
    groups = group_runs(text, mine)
    if_then = cues.IF_THEN.match(sentence)
    if if_then:  # "If you see no wall below (0,1), then down": the condition's cell is not in the plan
        cut = offset + if_then.end()
        groups = [part for g in groups for part in _cut(g, cut) if part]
    # "➡️ and right again ➡️?": a mention marked "again" starts a new proposal.
    regrouped: list[list[Mention]] = []
    for group in groups:
        start = 0
        for j in range(1, len(group)):
            if cues.AGAIN_AFTER.match(text, group[j].end):
                if j > start:
                    regrouped.append(group[start:j])
                start = j
        regrouped.append(group[start:])
    groups = regrouped
    # A run whose last symbol is described ("(4,5), then (5,5) is the goal") proposes the rest.
    split: list[list[Mention]] = []
    for group in groups:
        tail = sentence[group[-1].end - offset : group[-1].end - offset + _REACH]
        if (
            len(group) > 1
            and not group[-1].steps[0].is_direction
            and (cues.INFO_AFTER.match(tail) or cues.BLOCKED_AFTER.match(tail))
            and not re.match(r"\s*are\b", tail)
        ):
            split += [group[:-1], group[-1:]]
        else:
            split.append(group)
    # "down or right?" - two runs joined by "or" are alternatives, not a concrete proposal.
    joined_by_or = [False] * len(split)
    for i in range(1, len(split)):
        if cues.OR_GAP.match(text[split[i - 1][-1].end : split[i][0].start]):
            joined_by_or[i - 1] = joined_by_or[i] = True
    # What holds for the whole sentence is read once.
    asks = bool(cues.NEW_PROPOSAL.search(sentence))
    challenges = question and bool(cues.CHALLENGE.search(sentence))
    now_next = bool(cues.NOW_NEXT.match(sentence))
    later = cues.LATER.match(sentence)
    last_break = max((m.start() for m in cues.QUESTION_BREAK.finditer(sentence)), default=-1)
    runs = []
    for group, alt in zip(
        _split_claims(sentence, offset, split, text), _pad(joined_by_or, split, sentence, offset, text)
    ):
        s, e = group[0].start - offset, group[-1].end - offset
        lo = max(0, s - _REACH)
        window = sentence[lo : e + _REACH]
        plan = len(group) > 1 and all(st.is_direction for m in group for st in m.steps)
        cells = any(not st.is_direction for m in group for st in m.steps)
        deferred = later is not None and s >= later.end()
        role = _role(window, s - lo, e - lo, alt, plan, cells, question=question, later=deferred)
        left = _clause_left(window, s - lo)
        runs.append(
            Run(
                tuple(step for m in group for step in m.steps),
                group[0].start,
                group[-1].end,
                role,
                question=question and last_break < e,  # "Right - and right again?": only the second asks
                narration=bool(cues.NARRATION_BEFORE.search(left)),
                again=bool(
                    cues.NEW_AGAIN.search(sentence[s : e + 24]) or cues.NEW_AGAIN.search(left) or now_next
                ),
                parts=len(group),
                marked=bool(cues.PROPOSAL_MARKER.search(left)) or asks,
                asks=asks,
                challenges=challenges,
            )
        )
    runs = _shared_roles(text, _restated_claims(text, runs))
    if cues.LIST.search(sentence):
        runs = _merge_list(runs)
    return _merge_then(text, runs)


_RESTATED = re.compile(r"\s*(?:[-–—=(]|\bi\.?e\.?|\baka\b|\bthat is\b)\s*", re.IGNORECASE)


def _restated_claims(text: str, runs: list[Run]) -> list[Run]:
    """ "We're at (0,1) - row 0, column 1": the position written again in another form is still a claim."""
    for i in range(1, len(runs)):
        p, r = runs[i - 1], runs[i]
        if (
            p.role == "claim"
            and r.role == "proposal"
            and len(r.steps) == 1
            and not r.steps[0].is_direction
            and not r.steps[0].hint  # "from (1,2) - down to (2,2)" moves on
            and _RESTATED.fullmatch(text, p.end, r.start)
        ):
            runs[i] = replace(r, role="claim")
    return runs


_RANGE_GAP = re.compile(r"[-–]")  # "r1c0-r1c2"; a spaced dash opens a clause
_AND_ALSO_GAP = re.compile(r"[^.!?;:]{0,40},\s*and\s+(?:also\s+)?")
_AND_ALSO_END = re.compile(r"\s*(?:too|as well|also)?\s*(?:[.;!]|$)", re.IGNORECASE)


def _shared_roles(text: str, runs: list[Run]) -> list[Run]:
    """Cells that share a description: "r1c0-r1c2 are hidden" (a range), "(2,0) is open, and (3,0)
    too" (a cell added to the description) describe, they do not propose."""
    for i in range(1, len(runs)):
        p, r = runs[i - 1], runs[i]
        cells = not p.steps[-1].is_direction and not r.steps[0].is_direction
        if (
            cells
            and p.role == "proposal"
            and r.role in ("info", "negated")
            and _RANGE_GAP.fullmatch(text, p.end, r.start)
        ):
            runs[i - 1] = replace(p, role=r.role)
        elif (
            cells
            and p.role in ("info", "negated")
            and r.role == "proposal"
            and _AND_ALSO_GAP.fullmatch(text, p.end, r.start)
            and not cues.PROPOSAL_MARKER.search(text, p.end, r.start)
            and _AND_ALSO_END.match(text, r.end)
        ):
            runs[i] = replace(r, role=p.role)
    return runs


def _join(p: Run, r: Run, *, later_asks: bool = False) -> Run:
    """Two proposals read as one plan; with ``later_asks`` only the later one's question counts
    ("We go (2,2). Then (3,3)?")."""
    return replace(
        p,
        steps=p.steps + r.steps,
        end=r.end,
        question=r.question if later_asks else p.question or r.question,
        asks=p.asks or r.asks,
        parts=p.parts + r.parts,
        challenges=r.challenges if later_asks else p.challenges or r.challenges,
    )


def _cut(group: list[Mention], at: int) -> tuple[list[Mention], list[Mention]]:
    return [m for m in group if m.start < at], [m for m in group if m.start >= at]


def _asks_for_more(text: str, out: list[Run], last: int, r: Run) -> bool:
    """Does proposal ``r`` continue the proposal at ``out[last]`` with "more" ("twice more")?"""
    return (
        r.role == "proposal"
        and last >= 0
        and not out[last].question
        and cues.COUNT_MORE.search(text, r.start, r.end + 6) is not None
    )


def _merge_then(text: str, runs: list[Run]) -> list[Run]:
    """ "One more down to the bottom row, then right": two proposals joined by "then" are one plan."""
    out: list[Run] = []
    last = -1  # the index in ``out`` of the last proposal
    for r in runs:
        if _asks_for_more(text, out, last, r):
            out[last] = _join(out[last], r, later_asks=True)
            continue
        if r.role == "proposal":
            last = len(out) - 1 if out and out[-1].role == "proposal" else len(out)
        if out and r.role == "proposal" and out[-1].role == "proposal":
            gap = text[out[-1].end : r.start]
            m = re.search(
                r"(?:and\s+)?(?:then|followed by|after that|afterwards)\b(?:\s+[\w'*]+){0,5}?[\s,:*_]*$",
                gap,
                re.IGNORECASE,
            )
            if m and len(gap) <= 40:
                out[-1] = _join(out[-1], r)
                continue
        out.append(r)
    return out


def _splits_first(sentence: str, offset: int, g: list[Mention], text: str) -> bool:
    """Is the first cell of the run a position or a label, not the run's first step? "From (2,1): right
    -> (2,2)" (a stated position), "The goal is at (2,4): right then down" (a cell, then the moves)."""
    if len(g) < 2 or g[0].steps[0].is_direction:
        return False
    s = g[0].start - offset
    labelled = ":" in text[g[0].end : g[1].start] and g[1].steps[0].is_direction
    return labelled or bool(cues.CLAIM_BEFORE.search(sentence[max(0, s - 60) : s]))


def _split_claims(sentence: str, offset: int, groups: list[list[Mention]], text: str) -> list[list[Mention]]:
    """The runs with a stated position (or a labelled cell) split off their first cell."""
    out: list[list[Mention]] = []
    for g in groups:
        out += [g[:1], g[1:]] if _splits_first(sentence, offset, g, text) else [g]
    return out


def _pad(flags: list[bool], groups: list[list[Mention]], sentence: str, offset: int, text: str) -> list[bool]:
    """The alternatives flags, one per group after claims are split off (a split group keeps False)."""
    out: list[bool] = []
    for flag, g in zip(flags, groups):
        out += [flag, flag] if _splits_first(sentence, offset, g, text) else [flag]
    return out


def _merge_list(runs: list[Run]) -> list[Run]:
    """The proposals of one list are one plan."""
    out: list[Run] = []
    for r in runs:
        if out and r.role == "proposal" and out[-1].role == "proposal":
            out[-1] = _join(out[-1], r)
        else:
            out.append(r)
    return out


def merge_then_sentences(text: str, runs: list[Run]) -> list[Run]:
    """ "We go (2,2). Then (3,3), (4,4).", "Right to (0,1)? Then down?": a sentence that opens with
    "Then" continues the plan; so does a later proposal of "more" ("Right. If (0,3) is clear,
    continue right twice more.")."""
    out: list[Run] = []
    last = -1  # the index in ``out`` of the last proposal
    for r in runs:
        if _asks_for_more(text, out, last, r):
            out[last] = _join(out[last], r, later_asks=True)
            continue
        if out and r.role == "proposal" and out[-1].role == "proposal":
            gap = text[out[-1].end : r.start]
            if re.fullmatch(
                r"[^\n]{0,3}?[.!?]\s*(?:(?:and\s+)?(?:then|after that|afterwards)\b|(?:step|move)\s*\d{1,2}\s*[:.)-])[\s,:]*(?:(?:we\s+)?(?:go|move|to)\s+)?",
                gap,
                re.IGNORECASE,
            ):
                out[-1] = _join(out[-1], r, later_asks=True)
                continue
        out.append(r)
        if r.role == "proposal":
            last = len(out) - 1
    return out
