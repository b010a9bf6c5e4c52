"""When a direction word or letter written in a message is a move, and when it is not.

"right" may mean correct ("that's right", "..., right?"), a side ("right-hand", "top right"), or
direction ("right below us"); "up" may be part of a phrasal verb ("split up", "set us up"); a
single capital U/D/L/R is a move only on its own or in a sequence ("D then R"). ``grading.routes``
asks these questions of every symbol it finds; each is one bounded regular-expression look
around the symbol.
"""

from __future__ import annotations

import re

# Direction words that are not moves: corners and sides ("bottom-right", "top left corner",
# "right-hand"), "right" meaning correct ("that's right", "all right", "right?").
_CORNER_BEFORE = re.compile(r"\b(?:top|bottom|upper|lower|far)[\s-]*$", re.IGNORECASE)
_CORRECT_BEFORE = re.compile(
    r"\b(?:that's|that is|you're|you are|is|are|all|exactly|quite|it's)\s*$", re.IGNORECASE
)
_SPAN = re.compile(r"\s+to\s+(?:the\s+)?(?:right|left|bottom|top)\b", re.IGNORECASE)
_SPAN_END = re.compile(r"\b(?:left|right)\s+to\s+(?:the\s+)?$|\bfrom\s+(?:the\s+)?$", re.IGNORECASE)
_DIR_BEFORE_COMMA = re.compile(r"\b(?:up|down|left|right)\s*,\s*$", re.IGNORECASE)
_UP_TO = re.compile(
    r"\b(?:open|clear|free|visible|walls?|blocked|row|column|col|counting|count)\b[^.]{0,10}$", re.IGNORECASE
)
_MOVE_IS = re.compile(
    r"\b(?:move|moves|direction|way|step|choice|option|plan|answer|proposal|suggestion)\b[^.?!]{0,15}\bis\s*$",
    re.IGNORECASE,
)
_RIGHT_AS_IN_DIRECTLY = re.compile(
    r"\s+(?:below|above|beneath|under|behind|next to|beside|in front|there|here|away|after|before|at the|on the)\b",
    re.IGNORECASE,
)
_PHRASAL_UP = re.compile(
    r"\b(?:split|give|gave|set|pick|line|lines|sum|hold|holds|held|holding|add|adds|added|stack|stacks|measure|measures|look|hurry|speed|end|ended|ends|come|show|make|open|wrap|catch|keep|team|pair|mix|mess|step it)(?:\s+(?:us|it|them|me|you|things|this|that))?\s*$",
    re.IGNORECASE,
)
_PICK = re.compile(r"\b(?:pick|picks)\s+$", re.IGNORECASE)
_CLAUSE_END = re.compile(r"\s*(?:[.!?;,]|$)")
_NOT_A_MOVE_AFTER = re.compile(
    r"(?:-|\s+)?(?:hand|side|corner|edge|half|part|column|neighbou?r|of\b)", re.IGNORECASE
)
_NOT_A_LETTER_MOVE_BEFORE = re.compile(
    r"(?:\b(?:plan|option|choice|route|path|agent|model|map|view|part|section|step)\s*)$", re.IGNORECASE
)


