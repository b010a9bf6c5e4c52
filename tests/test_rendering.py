"""ChatRenderer: every turn's prompt is an exact token prefix of the next, on real merges."""

from __future__ import annotations

import random

import pytest
from conftest import CHATML_TEMPLATE, DROP_THINK_TEMPLATE, build_tiny_tokenizer
from hypothesis import given, settings
from hypothesis import strategies as st

from gapbench.engines.base import ChatMessage, ChatRequest
from gapbench.engines.rendering import ChatRenderer, common_prefix_len, strip_reasoning


@pytest.fixture(scope="module")
def chatml_tokenizer():
    return build_tiny_tokenizer(CHATML_TEMPLATE)


@pytest.fixture(scope="module")
def drop_think_tokenizer():
    return build_tiny_tokenizer(DROP_THINK_TEMPLATE)


def _plain_ids(tokenizer) -> list[int]:
    """Ids that decode to printable ASCII on their own (random 'replies' made of them decode cleanly)."""
    special = set(tokenizer.added_tokens_decoder)
    return [
        i
        for i in range(len(tokenizer))
        if i not in special and (t := tokenizer.decode([i])) and t.isascii() and t.isprintable()
    ]


def _dialogue(
    renderer: ChatRenderer, tokenizer, replies: list[list[int]], cid: str = "c"
) -> list[tuple[list[int], int, list[int]]]:
    """Run a dialogue with the given reply ids; returns (prompt ids, reused, history before) per turn."""
    messages: list[ChatMessage] = [ChatMessage("system", "You see the left half of the maze.")]
    out = []
    history: list[int] = []
    for turn, reply in enumerate(replies):
        messages.append(ChatMessage("user", f"Turn {turn}: I see a wall at (1, {turn})."))
        ids, reused = renderer.prompt_ids(ChatRequest(cid, tuple(messages)))
        out.append((ids, reused, history))
        text = tokenizer.decode(ids, skip_special_tokens=False)
        assert text == tokenizer.apply_chat_template(
            [{"role": m.role, "content": m.content} for m in messages],
            tokenize=False,
            add_generation_prompt=True,
        )
        renderer.record_completion(cid, reply)
        history = ids + reply
        messages.append(ChatMessage("assistant", renderer.completion_text(reply)))
    return out


def _check_prefix_exact(turns: list[tuple[list[int], int, list[int]]]) -> None:
    for ids, reused, history in turns:
        assert ids[: len(history)] == history  # the verbatim history, generated ids included
        assert reused == len(history)
        assert len(ids) > len(history)


def test_reply_ids_are_kept_not_retokenized(chatml_tokenizer) -> None:
    tok = chatml_tokenizer
    # A model may generate "maze" one letter at a time; re-tokenizing the text merges the letters.
    letters = [tok.convert_tokens_to_ids(c) for c in "TheĠmazeĠ"]  # byte-level: "Ġ" is a space
    assert tok("The maze ", add_special_tokens=False)["input_ids"] != letters
    renderer = ChatRenderer(tok)
    turns = _dialogue(renderer, tok, [letters + [tok.eos_token_id], letters, letters + [tok.eos_token_id]])
    _check_prefix_exact(turns)


def test_reply_cut_without_eos_gets_the_end_of_turn_appended(chatml_tokenizer) -> None:
    tok = chatml_tokenizer
    cut = tok("The goal is south of", add_special_tokens=False)["input_ids"]  # max_tokens hit: no EOS
    renderer = ChatRenderer(tok)
    turns = _dialogue(renderer, tok, [cut, cut + [tok.eos_token_id], cut])
    _check_prefix_exact(turns)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000), turns=st.integers(2, 6), eos=st.lists(st.booleans(), min_size=6, max_size=6)
)
def test_prefix_exact_for_random_replies(chatml_tokenizer, seed: int, turns: int, eos: list[bool]) -> None:
    tok = chatml_tokenizer
    plain = _plain_ids(tok)
    rng = random.Random(seed)
    replies = [
        [rng.choice(plain) for _ in range(rng.randint(1, 12))] + ([tok.eos_token_id] if eos[t] else [])
        for t in range(turns)
    ]
    _check_prefix_exact(_dialogue(ChatRenderer(tok), tok, replies))


