"""What serves each model key of a study: the model, backend and options it resolves to (checked
before any model loads, so --dry-run reports them), the engines built from them, and each talking
model's message layout."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gapbench import rundir
from gapbench.engines.base import Engine, TemplatedEngine
from gapbench.protocol import Layout, Templates, fit_layout
from gapbench.study import ModelEntry, Study


@dataclass(frozen=True)
class ModelChoice:
    """What serves one model key: a scripted agent (backend None) or a registry model on a backend."""

    model: str
    backend: str | None
    options: dict[str, Any]

    @property
    def ident(self) -> str:
        return json.dumps([self.model, self.backend, sorted(self.options.items())], default=str)


def resolve_model(config: Study, key: str) -> ModelChoice:
    """The model, backend and checked options of a key of ``models`` (or of a registry name, for the
    grader). Everything here is known before loading a model, so --dry-run reports it."""
    from gapbench.agents import PREFIX, parse_scripted
    from gapbench.engines import engine_options
    from gapbench.registry import load_spec

    entry = config.entry(key) if key in config.models else ModelEntry(model=key)
    field_name = f"models.{key}" if key in config.models else "grader.model"
    if entry.model.startswith(PREFIX):
        try:
            parse_scripted(entry.model)
        except ValueError as exc:
            raise ValueError(f"{field_name}: {exc}") from None
        if entry.engine not in (None, "scripted") or entry.options:
            raise ValueError(
                f"{field_name}: a scripted agent takes no engine or options; remove `engine` and `options` from it"
            )
        return ModelChoice(entry.model, None, {})
    if entry.engine == "scripted":
        raise ValueError(
            f"{field_name}.engine: scripted needs a scripted model (scripted:oracle or scripted:degraded:P), not {entry.model!r}"
        )
    try:
        spec = load_spec(entry.model)
    except (ValueError, OSError) as exc:
        raise ValueError(f"{field_name}: {exc}") from None
    backend = entry.engine or spec.engine.backend
    try:
        options = engine_options(
            backend, {**(spec.engine.options if backend == spec.engine.backend else {}), **entry.options}
        )
    except ValueError as exc:
        raise ValueError(f"{field_name}.options: {exc}") from None
    if config.sampling.max_tokens >= spec.max_model_len:
        raise ValueError(
            f"sampling.max_tokens: {config.sampling.max_tokens} is not below the context of {entry.model} "
            f"({spec.max_model_len} tokens); lower it"
        )
    return ModelChoice(entry.model, backend, options)


def check_study(config: Study, run_dir: Path, *, served: Iterable[str] = ()) -> None:
    """Everything --dry-run can check before a model loads: every model and the grader resolve
    (keys ``served`` by engines given ready need not), and the output directory can be written."""
    grader = [] if config.grader == "rule" else [config.grader.model]
    for key in [*config.models, *grader]:
        if key not in served:
            resolve_model(config, key)
    rundir.check_writable(run_dir)


def build_engines(config: Study, keys: Iterable[str]) -> dict[str, Engine]:
    """One engine per distinct (model, engine, options); keys naming the same share it."""
    from gapbench.agents import ScriptedEngine

    built: dict[str, Engine] = {}
    engines: dict[str, Engine] = {}
    for key in keys:
        choice = resolve_model(config, key)
        if choice.ident not in built:
            if choice.backend is None:
                built[choice.ident] = ScriptedEngine(choice.model)
            else:
                from gapbench.engines import build_engine
                from gapbench.registry import load_spec

                built[choice.ident] = build_engine(
                    load_spec(choice.model), backend=choice.backend, **choice.options
                )
        engines[key] = built[choice.ident]
    return engines


def fit_layouts(
    templates: Templates, engines: dict[str, Engine], echo: Callable[[str], None]
) -> dict[str, Layout]:
    """Each talking model's message layout: the templates' own, or merged where its chat template
    cannot render the separate one (found by rendering the second speaker's first chat), with a notice."""
    layouts: dict[str, Layout] = {}
    for key, engine in engines.items():
        layouts[key] = fit_layout(templates, engine.renders if isinstance(engine, TemplatedEngine) else None)
        if layouts[key] != templates.layout:
            echo(
                f"notice: {key}: its chat template cannot render two user turns in a row; using the merged layout"
            )
    return layouts
