"""Text normalisation for grading: one canonical form before any parser looks at a message.

Models write full-width punctuation, emoji arrows, curly quotes, zero-width spaces and look-alike
letters (a Kelvin sign for K, Cyrillic о in "dоwn"). Every grading parser works on the output of
``normalise``, so none of them has to know about Unicode, and none can be crashed by it.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that look like ASCII ones (Cyrillic, Greek, dotted/dotless i, long s) and that NFKC leaves alone.
_LOOKALIKES = {
    "а": "a",
    "е": "e",
    "о": "o",
    "р": "p",
    "с": "c",
    "у": "y",
    "х": "x",
    "і": "i",
    "ј": "j",
    "ԁ": "d",
    "ո": "n",
    "ս": "u",
    "ѕ": "s",
    "һ": "h",
    "ԝ": "w",
    "А": "A",
    "В": "B",
    "Е": "E",
    "К": "K",
    "М": "M",
    "Н": "H",
    "О": "O",
    "Р": "P",
    "С": "C",
    "Т": "T",
    "Х": "X",
    "У": "Y",
    "І": "I",
    "Ј": "J",
    "Ѕ": "S",
    "ο": "o",
    "α": "a",
    "ν": "v",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "ι": "i",
    "Ο": "O",
    "Α": "A",
    "Β": "B",
    "Ε": "E",
    "Ζ": "Z",
    "Η": "H",
    "Ι": "I",
    "Κ": "K",
    "Μ": "M",
    "Ν": "N",
    "Ρ": "P",
    "Τ": "T",
    "Υ": "Y",
    "Χ": "X",
    "İ": "I",
    "ı": "i",
    "ſ": "s",
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u00b4": "'",
    "`": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u3001": ",",
    "\u3002": ". ",  # a full-width stop carries its own space: "1。⬇️ to （1，1）"
    "\uff64": ",",
    "\u00d7": " x",
    "\u2715": " x",
    "\u2716": " x",
}
_DROP = "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\ufe0e\ufe0f\u20e3"
_TABLE = {ord(k): v for k, v in _LOOKALIKES.items()} | {ord(c): None for c in _DROP}
# Control characters (other than newline and tab) become spaces; a lone surrogate becomes U+FFFD.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")  # terminal escapes: "\x1b[1mRight\x1b[0m"
_REASONING = re.compile(
    r"<(think|thinking|reasoning|analysis)>.*?(?:</\1>|\Z)"  # <think> ... </think> (or cut off)
    r"|<\|channel\|>\s*analysis.*?(?:<\|end\|>|<\|channel\|>\s*final\s*<\|message\|>|\Z)"  # gpt-oss harmony channels
    r"|^\s*analysis.*?assistant\s*final",  # the same, leaked as plain text: "analysis...assistantfinal"
    re.IGNORECASE | re.DOTALL,
)


def normalise(text: object) -> str:
    """NFKC, look-alike letters folded to ASCII, invisible characters dropped, controls as spaces,
    long runs of whitespace shortened.

    Never raises; anything that is not a string becomes the empty string."""
    if not isinstance(text, str):
        return ""
    text = _ANSI.sub("", _SURROGATE.sub("\ufffd", text))
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _LONG_SPACE.sub(_short_space, text.translate(_TABLE))


# Long runs of whitespace are cut short (a paragraph break stays one): the route notation's patterns
# look ahead over whitespace, so a long run would cost time quadratic in its length.
_LONG_SPACE = re.compile(r"\s{8,}")


def _short_space(m: re.Match[str]) -> str:
    breaks = m.group().count("\n")
    return "\n\n" if breaks >= 2 else "\n" if breaks else " "


def strip_reasoning(text: str) -> str:
    """Drop reasoning blocks (``<think>...</think>``): they are not part of what the agent said."""
    return _REASONING.sub(" ", text)


_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]+([^\n]*)$", re.MULTILINE)  # "### Proposal": not a wall


def _label(m: re.Match[str]) -> str:
    """A short heading labels what follows it ("### Position" + "(1,0)." reads "Position: (1,0).")."""
    title = m.group(1).rstrip(" \t")
    short = len(title) <= 30 and not re.search(r"[.!?:;,]\W*$|\(|\d", title)
    return title + ":" if short and title else title


_EMPHASIS = re.compile(
    r"\*\*+|__+|`+"
)  # markdown bold and code marks ("**Move:** down"); a lone * is the goal


# A message is read up to its last MAX_MESSAGE_CHARS characters (about 4,000 tokens, more than a turn
# of any study configuration generates): the concrete proposal of a message is its last one, and the
# bound keeps grading fast on pathological input (a 1 MB message grades in milliseconds).
MAX_MESSAGE_CHARS = 16_000


# Moves and answers in the other languages models drift into, and misspellings a reader still reads
# unambiguously ("dwon", "rigth"): read as the English words the cues know.
_LEXICON = {
    "down": "hacia abajo|abajo|vers le bas|en bas|nach unten|unten|向下|往下|dwon|donw|dowm|dwn",
    "up": "hacia arriba|arriba|vers le haut|en haut|nach oben|oben|向上|往上",
    "left": "a la izquierda|izquierda|à gauche|gauche|nach links|向左|往左|lfet|letf",
    "right": "a la derecha|derecha|à droite|droite|nach rechts|rechts|向右|往右|rigth|rihgt|rigt",
    "yes": "sí|vale|de acuerdo|oui|d'accord|einverstanden|ja",
    "no": "non|nein",
    "again": "otra vez|encore|nochmal|agian|agin",
}
_WORD_FOR = {w: english for english, words in _LEXICON.items() for w in words.split("|")}
_FOREIGN = re.compile(
    r"(?<!\w)(?:" + "|".join(sorted(map(re.escape, _WORD_FOR), key=len, reverse=True)) + r")(?![\w-])",
    re.IGNORECASE,
)


def _english(m: re.Match[str]) -> str:
    return _WORD_FOR[m.group().lower()]


def message_text(text: object) -> str:
    """What a grader reads of one message: normalised, reasoning dropped, quoted lines (``> ...``,
    the partner's words echoed back) removed, at most its last MAX_MESSAGE_CHARS characters."""
    if isinstance(text, str) and len(text) > 4 * MAX_MESSAGE_CHARS:
        # Only the tail is read: normalise no more than that (a 1 MB message stays cheap). A reasoning
        # block whose opening tag was cut off ends at its closing tag.
        text = text[-4 * MAX_MESSAGE_CHARS :]
        close = re.search(r"</(?:think|thinking|reasoning|analysis)>|assistant\s*final", text, re.IGNORECASE)
        if close and "<" + close.group().strip("</>").lower() not in text[: close.start()].lower():
            text = text[close.end() :]
    lines = _HEADING.sub(
        _label, _EMPHASIS.sub("", _FOREIGN.sub(_english, strip_reasoning(normalise(text))))
    ).split("\n")
    kept = "\n".join(line for line in lines if not line.lstrip().startswith(">"))
    if len(kept) > MAX_MESSAGE_CHARS:
        cut = kept.find("\n", len(kept) - MAX_MESSAGE_CHARS)
        kept = kept[cut + 1 :] if 0 <= cut < len(kept) - MAX_MESSAGE_CHARS // 2 else kept[-MAX_MESSAGE_CHARS:]
    return kept


# Sentence ends: . ! ? and newlines, but not the dot inside a number ("1.5") or a label ("e.g.").
_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)[.!?]+(?=\s|$)|\n+|;\s")
_LIST_NUMBER = re.compile(r"(?:^|\n)[ \t]*\d{1,2}$")  # "1." opening a list item is not a sentence end
_LIST_ITEM = re.compile(
    r"[ \t]*(?:(?:\d{1,2}[.)]|[-*•+]|(?:step|move)\s*\d{1,2}\s*[:.)-])\s|\|[\s:-])", re.IGNORECASE
)  # a table row ("| 1 | Right |") is a list item too