def is_move_word(text: str, m: re.Match[str]) -> bool:
    """Direction words that are not moves: corners and sides ("bottom-right", "right-hand side"),
    and "right" meaning correct ("that's right", "all right", "..., right?")."""
    start, end = m.start("dw"), m.end("dw")
    word = m.group("dw").lower()
    if _NOT_A_MOVE_AFTER.match(text, end) or (
        word in ("left", "right")
        and (_SPAN.match(text, end) or _SPAN_END.search(text, max(0, start - 24), start))
    ):
        return False  # "left to right", "rows 1-6 top to bottom"
    if (
        word == "up"
        and _PHRASAL_UP.search(text, max(0, start - 12), start)
        and not (_PICK.search(text, max(0, start - 12), start) and _CLAUSE_END.match(text, end))
    ):
        return False  # "split up", "hurry up", "ended up"; but "I'd pick up." chooses the move up
    if (
        word == "up"
        and text[end : end + 4].lower() == " to "
        and _UP_TO.search(text, max(0, start - 24), start)
    ):
        return False  # "the top row is open up to (0,4)": as far as
    if word in ("left", "right") and _CORNER_BEFORE.search(text, max(0, start - 12), start):
        return False
    if word == "right" and not m.group("pre") and _RIGHT_AS_IN_DIRECTLY.match(text, end):
        return False  # "right below us"
    if word == "right" and not m.group("pre"):
        if _CORRECT_BEFORE.search(text, max(0, start - 16), start) and not _MOVE_IS.search(
            text, max(0, start - 40), start
        ):
            return False  # "that's right", but not "the best move now is right"
        if (
            text[end : end + 1] == "?"
            and text[:start].rstrip().endswith(",")
            and not _DIR_BEFORE_COMMA.search(text, max(0, start - 16), start)
        ):
            return False  # "We're at (1,1), right?" - but "How about right, right?" is two moves
    return True


_LETTER_BEFORE = re.compile(r"(?-i:\b[UDLR])(?:\s*[x×]\s*\d)?\s*(?:,|then|and|->|→|>|\/)\s*$", re.IGNORECASE)
_LETTER_AFTER = re.compile(r"\s*(?:,|then|and|->|→|>|/)\s*(?-i:[UDLR]\b)", re.IGNORECASE)


def _in_sequence(text: str, m: re.Match[str]) -> bool:
    """ "D then R": a single letter next to another one, joined by a connector."""
    return bool(
        _LETTER_BEFORE.search(text, max(0, m.start() - 12), m.start()) or _LETTER_AFTER.match(text, m.end())
    )


def _alone(text: str, m: re.Match[str]) -> bool:
    """A single capital U/D/L/R is a move only as a message or line of its own ("D?", "MOVE: D")."""
    line_start = text.rfind("\n", 0, m.start()) + 1
    line_end = text.find("\n", m.end())
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    rest = re.sub(
        r"\bACTI!?", "", line[: m.start() - line_start] + line[m.end() - line_start :], flags=re.IGNORECASE
    )
    rest = rest.strip(" \t*_`'\".,!?:-#>")
    return (
        rest == "" or re.fullmatch(r"(?:move|direction|action|next|go)\s*:?", rest, re.IGNORECASE) is not None
    )


_LETTER_CLAUSE_BREAK = re.compile(r"[.!?;\n]")  # where a terse letter's clause ends
_LETTER_FILLER = re.compile(
    r"\([^()]*\)|\bACTI!?|(?:→|->)\s*(?:the\s+)?goal\b"
    r"|\b(?:ok|okay|yes|yep|agreed|agree|sure|fine|then|next|again|now|please|once more|go|move)\b",
    re.IGNORECASE,
)


def _alone_in_clause(text: str, m: re.Match[str]) -> bool:
    """ "ok R. then R again", "D ok. R?": a letter whose clause holds nothing but agreement and
    sequencing words is a move (the terse letter style)."""
    start = max(
        (e.end() for e in _LETTER_CLAUSE_BREAK.finditer(text, max(0, m.start() - 40), m.start())),
        default=None,
    )
    start = max(0, m.start() - 40) if start is None else start
    end_match = _LETTER_CLAUSE_BREAK.search(text, m.end())
    end = end_match.start() if end_match else len(text)
    rest = _LETTER_FILLER.sub("", text[start : m.start()] + " " + text[m.end() : end])
    return rest.strip(" \t*_`'\".,!?:-#>") == ""


def is_letter_move(text: str, m: re.Match[str]) -> bool:
    """A single capital U/D/L/R: a move alone on its line, its clause or in a sequence, not after
    "plan", "route"."""
    if _NOT_A_LETTER_MOVE_BEFORE.search(text, max(0, m.start() - 16), m.start()):
        return False
    return _alone(text, m) or _in_sequence(text, m) or _alone_in_clause(text, m)
