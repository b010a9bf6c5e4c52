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

from gapbench.grading.routes import Mention, Step, find_mentions
from gapbench.grading.text import sentences

Role = Literal["proposal", "claim", "info", "negated", "conditional", "alternatives"]

# What may stand between two symbols of one run: punctuation, arrows, "and", "then", list numbering.
_RUN_GAP = re.compile(
    r"(?:[\s,;:/+>|*_]|->|=>|→|⟶|\band\b|\bthen\b|\bnext\b|\bonce more\b|\bagain\b|\b(?:first|second|third|fourth|fifth|sixth|last)\b|\bfollowed by\b|\bafter that\b|\bfinally\b"
    r"|\b(?:go|move|step|head|and go|and move)\b|\b(?:to|into|onto)\b|\b(?:a|an)\b|\b\d{1,2}[.)]\s)*",
    re.IGNORECASE,
)
_OR_GAP = re.compile(r"^[\s,]*(?:or|or maybe|or else|/)[\s,]*$", re.IGNORECASE)
# Clause boundaries: a run's context is read only up to these.
_CLAUSE_BREAK = re.compile(
    r"[,;()\[\]]|\s-\s|\b(?:because|since|as|which|so|but|though|although|while|whereas|and|otherwise|however|then)\b",
    re.IGNORECASE,
)
_CLAIM_BEFORE = re.compile(
    r"(?:\b(?:we|i|you|both of us|@|our position|my position|position|pos|location|current(?: position| cell| location| spot)?|start(?:ing)?(?: position| cell| point)?|we'?re|i'?m|we'?ve|i'?ve)"
    r"(?:\s+(?:are|am|is|were|was|remain|stay|sit|stand|have (?:moved|arrived|gone|come)|moved|arrived|got|ended up|will be|would be|should be|'?ll be|end up))?"
    r"(?:\s+(?:now|currently|still|back|already|both|just|then|again|here|all|right))*"
    r"\s*(?:at|on|in|to|is|:|=)?\s*(?:the\s+)?(?:cell|square|position|spot|tile)?\s*:?\s*"
    r"|\b(?:arrived|reached|landed|made it|got|back|ended up|puts us|put us|leaves us|leave us|brings us|bring us|takes us|lands us)(?:\s+(?:at|on|in|to|into))?\s*(?:the\s+)?(?:cell\s+)?"
    r"|^\W*at\s+(?:the\s+)?|📍\s*|\bfrom(?:\s+the)?(?:\s+(?:cell|square|position))?\s*|\b(?:now|still|currently)\s+(?:at|on|in)\s*(?:the\s+)?(?:cell\s+)?)$",
    re.IGNORECASE,
)
_NARRATION_BEFORE = re.compile(r"(?<!keep )(?<!keeps )(?<!continue )(?<!start )\b(?:moving|moved|went|going|stepping|stepped|heading|headed|taking|took|executing|executed|doing|on my way|proceeding|proceeded)\b", re.IGNORECASE)
_NEGATION = re.compile(
    r"[❌🚫⛔✗✘]|(?<!why )(?<!why do )\b(?:disagree with|against|not|never|no(?!\s+(?:change|problem|worries|doubt|need|issue))|avoid|reject|rejected|refuse|can't|cannot|can not|couldn't|won't|wouldn't|shouldn't|(?<!why )don't|do not|mustn't|instead of|rather than|impossible|neither|nor|n't)\b",
    re.IGNORECASE,
)
_CONDITIONAL = re.compile(r"\b(?:if|otherwise|else|whether|suppose|supposing|assuming|unless|in case|(?<!at )once(?!\s+(?:more|again))|after(?!\s+(?:that|this))|before|when|until|(?:we|you|i)\s+(?:could|might|may))\b", re.IGNORECASE)
_HYPOTHETICAL_AFTER = re.compile(r"^\W*(?:\w+\s+){0,3}?(?:would|might|could|will|would've|leads?|goes|takes us)\b(?!\s+you\b)", re.IGNORECASE)
_BLOCKED_AFTER = re.compile(
    r"^[\s\w'*_:-]{0,24}?(?:\b(?:is|are|was|looks|seems|appears|would be|will be|leads? (?:into|to)|has|hits?)\b|=|:)?\s*(?:a\s+|an\s+|the\s+)?"
    r"(?:wall|blocked|#|🧱|obstacle|dead[\s-]end|closed|not open|not free|off the (?:grid|map|board)|out of bounds|impassable|not passable)",
    re.IGNORECASE,
)
_INFO_AFTER = re.compile(
    r"^\s*(?:\(\w+\)\s*)?(?:is|are|was|looks?|seems?|appears?|shows|has|=|:)\s+(?:also\s+|still\s+)?(?:a\s+|an\s+)?(?:open|free|clear|empty|visible|hidden|unknown|fine|safe|path|passable|walkable|\.|\?|the goal|goal|\*)",
    re.IGNORECASE,
)
_INFO_BEFORE = re.compile(
    r"(?:\b(?:wall|walls|blocked|open|free|clear|visible|hidden|unknown|see|shows?|showing|has|have|cell|cells|square|goal|path|obstacle|issue|problem|danger|trap|check|verify|inspect|look at|#|\?)(?:\s+(?:is|are|at|in|on|located|sits|lies|further|farther|all the way|the whole way))*\s*(?:the\s+)?(?:cell\s+)?)$",
    re.IGNORECASE,
)
_QUESTION_SEEKS_AGREEMENT = re.compile(
    r"\b(?:agree|agreed|ok|okay|sound|sounds|think|thoughts|right|correct|fine|good|ready|confirm|yes|deal|with me|on board|objections?|alright)\s*\??\s*$",
    re.IGNORECASE,
)
_ACCEPT = re.compile(
    r"(?:\b(?:yes|yeah|yep|yup|yea|ya|ok|okay|okey|k|kk|sure|agreed|i agree|we agree|agree|sounds? (?:good|great|right|fine|perfect|like a (?:good )?plan)|confirmed|confirm|deal|correct|exactly|absolutely|affirmative|roger|alright|all right|makes sense|go ahead|go for it|let'?s do (?:it|that|this|so)|do it|works for me|on it|of course|indeed|i'?m in|why not|definitely|certainly|understood|got it|aye|right you are|good (?:call|idea|plan)|same here|likewise|copy|copy that|will do|accept|accepted|count me in|i think so|seconded|second that|i'?m game|i'?m down|all (?:two|three|four|five|six|of them|\d)|both|all good|all set|all of it|the whole (?:plan|sequence|route|path|thing)|the (?:full|entire) plan|every step|all (?:the )?(?:steps|moves)|let'?s execute|execute (?:it|them|the plan)|works|works for me|fine by me|fine with me|sounds fine)\b|好的|同意|可以|是的|没问题"
    r"|👍|✅|✔|☑|👌|🆗|🙌|💯|🤝|✓)",
    re.IGNORECASE,
)
# Words that accept only where they stand alone ("Go.", "Perfect!"), not inside a proposal ("let's go down").
_ACCEPT_WEAK = re.compile(
    r"^\W*(?:go|proceed|onward|let'?s go|done|it is|fine|good|great|nice|cool|perfect|excellent|fair (?:point|enough)|correct|true)\b\s*(?:[.!,;:]|$)",
    re.IGNORECASE,
)
_ACCEPT_AT_END = re.compile(r"(?:[-—,:]|\s)\s*(?:agreed|ok|okay|yes|confirmed|deal|sure)\W*$", re.IGNORECASE)  # "down, and right three more — agreed."
_NOT_ACCEPT = re.compile(r"\b(?:agree (?:that|with you that|on|we|we're|we are|you're|you are|it's|it is|this|the|down|up|left|right)\b|not (?:ok|okay|sure|good|fine|agreed)|no good|not a good|don't agree|do not agree|disagree|agree\?|i'?m not sure)\b", re.IGNORECASE)
_REJECT = re.compile(
    r"(?:^\W*(?:no(?!\s+(?:change|problem|worries|doubt|need|issue))|nope|nah|negative|stop)\b|\b(?:disagree|reject|rejected|refuse|don't agree|do not agree|not agree|instead|rather|not yet|let'?s not|bad idea|not a good idea|wrong|incorrect|mistake|won't work|doesn't work|not possible|impossible|invalid|can't do that|cannot do that)\b|❌|🚫|👎|⛔)",
    re.IGNORECASE,
)
_WALL = re.compile(r"🧱|\b(?:wall|walls|blocked|#|obstacle|dead[\s-]end|impassable|can't go|cannot go|can not go|not open|off the (?:grid|map|board)|out of bounds)\b|#", re.IGNORECASE)
_PROPOSAL_MARKER = re.compile(
    r"\b(?:let'?s|lets|let us|shall|should|propose|proposal|counter-proposal|suggest|suggestion|how about|what about|what if|try|go|move|step|head|take|proceed|continue|plan|i'?ll|we'?ll|will|vote|could we|can we|why don't we|next|need to|must|have to|want to|move:|action|direction)\b",
    re.IGNORECASE,
)
_ARRIVAL = re.compile(r"\b(?:now|made it|arrived|reached|landed|done|here we are)\b", re.IGNORECASE)
_NEW_PROPOSAL = re.compile(r"\b(?:i propose|i suggest|i'?d suggest|i'?d propose|my proposal|proposal|counter-proposal|how about|what about|please|next move|next step)\b", re.IGNORECASE)
_AGAIN_AFTER = re.compile(r"\s*(?:again|once more|one more time)\b", re.IGNORECASE)
_NOW_NEXT = re.compile(r"\W*(?:now|next)\b(?!\s+(?:at|in|on)\b)", re.IGNORECASE)  # "Now: down." after an agreed move is the next one
_NEW_AGAIN = re.compile(r"\b(?:again|another|once more|one more|next)\b", re.IGNORECASE)


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
    only_first: int = 0  # "only the first step", "first two only", "one at a time": how much of a plan is accepted
    reject_sentences: tuple[tuple[int, int], ...] = ()  # spans of sentences that reject ("No, (1,3) gets us nowhere")
    asks_about_map: bool = False  # a question about the map ("Is (1,0) open for you?"): a "Yes" answers it

    @property
    def proposals(self) -> list[Run]:
        return [r for r in self.runs if r.role == "proposal"]

    @property
    def claims(self) -> list[Run]:
        return [r for r in self.runs if r.role == "claim"]


