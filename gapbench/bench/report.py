"""The bench's report: one table of every engine's figures, the notes that compare them, and JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gapbench.bench.workload import EngineRun, Workload

TARGET_SPEEDUP = 8.0  # (b) over (a), dialogues per hour, on a 2-core CPU
TARGET_CACHED = 0.8  # share of prompt tokens served from cache in (b) and (c)
TARGET_RAW_VLLM = 0.7  # (c) over (c_raw), generated tokens per second


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
