"""Reading a study: a YAML file, a dict or a `Study`, validated the same way, with its relative
paths resolved and the run directory it writes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gapbench.protocol.interventions import NONE, load_overlay, shipped_overlays
from gapbench.protocol.templates import shipped_versions
from gapbench.redact import redact_text
from gapbench.study.config import GeneratedMazes, LLMGraderConfig, MazeSetPath, ModelEntry, Study


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice; keep one", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def _union_tag(part: str) -> bool:
    """Parts of a pydantic error location that name a union member, not a field of the YAML."""
    members = {c.__name__ for c in (GeneratedMazes, MazeSetPath, ModelEntry, LLMGraderConfig)} | {"str"}
    return part.startswith(("function-after", "union")) or "[" in part or part in members


@dataclass(frozen=True)
class LoadedStudy:
    """A validated study and where it came from: the file, or the current directory for a dict or
    a `Study` object (relative paths, such as maze sets, resolve against ``base``)."""

    study: Study
    base: Path
    run_dir: Path
    path: Path | None = None  # the study file, when there is one

    def text(self) -> str:
        """The copy kept beside the results (redacted): the file as written, or the study as YAML."""
        raw = self.path.read_text(encoding="utf-8") if self.path is not None else study_yaml(self.study)
        return redact_text(raw)


StudySource = Path | str | Mapping[str, Any] | Study


def load_study(source: StudySource, *, output_dir: Path | None = None) -> LoadedStudy:
    """A study from a YAML file (path), a dict (validated like the file) or a `Study` object.

    Errors name the field and what was expected. ``output_dir`` overrides the study's own.
    """
    if isinstance(source, Study):
        config, base, path = source, Path.cwd(), None
    elif isinstance(source, Mapping):
        config, base, path = _validate(dict(source), "study"), Path.cwd(), None
    else:
        path = Path(source)
        config, base = _validate(_read_yaml(path), str(path)), path.parent
    config = _resolve_files(config, base)
    if output_dir is not None:
        config = config.model_copy(update={"output_dir": str(output_dir.resolve())})
    out = Path(config.output_dir)
    return LoadedStudy(config, base, out if out.is_absolute() else (base / out).resolve(), path)


def load_config(path: Path) -> tuple[Study, Path]:
    """A study file's study and run directory."""
    loaded = load_study(path)
    return loaded.study, loaded.run_dir


def study_yaml(study: Study) -> str:
    return yaml.safe_dump(study.model_dump(mode="json"), sort_keys=False)


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"config {path} not found")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise ValueError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping of settings at the top level")
    return raw


def _validate(raw: dict[str, Any], path: str) -> Study:
    try:
        return Study.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"] if not _union_tag(str(p)))
            got = (
                f" (got {err['input']!r})"
                if isinstance(err.get("input"), (bool, int, float, str)) and err["type"] != "missing"
                else ""
            )
            problems.append(f"  {where or '(top level)'}: {err['msg']}{got}")
        raise ValueError(f"{path} has invalid settings:\n" + "\n".join(dict.fromkeys(problems))) from None


def _resolve_files(config: Study, base: Path) -> Study:
    """Templates and overlay files made absolute (against ``base``) and loaded once, so a bad file
    stops the study here with its one-line error."""
    templates = Path(config.protocol.templates).expanduser()
    if config.protocol.templates not in shipped_versions() and not templates.is_absolute():
        protocol = config.protocol.model_copy(update={"templates": str((base / templates).resolve())})
        config = config.model_copy(update={"protocol": protocol})
    overlays = [
        i
        if i == NONE or i in shipped_overlays() or Path(i).expanduser().is_absolute()
        else str((base / i).resolve())
        for i in config.interventions
    ]
    config = config.model_copy(update={"interventions": overlays})
    names = [load_overlay(i).name for i in overlays]  # a bad overlay file stops here, with its one-line error
    if len(set(names)) != len(names):
        raise ValueError(
            f"interventions: two overlays share the name {next(n for n in names if names.count(n) > 1)!r}; rename one file"
        )
    for intervention in overlays:  # a bad templates file, or an overlay that breaks them, stops here
        config.templates_for(intervention, referee="referee" in config.conditions)
    return config