def _clause_left(sentence: str, pos: int) -> str:
    """The sentence text from the last clause break before ``pos`` up to ``pos``."""
    left = sentence[:pos]
    breaks = list(_CLAUSE_BREAK.finditer(left))
    return left[breaks[-1].end() :] if breaks else left


_GOAL_EARLIER = re.compile(r"\b(?:the goal|goal is|exit|target)\b(?!.*\b(?:the goal|goal is|exit|target)\b)", re.IGNORECASE | re.DOTALL)
_WHICH_BLOCKED = re.compile(r"\s*,?\s*(?:which|that|it)\s+(?:is|looks|seems|appears)\s+(?:like\s+)?(?:a\s+)?(?:wall|blocked|#)", re.IGNORECASE)
_QUESTION_BREAK = re.compile(r"[✓✔✅👍👌]|\s[-–—]\s|;|\.\s|\band (?:then )?\w+ (?:again|once more)\b|\s(?:now|then|next)\s+\w")  # "Right - and right again?": only the second asks
_ENDORSED_AFTER = re.compile(r"\s*(?:is|sounds|seems|looks|works)\s+(?:fine|good|ok|okay|great|perfect|right(?!\s+(?:below|above|next|beside|under|there|here|of|after|before|at|on)\b)|best|the (?:best|right) (?:move|choice|option))\b(?![^.;!?]{0,16}\bbut\b)", re.IGNORECASE)
_HISTORY = re.compile(r"\b(?:summar\w*|so far|our path|path so far|we have moved|we'?ve moved|we moved|history|recap|moves? made)\b", re.IGNORECASE)
_MAP_QUESTION = re.compile(r"\b(?:open|wall|blocked|free|clear|see|map|hidden|what'?s|what is|where)\b", re.IGNORECASE)
_OPEN_AFTER = re.compile(r"\s*(?:open|free|clear|blocked|a wall|walkable|passable|hidden)\b", re.IGNORECASE)
_CHALLENGE = re.compile(r"\b(?:why|sure|really|open|wall|blocked|what|how come|certain)\b", re.IGNORECASE)
_NEG_AFTER = re.compile(r"\s*(?:(?:is\s+|are\s+|would\s+|will\s+)?(?:not|no|never|isn't|aren't|won't|wouldn't)|(?:i|we)\s+(?:can'?t|cannot|don'?t|do not)\s+(?:see|confirm|go|do|agree))\b", re.IGNORECASE)
_IF_THEN = re.compile(r"\W*if\b(?!\s+(?:you|that|this|it|everything)\s+(?:agree|agrees|works?|sounds|is ok|'s ok|is fine|suits))[^.?!]*?,?\s*then\b", re.IGNORECASE)
_DEFERRED = re.compile(r"[^.;!?,]{0,20}?\b(?:i'?ll|we'?ll|let'?s|we can|i can)\s+(?:confirm|decide|check|see|talk|discuss|think)\b", re.IGNORECASE)
_REASON = re.compile(r"^\W*(?:because|since|as|given|so that|seeing)\b", re.IGNORECASE)


