"""The bench's baselines, built from the model files alone (no gapbench engine): (a) one dialogue at
a time through ``model.generate`` on the whole re-rendered chat, and (c_raw) every chat (c) sent, in
one ``vllm.LLM.generate``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from gapbench.bench.measure import cuda_peak, descendants_peak_mib, on_cuda, reset_cuda_peak
from gapbench.bench.workload import ENGINES, EngineRun, Workload, build_jobs, tally
from gapbench.engines.base import ChatMessage, ChatRequest, Completion
from gapbench.engines.rendering import decode_text, eos_token_ids
from gapbench.registry import ModelSpec, load_spec, load_tokenizer, prepare


def render_ids(tokenizer: Any, spec: ModelSpec, messages: tuple[ChatMessage, ...]) -> list[int]:
    """The whole chat rendered afresh by the model's chat template (what a naive loop sends)."""
    chat = [{"role": m.role, "content": m.content} for m in messages]
    text = tokenizer.apply_chat_template(
        chat, tokenize=False, add_generation_prompt=True, **spec.chat_template_kwargs
    )
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def run_naive(w: Workload) -> EngineRun:
    """(a): batch 1, nothing reused between turns, the first ``w.baseline_count`` dialogues."""
    import torch
    from transformers import AutoModelForCausalLM

    spec = load_spec(w.model)
    started = time.perf_counter()
    path = prepare(spec)
    dtype = w.dtype or spec.dtype
    device = w.device or ("cuda" if on_cuda(w.device) else "cpu")
    model = AutoModelForCausalLM.from_pretrained(
        str(path), dtype=torch.bfloat16 if dtype == "auto" else getattr(torch, dtype)
    )
    # mypy sees PreTrainedModel.to (functools.wraps of Module.to) as unbound.
    model.to(device).eval()  # type: ignore[arg-type]
    tokenizer = load_tokenizer(spec, path)
    eos = sorted(eos_token_ids(tokenizer, path))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[0]
    run = EngineRun("a", ENGINES["a"], load_seconds=time.perf_counter() - started)
    jobs = build_jobs(w, w.baseline_count)
    reset_cuda_peak(device)
    started = time.perf_counter()
    with torch.inference_mode():
        for job in jobs:  # one dialogue at a time, the whole chat re-rendered every turn
            while not job.done:
                request = job.request()
                ids = torch.tensor([render_ids(tokenizer, spec, request.messages)], device=device)
                out = model.generate(
                    ids,
                    attention_mask=torch.ones_like(ids),
                    do_sample=False,
                    max_new_tokens=w.max_tokens,
                    min_new_tokens=w.max_tokens,
                    eos_token_id=eos,
                    pad_token_id=pad,
                    top_p=None,
                    top_k=None,
                    temperature=None,
                )
                new = out[0, ids.shape[1] :].tolist()
                reply = decode_text(tokenizer, new, skip_special_tokens=True)
                job.take(Completion(request.conversation_id, reply, ids.shape[1], len(new), 0, "length"))
    run.seconds = time.perf_counter() - started
    run.peak_cuda_mib = cuda_peak(device)
    return tally(run, jobs, w)


def save_chats(requests: list[ChatRequest], path: Path) -> None:
    """The chats (c) sent, for (c_raw) in a process of its own."""
    chats = [[{"role": m.role, "content": m.content} for m in r.messages] for r in requests]
    path.write_text(json.dumps(chats), encoding="utf-8")


def run_raw_vllm(w: Workload, chats_file: Path) -> EngineRun:
    """(c_raw): every chat (c) sent, rendered afresh, in one ``LLM.generate`` on a fresh prefix cache."""
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt
    from vllm.platforms import current_platform

    spec = load_spec(w.model)
    started = time.perf_counter()
    path = prepare(spec)
    tokenizer = load_tokenizer(spec, path)
    options: dict[str, Any] = {}
    if current_platform.is_cpu():  # as (c): no compiling on CPU; cache blocks of 32
        options.update(enforce_eager=True, block_size=32)
    llm = LLM(
        model=str(path),
        tokenizer=str(path),
        trust_remote_code=spec.trust_remote_code,
        dtype=w.dtype or spec.dtype,
        max_model_len=spec.max_model_len,
        enable_prefix_caching=True,
        seed=0,
        **options,
    )
    run = EngineRun("c_raw", ENGINES["c_raw"], load_seconds=time.perf_counter() - started)
    chats = json.loads(chats_file.read_text(encoding="utf-8"))
    prompts = [
        TokensPrompt(prompt_token_ids=render_ids(tokenizer, spec, tuple(ChatMessage(**m) for m in chat)))
        for chat in chats
    ]
    params = SamplingParams(max_tokens=w.max_tokens, min_tokens=w.max_tokens, temperature=0.0)
    started = time.perf_counter()
    outputs = llm.generate(prompts, params, use_tqdm=False)
    run.seconds = time.perf_counter() - started
    run.dialogues = w.dialogues
    run.replies = len(outputs)
    run.prompt_tokens = sum(len(o.prompt_token_ids) for o in outputs)
    run.cached_tokens = sum(int(o.num_cached_tokens or 0) for o in outputs)
    run.prefilled_tokens = run.prompt_tokens - run.cached_tokens
    run.generated_tokens = sum(len(o.outputs[0].token_ids) for o in outputs)
    run.peak_child_rss_mib = descendants_peak_mib()
    return run
