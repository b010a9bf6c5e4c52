"""`gapbench bench`: dialogue throughput of gapbench's engines against a naive transformers loop.

One fixed workload (collab dialogues on generated mazes, both seats the same model) runs against:

- ``a``: the naive baseline: one dialogue at a time, every turn ``model.generate`` on the whole
  re-rendered chat (batch 1, nothing reused between turns);
- ``b``: gapbench's transformers engine (batched, KV cache kept between turns) under the real
  scheduler (`run_jobs` with `DialogueJob`s);
- ``b0``: the same without cache reuse (the engine-level reuse vs recompute ratio);
- ``c``: gapbench's vLLM engine under the same scheduler, and with ``raw_vllm`` ``c_raw``: every
  chat ``c`` sent, rendered afresh and submitted at once to one ``LLM.generate`` of its own (what
  vLLM does without turn-taking).

Every reply is forced to ``max_tokens`` tokens (``min_tokens = max_tokens``; greedy), so all engines
generate the same number of tokens and the comparison is like with like. Engines produce slightly
different greedy text (bf16 rounding), so one could end a dialogue with the completion phrase while
another goes on; the bench therefore ends dialogues only at ``turns`` (the prompts are unchanged).

The bench uses gapbench's public API only: engines come from `build_engine`, the baselines load the
model files themselves. Modules: ``workload`` (what runs, what one run measured), ``baseline`` (a,
c_raw), ``runners`` (b, b0, c), ``measure`` (memory), ``report`` (the table), ``driver`` (one
subprocess per engine, the command line).
"""

from gapbench.bench.driver import add_arguments, main_bench, run_bench
from gapbench.bench.report import BenchReport
from gapbench.bench.workload import ENGINES, EngineRun, Workload

__all__ = ["ENGINES", "BenchReport", "EngineRun", "Workload", "add_arguments", "main_bench", "run_bench"]
