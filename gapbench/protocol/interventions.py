"""Interventions: named overlays that add clauses to the prompt templates, selected as a study factor.

An overlay is a small YAML file: a clause for ``collab`` and/or ``system`` (the prompts of a
conversation; solo conditions run without interventions), ``map_labels`` to draw maps with row and
column numbers, and ``structured: true`` for the rigid protocol whose messages end with one tag line
(``MOVE: up|down|left|right``, ``AGREE`` or ``DISAGREE``). A clause goes in as its own paragraph
before the text's closing paragraph ("Begin now."), or at the end of a one-paragraph text.

Shipped overlays (``overlays/*.yaml``) are named by their file; a user file is named by its stem and
versioned by a hash of its bytes, like a templates file, so records and the run hash say exactly
which clauses a run used. The overlaid templates go through the templates' own checks, so an
overlay that breaks a placeholder fails before anything runs, on one line naming file, key and fix.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from gapbench.protocol.templates import Templates, check_texts

NONE = "none"
REFEREE = "referee"  # a condition, not an overlay; named here so the factor can refuse it clearly
CLAUSE_KEYS = ("system", "collab")
# The referee condition tells the agents who executes moves (its own clause, on any overlay).
REFEREE_CLAUSE = (
    "A referee executes each move as soon as both of you agree on it and tells you both the result in a [user] "
    "message: your new position, the goal reached, or a wall hit, which ends the game."
)

TagKind = Literal["move", "agree", "disagree"]


@dataclass(frozen=True)
class Tag:
    """The tag line of a structured message."""

    kind: TagKind
    direction: str = ""  # for MOVE


_TAG = re.compile(r"^(?:MOVE:\s*(up|down|left|right)|(AGREE)|(DISAGREE))$", re.IGNORECASE)


def parse_tag(text: str) -> Tag | None:
    """The tag on the last non-empty line of a message (markdown emphasis and code marks ignored);
    None when that line is no well-formed tag: a malformed ``MOVE:`` line is no move."""
    lines = [line.strip().strip("*`_ ").strip() for line in text.splitlines() if line.strip()]
    m = _TAG.match(lines[-1]) if lines else None
    if m is None:
        return None
    if m.group(1):
        return Tag("move", m.group(1).lower())
    return Tag("agree") if m.group(2) else Tag("disagree")


@dataclass(frozen=True)
class Overlay:
    name: str  # as recorded: none, a shipped name, or a user file's stem
    version: str  # the name for shipped overlays; sha256:<16 hex> of a user file
    clauses: dict[str, str] = field(default_factory=dict)  # template key -> clause
    map_labels: bool | None = None
    structured: bool = False
    where: str = ""  # the file, for error messages


def shipped_overlays() -> list[str]:
    folder = resources.files("gapbench.protocol") / "overlays"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def known_names() -> str:
    return ", ".join([NONE, *shipped_overlays()])


def overlay_name(source: str) -> str:
    """The name an intervention is recorded under: its own, or an overlay file's stem."""
    return source if source in (NONE, *shipped_overlays()) else Path(source).stem


def load_overlay(source: str) -> Overlay:
    """``none``, a shipped overlay's name, or the path of an overlay YAML file."""
    if source == NONE:
        return Overlay(NONE, NONE)
    if source in shipped_overlays():
        return _shipped(source)
    if source == REFEREE:
        raise ValueError(
            "interventions: referee is a collaboration condition, not a prompt overlay (solo conditions have no moves to referee); add `referee` to conditions instead"
        )
    path = Path(source).expanduser()
    if path.suffix not in (".yaml", ".yml"):
        raise ValueError(
            f"interventions: unknown intervention {source!r}; use {known_names()} or the path of an overlay .yaml file"
        )
    if not path.is_file():
        raise ValueError(
            f"interventions: overlay file {path} not found; give an existing .yaml file (relative paths are relative to the study file)"
        )
    if path.stem in (NONE, REFEREE, *shipped_overlays()):
        raise ValueError(
            f"interventions: {path}: its name {path.stem!r} is taken by a shipped intervention; rename the file"
        )
    raw = path.read_bytes()
    return parse_overlay(
        raw, where=str(path), name=path.stem, version="sha256:" + hashlib.sha256(raw).hexdigest()[:16]
    )


