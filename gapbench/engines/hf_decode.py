"""The transformers engine's decode step: a KV-cache layer that grows in place, and grouped
single-query attention for CPU.

transformers' ``DynamicLayer`` appends by ``torch.cat``: every decode step copies the whole cache
into a fresh allocation (on CPU, fresh pages the kernel must zero). At batch 32 with ~900 tokens of
context that copy was more than half of SmolLM2's decode step on our 2-core CPU. ``GrowingLayer``
allocates once per call, with room for the prompt block and every token the call may generate, and
writes each step's keys and values into the next columns; ``keys``/``values`` are views of the
filled part, so attention and every other ``DynamicLayer`` method see exactly what they would.

On CPU, when a decode batch has no padding, transformers passes SDPA no mask and asks for its GQA
mode, whose CPU kernel is ~5x slower in bf16 for one query token (~15 ms a layer at batch 32 and 900
tokens, against ~3 ms for the same attention with the query heads of a group stacked as queries).
``GROUPED_ATTENTION`` always stacks them; it is registered with transformers' attention interface
and the engine selects it on CPU. Queries longer than one token (prefill) go to SDPA as before.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import AttentionInterface, DynamicCache
from transformers.cache_utils import DynamicLayer
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

GROUPED_ATTENTION = "gapbench_grouped"


class GrowingLayer(DynamicLayer):
    """A full-attention ``DynamicLayer`` backed by a buffer of ``capacity`` positions."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity
        # Set by ``allocate``, which every other method runs after.
        self._keys: torch.Tensor  # [batch, heads, capacity, head_dim]
        self._values: torch.Tensor

    def allocate(self, like: torch.Tensor, batch: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Zeroed buffers shaped after ``like`` ([*, heads, *, head_dim]), the first ``length`` in use;
        returns their (keys, values) views of those."""
        shape = (batch, like.shape[1], self.capacity, like.shape[3])
        self._keys, self._values = like.new_zeros(shape), like.new_zeros(shape)
        self.device, self.is_initialized = like.device, True
        return self._view(length)

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        self.allocate(key_states, key_states.shape[0], 0)

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        start = self._length()
        end = start + key_states.shape[-2]
        if end > self.capacity:
            raise RuntimeError(f"internal: cache layer of {self.capacity} positions asked to hold {end}")
        self._keys[:, :, start:end] = key_states
        self._values[:, :, start:end] = value_states
        return self._view(end)

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        """Keep only the rows ``indices`` (rows whose replies are done leave the batch)."""
        self._keys, self._values = self._keys[indices], self._values[indices]
        self._view(self._length())

    def _view(self, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Point ``keys``/``values`` at the first ``length`` positions and return them."""
        keys, values = self._keys[:, :, :length], self._values[:, :, :length]
        self.keys, self.values = keys, values
        return keys, values

    def _length(self) -> int:
        """Positions in use: ``keys`` is the filled part, whichever ``DynamicLayer`` method set it last."""
        assert self.keys is not None, "internal: cache layer used before allocate"
        return self.keys.shape[-2]


def growing_cache(config: Any, capacity: int) -> DynamicCache | None:
    """A ``DynamicCache`` of ``GrowingLayer``s for a model with this config, or None when the model
    has other than full-attention layers (sliding windows, recurrent state): those keep transformers'
    own cache."""
    cache = DynamicCache(config=config)
    if not cache.layers or any(type(layer) is not DynamicLayer for layer in cache.layers):
        return None
    cache.layers[:] = [GrowingLayer(capacity) for _ in cache.layers]
    return cache


def grouped_attention(
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """SDPA with one query token per row: the query heads that share a key/value head go in as that
    head's queries, so keys are neither repeated nor routed to SDPA's slow GQA path. Longer queries
    (prefill) and attention variants (sinks, softcapping, biases) go to transformers' SDPA."""
    special = any(kwargs.get(name) is not None for name in ("softcap", "s_aux", "sinks", "position_bias"))
    if query.shape[2] != 1 or special or dropout:
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs
        )
    batch, heads, _, dim = query.shape
    grouped = query.reshape(batch, key.shape[1], heads // key.shape[1], dim)
    # The mask ([batch, 1, 1, keys] or None) is the same for every query head.
    out = torch.nn.functional.scaled_dot_product_attention(
        grouped, key, value, attn_mask=attention_mask, scale=scaling
    )
    return out.reshape(batch, heads, 1, dim).transpose(1, 2).contiguous(), None


AttentionInterface.register(GROUPED_ATTENTION, grouped_attention)
AttentionMaskInterface.register(GROUPED_ATTENTION, sdpa_mask)
