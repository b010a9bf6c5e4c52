"""TransformersEngine on a tiny random model (float32: reuse must not change a single token)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gapbench.engines import Engine, build_engine
from gapbench.engines.base import ChatMessage, ChatRequest, Completion, Sampling
from gapbench.engines.hf import TransformersEngine
from gapbench.engines.rendering import common_prefix_len
from gapbench.registry import load_spec


@pytest.fixture(scope="module")
def tiny_spec(tiny_model_dir: Path):
    return load_spec(tiny_model_dir)


def _engine(spec, **options) -> TransformersEngine:
    return TransformersEngine(spec, dtype="float32", device="cpu", **options)


def _dialogues(
    engine: TransformersEngine, turns: int, sampling: Sampling, *, churn: bool = True, conversations: int = 4
) -> list[list[Completion]]:
    """Run several conversations turn by turn; with churn, one leaves after turn 1 and one joins."""
    chats = {
        f"c{i}": [ChatMessage("system", f"You are agent {i}; describe your half of the maze.")]
        for i in range(conversations)
    }
    log: list[list[Completion]] = []
    for turn in range(turns):
        requests = []
        for cid, messages in chats.items():
            messages.append(
                ChatMessage("user", f"Turn {turn} ({cid}): I see a wall at ({turn}, 2). Where are you?")
            )
            requests.append(ChatRequest(cid, tuple(messages), sampling))
        completions = engine.generate(requests)
        assert [c.conversation_id for c in completions] == [r.conversation_id for r in requests]
        for completion in completions:
            assert completion.error is None, completion.error
            chats[completion.conversation_id].append(ChatMessage("assistant", completion.text))
        log.append(completions)
        if churn and turn == 1:
            engine.end("c1")
            del chats["c1"]
            chats["late"] = [ChatMessage("system", "You joined late.")]
    return log


def test_is_an_engine(tiny_spec) -> None:
    engine = build_engine(tiny_spec, dtype="float32", device="cpu")
    assert isinstance(engine, TransformersEngine) and isinstance(engine, Engine)
    engine.close()


def test_reuse_gives_the_same_greedy_tokens_as_recomputation(tiny_spec) -> None:
    sampling = Sampling(max_tokens=10)
    reused = _dialogues(_engine(tiny_spec, batch_size=3), 5, sampling)
    fresh = _dialogues(_engine(tiny_spec, batch_size=3, reuse_cache=False), 5, sampling)
    assert [[c.text for c in t] for t in reused] == [[c.text for c in t] for t in fresh]
    assert all(c.cached_tokens == 0 for t in fresh for c in t)
    by_turn = {(i, c.conversation_id): c for i, t in enumerate(reused) for c in t}
    # Turn 0: the first batch of 3 starts cold; the 4th conversation borrows their common prefix.
    assert sorted(c.cached_tokens > 0 for c in reused[0]) == [False, False, False, True]
    assert 0 < by_turn[(2, "late")].cached_tokens < 10  # joined late: borrowed "<system> You" only
    assert all(by_turn[(t, "c0")].cached_tokens > 0 for t in range(1, 5))
    assert by_turn[(3, "late")].cached_tokens > 0


def test_first_turn_borrows_the_prefix_another_conversation_holds(tiny_spec) -> None:
    system = ChatMessage("system", "You are one of two agents in a maze game. " * 8)
    requests = [
        ChatRequest(
            cid, (system, ChatMessage("user", f"Your map is row {cid}: . # ? *")), Sampling(max_tokens=6)
        )
        for cid in ("a", "b")
    ]
    engine, fresh = _engine(tiny_spec), _engine(tiny_spec, reuse_cache=False)
    first, second = engine.generate(requests[:1])[0], engine.generate(requests[1:])[0]
    ids_a, _ = fresh.renderer.prompt_ids(requests[0])
    ids_b, _ = fresh.renderer.prompt_ids(requests[1])
    shared = common_prefix_len(ids_a, ids_b)
    assert shared > 60 and first.cached_tokens == 0 and second.cached_tokens == shared
    assert engine.stats.prefilled_tokens == len(ids_a) + len(ids_b) - shared
    assert [c.text for c in (first, second)] == [c.text for c in fresh.generate(requests)]


@pytest.mark.parametrize("how", ["kept", "end", "last"])
def test_a_conversation_ended_keeps_no_cache(tiny_spec, how) -> None:
    """The engine keeps a conversation's cache until told it is over: by end(), or by a last request."""
    engine = _engine(tiny_spec)
    chat = (
        ChatMessage("system", "You are one of two agents in a maze game. " * 4),
        ChatMessage("user", "Hi"),
    )
    first = engine.generate([ChatRequest("c", chat, Sampling(max_tokens=4), last=how == "last")])[0]
    if how == "end":
        engine.end("c")
        engine.end("never-seen")  # an unknown conversation is no error
    follow = (*chat, ChatMessage("assistant", first.text), ChatMessage("user", "And now?"))
    second = engine.generate([ChatRequest("c", follow, Sampling(max_tokens=4))])[0]
    assert (second.cached_tokens > 0) == (how == "kept")