@cache
def _shipped(name: str) -> Overlay:
    path = resources.files("gapbench.protocol") / "overlays" / f"{name}.yaml"
    return parse_overlay(
        path.read_bytes(), where=f"gapbench/protocol/overlays/{name}.yaml", name=name, version=name
    )


def parse_overlay(raw: bytes, *, where: str, name: str, version: str) -> Overlay:
    """An overlay from a file's bytes, checked key by key; ``where`` names the file in errors."""
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError(f"{where}: not UTF-8; save the file as UTF-8") from None
    except yaml.YAMLError as exc:
        raise ValueError(
            f"{where}: not valid YAML ({getattr(exc, 'problem', None) or exc}); fix the YAML syntax"
        ) from None
    if not isinstance(data, dict) or not data:
        raise ValueError(
            f"{where}: expected a mapping with a clause for {' or '.join(CLAUSE_KEYS)}; start from gapbench/protocol/overlays/state_position.yaml"
        )
    for key, value in data.items():
        if key in CLAUSE_KEYS:
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{where}: {key}: expected the clause as text; write it as a `|-` block")
        elif key in ("map_labels", "structured"):
            if not isinstance(value, bool):
                raise ValueError(f"{where}: {key}: {value!r} is not allowed; use true or false")
        elif key in ("solo_full", "solo_distributed", "critic", "legend"):
            raise ValueError(
                f"{where}: {key}: interventions change collaboration prompts only (solo runs without them); put the clause under collab or system"
            )
        else:
            raise ValueError(
                f"{where}: {key}: unknown key; expected only {', '.join((*CLAUSE_KEYS, 'map_labels', 'structured'))}"
            )
    clauses = {k: data[k].strip() for k in CLAUSE_KEYS if k in data}
    return Overlay(name, version, clauses, data.get("map_labels"), bool(data.get("structured", False)), where)


def _insert(text: str, clause: str) -> str:
    """``clause`` as a paragraph before the closing paragraph of ``text`` (after it if there is one only)."""
    head, sep, last = text.rpartition("\n\n")
    return f"{head}\n\n{clause}\n\n{last}" if sep else f"{text}\n\n{clause}"


def apply(templates: Templates, overlay: Overlay, *, referee: bool = False) -> Templates:
    """``templates`` with the overlay's clauses and options (and the referee's clause), checked as a
    templates file is. A structured overlay refuses templates that already define tag lines."""
    if overlay.structured:
        _check_structured(templates, overlay)
    clauses = dict(overlay.clauses)
    if referee:
        clauses["collab"] = "\n\n".join(c for c in (clauses.get("collab"), REFEREE_CLAUSE) if c)
    texts: dict[str, Any] = {k: _insert(getattr(templates, k), c) for k, c in clauses.items()}
    options: dict[str, Any] = {} if overlay.map_labels is None else {"map_labels": overlay.map_labels}
    out = replace(templates, **texts, **options)
    if out != templates:
        check_texts(out, f"{overlay.where or 'referee'} (on templates {templates.version})")
    return out


def _check_structured(templates: Templates, overlay: Overlay) -> None:
    """Tag lines must mean the overlay's tags only: not the completion phrase, not a format the
    templates already impose (a referee would read the wrong lines)."""
    fix = "use templates without their own MOVE/AGREE/DISAGREE format (e.g. v2), or drop structured_moves"
    if parse_tag(templates.completion_phrase) is not None:
        raise ValueError(
            f"interventions: {overlay.name}: the templates' completion_phrase {templates.completion_phrase!r} reads as a tag line; {fix}"
        )
    for key in CLAUSE_KEYS:
        if any(parse_tag(line) or "MOVE:" in line.upper() for line in getattr(templates, key).splitlines()):
            raise ValueError(
                f"interventions: {overlay.name}: templates {templates.version} already define tag lines in {key}; {fix}"
            )
