"""Generation engines behind one interface (see `base`), built by name from `registry`."""

from __future__ import annotations

from gapbench.engines.base import ChatMessage, ChatRequest, Completion, Engine, EngineError, Sampling
from gapbench.engines.registry import build_engine, engine_options, register_engine

__all__ = [
    "ChatMessage",
    "ChatRequest",
    "Completion",
    "Engine",
    "EngineError",
    "Sampling",
    "build_engine",
    "engine_options",
    "register_engine",
]
