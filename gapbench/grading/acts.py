"""Dialogue acts: what one message does with moves.

A message is read sentence by sentence. Route symbols that stand next to each other ("right, right,
down", "(0,0) -> (0,1)") form a *run*, and each run gets one role from its own clause:

- ``proposal``: a move put forward ("Let's go down", "Down?", "How about (0,1)?", "Moving right now");
- ``claim``: a statement of where the agents are ("We are at (2,2)", "from (1,1)"): evidence for the
  coordinate scheme, never a move;
- ``info``: a cell described ("(2,3) looks open", "my map shows a wall at (3,1)");
- ``negated``, ``conditional``, ``alternatives``: moves that are not put forward ("we can't go left",
  "if we went right ...", "down or right?").

The message as a whole may also accept or reject the proposal on the table. ``extract`` turns these
acts into executed moves; this module only reads.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Literal

from gapbench.grading import cues
from gapbench.grading.routes import Mention, find_mentions
from gapbench.grading.schemes import Step
from gapbench.grading.text import sentences

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


@dataclass(frozen=True)
class Acts:
    """What one message does; ``text`` is the normalised text the spans point into."""

    text: str
    runs: tuple[Run, ...]
    accepts: bool  # agreement words in a statement ("Sounds good", "👍")
    rejects: bool  # a rejection ("No", "instead", "wait")
    wall_sentences: tuple[tuple[int, int], ...]  # spans of sentences that report a wall / block
    seeks_agreement: bool  # asks the partner to agree ("Do you agree?")
    reports_arrival: bool  # states a new position as a fact ("We're at (1,3) now."): the move happened
    names_goal: Run | None = None  # "(0,6) is the goal": a move to it is on offer when nothing else is
    accept_end: int = -1  # where the first accepting sentence ends ("Fine." in "Fine. Up, please.")
    bare_accept: bool = False  # that sentence names no move ("Fine.", "👍"), so a move after it is new
    only_first: int = (
        0  # "only the first step", "first two only", "one at a time": how much of a plan is accepted
    )
    reject_sentences: tuple[
        tuple[int, int], ...
    ] = ()  # spans of sentences that reject ("No, (1,3) gets us nowhere")
    asks_about_map: bool = False  # a question about the map ("Is (1,0) open for you?"): a "Yes" answers it
    until: tuple[Step, ...] = ()  # "as far as (2,1)": the cell up to which a plan is accepted
    repeats: bool = False  # "Again?", "Same as before.": proposes (or accepts) the last move once more

    @property
    def proposals(self) -> list[Run]:
        return [r for r in self.runs if r.role == "proposal"]

    @property
    def claims(self) -> list[Run]:
        return [r for r in self.runs if r.role == "claim"]


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
    sentence: str, start: int, end: int, alternatives: bool, plan: bool = False, cells: bool = True
) -> Role:
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
    if cues.FALLBACK.match(_clause_break_before(sentence, start)):
        return "alternatives"  # "Go right if (0,1) is free, otherwise down."
    later = cues.LATER.match(sentence)
    if later and start >= later.end():
        return "conditional"
    if cues.ENDORSED_AFTER.match(after):
        return "proposal"  # "Right is fine.": the move, endorsed
    cond = list(cues.CONDITIONAL.finditer(left))
    modal = bool(cond) and re.search(r"(?:could|might|may)$", cond[-1].group(), re.IGNORECASE) is not None
    if (
        cond
        and not re.search(r"\bwhat if\b", left, re.IGNORECASE)
        and (modal or not cues.PROPOSAL_MARKER.search(left, cond[-1].end()))
    ):
        return "conditional"  # "if we went down ...", but not "after going right we should go right again"
    if cues.HYPOTHETICAL_AFTER.match(_clause_right(sentence, end)) and not sentence.rstrip().endswith("?"):
        return "conditional"
    if cues.DEFERRED.match(sentence, end):
        return "conditional"  # "the ↑↑ I'll confirm once we're at (3,5)"
    if cues.REASON.search(_clause_break_before(sentence, start)) or re.search(
        r"\breasons?\s*:", sentence[:start], re.IGNORECASE
    ):
        return "info"  # "..., because (3,2) looks open", "Reason: (1,0) is #": a reason, not a proposal
    goal = cues.GOAL_EARLIER.search(sentence[:start])
    if (
        goal
        and not cues.PROPOSAL_MARKER.search(sentence[goal.end() : start])
        and not re.search(r"\s[-–—]\s|:", sentence[goal.end() : start])
    ):
        return "info"  # "I can see the goal on my side, in the top row, at (0,4)."
    if cells and cues.GOAL_NAMED_AFTER.match(after):
        return "info"  # "Is (4,4) the goal for you?"
    if cells and cues.OPEN_AFTER.match(after) and not cues.PROPOSAL_MARKER.search(left):
        return "info"  # "Is (1,0) open for you?"
    if (cues.INFO_AFTER.match(after) and not plan) or (
        cues.INFO_BEFORE.search(left) and not cues.PROPOSAL_MARKER.search(left)
    ):
        return "info"
    if alternatives:
        return "alternatives"
    return "proposal"


def _sentence_runs(text: str, offset: int, sentence: str, mine: list[Mention]) -> list[Run]:
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
        tail = sentence[group[-1].end - offset :]
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
    runs = []
    for group, alt in zip(
        _split_claims(sentence, offset, split), _pad(joined_by_or, split, sentence, offset)
    ):
        s, e = group[0].start - offset, group[-1].end - offset
        plan = len(group) > 1 and all(st.is_direction for m in group for st in m.steps)
        role = _role(sentence, s, e, alt, plan, any(not st.is_direction for m in group for st in m.steps))
        left = _clause_left(sentence, s)
        runs.append(
            Run(
                tuple(step for m in group for step in m.steps),
                group[0].start,
                group[-1].end,
                role,
                question=question and not cues.QUESTION_BREAK.search(sentence, e),
                narration=bool(cues.NARRATION_BEFORE.search(left)),
                again=bool(
                    cues.NEW_AGAIN.search(sentence[s : e + 24])
                    or cues.NEW_AGAIN.search(left)
                    or cues.NOW_NEXT.match(sentence)
                ),
                parts=len(group),
                marked=bool(cues.PROPOSAL_MARKER.search(left) or cues.NEW_PROPOSAL.search(sentence)),
                asks=bool(cues.NEW_PROPOSAL.search(sentence)),
                challenges=question and bool(cues.CHALLENGE.search(sentence)),
            )
        )
    if cues.LIST.search(sentence):
        runs = _merge_list(runs)
    return _merge_then(text, runs)


def _cut(group: list[Mention], at: int) -> tuple[list[Mention], list[Mention]]:
    return [m for m in group if m.start < at], [m for m in group if m.start >= at]


def _merge_then(text: str, runs: list[Run]) -> list[Run]:
    """ "One more down to the bottom row, then right": two proposals joined by "then" are one plan."""
    out: list[Run] = []
    for r in runs:
        if out and r.role == "proposal" and out[-1].role == "proposal":
            gap = text[out[-1].end : r.start]
            m = re.search(
                r"(?:and\s+)?(?:then|followed by|after that|afterwards)\b(?:\s+[\w'*]+){0,5}?[\s,:*_]*$",
                gap,
                re.IGNORECASE,
            )
            if m and len(gap) <= 40:
                p = out[-1]
                out[-1] = Run(
                    p.steps + r.steps,
                    p.start,
                    r.end,
                    "proposal",
                    p.question or r.question,
                    p.narration,
                    p.again,
                    p.marked,
                    p.asks or r.asks,
                    p.parts + r.parts,
                    p.challenges or r.challenges,
                )
                continue
        out.append(r)
    return out


def _split_claims(sentence: str, offset: int, groups: list[list[Mention]]) -> list[list[Mention]]:
    """ "From (2,1): right -> (2,2), down -> (3,2)": the stated position is only the first cell."""
    out: list[list[Mention]] = []
    for g in groups:
        s = g[0].start - offset
        first_is_cell = not g[0].steps[0].is_direction
        if len(g) > 1 and first_is_cell and cues.CLAIM_BEFORE.search(sentence[max(0, s - 60) : s]):
            out += [g[:1], g[1:]]
        else:
            out.append(g)
    return out


def _pad(flags: list[bool], groups: list[list[Mention]], sentence: str, offset: int) -> list[bool]:
    """The alternatives flags, one per group after claims are split off (a split group keeps False)."""
    out: list[bool] = []
    for flag, g in zip(flags, groups):
        s = g[0].start - offset
        split = (
            len(g) > 1
            and not g[0].steps[0].is_direction
            and cues.CLAIM_BEFORE.search(sentence[max(0, s - 60) : s])
        )
        out += [flag, flag] if split else [flag]
    return out


def _merge_list(runs: list[Run]) -> list[Run]:
    """The proposals of one list are one plan."""
    out: list[Run] = []
    for r in runs:
        if out and r.role == "proposal" and out[-1].role == "proposal":
            p = out[-1]
            out[-1] = Run(
                p.steps + r.steps,
                p.start,
                r.end,
                "proposal",
                p.question or r.question,
                p.narration,
                p.again,
                p.marked,
                p.asks or r.asks,
                p.parts + r.parts,
                p.challenges or r.challenges,
            )
        else:
            out.append(r)
    return out


def _merge_then_sentences(text: str, runs: list[Run]) -> list[Run]:
    """ "We go (2,2). Then (3,3), (4,4).", "Right to (0,1)? Then down?": a sentence that opens with
    "Then" continues the plan."""
    out: list[Run] = []
    for r in runs:
        if out and r.role == "proposal" and out[-1].role == "proposal":
            gap = text[out[-1].end : r.start]
            if re.fullmatch(
                r"[^\n]{0,3}?[.!?]\s*(?:(?:and\s+)?(?:then|after that|afterwards)\b|(?:step|move)\s*\d{1,2}\s*[:.)-])[\s,:]*(?:(?:we\s+)?(?:go|move|to)\s+)?",
                gap,
                re.IGNORECASE,
            ):
                p = out[-1]
                out[-1] = Run(
                    p.steps + r.steps,
                    p.start,
                    r.end,
                    "proposal",
                    r.question,
                    p.narration,
                    p.again,
                    p.marked,
                    p.asks or r.asks,
                    p.parts + r.parts,
                    r.challenges,
                )
                continue
        out.append(r)
    return out


_JSON_ACCEPT = ("confirm", "confirmed", "agree", "agreed", "accept", "accepted", "ok")
_JSON_MOVE = ("action", "move", "direction", "proposal", "next_move", "next")


def _json_message(text: str) -> Acts | None:
    """Structured replies ({"confirm": true, "action": "down"}): the keys say what is accepted and
    what is proposed."""
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        data = json.loads(stripped)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    keys = {str(k).lower(): v for k, v in data.items()}
    accepts = any(keys.get(k) is True or str(keys.get(k)).lower() in ("yes", "true") for k in _JSON_ACCEPT)
    rejects = any(keys.get(k) is False or str(keys.get(k)).lower() in ("no", "false") for k in _JSON_ACCEPT)
    runs = []
    for k in _JSON_MOVE:
        if isinstance(keys.get(k), str):
            steps = tuple(st for m in find_mentions(keys[k]) for st in m.steps)
            if steps:
                at = text.find(keys[k])
                runs.append(Run(steps, at, at + len(keys[k]), "proposal", marked=True, asks=True))
    return Acts(text, tuple(runs), accepts, rejects, (), False, False, None, 0 if accepts else -1, accepts)


def _only_first(text: str) -> int:
    m = cues.ONLY_FIRST.search(text)
    if m is None:
        return 0
    count = m.group("m") or m.group("k")  # "Steps 1 and 2 agreed", "Let's do the first two"
    if count:
        return {"two": 2, "three": 3, "four": 4, "five": 5}.get(count.lower()) or int(count)
    return {"two": 2, "2": 2, "three": 3, "3": 3}.get((m.group("n") or "").lower(), 1)


def read_message(text: str) -> Acts:
    """The acts of one message (``text`` already normalised by ``grading.text.message_text``)."""
    structured = _json_message(text)
    if structured is not None:
        return structured
    mentions = find_mentions(text)
    if cues.SPLIT_UP.search(text):
        # Agents who split up move on their own: nothing in this message is a joint move.
        info = [
            Run(tuple(st for m in g for st in m.steps), g[0].start, g[-1].end, "info")
            for g in group_runs(text, mentions)
        ]
        return Acts(text, tuple(info), False, True, (), False, False)
    runs: list[Run] = []
    accepts = rejects = seeks = arrived = bare_accept = False
    accept_end = -1
    map_question = False
    reject_spans: list[tuple[int, int]] = []
    walls: list[tuple[int, int]] = []
    index = 0
    for offset, sentence in sentences(text):
        end = offset + len(sentence)
        mine = []
        while index < len(mentions) and mentions[index].start < end:
            mine.append(mentions[index])
            index += 1
        question = sentence.rstrip().endswith("?")
        here = _sentence_runs(text, offset, sentence, mine)
        if cues.IF_THEN.match(sentence):
            here = [
                replace(r, role="conditional", offer=True) if r.role == "proposal" else r for r in here
            ]  # "If (5,3) is open, then right right."
        if cues.OR_OPENER.match(sentence) and any(r.role == "proposal" for r in here):
            last = max((k for k, r in enumerate(runs) if r.role == "proposal"), default=-1)
            if last >= 0:
                runs[last] = replace(runs[last], role="alternatives")
            here = [replace(r, role="alternatives") if r.role == "proposal" else r for r in here]
        if not mine and cues.THERE.search(sentence.strip()):
            # "r0c1 is open. Go there?": the cell named just before is the proposal.
            named = [r for r in runs if r.role in ("info", "proposal") and not r.steps[-1].is_direction]
            if named:
                here = [Run(named[-1].steps[-1:], offset, end, "proposal", question=question)]
        runs += here
        stripped = sentence.strip()
        if question:
            seeks = seeks or bool(cues.QUESTION_SEEKS_AGREEMENT.search(stripped)) or not mine
            if cues.MAP_QUESTION.search(stripped) and not any(r.role == "proposal" for r in here):
                map_question = True
            if re.search(r"[✓✔✅👍👌]", stripped):
                accepts = True  # "(1,0) ✓ → (2,0)?": accepts, then asks about the next
        elif cues.ACCEPT.search(stripped) and not cues.NOT_ACCEPT.search(stripped):
            words = stripped.split()
            m = cues.ACCEPT.search(stripped)
            head = len(stripped[: m.start()].split()) if m else 99
            if head <= 2 or len(words) <= 6 or cues.ACCEPT_AT_END.search(stripped):
                accepts = True
        elif cues.ACCEPT_WEAK.match(stripped) and (
            not mine or re.match(r"^\W*\w+(?:\s+\w+)?\s*[.!,;:]", stripped)
        ):
            accepts = True
        if accepts and accept_end < 0:
            accept_end = end
            bare_accept = not mine
        if cues.REJECT.search(stripped) or (
            cues.NOT_ACCEPT.search(stripped)
            and re.search(
                r"disagree|don't agree|do not agree|not (?:ok|okay|agreed)", stripped, re.IGNORECASE
            )
        ):
            rejects = True
            reject_spans.append((offset, end))
        if not question and any(r.role == "claim" for r in here) and cues.ARRIVAL.search(stripped):
            arrived = True
        if cues.WALL.search(stripped):
            walls.append((offset, end))
    runs = _merge_then_sentences(text, runs)
    goal = tuple(
        r
        for r in runs
        if r.role == "info"
        and (
            cues.GOAL_INFO.match(text, r.end) or cues.GOAL_BEFORE.search(text, max(0, r.start - 30), r.start)
        )
    )
    return Acts(
        text,
        tuple(runs),
        accepts,
        rejects,
        tuple(walls),
        seeks,
        arrived,
        goal[-1] if goal else None,
        accept_end,
        bare_accept,
        _only_first(text),
        tuple(reject_spans),
        map_question,
        tuple(
            r.steps[0]
            for r in runs
            if not r.steps[0].is_direction and cues.UNTIL_BEFORE.search(text, max(0, r.start - 30), r.start)
        ),
        not mentions and bool(cues.REPEAT.match(text)),
    )
