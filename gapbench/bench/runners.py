"""gapbench's own engines on the bench's workload, under the real scheduler: (b) and (b0) the
transformers engine with and without KV reuse, (c) the vLLM engine; each through `build_engine`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from gapbench.bench.baseline import run_naive, run_raw_vllm, save_chats
from gapbench.bench.measure import cuda_peak, descendants_peak_mib, reset_cuda_peak, sync
from gapbench.bench.workload import (
    ENGINES,
    MODEL_KEY,
    BenchJob,
    DecodeBound,
    EngineRun,
    Workload,
    build_jobs,
    tally,
)
from gapbench.engines import build_engine
from gapbench.engines.base import Engine
from gapbench.engines.hf import TransformersEngine
from gapbench.registry import load_spec

WORKER_ENGINES = ("a", "b", "b0", "c", "c_raw")
CHATS_FILE = "c-chats.json"  # (c)'s chats, which (c_raw) replays


def run_engine(key: str, w: Workload, workdir: Path | None = None) -> EngineRun:
    """Run one engine here, in this process. (c) leaves its chats in ``workdir``; (c_raw) reads them."""
    if key == "a":
        return run_naive(w)
    if key in ("b", "b0"):
        return run_transformers(w, reuse=key == "b")
    if key in ("c", "c_raw") and workdir is None:
        raise ValueError(f"engine {key} needs a working directory for (c)'s chats")
    if key == "c":
        return run_vllm(w, workdir / CHATS_FILE)  # type: ignore[operator]
    if key == "c_raw":
        return run_raw_vllm(w, workdir / CHATS_FILE)  # type: ignore[operator]
    raise ValueError(f"unknown engine {key!r}; expected one of {', '.join(WORKER_ENGINES)}")


def run_transformers(w: Workload, *, reuse: bool) -> EngineRun:
    key = "b" if reuse else "b0"
    started = time.perf_counter()
    engine = build_engine(
        load_spec(w.model),
        backend="transformers",
        dtype=w.dtype,
        device=w.device,
        batch_size=w.batch_size or w.dialogues,
        reuse_cache=reuse,
    )
    assert isinstance(engine, TransformersEngine)
    run = EngineRun(key, ENGINES[key], load_seconds=time.perf_counter() - started)
    device = str(engine.input_device)
    reset_cuda_peak(device)
    jobs = build_jobs(w)
    run.seconds = schedule(jobs, engine, w)
    run.peak_cuda_mib = cuda_peak(device)
    tally(run, jobs, w)
    if engine.stats.prefilled_tokens != run.prefilled_tokens:  # the engine's own count of forwarded tokens
        raise RuntimeError(
            f"engine prefilled {engine.stats.prefilled_tokens} prompt tokens, the replies say {run.prefilled_tokens}"
        )
    if reuse:
        context = round(run.prompt_tokens / run.replies + w.max_tokens / 2)
        batch = min(w.batch_size or w.dialogues, w.dialogues)
        run.bound = decode_bound(engine.model, batch=batch, context=context, steps=w.max_tokens)
    engine.close()
    return run


def run_vllm(w: Workload, chats_file: Path) -> EngineRun:
    from vllm.platforms import current_platform

    options: dict[str, Any] = {"backend": "vllm", "dtype": w.dtype}
    if (
        current_platform.is_cpu()
    ):  # compiling takes minutes on CPU; cache blocks must be multiples of 32 there
        options.update(enforce_eager=True, block_size=32)
    started = time.perf_counter()
    engine = build_engine(load_spec(w.model), **options)
    run = EngineRun("c", ENGINES["c"], load_seconds=time.perf_counter() - started)
    jobs = build_jobs(w)
    run.seconds = schedule(jobs, engine, w)
    tally(run, jobs, w)
    save_chats([r for job in jobs for r in job.sent], chats_file)
    run.peak_child_rss_mib = descendants_peak_mib()
    engine.close()
    return run


def schedule(jobs: list[BenchJob], engine: Engine, w: Workload) -> float:
    """Wall seconds of the real scheduler running every dialogue at once."""
    from gapbench.scheduler import run_jobs

    started = time.perf_counter()
    run_jobs(jobs, {MODEL_KEY: engine}, max_concurrent=w.dialogues, on_finish=lambda job: [])
    return time.perf_counter() - started


def decode_bound(model: Any, *, batch: int, context: int, steps: int) -> DecodeBound | None:
    """Tokens/s of ``batch`` rows decoding over a warm cache (random keys and values, which cost the
    same as real ones) with the engine's own cache layer and attention: what (b) could generate with
    this model and batch if it had no prefill, no scheduling and no per-call cache rebuild. None for
    models with sliding-window or recurrent layers, which the engine leaves to transformers."""
    import inspect

    import torch

    from gapbench.engines.hf_decode import growing_cache

    config = model.config
    dev = model.get_input_embeddings().weight.device
    dtype = model.get_input_embeddings().weight.dtype
    heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    warmup = 2
    cache: Any = growing_cache(config, context + warmup + steps)
    if cache is None:
        return None
    for layer in cache.layers:
        layer.allocate(torch.empty(1, heads, 1, head_dim, dtype=dtype, device=dev), batch, context)
        layer.keys.normal_(), layer.values.normal_()
    params = inspect.signature(model.forward).parameters
    cache_arg = "cache" if "cache" in params else "past_key_values"
    tokens = torch.zeros(batch, 1, dtype=torch.long, device=dev)
    with torch.inference_mode():
        for step in range(warmup + steps):
            if step == warmup:
                sync(dev)
                started = time.perf_counter()
            mask = torch.ones(batch, context + step + 1, dtype=torch.long, device=dev)
            positions = torch.full((batch, 1), context + step, dtype=torch.long, device=dev)
            out = model(
                input_ids=tokens,
                attention_mask=mask,
                position_ids=positions,
                use_cache=True,
                logits_to_keep=1,
                **{cache_arg: cache},
            )
            tokens = out.logits[:, -1:].argmax(-1)
        sync(dev)
    return DecodeBound(batch, context, steps, batch * steps / (time.perf_counter() - started))
