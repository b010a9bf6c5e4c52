"""Route extraction: transcript in, route (as written) out.

Two extractors share this interface: the rule-based one below (deterministic, no model; used in
tests and as a cross-check) and the LLM grader (a third model reading the transcript).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, Protocol

from gapbench.grading.routes import Step, parse_route
from gapbench.transcript import Transcript


@dataclass(frozen=True)
class Extraction:
    steps: tuple[Step, ...]
    method: Literal["rule", "llm"]
    message_index: tuple[int, ...] = ()  # per step: index in transcript.messages where it was agreed
    error: str | None = None  # why nothing could be extracted (the route is then empty)
    detail: dict = field(default_factory=dict)  # extractor-specific (e.g. the LLM's declared scheme)


class Extractor(Protocol):
    def __call__(self, transcript: Transcript) -> Extraction: ...


_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_MOVE_VERB = re.compile(r"\b(move|moving|moved|go|going|went|step|stepping|head|heading|proceed|walk|let's)\b", re.I)
_AGREE = re.compile(r"\b(agree|agreed|yes|ok|okay|sure|sounds good|confirmed|deal|correct|let's do)\b", re.I)
_DISAGREE = re.compile(r"\b(disagree|no|not|wall|blocked|can't|cannot|instead|wait)\b", re.I)


def _move_mentions(text: str) -> list[Step]:
    """Route steps in the sentences of ``text`` that talk about moving."""
    return [s for sentence in _SENTENCE.findall(text) if _MOVE_VERB.search(sentence) for s in parse_route(sentence)]


def extract_rule(transcript: Transcript) -> Extraction:
    """Deterministic extraction.

    Solo: the route written in the final answer (after the critic turn; the first answer if the
    final one names none). Collaboration: a move counts once agreed. A message's move mentions are
    a proposal; the other agent's next message executes it by restating it first, or by agreeing
    without objecting. Known limit: agents who split up and move separately are not followed.
    """
    agent_msgs = [(i, m) for i, m in enumerate(transcript.messages) if m.speaker != "user"]
    if not agent_msgs:
        return Extraction((), "rule", error="transcript has no agent messages")
    if transcript.condition != "collab":
        for i, m in reversed(agent_msgs):
            steps = parse_route(m.text)
            if steps:
                return Extraction(tuple(steps), "rule", (i,) * len(steps))
        return Extraction((), "rule", error="no route found in the answers")
    steps: list[Step] = []
    where: list[int] = []
    pending: tuple[str, list[Step]] | None = None
    for i, m in agent_msgs:
        mentions = _move_mentions(m.text)
        if pending is not None and pending[0] != m.speaker:
            proposal = pending[1]
            if mentions and mentions[: len(proposal)] == proposal:
                mentions = mentions[len(proposal) :]
                steps += proposal
                where += [i] * len(proposal)
            elif _AGREE.search(m.text) and not _DISAGREE.search(m.text.split(".")[0]):
                steps += proposal
                where += [i] * len(proposal)
            pending = None
        if mentions:
            pending = (m.speaker, mentions)
    error = None if steps else "no agreed moves found"
    return Extraction(tuple(steps), "rule", tuple(where), error=error)