def _clause_break_before(sentence: str, pos: int) -> str:
    """The clause break that opens the clause holding ``pos`` (and what follows it), or ''."""
    breaks = list(_CLAUSE_BREAK.finditer(sentence, 0, pos))
    return sentence[breaks[-1].start() : pos] if breaks else ""


def _clause_right(sentence: str, pos: int) -> str:
    m = _CLAUSE_BREAK.search(sentence, pos)
    return sentence[pos : m.start() if m else len(sentence)]


def group_runs(text: str, mentions: list[Mention], gap: re.Pattern[str] = _RUN_GAP) -> list[list[Mention]]:
    """Mentions that follow each other with only connectors between them form one run."""
    runs: list[list[Mention]] = []
    for m in mentions:
        if runs and gap.fullmatch(text, runs[-1][-1].end, m.start):
            runs[-1].append(m)
        else:
            runs.append([m])
    return runs


_CLAIM_AFTER = re.compile(
    r"\s*(?:is|=|:)?\s*(?:us|where we are|our (?:current )?(?:position|cell|location|spot)|me|my position|current position|here)\b"
    r"|\s*(?:,\s*)?(?:as|is|=)\s+(?:the\s+)?(?:top[- ]left|start|starting (?:cell|point|position))\b|\s*,?\s*where we (?:start|are)\b",
    re.IGNORECASE,
)