def sentences(text: str) -> list[tuple[int, str]]:
    """``(offset, sentence)`` pieces of ``text``, each keeping its end punctuation. The items of a
    list (numbered or bulleted lines, table rows) stay together as one piece: a list is one plan."""
    out: list[tuple[int, str]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if "\n" in m.group() and _is_label(text, m.start()):
            continue  # "### Next move\n**↓**", "Proposal:\n(1, 2)": the label belongs to what follows
        if "\n" in m.group() and _LIST_ITEM.match(text, m.end()):
            line_start = text.rfind("\n", 0, m.start()) + 1
            if _LIST_ITEM.match(text, line_start) or text[line_start : m.start()].rstrip().endswith(":"):
                continue  # inside a list
        if m.group().startswith((".", "!", "?")) and _inside_list_item(text, m.start()):
            continue
        if m.group().startswith(".") and _LIST_NUMBER.search(text, max(0, m.start() - 4), m.start()):
            continue
        piece = text[start : m.end()]
        if piece.strip():
            out.append((start, piece))
        start = m.end()
    if text[start:].strip():
        out.append((start, text[start:]))
    return out


def _is_label(text: str, pos: int) -> bool:
    line = text[text.rfind("\n", 0, pos) + 1 : pos].strip(" *_")
    return bool(line) and (line.startswith("#") or line.endswith(":")) and len(line) <= 60


def _inside_list_item(text: str, pos: int) -> bool:
    """A full stop inside a list item that the next line continues ("1. Right.\n2. Down.")."""
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    if line_end < 0 or not _LIST_ITEM.match(text, line_start):
        return False
    return text[pos:line_end].strip(" .!?*_") == "" and _LIST_ITEM.match(text, line_end + 1) is not None
