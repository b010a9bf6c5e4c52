"""How a row of the transformers engine follows its request's ``Sampling``: the next token (greedy,
or temperature and top-p from the row's own seeded generator, end-of-sequence held back until
``min_tokens``), and when the reply ends (end-of-sequence, a stop string, the length limit)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection
from typing import Any

import torch

from gapbench.engines.base import FinishReason, Sampling


def row_generator(seed: int | None, device: Any) -> torch.Generator:
    """A row's random stream: seeded, so sampling repeats whatever else shares the batch."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed if seed is not None else secrets.randbits(63))
    return gen


def next_token(
    logits: torch.Tensor, sampling: Sampling, *, generated: int, eos: list[int], generator: torch.Generator
) -> int:
    """The next token of a row from its last-position logits, ``generated`` tokens into its reply."""
    if eos and generated < sampling.min_tokens:
        logits = logits.clone()
        logits[eos] = float("-inf")
    if sampling.temperature <= 0:
        return int(logits.argmax())
    probs = torch.softmax(logits / sampling.temperature, dim=-1)
    if sampling.top_p < 1.0:
        sorted_probs, order = probs.sort(descending=True)
        keep = sorted_probs.cumsum(-1) - sorted_probs < sampling.top_p  # always keeps the top token
        probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_probs[keep])
    return int(torch.multinomial(probs, 1, generator=generator))


def reply_end(
    generated: list[int],
    sampling: Sampling,
    *,
    max_new: int,
    eos: Collection[int],
    text: Callable[[list[int]], str],
) -> tuple[FinishReason, str | None] | None:
    """After a row's newest token: (finish reason, the text cut at a stop string, else None) when the
    reply is finished, None while it goes on. ``text`` decodes generated ids."""
    may_stop = len(generated) >= sampling.min_tokens
    if may_stop and generated[-1] in eos:
        return "stop", None
    if may_stop and sampling.stop:
        full = text(generated)
        hits = [i for i in (full.find(s) for s in sampling.stop) if i >= 0]
        if hits:
            return "stop", full[: min(hits)]
    if len(generated) >= max_new:
        return "length", None
    return None
