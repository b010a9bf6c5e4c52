"""Chat rendering that keeps every turn's prompt an exact token prefix of the next.

Re-rendering a whole dialogue with the chat template every turn and re-tokenizing it breaks KV-cache
reuse in two ways: generated text does not re-tokenize to the ids that were generated (a reply
ending in "\\n\\n" comes back as one merged token), and some templates rewrite earlier turns (Qwen3
drops ``<think>`` blocks from past assistant messages). So the renderer keeps each conversation's
own token history -- the previous prompt ids plus the completion ids actually generated -- and
appends only the tokens of the messages added since, rendered by the model's own template.

When a template rewrites history, the conversation keeps its verbatim history (the model sees its
own earlier reasoning, as it generated it) instead of the template's rewritten form: that is what
lets the cache hit, and it shows the model exactly what it wrote. ``rewrites_history`` records that
this happened, so a study can report it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gapbench.engines.base import ChatMessage, ChatRequest

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger(__name__)

DEFAULT_REASONING_TAGS: tuple[str, str] = ("<think>", "</think>")
_SENTINEL = "GAPBENCH-REPLY-SENTINEL-5d1c"


def strip_reasoning(text: str, tags: tuple[str, str] = DEFAULT_REASONING_TAGS) -> str:
    """Remove reasoning traces, so a partner sees only the answer.

    Handles a complete ``<think>...</think>`` block, a closing tag alone (templates that open the
    block in the generation prompt, like DeepSeek-R1's) and an opening tag alone (a trace cut off by
    max_tokens: everything after it is reasoning). Text without tags comes back unchanged.
    """
    open_tag, close_tag = tags
    if open_tag not in text and close_tag not in text:
        return text
    out = re.sub(re.escape(open_tag) + r".*?" + re.escape(close_tag), "", text, flags=re.S)
    if close_tag in out:
        out = out.rsplit(close_tag, 1)[1]
    if open_tag in out:
        out = out.split(open_tag, 1)[0]
    return out.strip()


def common_prefix_len(a: Sequence[Any], b: Sequence[Any]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


@dataclass
class _History:
    messages: tuple[ChatMessage, ...]  # the prompt messages that `ids` renders
    ids: list[int]  # prompt ids, then the completion ids once recorded
    completion: list[int] | None = None


class ChatRenderer:
    """Token ids for chat requests, append-only per conversation (see the module docstring)."""

    def __init__(
        self,
        tokenizer: PreTrainedTokenizerBase,
        *,
        strip_reasoning: bool = False,
        reasoning_tags: tuple[str, str] = DEFAULT_REASONING_TAGS,
        template_kwargs: dict[str, Any] | None = None,
        eos_ids: Iterable[int] | None = None,
    ) -> None:
        """``template_kwargs`` go to the chat template (e.g. ``enable_thinking``); ``eos_ids`` are the
        model's end-of-sequence ids (`eos_token_ids`; default: the tokenizer's own)."""
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError("the tokenizer has no chat template; give the model card a `chat_template`")
        self.tokenizer = tokenizer
        self.strip_reasoning = strip_reasoning
        self.reasoning_tags = reasoning_tags
        self.template_kwargs = dict(template_kwargs or {})
        self.rewrites_history = False  # set once a template was seen rewriting earlier turns
        self.eos_ids: frozenset[int] = eos_token_ids(tokenizer) if eos_ids is None else frozenset(eos_ids)
        self._conversations: dict[str, _History] = {}

    # ------------------------------------------------------------------------------ public API
    def prompt_ids(self, request: ChatRequest) -> tuple[list[int], int]:
        """The prompt's ids (with the generation prompt) and how many leading ids repeat exactly
        what this conversation already had (its previous prompt plus the recorded completion)."""
        messages = tuple(request.messages)
        history = self._conversations.get(request.conversation_id)
        ids = self._extend(history, messages) if history is not None else None
        if ids is None:
            ids = self._encode(self._render(messages, generation_prompt=True))
        reused = common_prefix_len(history.ids, ids) if history is not None else 0
        self._conversations[request.conversation_id] = _History(messages=messages, ids=list(ids))
        return ids, reused

    def record_completion(self, conversation_id: str, completion_ids: Sequence[int]) -> None:
        """The ids generated for the last prompt, end-of-sequence token included if one was."""
        history = self._conversations.get(conversation_id)
        if history is None:
            raise KeyError(f"conversation {conversation_id!r} has no prompt to attach a completion to")
        if history.completion is not None:
            raise ValueError(f"conversation {conversation_id!r} already has a completion for its last prompt")
        history.completion = list(completion_ids)
        history.ids.extend(completion_ids)

    def completion_ids(self, conversation_id: str) -> list[int] | None:
        """The ids recorded for the conversation's last prompt (None before a reply is recorded)."""
        history = self._conversations.get(conversation_id)
        return None if history is None or history.completion is None else list(history.completion)

    def completion_text(self, completion_ids: Sequence[int]) -> str:
        """The text of generated ids, as engines return it: the final end-of-sequence token dropped."""
        ids = list(completion_ids)
        if ids and ids[-1] in self.eos_ids:
            ids.pop()
        return decode_text(self.tokenizer, ids, skip_special_tokens=True)

    def visible_text(self, text: str) -> str:
        """What the partner agent should see of a reply (reasoning stripped when configured)."""
        return strip_reasoning(text, self.reasoning_tags) if self.strip_reasoning else text

    def renders(self, messages: Sequence[ChatMessage]) -> bool:
        """Whether the template renders ``messages`` faithfully: no error (templates that require
        alternating roles raise) and every message's content in the text, in order (none dropped)."""
        try:
            text = self._render(messages, generation_prompt=True)
        except Exception as exc:
            log.info("chat template cannot render %s: %s", [m.role for m in messages], exc)
            return False
        at = 0
        for m in messages:
            found = text.find(m.content, at)
            if found < 0:
                return False
            at = found + len(m.content)
        return True

    def render_text(self, messages: Sequence[ChatMessage]) -> str:
        """The prompt text of a chat with the generation prompt, as the model is given it."""
        return self._render(messages, generation_prompt=True)

    def end(self, conversation_id: str) -> None:
        """Forget the conversation's token history."""
        self._conversations.pop(conversation_id, None)

    # ------------------------------------------------------------------------------ internals
    def _render(self, messages: Sequence[ChatMessage], *, generation_prompt: bool) -> str:
        text = self.tokenizer.apply_chat_template(
            [{"role": m.role, "content": m.content} for m in messages],
            tokenize=False,
            add_generation_prompt=generation_prompt,
            **self.template_kwargs,
        )
        assert isinstance(text, str), "internal: apply_chat_template(tokenize=False) returned no text"
        return text

    def _encode(self, text: str) -> list[int]:
        # Templates write special tokens (BOS, turn markers) into the text themselves.
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _matches_completion(self, content: str, completion: list[int]) -> bool:
        raw = self.completion_text(completion)
        return content == raw or (
            self.strip_reasoning and content == strip_reasoning(raw, self.reasoning_tags)
        )

    def _extend(self, history: _History, messages: tuple[ChatMessage, ...]) -> list[int] | None:
        """History ids + the tokens of the messages added after the recorded reply; None when the
        request does not continue this conversation (then the caller renders it from scratch)."""
        k = len(history.messages)
        if history.completion is None or len(messages) < k + 2 or messages[:k] != history.messages:
            return None
        reply = messages[k]
        if reply.role != "assistant" or not self._matches_completion(reply.content, history.completion):
            return None
        # Where the reply ends and what the template writes after it (e.g. "<|im_end|>\n") is read
        # off a rendering whose reply is a unique sentinel: searching for the reply's own text could
        # match elsewhere (a reply "|" matches inside "<|im_end|>").
        probe = messages[:k] + (ChatMessage("assistant", _SENTINEL),) + messages[k + 1 :]
        probe_old = self._render(probe[: k + 1], generation_prompt=False)
        if _SENTINEL not in probe_old:
            return None
        tail = probe_old[probe_old.rindex(_SENTINEL) + len(_SENTINEL) :]
        probe_new = self._render(probe, generation_prompt=True)
        at = probe_new.find(_SENTINEL + tail)
        if at < 0:
            return None
        delta = probe_new[at + len(_SENTINEL) + len(tail) :]
        new = self._render(messages, generation_prompt=True)
        if not new.endswith(delta):  # the new turns' rendering depends on the reply: not appendable
            return None
        if not new.startswith(self._render(messages[: k + 1], generation_prompt=False)):
            if not self.rewrites_history:
                log.info(
                    "chat template rewrites earlier turns; keeping each conversation's own token history"
                )
            self.rewrites_history = True
        completion = history.completion
        if completion and completion[-1] in self.eos_ids:
            eos_text = decode_text(self.tokenizer, [completion[-1]])
            if tail.startswith(eos_text):
                tail = tail[len(eos_text) :]
        return history.ids + self._encode(tail + delta)


def decode_text(
    tokenizer: PreTrainedTokenizerBase, ids: Sequence[int], *, skip_special_tokens: bool = False
) -> str:
    """The text of one sequence of ids (transformers types ``decode`` for batches too: str | list[str])."""
    text = tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens)
    assert isinstance(text, str), "internal: decode of one sequence returned no text"
    return text


def eos_token_ids(
    tokenizer: PreTrainedTokenizerBase, model_dir: str | os.PathLike[str] | None = None
) -> frozenset[int]:
    """A model's end-of-sequence ids: the tokenizer's, and those of the generation config in
    ``model_dir`` (often several; without one, the model config's), which engines stop on too."""
    ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    configs = (
        [Path(model_dir, name) for name in ("generation_config.json", "config.json")] if model_dir else []
    )
    for path in configs:
        configured = (
            json.loads(path.read_text(encoding="utf-8")).get("eos_token_id") if path.is_file() else None
        )
        if configured is not None:
            ids.update(configured if isinstance(configured, list) else [configured])
            break
    return frozenset(ids)
