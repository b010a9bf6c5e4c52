"""Dialogue acts: what one message does with moves.

A message is read sentence by sentence. Route symbols that stand next to each other ("right, right,
down", "(0,0) -> (0,1)") form a *run* (``grading.runs``), and each run gets one role from its own
clause:

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

from gapbench.grading import cues
from gapbench.grading.routes import find_mentions
from gapbench.grading.runs import Run, group_runs, merge_then_sentences, sentence_runs
from gapbench.grading.schemes import Step
from gapbench.grading.text import sentences


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
    only_direction: str = ""  # "just the downs": the plan's leading steps in that direction are accepted
    arrival: tuple[int, int] = (-1, -1)  # the span of the first sentence that reports arrival ("At (2,0).")

    @property
    def proposals(self) -> list[Run]:
        return [r for r in self.runs if r.role == "proposal"]

    @property
    def claims(self) -> list[Run]:
        return [r for r in self.runs if r.role == "claim"]


_JSON_ACCEPT = ("confirm", "confirmed", "agree", "agreed", "accept", "accepted", "ok")
_JSON_ANSWER = ("response", "answer", "decision", "reply")  # {"response": "agree"}
_JSON_MOVE = (
    "action",
    "move",
    "moves",
    "direction",
    "proposal",
    "next_move",
    "next",
    "plan",
    "path",
    "route",
)


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
    answers = [str(keys.get(k)).lower() for k in _JSON_ANSWER]
    accepts = any(
        keys.get(k) is True or str(keys.get(k)).lower() in ("yes", "true") for k in _JSON_ACCEPT
    ) or any(a in ("agree", "agreed", "yes", "ok", "accept", "accepted") for a in answers)
    rejects = any(
        keys.get(k) is False or str(keys.get(k)).lower() in ("no", "false") for k in _JSON_ACCEPT
    ) or any(a in ("disagree", "no", "reject", "rejected") for a in answers)
    runs = []
    for k in _JSON_MOVE:
        value = keys.get(k)
        written = ", ".join(v for v in value if isinstance(v, str)) if isinstance(value, list) else value
        if isinstance(written, str):
            steps = tuple(st for m in find_mentions(written) for st in m.steps)
            if steps:
                first = written.split(",")[0].strip()
                at = max(text.find(first), 0)
                runs.append(Run(steps, at, at + len(first), "proposal", marked=True, asks=True))
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
    arrival = (-1, -1)
    map_question = False
    reject_spans: list[tuple[int, int]] = []
    walls: list[tuple[int, int]] = []
    index = 0
    asked: list[int] = []  # the indices in ``runs`` of the previous sentence's runs, if it asked
    for offset, sentence in sentences(text):
        end = offset + len(sentence)
        mine = []
        while index < len(mentions) and mentions[index].start < end:
            mine.append(mentions[index])
            index += 1
        question = sentence.rstrip().endswith("?")
        here = sentence_runs(text, offset, sentence, mine)
        if cues.IF_THEN.match(sentence) or (
            cues.IF_OPENER.match(sentence) and not cues.IF_COMMITS.search(sentence)
        ):
            here = [
                replace(r, role="conditional", offer=True) if r.role == "proposal" else r for r in here
            ]  # "If (5,3) is open, then right right.", "Then if (2,5) is open we go right once more."
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
        stripped = sentence.strip()
        if not mine and cues.UNSEEN_BY_ME.match(stripped) and len(asked) == 1 and runs[asked[0]].question:
            k = asked[0]
            if runs[k].role == "proposal" and not runs[k].steps[0].is_direction and not runs[k].steps[0].hint:
                runs[k] = replace(runs[k], role="info")  # "What about (2,1)? It's hidden for me."
                map_question = True
        asked = list(range(len(runs), len(runs) + len(here))) if question else []
        runs += here
        if question:
            seeks = seeks or bool(cues.QUESTION_SEEKS_AGREEMENT.search(stripped)) or not mine
            if (
                cues.MAP_QUESTION.search(stripped)
                and not cues.ABOUT_PROPOSAL.match(stripped)
                and not any(r.role == "proposal" for r in here)
            ):
                map_question = True
            if re.search(r"[✓✔✅👍👌]", stripped):
                accepts = True  # "(1,0) ✓ → (2,0)?": accepts, then asks about the next
        elif cues.ACCEPT.search(stripped) and not cues.NOT_ACCEPT.search(stripped):
            words = stripped.split()
            m = cues.ACCEPT.search(stripped)
            # "I trust you - agreed on the whole route": the agreement opens its clause
            head = len(re.split(r"[—–;:]|\s-\s", stripped[: m.start()])[-1].split()) if m else 99
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
        if (
            not question
            and any(r.role == "claim" for r in here)
            and cues.ARRIVAL.search(stripped)
            and not cues.ALONE.search(stripped)
        ):
            if not arrived:
                arrival = (offset, end)
            arrived = True
        if cues.WALL.search(stripped):
            walls.append((offset, end))
    # "(up/down/left/right)" lists the options, it proposes nothing
    runs = [
        replace(r, role="info")
        if len(r.steps) == 4 and len({st.first for st in r.steps if st.is_direction}) == 4
        else r
        for r in merge_then_sentences(text, runs)
    ]
    goal = tuple(
        r
        for r in runs
        if r.role == "info"
        # "(0,6) is the goal", "The goal is in the fourth row, third column" offer the move there;
        # "goal (4,4)" in a list of facts only names it
        and (
            cues.GOAL_INFO.match(text, r.end) is not None
            or (
                not r.steps[-1].is_direction
                and cues.GOAL_IS.search(text, max(0, r.start - 30), r.start) is not None
            )
        )
    )
    only_direction = cues.ONLY_DIRECTION.search(text)
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
        only_direction.group("d").lower() if only_direction else "",
        arrival,
    )


def corrects_position(acts: Acts) -> bool:
    """ "Wait, I think we're at (1,0), not (0,1). Yes.": a rejection that only corrects the stated
    position, followed by an acceptance, does not reject the proposal."""
    spans = acts.reject_sentences
    if not spans or not acts.accepts or acts.accept_end <= spans[-1][1]:
        return False
    claims = [False] * len(spans)
    i = 0
    for r in acts.runs:  # both in text order: one pass
        while i < len(spans) and spans[i][1] <= r.start:
            i += 1
        if i == len(spans):
            break
        if spans[i][0] <= r.start:
            if r.role == "proposal":
                return False
            claims[i] = claims[i] or r.role == "claim"
    return all(claims)


def offered_options(acts: Acts) -> tuple[int, set[tuple[str, ...]]]:
    """Where the options offered after the acceptance begin, and the moves they offer ("We could go
    right or down."): one pass over the runs."""
    first, options = len(acts.text) + 1, set()
    for o in acts.runs:
        if acts.accepts and 0 <= acts.accept_end <= o.start and o.role in ("alternatives", "conditional"):
            first = min(first, o.start)
            options.add(tuple(st.first if st.is_direction else "" for st in o.steps))
    return first, options
