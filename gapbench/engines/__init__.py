"""Generation engines behind one interface (see `base`)."""

from __future__ import annotations

import importlib
import inspect
import typing
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from gapbench.engines.base import ChatMessage, ChatRequest, Completion, Engine, EngineError, Sampling

if TYPE_CHECKING:
    from gapbench.registry import ModelSpec

__all__ = [
    "ChatMessage",
    "ChatRequest",
    "Completion",
    "Engine",
    "EngineError",
    "Sampling",
    "build_engine",
    "engine_options",
]

# Backend -> (module, class). Modules import their heavy packages only when an engine is built.
BACKENDS = {
    "transformers": ("gapbench.engines.hf", "TransformersEngine"),
    "vllm": ("gapbench.engines.vllm", "VLLMEngine"),
    "openai": ("gapbench.engines.openai", "OpenAIEngine"),
}


def _engine_class(backend: str) -> type:
    if backend not in BACKENDS:
        raise ValueError(f"unknown engine backend {backend!r}; expected {', '.join(BACKENDS)}")
    module, name = BACKENDS[backend]
    return getattr(importlib.import_module(module), name)


@cache
def _options_model(backend: str) -> type[BaseModel]:
    """A pydantic model (extra="forbid") of the backend constructor's keyword options, built from
    its signature so the options are declared once, where they are used."""
    cls = _engine_class(backend)
    init = cls.__init__
    hints = typing.get_type_hints(init, {**vars(inspect.getmodule(cls)), "ModelSpec": Any})
    fields = {
        name: (hints.get(name, Any), p.default)
        for name, p in inspect.signature(init).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    return create_model(
        f"{cls.__name__}Options", __config__=ConfigDict(extra="forbid", strict=True), **fields
    )


def engine_options(backend: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` checked against the backend's constructor; ValueError names the option and the allowed ones."""
    model = _options_model(backend)
    try:
        model.model_validate(options)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "?"
        allowed = ", ".join(model.model_fields)
        if err["type"] == "extra_forbidden":
            raise ValueError(f"unknown {backend} engine option {name!r}; allowed: {allowed}") from None
        raise ValueError(
            f"{backend} engine option {name!r}: {err['msg'].lower()} (got {err.get('input')!r})"
        ) from None
    return dict(options)


def build_engine(spec: ModelSpec, **options: Any) -> Engine:
    """The engine for a model card: its ``engine.backend`` unless ``backend=`` overrides it, with
    ``options`` over the card's ``engine.options`` (those only apply to the card's own backend).
    Backends are imported only when chosen, so a machine without vllm can still run the
    transformers engine."""
    options = dict(options)
    backend = options.pop("backend", spec.engine.backend)
    card = spec.engine.options if backend == spec.engine.backend else {}
    return _engine_class(backend)(spec, **engine_options(backend, {**card, **options}))