def _role(sentence: str, start: int, end: int, alternatives: bool, plan: bool = False, cells: bool = True) -> Role:
    before = sentence[max(0, start - 60) : start]
    left = _clause_left(sentence, start)
    after = sentence[end:]
    if cells and (_CLAIM_AFTER.match(sentence, end) or (_CLAIM_BEFORE.search(before) and not _NARRATION_BEFORE.search(left[-14:]))):
        return "claim"  # a position is a cell: "back up" is a move
    if _BLOCKED_AFTER.match(_clause_right(sentence, end)) or _WHICH_BLOCKED.match(after) or _NEGATION.search(left) or _NEG_AFTER.match(_clause_right(sentence, end)):
        return "negated"
    if _ENDORSED_AFTER.match(after):
        return "proposal"  # "Right is fine.": the move, endorsed
    cond = list(_CONDITIONAL.finditer(left))
    modal = bool(cond) and re.search(r"(?:could|might|may)$", cond[-1].group(), re.IGNORECASE) is not None
    if cond and not re.search(r"\bwhat if\b", left, re.IGNORECASE) and (modal or not _PROPOSAL_MARKER.search(left, cond[-1].end())):
        return "conditional"  # "if we went down ...", but not "after going right we should go right again"
    if _HYPOTHETICAL_AFTER.match(_clause_right(sentence, end)) and not sentence.rstrip().endswith("?"):
        return "conditional"
    if _DEFERRED.match(sentence, end):
        return "conditional"  # "the ↑↑ I'll confirm once we're at (3,5)"
    if _REASON.search(_clause_break_before(sentence, start)) or re.search(r"\breasons?\s*:", sentence[:start], re.IGNORECASE):
        return "info"  # "..., because (3,2) looks open", "Reason: (1,0) is #": a reason, not a proposal
    goal = _GOAL_EARLIER.search(sentence[:start])
    if goal and not _PROPOSAL_MARKER.search(sentence[goal.end() : start]) and not re.search(r"\s[-–—]\s|:", sentence[goal.end() : start]):
        return "info"  # "I can see the goal on my side, in the top row, at (0,4)."
    if cells and _OPEN_AFTER.match(after) and not _PROPOSAL_MARKER.search(left):
        return "info"  # "Is (1,0) open for you?"
    if (_INFO_AFTER.match(after) and not plan) or (_INFO_BEFORE.search(left) and not _PROPOSAL_MARKER.search(left)):
        return "info"
    if alternatives:
        return "alternatives"
    return "proposal"