def test_rows_that_finish_early_leave_the_batch(tiny_spec) -> None:
    def turns(engine: TransformersEngine) -> list[str]:
        chats = {f"c{n}": [ChatMessage("user", f"Agent {n}: which way is the goal?")] for n in (2, 5, 9, 14)}
        texts = []
        for _ in range(2):
            requests = [
                ChatRequest(cid, tuple(m), Sampling(max_tokens=int(cid[1:]))) for cid, m in chats.items()
            ]
            for completion in engine.generate(requests):
                assert completion.completion_tokens == int(completion.conversation_id[1:])
                chats[completion.conversation_id] += [
                    ChatMessage("assistant", completion.text),
                    ChatMessage("user", "Go on."),
                ]
                texts.append(completion.text)
        return texts

    engine = _engine(tiny_spec, batch_size=4)
    sizes: list[int] = []
    forward = engine.model.forward
    engine.model.forward = lambda *a, **k: (sizes.append(k["input_ids"].shape[0]), forward(*a, **k))[1]
    texts = turns(engine)
    assert sorted(set(sizes)) == [1, 2, 3, 4]  # the batch shrinks as replies of 2, 5, 9, 14 tokens end
    assert sum(size == 4 for size in sizes) == 2 * 2  # per turn: the prefill and one decode step
    assert texts == turns(_engine(tiny_spec, batch_size=1, reuse_cache=False))
    assert engine.stats.cached_tokens > 0


def test_seeded_sampling_is_reproducible_with_and_without_reuse(tiny_spec) -> None:
    sampling = Sampling(max_tokens=8, temperature=0.9, top_p=0.9, seed=7)
    a = _dialogues(_engine(tiny_spec), 3, sampling, churn=False, conversations=2)
    b = _dialogues(_engine(tiny_spec, reuse_cache=False), 3, sampling, churn=False, conversations=2)
    assert [[c.text for c in t] for t in a] == [[c.text for c in t] for t in b]


def test_ten_turn_dialogues_serve_most_prompt_tokens_from_cache(tiny_spec) -> None:
    engine = _engine(tiny_spec, batch_size=4)
    log = _dialogues(engine, 10, Sampling(max_tokens=16, min_tokens=16), churn=False, conversations=4)
    stats = engine.stats
    completions = [c for t in log for c in t]
    assert stats.prompt_tokens == sum(c.prompt_tokens for c in completions)
    assert stats.cached_tokens == sum(c.cached_tokens for c in completions)
    assert stats.cached_tokens + stats.prefilled_tokens == stats.prompt_tokens
    assert all(c.completion_tokens == 16 for c in completions)
    assert stats.cached_fraction >= 0.8, stats


