"""Prompt templates: the shipped versions (v1, v2) and user files, loaded and checked by one loader.

A templates file is YAML with one text per key. Shipped files are named by their version; a user
file's version is a hash of its bytes, so records say exactly which prompts a run used and a changed
file never mixes into old results. Every problem is reported on one line naming the file, the key
and the fix, before any dialogue starts.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass, fields, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

Layout = Literal["separate", "merged"]
MapStyle = Literal["compact", "spaced"]
DEFAULT_TEMPLATES = "v2"

_COMMON = frozenset({"completion_phrase", "max_turns"})
# Per text key: the placeholders it may use and (second) those it must use.
PLACEHOLDERS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "system": (_COMMON, frozenset()),
    "legend": (_COMMON, frozenset()),
    "critic": (_COMMON, frozenset()),
    "collab": (_COMMON | {"legend", "map"}, frozenset({"map"})),
    "solo_full": (_COMMON | {"legend", "map"}, frozenset({"map"})),
    "solo_distributed": (_COMMON | {"legend", "map_1", "map_2"}, frozenset({"map_1", "map_2"})),
}
OPTION_KEYS = ("layout", "map_style", "map_labels")  # how the texts are laid out; the study's by default


@dataclass(frozen=True)
class Templates:
    version: str  # v1, v2, or sha256:<16 hex> of a user file
    completion_phrase: str
    user_prefix: str
    partner_prefix: str
    system: str
    legend: str
    collab: str
    solo_full: str
    solo_distributed: str
    critic: str
    layout: Layout = "separate"  # the second speaker's task and partner message: two user turns or one
    map_style: MapStyle = "compact"  # rows as `@.?#` (the study) or `@ . ? #`
    map_labels: bool = False  # row and column numbers around the map (an intervention, not the study)

    def fill(self, key: str, **values: object) -> str:
        """The text of ``key`` with its placeholders filled (``values`` beyond the common ones)."""
        common = {"legend": self.legend, "completion_phrase": self.completion_phrase}
        return getattr(self, key).format(**common, **values)


def shipped_versions() -> list[str]:
    folder = resources.files("gapbench.protocol") / "templates"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_templates(source: str = DEFAULT_TEMPLATES) -> Templates:
    """``v1``, ``v2`` (shipped) or the path of a templates YAML file (relative to the working directory)."""
    if source in shipped_versions():
        return _shipped(source)
    path = Path(source).expanduser()
    if path.suffix not in (".yaml", ".yml"):
        raise ValueError(
            f"protocol templates {source!r}: unknown; use {', '.join(shipped_versions())} or the path of a .yaml templates file"
        )
    if not path.is_file():
        raise ValueError(
            f"protocol templates file {path} not found; give an existing .yaml file (relative paths are relative to the study file)"
        )
    raw = path.read_bytes()
    return parse_templates(raw, where=str(path), version="sha256:" + hashlib.sha256(raw).hexdigest()[:16])


@cache
def _shipped(version: str) -> Templates:
    path = resources.files("gapbench.protocol") / "templates" / f"{version}.yaml"
    return parse_templates(
        path.read_bytes(), where=f"gapbench/protocol/templates/{version}.yaml", version=version
    )


def parse_templates(raw: bytes, *, where: str, version: str) -> Templates:
    """Templates from a file's bytes, checked key by key; ``where`` names the file in errors."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValueError(
            f"{where}: line {line}: byte 0x{raw[exc.start]:02x} is not UTF-8; save the file as UTF-8"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}: " if mark is not None else ""
        raise ValueError(
            f"{where}: {at}not valid YAML ({getattr(exc, 'problem', None) or exc}); fix the YAML syntax"
        ) from None
    if not isinstance(data, dict):
        raise ValueError(
            f"{where}: expected a mapping of template keys ({', '.join(_text_keys())}); start from gapbench/protocol/templates/v2.yaml"
        )
    known = (*_text_keys(), *OPTION_KEYS)
    for key in data:
        if key not in known:
            hint = (
                " (a file's version is its content hash; remove the key)"
                if key == "version"
                else f"; expected only {', '.join(known)}"
            )
            raise ValueError(f"{where}: {key}: unknown key{hint}")
    missing = [k for k in _text_keys() if k not in data]
    if missing:
        raise ValueError(
            f"{where}: {missing[0]}: missing; add a `{missing[0]}:` text (every file needs {', '.join(_text_keys())})"
        )
    for key in _text_keys():
        if not isinstance(data[key], str):
            raise ValueError(
                f"{where}: {key}: expected text, got {type(data[key]).__name__}; quote it or write it as a `|-` block"
            )
    choices = {"layout": get_args(Layout), "map_style": get_args(MapStyle), "map_labels": (False, True)}
    options = {k: data[k] for k in OPTION_KEYS if k in data}
    for key, value in options.items():
        if type(value) is not type(choices[key][0]) or value not in choices[key]:
            raise ValueError(
                f"{where}: {key}: {value!r} is not allowed; use one of {', '.join(str(c).lower() for c in choices[key])}"
            )
    templates = Templates(version=version, **{k: data[k] for k in _text_keys()}, **options)
    check_texts(templates, where)
    return templates


def configure(templates: Templates, **options: Any) -> Templates:
    """``templates`` with the options a study sets (None: keep the file's own)."""
    return replace(templates, **{k: v for k, v in options.items() if v is not None})


def _text_keys() -> tuple[str, ...]:
    return tuple(f.name for f in fields(Templates) if f.name not in ("version", *OPTION_KEYS))


def check_texts(t: Templates, where: str) -> None:
    """Every text's placeholders, rendering and completion phrase (templates files and overlays alike)."""
    if not t.completion_phrase.strip():
        raise ValueError(
            f'{where}: completion_phrase: empty; give the phrase that ends a dialogue, e.g. "ACTI!"'
        )
    sample = {"max_turns": 50, "map": "@.\n*#", "map_1": "@?\n*#", "map_2": "@.\n*?"}
    for key, (allowed, required) in PLACEHOLDERS.items():
        text = getattr(t, key)
        try:
            used = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        except ValueError as exc:
            raise ValueError(f"{where}: {key}: {exc}; write literal braces as {{{{ and }}}}") from None
        for name in sorted(used):
            if name not in allowed:
                raise ValueError(
                    f"{where}: {key}: unknown placeholder {{{name}}}; use only {', '.join('{' + a + '}' for a in sorted(allowed))}"
                )
        for name in sorted(required - used):
            raise ValueError(
                f"{where}: {key}: placeholder {{{name}}} is missing; put {{{name}}} where the map goes"
            )
        rendered = t.fill(key, **sample)
        if not rendered.strip():
            raise ValueError(f"{where}: {key}: renders an empty message; write the text the agent should get")
        if key == "collab" and t.completion_phrase not in rendered:
            raise ValueError(
                f"{where}: collab: never tells the agents the completion phrase {t.completion_phrase!r}; add {{completion_phrase}}"
            )