_SPLIT_UP = re.compile(
    r"\b(?:split up|split|let'?s split|on my own|by myself|on your own|by yourself|separately|individually|each explore|you explore|explore (?:alone|separately))\b"
    r"|\bi'?(?:ll| will)\s+(?:go|take|explore|head)\b.*\byou\s+(?:go|take|explore|head)\b",
    re.IGNORECASE,
)


def _sentence_runs(text: str, offset: int, sentence: str, mine: list[Mention]) -> list[Run]:
    """The runs of one sentence, each with its role."""
    question = sentence.rstrip().endswith("?")
    if _HISTORY.search(sentence) and not question:
        # "To summarize, we have moved down and down": the path so far, not a proposal.
        return [Run(tuple(st for m in g for st in m.steps), g[0].start, g[-1].end, "info") for g in group_runs(text, mine)]
    groups = group_runs(text, mine)
    # "➡️ and right again ➡️?": a mention marked "again" starts a new proposal.
    regrouped: list[list[Mention]] = []
    for group in groups:
        start = 0
        for j in range(1, len(group)):
            if _AGAIN_AFTER.match(text, group[j].end):
                if j > start:
                    regrouped.append(group[start:j])
                start = j
        regrouped.append(group[start:])
    groups = regrouped
    # A run whose last symbol is described ("(4,5), then (5,5) is the goal") proposes the rest.
    split: list[list[Mention]] = []
    for group in groups:
        tail = sentence[group[-1].end - offset :]
        if len(group) > 1 and not group[-1].steps[0].is_direction and (_INFO_AFTER.match(tail) or _BLOCKED_AFTER.match(tail)) and not re.match(r"\s*are\b", tail):
            split += [group[:-1], group[-1:]]
        else:
            split.append(group)
    # "down or right?" - two runs joined by "or" are alternatives, not a concrete proposal.
    joined_by_or = [False] * len(split)
    for i in range(1, len(split)):
        if _OR_GAP.match(text[split[i - 1][-1].end : split[i][0].start]):
            joined_by_or[i - 1] = joined_by_or[i] = True
    runs = []
    for group, alt in zip(_split_claims(sentence, offset, split), _pad(joined_by_or, split, sentence, offset)):
        s, e = group[0].start - offset, group[-1].end - offset
        plan = len(group) > 1 and all(st.is_direction for m in group for st in m.steps)
        role = _role(sentence, s, e, alt, plan, any(not st.is_direction for m in group for st in m.steps))
        left = _clause_left(sentence, s)
        runs.append(
            Run(
                tuple(step for m in group for step in m.steps), group[0].start, group[-1].end, role,
                question=question and not _QUESTION_BREAK.search(sentence, e), narration=bool(_NARRATION_BEFORE.search(left)),
                again=bool(_NEW_AGAIN.search(sentence[s : e + 24]) or _NEW_AGAIN.search(left) or _NOW_NEXT.match(sentence)),
                parts=len(group),
                marked=bool(_PROPOSAL_MARKER.search(left) or _NEW_PROPOSAL.search(sentence)),
                asks=bool(_NEW_PROPOSAL.search(sentence)),
                challenges=question and bool(_CHALLENGE.search(sentence)),
            )
        )  # fmt: skip
    if _LIST.search(sentence):
        runs = _merge_list(runs)
    return _merge_then(text, runs)


