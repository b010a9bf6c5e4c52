"""The transformers engine: batched generation with KV-cache reuse across a dialogue's turns.

Dialogue prompts grow every turn, and each turn's prompt starts with the previous prompt plus the
reply (``ChatRenderer`` guarantees the token prefix). So the engine keeps every conversation's KV
cache between calls and prefills only the new tokens (``scripts/engine_reuse_bench.py`` measures
the gain against recomputing every prompt).

How a call works: each conversation's cache is stored compact (no padding) between calls. A call
takes the conversations of a batch, lays their caches side by side left-padded to the longest,
appends each row's new prompt tokens as a ragged, left-padded block, and decodes with its own loop
(so it controls the cache). Padding inside the sequence is masked out; position ids count only real
tokens (cumulative sum of the attention mask). Afterwards each row's cache is cut back to its real
tokens. Rebuilding per call costs one copy of the caches, and it makes any change of batch
composition (conversations released, new ones, a different grouping) correct by construction. The
call's cache is ``GrowingLayer``s (``hf_decode.py``) sized for the whole call, so a decode step
writes one column instead of copying the cache; a row whose reply is done is stored and leaves the
batch. The last generated token of a reply is not in the cache (it was never fed); the next turn
prefills it with the new tokens.

A conversation's first prompt has no cache of its own, so it borrows the longest token prefix any
stored conversation holds (the system prompt and instructions every dialogue shares); the row's
cache starts as a copy of that slice. Positions are the same (both count from 0), so the keys and
values are the ones the row would compute.

Reuse needs plain full-attention cache layers; for models with sliding-window or recurrent layers
the engine leaves the cache to transformers, recomputes every prompt (correct, slower) and says so
once in the log. On CPU the engine selects ``hf_decode.GROUPED_ATTENTION`` (see there why). Each
row's tokens and the end of its reply follow its request's sampling (``hf_sampling.py``).

Numerics: in float32, greedy tokens with reuse equal those of full recomputation. In bf16, padding
and batch-shape changes alter rounding, and a few percent of greedy tokens flip.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gapbench.engines.base import (
    ChatMessage,
    ChatRequest,
    Completion,
    EngineError,
    FinishReason,
    cached_fraction,
)
from gapbench.engines.rendering import ChatRenderer, common_prefix_len, eos_token_ids

if TYPE_CHECKING:
    import torch

    from gapbench.registry import ModelSpec

log = logging.getLogger(__name__)


@dataclass
class _Stored:
    """A conversation's cache between calls: ``ids`` are exactly the tokens it holds."""

    ids: list[int]
    layers: list[tuple[torch.Tensor, torch.Tensor]]  # per layer (keys, values), [1, heads, len, dim]


@dataclass
class EngineStats:
    """Token accounting since the engine started: ``cached + prefilled == prompt`` always."""

    prompt_tokens: int = 0
    cached_tokens: int = 0
    prefilled_tokens: int = 0  # prompt tokens actually forwarded (padding excluded)
    completion_tokens: int = 0

    @property
    def cached_fraction(self) -> float:
        return cached_fraction(self.cached_tokens, self.prompt_tokens)


@dataclass
class _Job:
    index: int
    request: ChatRequest
    ids: list[int]
    max_new: int
    reused: int = 0
    generated: list[int] = field(default_factory=list)
    finish: FinishReason = "length"
    text: str | None = None  # set when a stop string cut the text
    done: bool = False