def test_template_that_rewrites_history_keeps_verbatim_tokens(drop_think_tokenizer) -> None:
    tok = drop_think_tokenizer
    reply_text = "<think>\nThe partner sees the left half.\n</think>\n\nMy walls are at (1,2)."
    reply = tok(reply_text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    renderer = ChatRenderer(tok)
    first = (ChatMessage("system", "Agent A."), ChatMessage("user", "Where are your walls?"))
    ids1, _ = renderer.prompt_ids(ChatRequest("a", first))
    renderer.record_completion("a", reply)
    follow = (ChatMessage("assistant", reply_text), ChatMessage("user", "Move east."))
    ids2, reused = renderer.prompt_ids(ChatRequest("a", first + follow))
    history = ids1 + reply
    assert reused == len(history) and ids2[: len(history)] == history
    assert renderer.rewrites_history
    # The template itself would have dropped the trace (so re-rendering could never hit a cache) ...
    rendered = tok.apply_chat_template(
        [{"role": m.role, "content": m.content} for m in first + follow],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert "<think>" not in rendered
    # ... while the appended tokens are exactly the template's rendering of the new messages.
    assert tok.decode(ids2[len(history) :], skip_special_tokens=False) == (
        "\n<|im_start|>user\nMove east.<|im_end|>\n<|im_start|>assistant\n"
    )


def test_stripped_reply_in_history_still_matches_when_stripping(drop_think_tokenizer) -> None:
    """A caller that strips reasoning from the agent's own history still gets a cache hit."""
    tok = drop_think_tokenizer
    reply_text = "<think>\nreason\n</think>\n\nGo north."
    reply = tok(reply_text, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    renderer = ChatRenderer(tok, strip_reasoning=True)
    first = (ChatMessage("user", "Where now?"),)
    ids1, _ = renderer.prompt_ids(ChatRequest("a", first))
    renderer.record_completion("a", reply)
    msgs = first + (
        ChatMessage("assistant", renderer.visible_text(reply_text)),
        ChatMessage("user", "And then?"),
    )
    ids2, reused = renderer.prompt_ids(ChatRequest("a", msgs))
    assert reused == len(ids1) + len(reply) and ids2[:reused] == ids1 + reply


def test_edited_history_is_rendered_from_scratch(chatml_tokenizer) -> None:
    tok = chatml_tokenizer
    renderer = ChatRenderer(tok)
    first = (ChatMessage("system", "Agent B."), ChatMessage("user", "Hello there."))
    ids1, _ = renderer.prompt_ids(ChatRequest("b", first))
    reply = tok("Hi.", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    renderer.record_completion("b", reply)
    # The caller changed the reply (e.g. a stop string cut it): no verbatim extension possible.
    msgs = first + (ChatMessage("assistant", "Hey."), ChatMessage("user", "Go."))
    ids2, reused = renderer.prompt_ids(ChatRequest("b", msgs))
    expected = tok.apply_chat_template(
        [{"role": m.role, "content": m.content} for m in msgs], tokenize=False, add_generation_prompt=True
    )
    assert tok.decode(ids2, skip_special_tokens=False) == expected
    assert reused == common_prefix_len(ids1 + reply, ids2) < len(ids1) + len(reply)


def test_end_forgets_and_new_prompt_reuses_nothing(chatml_tokenizer) -> None:
    renderer = ChatRenderer(chatml_tokenizer)
    request = ChatRequest("c", (ChatMessage("user", "Hi"),))
    renderer.prompt_ids(request)
    renderer.end("c")
    with pytest.raises(KeyError):
        renderer.record_completion("c", [1])
    assert renderer.prompt_ids(request)[1] == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<think>\nplan\n</think>\n\nGo east.", "Go east."),
        ("plan opened by the prompt\n</think>\nGo east.", "Go east."),  # DeepSeek-R1 style
        ("Go east.<think>unfinished", "Go east."),  # trace cut by max_tokens
        ("<think>a</think>Go <think>b</think>east.", "Go east."),
        ("No tags here.\n", "No tags here.\n"),
    ],
)
def test_strip_reasoning(text: str, expected: str) -> None:
    assert strip_reasoning(text, ("<think>", "</think>")) == expected


def test_renderer_needs_a_chat_template(chatml_tokenizer) -> None:
    tok = build_tiny_tokenizer(CHATML_TEMPLATE)
    tok.chat_template = None
    with pytest.raises(ValueError, match="chat template"):
        ChatRenderer(tok)


@pytest.mark.slow
def test_prefix_exact_on_smollm2_tokenizer(smollm2_dir) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    enc = lambda s: tok(s, add_special_tokens=False)["input_ids"]  # noqa: E731
    replies = [
        enc("I am at (2, 3).") + enc("\n") + enc("\n") + [tok.eos_token_id],
        enc("Let's go east, then   south"),  # cut by max_tokens
        enc(" Okay!\n\n") + [tok.eos_token_id],
    ]
    _check_prefix_exact(_dialogue(ChatRenderer(tok), tok, replies))


# Templates that cannot take two user turns in a row: one raises (Mistral, Gemma), one drops the first.
ALTERNATING_TEMPLATE = (
    "{% set ns = namespace(prev='') %}"
    "{% for message in messages %}"
    "{% if message['role'] == ns.prev %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% set ns.prev = message['role'] %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
KEEP_LAST_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.last or messages[loop.index0 + 1]['role'] != message['role'] %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@pytest.mark.parametrize(
    ("template", "separate"),
    [(CHATML_TEMPLATE, True), (ALTERNATING_TEMPLATE, False), (KEEP_LAST_TEMPLATE, False)],
)
def test_renders_tells_whether_a_template_keeps_two_user_turns(template, separate) -> None:
    from gapbench.protocol import fit_layout, load_templates

    renderer = ChatRenderer(build_tiny_tokenizer(template))
    two_users = (ChatMessage("system", "S."), ChatMessage("user", "Task."), ChatMessage("user", "Hello."))
    assert renderer.renders(two_users) is separate
    assert renderer.renders(two_users[:2] + (ChatMessage("assistant", "Hi."), ChatMessage("user", "Go.")))
    expected = "separate" if separate else "merged"
    assert fit_layout(load_templates("v2"), renderer.renders) == expected
    assert fit_layout(load_templates("v1"), renderer.renders) == "merged"  # v1 never asks