def _merge_then(text: str, runs: list[Run]) -> list[Run]:
    """"One more down to the bottom row, then right": two proposals joined by "then" are one plan."""
    out: list[Run] = []
    for r in runs:
        if out and r.role == "proposal" and out[-1].role == "proposal":
            gap = text[out[-1].end : r.start]
            m = re.search(r"(?:and\s+)?(?:then|followed by|after that|afterwards)\b(?:\s+[\w'*]+){0,5}?[\s,:*_]*$", gap, re.IGNORECASE)
            if m and len(gap) <= 40:
                p = out[-1]
                out[-1] = Run(p.steps + r.steps, p.start, r.end, "proposal", p.question or r.question, p.narration, p.again, p.marked, p.asks or r.asks, p.parts + r.parts, p.challenges or r.challenges)
                continue
        out.append(r)
    return out


_LIST = re.compile(r"\n[ \t]*(?:\d{1,2}[.)]|[-*•+|]|(?:step|move)\s*\d{1,2})", re.IGNORECASE)


def _split_claims(sentence: str, offset: int, groups: list[list[Mention]]) -> list[list[Mention]]:
    """"From (2,1): right -> (2,2), down -> (3,2)": the stated position is only the first cell."""
    out: list[list[Mention]] = []
    for g in groups:
        s = g[0].start - offset
        first_is_cell = not g[0].steps[0].is_direction
        if len(g) > 1 and first_is_cell and _CLAIM_BEFORE.search(sentence[max(0, s - 60) : s]):
            out += [g[:1], g[1:]]
        else:
            out.append(g)
    return out


def _pad(flags: list[bool], groups: list[list[Mention]], sentence: str, offset: int) -> list[bool]:
    """The alternatives flags, one per group after claims are split off (a split group keeps False)."""
    out: list[bool] = []
    for flag, g in zip(flags, groups):
        s = g[0].start - offset
        split = len(g) > 1 and not g[0].steps[0].is_direction and _CLAIM_BEFORE.search(sentence[max(0, s - 60) : s])
        out += [flag, flag] if split else [flag]
    return out


def _merge_list(runs: list[Run]) -> list[Run]:
    """The proposals of one list are one plan."""
    out: list[Run] = []
    for r in runs:
        if out and r.role == "proposal" and out[-1].role == "proposal":
            p = out[-1]
            out[-1] = Run(p.steps + r.steps, p.start, r.end, "proposal", p.question or r.question, p.narration, p.again, p.marked, p.asks or r.asks, p.parts + r.parts, p.challenges or r.challenges)
        else:
            out.append(r)
    return out


_THERE = re.compile(r"^\W*(?:go|move|proceed|shall we|ok to go|can we go|should we go|let'?s go|go there|move there)\W*$|\b(?:go|move|head|step|proceed|take)\s+(?:there|to it|to that (?:cell|one|square)|it)\b|\b(?:take|try) (?:it|that(?: one| cell)?)\b", re.IGNORECASE)
_GOAL_INFO = re.compile(r"\s*(?:is|=|:|是)\s*(?:the\s+)?(?:goal|\*|exit|finish|target|终点)", re.IGNORECASE)


_GOAL_BEFORE = re.compile(r"\b(?:goal|exit|target|\*)\s+(?:is\s+)?(?:at|in|on)?\s*(?:the\s+)?(?:cell\s+)?$", re.IGNORECASE)


def _merge_then_sentences(text: str, runs: list[Run]) -> list[Run]:
    """"We go (2,2). Then (3,3), (4,4).": a sentence that opens with "Then" continues the plan."""
    out: list[Run] = []
    for r in runs:
        if out and r.role == "proposal" and out[-1].role == "proposal" and not out[-1].question:
            gap = text[out[-1].end : r.start]
            if re.fullmatch(r"[^\n]{0,3}?[.!]\s*(?:(?:and\s+)?(?:then|after that|afterwards)\b|(?:step|move)\s*\d{1,2}\s*[:.)-])[\s,:]*(?:(?:we\s+)?(?:go|move|to)\s+)?", gap, re.IGNORECASE):
                p = out[-1]
                out[-1] = Run(p.steps + r.steps, p.start, r.end, "proposal", r.question, p.narration, p.again, p.marked, p.asks or r.asks, p.parts + r.parts, r.challenges)
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


