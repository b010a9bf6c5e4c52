"""KV-cache reuse vs recomputation on multi-turn dialogues with the transformers engine.

Runs the same scripted dialogues on two engines (reuse on, reuse off), every reply forced to the same length
(min_tokens = max_tokens) so both runs do equal work, and prints wall time, the fraction of prompt
tokens served from the cache, and how far the greedy replies agree.

Agreement: per conversation, replies are compared token by token in order until the first
difference (after it the histories differ, so later tokens are not comparable); the rate is the
share of all generated tokens before that point. In float32 it is 100%; in bf16 padding and batch
shapes change rounding, so some greedy choices flip.

    .venv/bin/python scripts/engine_reuse_bench.py --conversations 8 --turns 10 --tokens 48
"""

from __future__ import annotations

import argparse
import time

from gapbench.engines.base import ChatMessage, ChatRequest, Sampling
from gapbench.engines.hf import TransformersEngine
from gapbench.registry import DEFAULT_MODEL, load_spec

SYSTEM = (
    "You and a partner each see half of a 6x6 maze. Talk to agree on a path from A to G. "
    "Describe your walls briefly, then propose moves."
)


class Dialogues:
    """Scripted dialogues on one engine, advanced a turn at a time; wall time of its generate calls."""

    def __init__(self, engine: TransformersEngine, conversations: int, tokens: int) -> None:
        self.engine = engine
        self.chats = {f"agent-{i}": [ChatMessage("system", SYSTEM)] for i in range(conversations)}
        self.replies: dict[str, list[list[int]]] = {cid: [] for cid in self.chats}
        self.sampling = Sampling(max_tokens=tokens, min_tokens=tokens)
        self.seconds = 0.0

    def turn(self, turn: int) -> None:
        requests = []
        for i, (cid, messages) in enumerate(self.chats.items()):
            messages.append(ChatMessage("user", f"Partner (turn {turn}): wall at ({turn % 6}, {i % 6}); I am at (2, 3)."))
            requests.append(ChatRequest(cid, tuple(messages), self.sampling))
        start = time.perf_counter()
        completions = self.engine.generate(requests)
        self.seconds += time.perf_counter() - start
        for completion in completions:
            if completion.error:
                raise SystemExit(completion.error)
            self.chats[completion.conversation_id].append(ChatMessage("assistant", completion.text))
            ids = self.engine.renderer.completion_ids(completion.conversation_id) or []
            self.replies[completion.conversation_id].append(ids)


def agreement(a: list[list[list[int]]], b: list[list[list[int]]]) -> tuple[float, int]:
    """(share of tokens before the first divergence, conversations identical throughout)."""
    matched = total = identical = 0
    for conv_a, conv_b in zip(a, b):
        diverged = False
        for reply_a, reply_b in zip(conv_a, conv_b):
            total += len(reply_a)
            for x, y in zip(reply_a, reply_b):
                if diverged or x != y:
                    diverged = True
                    break
                matched += 1
            diverged = diverged or len(reply_a) != len(reply_b)
        identical += not diverged
    return matched / total if total else 1.0, identical


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--conversations", type=int, default=8)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument("--dtype", default=None, help="default: the card's dtype (bf16 for SmolLM2)")
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    spec = load_spec(args.model)
    # Both engines advance turn by turn in alternation, so load from other processes on a shared
    # machine falls on both alike.
    runs = [
        Dialogues(
            TransformersEngine(spec, dtype=args.dtype, device=args.device, batch_size=args.conversations, reuse_cache=reuse),
            args.conversations,
            args.tokens,
        )
        for reuse in (True, False)
    ]
    for turn in range(args.turns):
        for run in runs:
            run.turn(turn)
    reuse, full = runs
    s_reuse, s_full = reuse.engine.stats, full.engine.stats
    t_reuse, t_full = reuse.seconds, full.seconds
    r_reuse, r_full = list(reuse.replies.values()), list(full.replies.values())
    rate, identical = agreement(r_reuse, r_full)
    print(f"model {spec.name}, dtype {args.dtype or spec.dtype}: {args.conversations} conversations x "
          f"{args.turns} turns x {args.tokens} tokens")
    print(f"reuse:     {t_reuse:7.1f} s  prompt {s_reuse.prompt_tokens} tokens, cached {s_reuse.cached_tokens}, "
          f"prefilled {s_reuse.prefilled_tokens} (cache hit {s_reuse.cached_fraction:.1%})")
    print(f"recompute: {t_full:7.1f} s  prompt {s_full.prompt_tokens} tokens, prefilled {s_full.prefilled_tokens}")
    print(f"speed-up:  {t_full / t_reuse:.2f}x")
    print(f"greedy agreement before first divergence: {rate:.1%} of tokens; "
          f"{identical}/{args.conversations} conversations identical throughout")


if __name__ == "__main__":
    main()
