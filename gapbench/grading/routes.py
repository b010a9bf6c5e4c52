"""Route notation: the one place that reads how agents write moves and cells.

Agents are given no output format, so a move may be a direction (up / D / north / ↓ / "down twice"),
a cell (``(r, c)``, ``[r, c]``, ``r1c2``, ``row 1, column 2``, ``(x=2, y=1)``, "second row, third
column", ``A1``, ``1A``, full-width ``（2，3）``), 0- or 1-based, row-col or col-row, with the origin in
any corner. ``find_mentions`` reads the symbols as written, with their place in the text (the
scheme that maps them to cells is ``grading.schemes``). Every parser here is a single
regular-expression scan over normalised text: linear in the input, and it never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from gapbench.grading.movewords import is_letter_move, is_move_word
from gapbench.grading.schemes import Step
from gapbench.grading.symbols import DIRECTION_WORDS, NUMBER_WORDS, ORDINALS
from gapbench.grading.text import normalise


@dataclass(frozen=True)
class Mention:
    """Route symbols found in a text: one or more steps (repetition expanded) and where they stand."""

    steps: tuple[Step, ...]
    start: int
    end: int

    @property
    def is_cell(self) -> bool:
        return not self.steps[0].is_direction


_NUM = r"(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)"
_UNIT = r"(?:times?|x|steps?|cells?|squares?|spaces?|tiles?|moves?|blocks?|positions?)"
_DIR = r"(?:upwards?|downwards?|leftwards?|rightwards?|up|down|left|right|north|south|east|west|rights|lefts|downs|ups)"
_ARROW = "[←→↑↓⬅➡⬆⬇⇐⇒⇑⇓⟵⟶◀▶🔼🔽⇦⇨⇧⇩➜➔➙➞⏬⏫👇👆👈]"
_AXIS = r"(?:rows?|columns?|cols?|r|c|x|y)"
_ORD = r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d{1,2}(?:st|nd|rd|th))"
_TOKEN = re.compile(
    # (row=1, col=2), (x=2, y=1), x:2 y:1, {"row": 1, "col": 2}
    r"(?P<named>[\(\[\{]?\s*[\"']?(?P<na>"
    + _AXIS
    + r")[\"']?\s*[=:]\s*(?P<nv>\d{1,2})\s*[,;/]?\s*[\"']?(?P<nb>"
    + _AXIS
    + r")[\"']?\s*[=:]\s*(?P<nw>\d{1,2})\s*[\)\]\}]?)"
    # row 2, column 3 / column 3, row 2 / row 2 col 3
    r"|(?P<words>\b(?P<wa>row|column|col)\s*#?\s*(?P<wv>\d{1,2})\s*(?:,|and|/|-)?\s*(?P<wb>row|column|col)\s*#?\s*(?P<ww>\d{1,2})\b)"
    # second row, third column
    r"|(?P<ord>\b(?P<oa>"
    + _ORD
    + r")\s+(?P<oaw>row|column|col)\s*(?:,|and)?\s*(?:the\s+)?(?P<ob>"
    + _ORD
    + r")\s+(?P<obw>row|column|col)\b)"
    # r1c2, R1C2, r1-c2
    r"|(?P<rc>\b[rR](?P<rcr>\d{1,2})\s*[-,]?\s*[cC](?P<rcc>\d{1,2})\b)"
    # (r, c), [r, c], {r, c}, (A, B)
    r"|(?P<pair>[\(\[\{]\s*(?P<pa>\d{1,2}|[A-Za-z])\s*[,;]\s*(?P<pb>\d{1,2}|[A-Za-z])\s*[\)\]\}])"
    # "to 2,3", "at 2, 3", "cell 2,3"
    r"|(?P<bare>(?<![\d,.(\[-])(?<!rows )(?<!columns )(?<!cols )\b(?P<ba>\d{1,2}) ?, ?(?P<bb>\d{1,2})\b(?!\.\d| ?, ?\d))"
    # A1, 1A (capitals only: "a1" in prose is not a cell)
    r"|(?P<ln>(?-i:\b(?P<lna>[A-J]|[a-j](?=[1-9]\b|1[0-9]\b))(?P<lnb>\d{1,2})\b))"
    r"|(?P<nl>(?-i:\b(?P<nla>\d{1,2})(?P<nlb>[A-J])\b))"
    # "two steps down", "3x right", "2 right", then the direction word, then "twice", "3 times", "x2"
    r"|(?P<dir>(?:(?:\b(?P<pre>"
    + _NUM
    + r"|twice|thrice)\s*(?:more\s+)?"
    + _UNIT
    + r"?|\(\s*(?P<ppx>\d)\s*x\s*\))\s*(?:to\s+the\s+|to\s+)?)?\b(?P<dw>"
    + _DIR
    + r")\b"
    r"(?:\s*(?:(?:[x×]\s*(?P<px>\d))|(?P<pn>"
    + _NUM
    + r")\s*(?:more\s+)?"
    + _UNIT
    + r"\b|\b(?P<pt>twice|thrice)\b)"
    r"|[ \t]+(?:by\s+)?(?P<pd>[1-9]|one|two|three|four|five|six|seven|eight|nine)\b(?!\s*[,;.]?\s*\d|\s*[)\]]|\s*(?:st|nd|rd|th)\b)|\s*\(\s*x\s*(?P<pp>\d)\s*\))?)"
    # arrows, singly or repeated, with an optional count
    # "2x ↓", "2 ⬇️" (a count before the arrow; not "row 2 ↓", "(1,2) →")
    r"|(?P<arrow>(?:(?<![\d,.(])(?<!row )(?<!column )(?<!col )(?<!step )(?<!move )\b(?P<apre>\d)(?:\s*[x×]\s*|[ \t]+))?(?P<aw>"
    + _ARROW
    + r")(?:\s*(?:[x×]\s*(?P<ax>\d))|\s+(?P<an>"
    + _NUM
    + r")\s+times\b|\s+(?P<at>twice|thrice)\b)?)"
    # U D L R, in capitals, as a sequence (R, R, D / RRD) or alone
    r"|(?P<seq>(?P<sl>(?-i:\b[UDLR](?:[ \t,]*[UDLR])*\b))(?:\s*[x×]\s*(?P<sx>\d)\b)?)",
    re.IGNORECASE,
)
_CONNECTOR = re.compile(
    r"[\s,*_'\"]*(?:[\(\[]\s*(?=to\b|into\b|towards?\b|reaching\b))?(?:now\s*|once more\s*|again\s*|one more\s*(?:time|step|cell)?\s*)?(?:,\s*(?=to\b|into\b|onto\b))?(?:along\s+(?:the\s+)?(?:(?:top|bottom|first|second|third|fourth|fifth|sixth|seventh)\s+)?(?:row|column|col)(?:\s*\d+)?\s*,?\s*)?(?:to\s+(?:reach|get\s+to)|to|into|onto|towards?|at|reaching|->|=>|→|⇒|⟹|➔|➜|:|=|\(|\[)?\s*(?:the\s+)?(?:cell|square|position)?\s*['\"]?",
    re.IGNORECASE,
)
_BETWEEN_ARROWS = re.compile(r"^[\s,]*$")
_SENTENCE_BREAK = re.compile(r"[.!?]\s")


def _count(text: str | None) -> int:
    if not text:
        return 1
    n = NUMBER_WORDS.get(text.lower()) if not text.isdigit() else int(text)
    return max(1, min(n or 1, 20))


def _cell(m: re.Match[str]) -> Step | None:
    g = m.groupdict()
    if g["named"]:
        a, b = g["na"].lower(), g["nb"].lower()
        rows, cols = ("row", "rows", "r", "y"), ("column", "columns", "col", "cols", "c", "x")
        if a in rows and b in cols:
            return Step(g["nv"], g["nw"], "row_col")
        if a in cols and b in rows:
            return Step(g["nw"], g["nv"], "row_col")
        return None
    if g["words"]:
        a, b = g["wa"].lower(), g["wb"].lower()
        if a == b:
            return None
        return Step(g["wv"], g["ww"], "row_col") if a == "row" else Step(g["ww"], g["wv"], "row_col")
    if g["ord"]:
        a, b = (ORDINALS.get(g[k].lower()) or int(re.sub(r"\D", "", g[k])) for k in ("oa", "ob"))
        aw, bw = g["oaw"].lower(), g["obw"].lower()
        if (aw == "row") == (bw == "row"):
            return None
        row, col = (a, b) if aw == "row" else (b, a)
        return Step(str(row), str(col), "row_col", 1)
    if g["rc"]:
        return Step(g["rcr"], g["rcc"], "row_col")
    if g["pair"]:
        if {g["pa"], g["pb"]} in ({"x", "y"}, {"r", "c"}, {"i", "j"}):
            return None  # "(x, y)": the name of a convention, not a cell
        return Step(g["pa"].upper(), g["pb"].upper())
    if g["bare"]:
        return Step(g["ba"], g["bb"])
    if g["ln"]:
        return Step(g["lna"].upper(), g["lnb"])
    if g["nl"]:
        return Step(g["nla"], g["nlb"])
    return None


def find_mentions(text: str) -> list[Mention]:
    """Every route symbol in already-normalised ``text``, in order, with its span.

    A direction written just before a cell ("down to (1, 0)") is one step: the cell, with the
    direction kept as its hint. Arrows between two route symbols ("(0,0) → (0,1)") are connectors,
    not moves."""
    raw: list[tuple[re.Match[str], list[Step]]] = []
    for m in _TOKEN.finditer(text):
        g = m.groupdict()
        steps: list[Step] = []
        try:
            if g["dir"]:
                if not is_move_word(text, m):
                    continue
                pre = g["pre"] or g["ppx"]
                if pre and (
                    re.search(
                        r"\b(?:row|column|col|r|c|step|move|turn|round)\s*#?$",
                        text[max(0, m.start() - 8) : m.start()],
                        re.IGNORECASE,
                    )
                    or "\n" in m.group("dir")[: m.start("dw") - m.start("dir")]
                ):
                    pre = None  # "row 2 down", "## Step 5\nDown": a label's number, not a count
                n = _count(pre) * _count(g["px"] or g["pn"] or g["pt"] or g["pd"] or g["pp"])
                word = g["dw"].lower()
                if word in ("rights", "lefts", "downs", "ups") and not pre:
                    continue  # "rights" is a move only when counted ("four more rights")
                steps = [
                    Step(
                        DIRECTION_WORDS[
                            word.rstrip("s") if word.endswith("s") and word[:-1] in DIRECTION_WORDS else word
                        ]
                    )
                ] * n
            elif g["arrow"]:
                steps = [Step(DIRECTION_WORDS[g["aw"]])] * (
                    _count(g["apre"]) * _count(g["ax"] or g["an"] or g["at"])
                )
            elif g["seq"]:
                letters = [ch for ch in g["sl"] if ch.isalpha()]
                if len(letters) == 1 and not is_letter_move(text, m):
                    continue
                steps = [Step(DIRECTION_WORDS[ch.lower()]) for ch in letters]
                if g["sx"] and len(steps) == 1:
                    steps = steps * _count(g["sx"])
            else:
                cell = _cell(m)
                if cell is None:
                    continue
                steps = [cell]
        except ValueError:  # a symbol the notation cannot hold (e.g. row 0 as an ordinal)
            continue
        raw.append((m, steps))
    return _drop_spelled_out_counts(text, _join(text, raw))


_SPELL_GAP = re.compile(r"\s*[:=(\-]\s*")


_ARROW_GAP = re.compile(r"[\s,]*")


def _is_arrow(text: str, m: Mention) -> bool:
    return len(m.steps) == 1 and m.steps[0].is_direction and not re.search(r"\w", text[m.start : m.end])


def _drop_spelled_out_counts(text: str, mentions: list[Mention]) -> list[Mention]:
    """ "Five downs: down, down, down, down, down" is five steps, not ten; so are "Down x3 ↓↓↓",
    "→→→ right three times" and "↓ down x3": one move written twice."""
    out: list[Mention] = []
    skip = 0
    for i, m in enumerate(mentions):
        if skip:
            skip -= 1
            continue
        n = len(m.steps)
        same = m.steps[0].is_direction and len(set(m.steps)) == 1
        moves = {st.first if st.is_direction else st.hint for st in m.steps}  # "down x3 to (3,0)": down
        word = not _is_arrow(text, m) and len(moves) == 1 and m.steps[0].is_direction and n > 1
        if word and out and _is_arrow(text, out[-1]) and out[-1].steps == m.steps[:1]:
            # arrows just before: as many as the count ("→→→ right three times"), or one ("↓ down x3")
            k = 1
            while (
                k < len(out) and k < n and _is_arrow(text, out[-1 - k]) and out[-1 - k].steps == m.steps[:1]
            ):
                k += 1
            if (k == n or k == 1) and _ARROW_GAP.fullmatch(text, out[-1].end, m.start):
                del out[-k:]
        out.append(m)
        if n > 1 and same and i + n < len(mentions) + 1:
            following = mentions[i + 1 : i + 1 + n]
            arrows = all(_is_arrow(text, f) for f in following)
            if (
                len(following) == n
                and all(f.steps == m.steps[:1] for f in following)
                and (
                    _SPELL_GAP.fullmatch(text, m.end, following[0].start)
                    or (arrows and _ARROW_GAP.fullmatch(text, m.end, following[0].start))
                )
            ):
                skip = n
    return out


_GLOSS = re.compile(r"[\s*_]*[\(\[]?\s*")  # "r0c0 (row 0, col 0)", "(1,0) (down)", "⬇️ Down"
_ARROW_GLOSS = re.compile(r"[\s*_!.]*[\(\[]?\s*")  # a move word and its arrow, one move
_PAREN_GLOSS = re.compile(r"\s*(?:again\s*|once more\s*)?\(\s*", re.IGNORECASE)  # "abajo (down)"
_RESTATE_GAP = re.compile(
    r"[\s*_]*(?:[,:=]|\bi\.?e\.?|\bthat is\b|\baka\b)?[\s,*_]*[\(\[]?\s*", re.IGNORECASE
)


def _restates(a: Step, b: Step) -> bool:
    """Is one of two neighbouring cells the other written again with its axes named ("(0,1), row 0
    column 1", "(2,1) (x=2, y=1)")? The bare pair may be row-first or column-first."""
    if a.is_direction or b.is_direction or bool(a.order) == bool(b.order) or a.origin != b.origin:
        return False
    bare, named = (a, b) if b.order else (b, a)
    return (bare.first, bare.second) in ((named.first, named.second), (named.second, named.first))


def _join(text: str, raw: list[tuple[re.Match[str], list[Step]]]) -> list[Mention]:
    out: list[Mention] = []
    skip = 0
    arrow_hint = ("", -1)  # a vertical or left arrow just before a cell (its index): the cell's direction
    for i, (m, steps) in enumerate(raw):
        if skip:
            skip -= 1
            continue
        g = m.groupdict()
        if g["arrow"] and len(steps) == 1:
            prev_tok = raw[i - 1] if i else None
            next_tok = raw[i + 1] if i + 1 < len(raw) else None
            touching_prev = (
                prev_tok is not None
                and not prev_tok[0].group("arrow")
                and _BETWEEN_ARROWS.match(text[prev_tok[0].end() : m.start()])
            )
            touching_next = (
                next_tok is not None
                and not next_tok[0].group("arrow")
                and _BETWEEN_ARROWS.match(text[m.end() : next_tok[0].start()])
            )
            if touching_prev and touching_next:
                continue  # a connector: "(0,0) → (0,1)", "right → down"
            if touching_next and next_tok is not None and not next_tok[1][0].is_direction:
                # "✓ → (2,0)": an arrow pointing at a cell introduces it; "↓ (2,0)" also says the move
                arrow_hint = ("" if steps[0].first == "right" else steps[0].first, i + 1)
                continue
            if (
                touching_prev
                and re.match(r"\s*[A-Za-z*]", text[m.end() :])
                and not (next_tok is not None and touching_next)
            ):
                continue  # "Down → goal": an arrow from a move to a word points, it does not move
            if (
                touching_next
                and next_tok is not None
                and next_tok[0].group("dir")
                and next_tok[1][0] != steps[0]
            ):
                continue  # "⇒ down ⇒ right": arrows used as bullets before direction words
        start = m.start()
        prev = out[-1] if out else None
        if prev is not None and _from_to_row(text, prev, raw, i):
            # "| down | (0,0) | (1,0) |": a table row of a move, the cell it leaves and the cell it reaches
            b = raw[i + 1][1][0]
            hinted = Step(b.first, b.second, b.order, b.origin, prev.steps[0].first)
            out[-1] = Mention((hinted,), prev.start, raw[i + 1][0].end())
            skip = 1
            continue
        if (
            prev is not None
            and len(prev.steps) > 1
            and len(steps) == 1
            and prev.steps[-1].is_direction
            and not steps[0].is_direction
            and len(set(prev.steps)) == 1
            and _CONNECTOR.fullmatch(text, prev.end, start)
        ):
            listed = _listed_cells(text, prev, raw, i)
            if listed:  # "right twice: (3,1), (3,2)": the count spelled out as the cells
                out[-1] = Mention(listed, prev.start, raw[i + len(listed) - 1][0].end())
                skip = len(listed) - 1
                continue
            # "down 3 steps to (3,0)": the cell is where the last step lands.
            b = steps[0]
            out[-1] = Mention(
                (*prev.steps[:-1], Step(b.first, b.second, b.order, b.origin, prev.steps[-1].first)),
                prev.start,
                m.end(),
            )
            continue
        if prev is not None and len(prev.steps) == 1 and len(steps) == 1:
            a, b = prev.steps[0], steps[0]
            glossed = _GLOSS.fullmatch(text, prev.end, start) is not None
            if (
                a.is_direction
                and not b.is_direction
                and (_CONNECTOR.fullmatch(text, prev.end, start) or glossed)
                and not _SENTENCE_BREAK.search(text, prev.start, prev.end)  # "Down. ⬇️ The third row"
            ):
                # "down to (1, 0)": one step, the cell, with the direction as its hint.
                out[-1] = Mention((Step(b.first, b.second, b.order, b.origin, a.first),), prev.start, m.end())
                continue
            if glossed and not a.is_direction and b.is_direction:
                out[-1] = Mention((Step(a.first, a.second, a.order, a.origin, b.first),), prev.start, m.end())
                continue  # "(1, 0) (down)"
            if (
                glossed
                and text[prev.end : start].strip()
                and not a.is_direction
                and not b.is_direction
                and text[m.end() :].lstrip()[:1] in (")", "]")
            ):
                out[-1] = Mention(prev.steps, prev.start, m.end())
                continue  # "r0c0 (row 0, col 0)": the same cell written twice
            if _restates(a, b) and _RESTATE_GAP.fullmatch(text, prev.end, start):
                explicit = replace(b if b.order else a, hint=a.hint or b.hint)
                out[-1] = Mention((explicit,), prev.start, m.end())
                continue  # "(0,1), row 0 column 1": the same cell in a second notation
            if (
                a == b
                and a.is_direction
                and prev.start == raw[i - 1][0].start()  # "Right! ➡️ One more right?": one gloss each
                and (
                    (
                        _ARROW_GLOSS.fullmatch(text, prev.end, start)
                        and bool(g["arrow"]) != bool(raw[i - 1][0].group("arrow"))
                    )
                    or (_PAREN_GLOSS.fullmatch(text, prev.end, start) and text[m.end() : m.end() + 1] == ")")
                )
            ):
                out[-1] = Mention(prev.steps, prev.start, m.end())
                continue  # "⬇️ Down", "Yes, left! ⬅️", "abajo (down)"
        if arrow_hint[1] == i and arrow_hint[0] and len(steps) == 1 and not steps[0].hint:
            steps = [replace(steps[0], hint=arrow_hint[0])]
        out.append(Mention(tuple(steps), start, m.end()))
    return out


_BAR = re.compile(r"[ \t]*\|[ \t]*")


def _from_to_row(text: str, prev: Mention, raw: list[tuple[re.Match[str], list[Step]]], i: int) -> bool:
    """Is ``raw[i]`` the first of two cells in the table cells after a direction ("| down | (0,0) |
    (1,0) |")?"""
    if len(prev.steps) != 1 or not prev.steps[0].is_direction or i + 1 >= len(raw):
        return False
    (a, sa), (b, sb) = raw[i], raw[i + 1]
    return (
        len(sa) == len(sb) == 1
        and not sa[0].is_direction
        and not sb[0].is_direction
        and _BAR.fullmatch(text, prev.end, a.start()) is not None
        and _BAR.fullmatch(text, a.end(), b.start()) is not None
    )


_LIST_GAP = re.compile(r"[\s,;]*(?:and\s+|then\s+)?")


def _listed_cells(
    text: str, counted: Mention, raw: list[tuple[re.Match[str], list[Step]]], i: int
) -> tuple[Step, ...]:
    """The cells after a colon that spell out a counted move one by one, each with its direction
    ("right twice: (3,1), (3,2)"); () when they do not."""
    n, direction = len(counted.steps), counted.steps[0].first
    cells = raw[i : i + n]
    if ":" not in text[counted.end : raw[i][0].start()] or len(cells) < n:
        return ()
    for k, (m, steps) in enumerate(cells):
        if len(steps) != 1 or steps[0].is_direction:
            return ()
        if k and not _LIST_GAP.fullmatch(text, cells[k - 1][0].end(), m.start()):
            return ()
    return tuple(Step(st[0].first, st[0].second, st[0].order, st[0].origin, direction) for _, st in cells)


def parse_route(text: object) -> list[Step]:
    """Every route step in ``text``, in order (a cell with its direction hint counts once)."""
    return [s for mention in find_mentions(normalise(text)) for s in mention.steps]