_ONLY_FIRST = re.compile(
    r"\b(?:only|just)\b[^.?!]{0,20}?\bfirst\b(?:\s+(?P<n>two|three|2|3))?|\bfirst\s+(?:step|move|one)\s+only\b|\bone\s+(?:step|move\s+)?at\s+a\s+time\b"
    r"|\bsteps?\s*(?:1|one)\s*(?:and|&|-|to|through)\s*(?P<m>[2-5]|two|three|four|five)\b|\bstep\s*(?:1|one)\s+(?:only|agreed|ok)\b",
    re.IGNORECASE,
)


def _only_first(text: str) -> int:
    m = _ONLY_FIRST.search(text)
    if m is None:
        return 0
    if m.group("m"):
        return {"two": 2, "three": 3, "four": 4, "five": 5}.get(m.group("m").lower()) or int(m.group("m"))  # "Steps 1 and 2 agreed"
    return {"two": 2, "2": 2, "three": 3, "3": 3}.get((m.group("n") or "").lower(), 1)


def read_message(text: str) -> Acts:
    """The acts of one message (``text`` already normalised by ``grading.text.message_text``)."""
    structured = _json_message(text)
    if structured is not None:
        return structured
    mentions = find_mentions(text)
    if _SPLIT_UP.search(text):
        # Agents who split up move on their own: nothing in this message is a joint move.
        info = [Run(tuple(st for m in g for st in m.steps), g[0].start, g[-1].end, "info") for g in group_runs(text, mentions)]
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
        if _IF_THEN.match(sentence):
            here = [replace(r, role="conditional") if r.role == "proposal" else r for r in here]  # "If (5,3) is open, then right right."
        if not mine and _THERE.search(sentence.strip()):
            # "r0c1 is open. Go there?": the cell named just before is the proposal.
            named = [r for r in runs if r.role in ("info", "proposal") and not r.steps[-1].is_direction]
            if named:
                here = [Run(named[-1].steps[-1:], offset, end, "proposal", question=question)]
        runs += here
        stripped = sentence.strip()
        if question:
            seeks = seeks or bool(_QUESTION_SEEKS_AGREEMENT.search(stripped)) or not mine
            if _MAP_QUESTION.search(stripped) and not any(r.role == "proposal" for r in here):
                map_question = True
            if re.search(r"[✓✔✅👍👌]", stripped):
                accepts = True  # "(1,0) ✓ → (2,0)?": accepts, then asks about the next
        elif _ACCEPT.search(stripped) and not _NOT_ACCEPT.search(stripped):
            words = stripped.split()
            m = _ACCEPT.search(stripped)
            head = len(stripped[: m.start()].split()) if m else 99
            if head <= 2 or len(words) <= 6 or _ACCEPT_AT_END.search(stripped):
                accepts = True
        elif _ACCEPT_WEAK.match(stripped) and (not mine or re.match(r"^\W*\w+(?:\s+\w+)?\s*[.!,;:]", stripped)):
            accepts = True
        if accepts and accept_end < 0:
            accept_end = end
            bare_accept = not mine
        if _REJECT.search(stripped) or _NOT_ACCEPT.search(stripped) and re.search(r"disagree|don't agree|do not agree|not (?:ok|okay|agreed)", stripped, re.IGNORECASE):
            rejects = True
            reject_spans.append((offset, end))
        if not question and any(r.role == "claim" for r in here) and _ARRIVAL.search(stripped):
            arrived = True
        if _WALL.search(stripped):
            walls.append((offset, end))
    runs = _merge_then_sentences(text, runs)
    goal = tuple(r for r in runs if r.role == "info" and (_GOAL_INFO.match(text, r.end) or _GOAL_BEFORE.search(text, max(0, r.start - 30), r.start)))
    return Acts(text, tuple(runs), accepts, rejects, tuple(walls), seeks, arrived, goal[-1] if goal else None, accept_end, bare_accept, _only_first(text), tuple(reject_spans), map_question)
