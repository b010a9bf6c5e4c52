"""Generation engines behind one interface (see `base`)."""

from gapbench.engines.base import ChatMessage, ChatRequest, Completion, Engine, EngineError, Sampling

__all__ = ["ChatMessage", "ChatRequest", "Completion", "Engine", "EngineError", "Sampling"]
