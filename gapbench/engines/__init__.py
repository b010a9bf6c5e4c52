"""Generation engines behind one interface (see `base`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gapbench.engines.base import ChatMessage, ChatRequest, Completion, Engine, EngineError, Sampling

if TYPE_CHECKING:
    from gapbench.registry import ModelSpec

__all__ = ["ChatMessage", "ChatRequest", "Completion", "Engine", "EngineError", "Sampling", "build_engine"]


def build_engine(spec: ModelSpec, **options: Any) -> Engine:
    """The engine for a model card: its ``engine.backend`` unless ``backend=`` overrides it, with the
    card's ``engine.options`` updated by ``options``. Backends are imported only when chosen, so
    a machine without vllm can still run the transformers engine."""
    merged = {**spec.engine.options, **options}
    backend = merged.pop("backend", spec.engine.backend)
    if backend == "transformers":
        from gapbench.engines.hf import TransformersEngine

        return TransformersEngine(spec, **merged)
    if backend == "vllm":
        from gapbench.engines.vllm import VLLMEngine

        return VLLMEngine(spec, **merged)
    if backend == "openai":
        from gapbench.engines.openai import OpenAIEngine

        return OpenAIEngine(spec, **merged)
    raise ValueError(f"unknown engine backend {backend!r}; expected transformers, vllm or openai")