class TransformersEngine:
    """``Engine`` over a Hugging Face causal LM (see the module docstring for the cache design)."""

    def __init__(
        self,
        spec: ModelSpec,
        *,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int = 16,
        reuse_cache: bool = True,
        cache_dir: str | None = None,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        from gapbench.engines.hf_decode import GROUPED_ATTENTION, growing_cache
        from gapbench.registry import load_tokenizer, prepare

        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.spec = spec
        self.name = spec.name
        self.batch_size = batch_size
        self.reuse_cache = reuse_cache
        path = prepare(spec, cache_dir)
        cuda = torch.cuda.is_available() if device is None else device.startswith("cuda")
        dtype_name = dtype or spec.dtype
        torch_dtype = torch.bfloat16 if dtype_name == "auto" else getattr(torch, dtype_name, None)
        if not isinstance(torch_dtype, torch.dtype):
            raise ValueError(f"dtype must be one of auto, bfloat16, float16, float32; got {dtype_name!r}")
        load_kwargs: dict[str, Any] = {"dtype": torch_dtype, "trust_remote_code": spec.trust_remote_code}
        if cuda and device in (None, "cuda"):
            load_kwargs["device_map"] = "auto"  # accelerate spreads large models over the GPUs
        try:
            self.model = AutoModelForCausalLM.from_pretrained(str(path), **load_kwargs)
        except OSError as exc:
            raise EngineError(f"model {spec.name}: could not load weights from {path}: {exc}") from exc
        if "device_map" not in load_kwargs:
            # mypy sees PreTrainedModel.to (functools.wraps of Module.to) as unbound.
            self.model.to(device or "cpu")  # type: ignore[arg-type]
        self.model.eval()
        self.tokenizer = load_tokenizer(spec, path)
        self.eos_ids = eos_token_ids(self.tokenizer, path)
        self.renderer = ChatRenderer(
            self.tokenizer,
            strip_reasoning=spec.reasoning.strip,
            reasoning_tags=spec.reasoning.tags,
            template_kwargs=spec.chat_template_kwargs,
            eos_ids=self.eos_ids,
        )
        pad = self.tokenizer.pad_token_id
        self.pad_id: int = pad if pad is not None else min(self.eos_ids, default=0)
        weight = self.model.get_input_embeddings().weight
        assert isinstance(weight, torch.Tensor), "internal: the input embeddings have no weight tensor"
        self.input_device = weight.device
        params = inspect.signature(self.model.forward).parameters
        self._logits_to_keep = "logits_to_keep" in params
        # transformers renamed `past_key_values` to `cache` (5.2x); accept both so 5.19 works too.
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        # Full-attention layers only: then the engine owns the cache (GrowingLayer), keeps it across
        # turns and drops finished rows. Sliding-window or recurrent layers get transformers' own cache
        # and every prompt is recomputed (correct, slower).
        self._plain_cache = growing_cache(self.model.config, 1) is not None
        if reuse_cache and not self._plain_cache:
            log.warning("model %s has non-standard cache layers; recomputing prompts every turn", spec.name)
            self.reuse_cache = False
        if (
            self._plain_cache
            and self.input_device.type == "cpu"
            and self.model.config._attn_implementation == "sdpa"
        ):
            self.model.set_attn_implementation(GROUPED_ATTENTION)
        self._stored: dict[str, _Stored] = {}
        self.stats = EngineStats()

    # ------------------------------------------------------------------------------ Engine API
    def generate(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        results: list[Completion | None] = [None] * len(requests)
        jobs: list[_Job] = []
        seen: set[str] = set()
        limit = self.spec.max_model_len
        for index, request in enumerate(requests):
            cid = request.conversation_id
            if cid in seen:
                results[index] = _error(cid, f"conversation {cid!r} appears more than once in one batch")
                continue
            seen.add(cid)
            if request.sampling.max_tokens < 1:
                results[index] = _error(cid, f"conversation {cid!r}: max_tokens must be at least 1")
                continue
            try:
                ids, _ = self.renderer.prompt_ids(request)
            except Exception as exc:  # a template that rejects these messages fails this request only
                results[index] = _error(cid, f"conversation {cid!r}: chat template failed: {exc}")
                continue
            if len(ids) >= limit:
                results[index] = _error(
                    cid,
                    f"conversation {cid!r}: prompt of {len(ids)} tokens does not fit max_model_len {limit} "
                    f"of {self.spec.name} (shorten the dialogue or raise max_model_len in the card)",
                    prompt_tokens=len(ids),
                )
                continue
            jobs.append(_Job(index, request, ids, max_new=min(request.sampling.max_tokens, limit - len(ids))))
        jobs.sort(key=lambda j: len(j.ids))
        for start in range(0, len(jobs), self.batch_size):
            chunk = jobs[start : start + self.batch_size]
            self._run(chunk)
            for job in chunk:
                results[job.index] = self._completion(job)
        for request in requests:
            if request.last:
                self.end(request.conversation_id)
        return [r for r in results if r is not None]

    def renders(self, messages: Sequence[ChatMessage]) -> bool:
        return self.renderer.renders(messages)

    def end(self, conversation_id: str) -> None:
        self._stored.pop(conversation_id, None)
        self.renderer.end(conversation_id)

    def close(self) -> None:
        self._stored.clear()
        self.model = None  # type: ignore[assignment]

    # ------------------------------------------------------------------------------ one batch
    def _run(self, jobs: list[_Job]) -> None:
        import torch

        try:
            with torch.inference_mode():
                self._decode(jobs, *self._prefill(jobs))
        except torch.cuda.OutOfMemoryError as exc:
            raise EngineError(
                f"model {self.spec.name}: out of memory with batch_size {self.batch_size}; lower it"
            ) from exc

    def _prefill(self, jobs: list[_Job]) -> tuple[Any, torch.Tensor, torch.Tensor]:
        """Forward the new prompt tokens over the rows' stored caches: (cache, mask, last logits)."""
        import torch

        from gapbench.engines.hf_decode import GrowingLayer, growing_cache

        rows = [self._cache_source(job) for job in jobs]
        for job in jobs:
            self._stored.pop(job.request.conversation_id, None)  # replaced by _store after decoding
        batch = len(jobs)
        cached_len = max(job.reused for job in jobs)
        new_len = max(len(job.ids) - job.reused for job in jobs)
        dev = self.input_device
        cache_mask = torch.zeros(batch, cached_len, dtype=torch.long, device=dev)
        input_ids = torch.full((batch, new_len), self.pad_id, dtype=torch.long, device=dev)
        block_mask = torch.zeros(batch, new_len, dtype=torch.long, device=dev)
        for b, job in enumerate(jobs):
            new = job.ids[job.reused :]
            input_ids[b, new_len - len(new) :] = torch.tensor(new, dtype=torch.long, device=dev)
            block_mask[b, new_len - len(new) :] = 1
            cache_mask[b, cached_len - job.reused :] = 1
        capacity = cached_len + new_len + max(job.max_new for job in jobs)
        cache = growing_cache(self.model.config, capacity) if self._plain_cache else None
        if cached_len:  # reuse implies plain layers
            assert cache is not None, "internal: cache reuse without a growing cache"
            reference = next(r for r in rows if r is not None)
            for i, (layer, (ref_k, _)) in enumerate(zip(cache.layers, reference)):
                assert isinstance(layer, GrowingLayer), "internal: a growing cache holds GrowingLayers"
                keys, values = layer.allocate(ref_k, batch, cached_len)
                for b, (job, row) in enumerate(zip(jobs, rows)):
                    if row is not None:
                        keys[b, :, cached_len - job.reused :] = row[i][0][0, :, : job.reused]
                        values[b, :, cached_len - job.reused :] = row[i][1][0, :, : job.reused]
        self.stats.prefilled_tokens += int(block_mask.sum())
        mask = torch.cat([cache_mask, block_mask], dim=1)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, cached_len:]
        cache, logits = self._forward(input_ids, mask, positions, cache)
        return cache, mask, logits

    def _cache_source(self, job: _Job) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
        """Pick the stored cache whose tokens start this prompt; sets ``job.reused`` to its length.

        A conversation's own cache is its best source. A conversation without one (its first turn)
        borrows the longest prefix held by any stored conversation: the system prompt and
        instructions common to every dialogue, as vLLM's prefix cache shares them.
        """
        if not self.reuse_cache:
            return None
        own = self._stored.get(job.request.conversation_id)
        donors = [own] if own is not None else self._stored.values()
        best, best_len = None, 0
        for stored in donors:
            length = common_prefix_len(stored.ids, job.ids)
            if length > best_len:
                best, best_len = stored, length
        # Keep at least one prompt token to forward: its logits start the reply.
        job.reused = min(best_len, len(job.ids) - 1)
        return best.layers if best is not None and job.reused else None

    def _forward(
        self, input_ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache: Any
    ) -> tuple[Any, torch.Tensor]:
        """One forward step; returns (cache, logits of the last position as float32)."""
        kwargs: dict[str, Any] = {"logits_to_keep": 1} if self._logits_to_keep else {}
        kwargs[self._cache_arg] = cache
        out = self.model(
            input_ids=input_ids, attention_mask=mask, position_ids=positions, use_cache=True, **kwargs
        )
        new_cache = out["cache"] if "cache" in out else out["past_key_values"]
        return new_cache, out.logits[:, -1, :].float()

    def _decode(self, jobs: list[_Job], cache: Any, mask: torch.Tensor, logits: torch.Tensor) -> None:
        """Sample until every row is done. A finished row leaves the batch at once (its cache is
        stored first), so replies that end early cost nothing more; caches with other layer types
        cannot drop rows, and there finished rows stay in the batch, fed padding."""
        import torch

        from gapbench.engines.hf_sampling import next_token, reply_end, row_generator

        eos = sorted(self.eos_ids)
        dev = self.input_device
        compact = self._plain_cache
        rows = list(jobs)
        generators = [row_generator(job.request.sampling.seed, logits.device) for job in rows]
        next_pos = mask.sum(-1, keepdim=True)
        while True:
            tokens = [
                self.pad_id
                if job.done
                else next_token(
                    logits[b],
                    job.request.sampling,
                    generated=len(job.generated),
                    eos=eos,
                    generator=generators[b],
                )
                for b, job in enumerate(rows)
            ]
            for job, token in zip(rows, tokens):
                if not job.done:
                    job.generated.append(token)
                    end = reply_end(
                        job.generated,
                        job.request.sampling,
                        max_new=job.max_new,
                        eos=self.eos_ids,
                        text=self.renderer.completion_text,
                    )
                    if end is not None:
                        (job.finish, job.text), job.done = end, True
            keep = [b for b, job in enumerate(rows) if not job.done]
            if not keep:
                break
            if compact and len(keep) < len(rows):
                self._store(rows, cache, mask, [b for b, job in enumerate(rows) if job.done])
                select = torch.tensor(keep, dtype=torch.long)
                cache.batch_select_indices(select)
                mask, next_pos = mask[select.to(mask.device)], next_pos[select.to(next_pos.device)]
                rows, tokens = [rows[b] for b in keep], [tokens[b] for b in keep]
                generators = [generators[b] for b in keep]
            active = [not job.done for job in rows]
            step = torch.tensor(active, dtype=torch.long, device=dev).unsqueeze(1)
            feed = torch.tensor(
                [t if a else self.pad_id for t, a in zip(tokens, active)], dtype=torch.long, device=dev
            ).unsqueeze(1)
            mask = torch.cat([mask, step], dim=1)
            cache, logits = self._forward(feed, mask, next_pos, cache)
            next_pos = next_pos + step
        self._store(rows, cache, mask, range(len(rows)))

    def _store(self, rows: list[_Job], cache: Any, mask: torch.Tensor, which: Iterable[int]) -> None:
        """Keep rows' real tokens (prompt + reply minus the unfed last token) for their next turn."""
        if not self.reuse_cache:
            return
        for b in which:
            job = rows[b]
            keep = mask[b].nonzero().squeeze(1)
            ids = job.ids + job.generated[:-1]
            if keep.numel() != len(ids):
                raise EngineError(f"internal: cache of {keep.numel()} tokens for {len(ids)} ids")
            kept = []
            for layer in cache.layers:
                index = keep.to(layer.keys.device)
                kept.append((layer.keys[b : b + 1, :, index], layer.values[b : b + 1, :, index]))
            self._stored[job.request.conversation_id] = _Stored(ids, kept)

    def _completion(self, job: _Job) -> Completion:
        self.renderer.record_completion(job.request.conversation_id, job.generated)
        self.stats.prompt_tokens += len(job.ids)
        self.stats.cached_tokens += job.reused
        self.stats.completion_tokens += len(job.generated)
        text = job.text if job.text is not None else self.renderer.completion_text(job.generated)
        return Completion(
            conversation_id=job.request.conversation_id,
            text=text,
            prompt_tokens=len(job.ids),
            completion_tokens=len(job.generated),
            cached_tokens=job.reused,
            finish_reason=job.finish,
        )


def _error(cid: str, message: str, prompt_tokens: int = 0) -> Completion:
    return Completion(
        conversation_id=cid, text="", prompt_tokens=prompt_tokens, finish_reason="error", error=message
    )