def test_prompt_over_max_model_len_fails_alone(tiny_spec) -> None:
    engine = _engine(tiny_spec.model_copy(update={"max_model_len": 96}))
    long = ChatRequest("long", (ChatMessage("user", "wall " * 200),), Sampling(max_tokens=4))
    short = [ChatRequest(f"s{i}", (ChatMessage("user", "Hi"),), Sampling(max_tokens=4)) for i in range(2)]
    out = engine.generate([short[0], long, short[1]])
    assert [c.conversation_id for c in out] == ["s0", "long", "s1"]
    assert out[1].finish_reason == "error" and "'long'" in out[1].error and "max_model_len 96" in out[1].error
    assert all(c.error is None and c.completion_tokens == 4 for c in (out[0], out[2]))


def test_generation_limits_and_stop_strings(tiny_spec) -> None:
    engine = _engine(tiny_spec)
    user = (ChatMessage("user", "Describe the maze."),)
    full = engine.generate([ChatRequest("x", user, Sampling(max_tokens=12))])[0]
    assert full.finish_reason == "length" and full.completion_tokens == 12
    stop = full.text[3:6]
    cut = engine.generate([ChatRequest("y", user, Sampling(max_tokens=12, stop=(stop,)))])[0]
    assert cut.finish_reason == "stop" and cut.text == full.text[: full.text.find(stop)]
    forced = engine.generate([ChatRequest("z", user, Sampling(max_tokens=6, min_tokens=6))])[0]
    assert forced.completion_tokens == 6


def test_bad_requests_fail_alone(tiny_spec) -> None:
    engine = _engine(tiny_spec)
    ok = ChatRequest("a", (ChatMessage("user", "Hi"),), Sampling(max_tokens=2))
    out = engine.generate([ok, ok, ChatRequest("b", ok.messages, Sampling(max_tokens=0))])
    assert out[0].error is None
    assert "more than once" in out[1].error and "max_tokens" in out[2].error


def test_grouped_attention_equals_sdpa(tiny_spec) -> None:
    import types

    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    from gapbench.engines.hf_decode import GROUPED_ATTENTION, grouped_attention

    torch.manual_seed(0)
    module = types.SimpleNamespace(num_key_value_groups=3, is_causal=True)
    buffer = torch.randn(
        2, 4, 3, 40, 16
    )  # keys and values as views of a longer buffer, as GrowingLayer gives them
    key, value = buffer[0][:, :, :30], buffer[1][:, :, :30]
    query = torch.randn(4, 9, 1, 16)
    padded = torch.ones(4, 1, 1, 30, dtype=torch.bool)
    padded[0, ..., :7] = False
    for mask in (None, padded):
        got, _ = grouped_attention(module, query, key, value, mask, scaling=0.25)
        want, _ = sdpa_attention_forward(module, query, key, value, mask, scaling=0.25)
        torch.testing.assert_close(got, want)
    prefill = torch.randn(4, 9, 5, 16)  # longer queries are SDPA's, causal mask and all
    torch.testing.assert_close(
        grouped_attention(module, prefill, key, value, None, scaling=0.25)[0],
        sdpa_attention_forward(module, prefill, key, value, None, scaling=0.25)[0],
    )
    assert _engine(tiny_spec).model.config._attn_implementation == GROUPED_ATTENTION  # on CPU


def test_unknown_backend(tiny_spec) -> None:
    with pytest.raises(ValueError, match="unknown engine backend"):
        build_engine(tiny_spec, backend="nope")


@pytest.mark.slow
def test_smollm2_reuses_cache_across_turns(smollm2_dir) -> None:
    spec = load_spec("smollm2-135m-instruct")
    engine = TransformersEngine(spec, device="cpu", cache_dir=str(smollm2_dir.parent.parent))
    chats = [[ChatMessage("user", f"Name a colour, agent {i}.")] for i in range(2)]
    for turn in range(2):
        out = engine.generate(
            [ChatRequest(f"s{i}", tuple(m), Sampling(max_tokens=6)) for i, m in enumerate(chats)]
        )
        for messages, completion in zip(chats, out):
            assert completion.error is None and completion.text.strip()
            assert (completion.cached_tokens > 0) == (turn > 0)
            messages += [ChatMessage("assistant", completion.text), ChatMessage("user", "And another?")]
    assert engine.stats.cached_tokens + engine.stats.prefilled_tokens == engine.stats.prompt_tokens
