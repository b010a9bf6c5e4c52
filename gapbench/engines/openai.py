"""An engine that talks to an OpenAI-compatible chat-completions server (`vllm serve`, or any other).

The server renders the chat template and owns the KV cache, so this engine sends whole message
lists; a server with prefix caching (vLLM's default) still reuses each dialogue's growing prefix,
and ``usage.prompt_tokens_details.cached_tokens`` reports it where the server does (for
`vllm serve`, start it with ``--enable-prompt-tokens-details``).

Requests of a batch run concurrently (bounded by ``max_concurrency``) on a private event loop, so
the synchronous ``generate`` of the `Engine` protocol works from plain scripts. Rate limits (429),
server errors (5xx), timeouts and dropped connections are retried with exponential backoff; other
4xx answers fail only their own request. A rejected API key or an unknown model fails the engine.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Sequence
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx

from gapbench.engines.base import ChatRequest, Completion, EngineError
from gapbench.redact import redact_text

if TYPE_CHECKING:
    from gapbench.registry import ModelSpec

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
FATAL_STATUS = frozenset({401, 403, 404})


class OpenAIEngine:
    """Chat completions over HTTP; one instance per (server, model)."""

    def __init__(
        self,
        spec: ModelSpec,
        *,
        base_url: str = "http://127.0.0.1:8000/v1",
        model: str | None = None,
        api_key_env: str | None = None,
        max_concurrency: int = 16,
        timeout_s: float = 600.0,
        connect_timeout_s: float = 10.0,
        max_retries: int = 5,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
    ) -> None:
        """``model`` is the name the server knows the model by (default: ``spec.name``, which is
        what ``vllm serve DIR --served-model-name NAME`` should be given). ``api_key_env`` names
        the environment variable holding the key; the key itself is never logged or stored
        outside the request headers."""
        if not base_url.startswith(("http://", "https://")):
            raise EngineError(
                f"base_url {redact_text(base_url)!r} must start with http:// or https:// (e.g. http://127.0.0.1:8000/v1)"
            )
        if max_concurrency < 1:
            raise EngineError(
                f"max_concurrency={max_concurrency}: pass at least 1 (it bounds requests in flight)"
            )
        if timeout_s <= 0 or connect_timeout_s <= 0:
            raise EngineError("timeout_s and connect_timeout_s must be > 0 seconds")
        if max_retries < 0 or backoff_s < 0 or max_backoff_s < backoff_s:
            raise EngineError("pass max_retries >= 0 and 0 <= backoff_s <= max_backoff_s")
        self.model = model or spec.name
        self.name = spec.name
        self.base_url = base_url.rstrip("/")
        self._url = redact_text(self.base_url)  # what messages and logs show
        self._timeout_s = timeout_s
        self._max_concurrency = max_concurrency
        self._max_retries = max_retries
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        headers = {"Content-Type": "application/json"}
        if api_key_env:
            key = os.environ.get(api_key_env)
            if not key:
                raise EngineError(
                    f"environment variable {api_key_env} (named by api_key_env) is not set or empty: "
                    f"export it with the server's API key, or leave api_key_env unset for a server without one"
                )
            headers["Authorization"] = f"Bearer {key}"
        self._loop = asyncio.new_event_loop()
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency),
        )
        self._closed = False

    def __repr__(self) -> str:
        return f"OpenAIEngine(model={self.model!r}, base_url={self._url!r})"

    # ------------------------------------------------------------------------------ protocol
    def generate(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        if self._closed:
            raise EngineError(f"{self.name}: generate() after close()")
        if not requests:
            return []
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._loop.run_until_complete(self._generate(list(requests)))
        raise EngineError(
            "OpenAIEngine.generate() is synchronous and was called inside a running event loop; "
            "call it from a worker thread (e.g. `await asyncio.to_thread(engine.generate, batch)`)"
        )

    def end(self, conversation_id: str) -> None:
        """Nothing to free here: the server's prefix cache is keyed by content and evicts by LRU."""

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()

    # ------------------------------------------------------------------------------- internals
    async def _generate(self, requests: list[ChatRequest]) -> list[Completion]:
        limit = asyncio.Semaphore(self._max_concurrency)

        async def bounded(request: ChatRequest) -> Completion:
            async with limit:
                return await self._complete(request)

        results = await asyncio.gather(*(bounded(r) for r in requests), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return results  # type: ignore[return-value]  # no exceptions left

    def _payload(self, request: ChatRequest) -> dict[str, Any]:
        s = request.sampling
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_tokens": s.max_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "stream": False,
        }
        if s.seed is not None:
            payload["seed"] = s.seed
        if s.stop:
            payload["stop"] = list(s.stop)
        if s.min_tokens:
            payload["min_tokens"] = s.min_tokens  # a vLLM extension; other servers may reject it
        return payload

    async def _complete(self, request: ChatRequest) -> Completion:
        payload = self._payload(request)
        failure = ""
        for attempt in range(self._max_retries + 1):
            retry_after: float | None = None
            try:
                response = await self._client.post("/chat/completions", json=payload)
            except httpx.TimeoutException:
                failure = f"no answer within the timeout ({self._timeout_s:g} s; raise timeout_s)"
            except httpx.TransportError as e:
                failure = f"connection to {self._url} failed: {type(e).__name__}: {e}"
            else:
                status = response.status_code
                if status == 200:
                    return self._parse(request, response)
                message = _error_message(response)
                if status in FATAL_STATUS:
                    raise EngineError(self._fatal_hint(status, message))
                if status not in RETRYABLE_STATUS:
                    return _error(request, f"HTTP {status} from server: {message}")
                failure = f"HTTP {status}: {message}"
                retry_after = _retry_after_s(response)
            if attempt == self._max_retries:
                break
            delay = min(self._max_backoff_s, self._backoff_s * 2**attempt) * random.uniform(0.5, 1.0)
            if retry_after is not None:
                delay = min(self._max_backoff_s, max(delay, retry_after))
            log.warning(
                "%s: %s (conversation %s); retry %d/%d in %.2f s",
                self.name,
                failure,
                request.conversation_id,
                attempt + 1,
                self._max_retries,
                delay,
            )
            await asyncio.sleep(delay)
        return _error(request, f"gave up after {self._max_retries + 1} attempt(s): {failure}", retryable=True)

    def _fatal_hint(self, status: int, message: str) -> str:
        if status == 404:
            return (
                f"HTTP 404 from {self._url}/chat/completions: {message}. Check that base_url ends in /v1 "
                f"and that the server serves a model named {self.model!r} (GET {self._url}/models lists "
                f"them; for vllm serve, pass --served-model-name {self.model}, or set this engine's model option)"
            )
        return (
            f"HTTP {status} from {self._url}: {message}. The server rejected the API key: set api_key_env "
            f"to the name of the environment variable that holds the right key"
        )

    def _parse(self, request: ChatRequest, response: httpx.Response) -> Completion:
        try:
            data = response.json()
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
            usage = data.get("usage") or {}
            details = usage.get("prompt_tokens_details") or {}
            return Completion(
                conversation_id=request.conversation_id,
                text=text,
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
                cached_tokens=int(details.get("cached_tokens") or 0),
                finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            )
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
            return _error(
                request,
                f"malformed chat-completions response ({type(e).__name__}: {e}): {response.text[:200]!r}",
            )


def _error(request: ChatRequest, message: str, *, retryable: bool = False) -> Completion:
    return Completion(
        conversation_id=request.conversation_id,
        text="",
        finish_reason="error",
        error=redact_text(message),
        retryable=retryable,
    )


def _error_message(response: httpx.Response) -> str:
    """The server's own explanation: OpenAI-style ``{"error": {"message": ...}}``, else the body."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if data.get("message"):
            return str(data["message"])
    return response.text[:300]


def _retry_after_s(response: httpx.Response) -> float | None:
    """Honour a server's Retry-After (seconds or an HTTP date), so a rate limit is not hammered."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
