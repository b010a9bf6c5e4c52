import statistics

import pytest

from gapbench.agents import ScriptedEngine, parse_scripted
from gapbench.engines.base import ChatRequest, Sampling
from gapbench.grading import grade
from gapbench.grading.extract import extract_rule
from gapbench.maze import MazeParams, generate, split_views
from gapbench.protocol import Dialogue, load_templates
from gapbench.transcript import Message, Transcript


def _maze(seed=0, size=6):
    maze = generate(MazeParams(size=size), seed=seed)
    return maze, split_views(maze, seed=seed)


def play(dialogue: Dialogue, engines: dict, seed=0) -> Transcript:
    while not dialogue.done:
        request = ChatRequest(f"d:{dialogue.speaker()}", dialogue.chat(), Sampling(seed=seed))
        dialogue.add_reply(engines[dialogue.model()].generate([request])[0].text)
    return dialogue.transcript()


def test_each_agent_sees_its_own_map_and_flipped_roles():
    maze, views = _maze()
    t = load_templates()
    d = Dialogue.start(maze=maze, views=views, condition="collab", seats=("m", "m"))
    first = d.chat()
    assert [m.role for m in first] == ["system", "user"]
    assert "intermediary" in first[0].content
    mine, theirs = (v.render(spaced=False) for v in views)
    assert (
        first[1].content.startswith("[user]: ")
        and mine in first[1].content
        and theirs not in first[1].content
    )
    assert "ACTI!" in first[1].content
    d.add_reply("hello from one")
    second = d.chat()
    assert d.speaker() == "agent_2"
    # The study's layout: the task and the partner's first message are two user turns.
    assert [m.role for m in second] == ["system", "user", "user"]
    assert theirs in second[1].content and second[2].content == "[other agent]: hello from one"
    d.add_reply("hello from two")
    third = d.chat()
    assert [m.role for m in third] == ["system", "user", "assistant", "user"]
    assert third[2].content == "hello from one" and third[3].content == "[other agent]: hello from two"
    # Each turn's chat extends the agent's previous chat (what makes prefix caching possible).
    assert third[: len(first)] == first
    assert t.version == "v2" and d.transcript().prompt_version == "v2"
    assert d.transcript().meta["layout"] == {"m": "separate"}


def test_merged_layout_joins_the_task_and_the_partners_first_message():
    maze, views = _maze()
    d = Dialogue.start(maze=maze, views=views, condition="collab", seats=("a", "b"), layouts={"b": "merged"})
    assert d.layout("a") == "separate"
    d.add_reply("hello from one")
    second = d.chat()
    assert [m.role for m in second] == ["system", "user"]
    assert second[1].content.startswith("[user]: ") and second[1].content.endswith(
        "\n\n[other agent]: hello from one"
    )
    assert d.transcript().meta["layout"] == {"a": "separate", "b": "merged"}


def test_dialogue_ends_at_acti_or_max_turns():
    maze, views = _maze()
    d = Dialogue.start(maze=maze, views=views, condition="collab", seats=("m", "m"), max_turns=4)
    d.add_reply("let's go")
    d.add_reply("we made it, acti!")
    assert d.done and d.end == "acti" and d.turns == 2
    d = Dialogue.start(maze=maze, views=views, condition="collab", seats=("m", "m"), max_turns=3)
    for _ in range(3):
        d.add_reply("")  # empty replies do not end a dialogue
    assert d.end == "max_turns"
    with pytest.raises(RuntimeError, match="already ended"):
        d.add_reply("more")


def test_solo_conditions_get_one_critic_turn():
    maze, views = _maze()
    compact = dict(spaced=False)
    for condition, shown in [
        ("solo_full", [maze.render(**compact)]),
        ("solo_distributed", [v.render(**compact) for v in views]),
    ]:
        d = Dialogue.start(maze=maze, views=views, condition=condition, seats=("m",))
        first = d.chat()
        assert [m.role for m in first] == ["user"]  # one prompt: no intermediary, no prefixes
        assert all(text in first[0].content for text in shown) and not first[0].content.startswith("[user]")
        d.add_reply("(0,0) (1,0)")
        assert not d.done and "Review your final solution" in d.chat()[-1].content
        d.add_reply("(0,0) (0,1)")
        assert d.end == "answered"
        assert [m.speaker for m in d.transcript().messages] == ["user", "agent_1", "user", "agent_1"]


def test_relay_swaps_the_model_after_k_turns_and_continues_a_stored_prefix():
    maze, views = _maze()
    d = Dialogue.start(
        maze=maze, views=views, condition="collab", seats=("strong", "weak"), relay=(2, ("weak", "weak"))
    )
    assert [d.model(), (d.add_reply("a"), d.model())[1], (d.add_reply("b"), d.model())[1]] == [
        "strong",
        "weak",
        "weak",
    ]
    base = d.transcript()
    branch = Dialogue.start(maze=maze, views=views, condition="collab", seats=("weak", "weak"), prefix=base)
    assert branch.messages == list(base.messages) and branch.speaker() == "agent_1"
    with pytest.raises(ValueError, match="relay K"):
        Dialogue.start(maze=maze, views=views, condition="collab", seats=("a", "b"), relay=(50, ("b", "b")))


def test_transcript_json_round_trip_and_errors():
    maze, views = _maze()
    t = play(
        Dialogue.start(maze=maze, views=views, condition="collab", seats=("scripted:oracle",) * 2),
        {"scripted:oracle": ScriptedEngine("scripted:oracle")},
    )
    assert Transcript.from_json(t.to_json()) == t
    for bad, fragment in [
        ("{", "not valid JSON"),
        ("[]", "JSON object"),
        ('{"maze_id": "x"}', "missing field"),
        (
            '{"maze_id":"x","condition":"collab","agents":[],"end":"acti","prompt_version":"v1","messages":[],"mood":1}',
            "mood: unknown field, perhaps written by a newer gapbench",
        ),
        (
            '{"maze_id":"x","condition":"collab","agents":[],"end":"acti","prompt_version":"v1","messages":[{"speaker":"bob","text":""}]}',
            "messages\\.0\\.speaker",
        ),
    ]:
        with pytest.raises(ValueError, match=fragment):
            Transcript.from_json(bad)


@pytest.mark.parametrize("size", [4, 6, 8])
def test_oracle_pairs_succeed_on_every_maze_end_to_end(size):
    engine = ScriptedEngine("scripted:oracle")
    for seed in range(40):
        maze, views = _maze(seed, size)
        t = play(
            Dialogue.start(maze=maze, views=views, condition="collab", seats=(engine.name,) * 2),
            {engine.name: engine},
            seed,
        )
        extraction = extract_rule(t)
        g = grade(maze, list(extraction.steps))
        assert t.end == "acti" and g.outcome.success and g.outcome.optimal, (seed, t.to_json())


def test_degraded_agents_fail_often_but_not_always_and_are_seeded():
    name = "scripted:degraded:0.2"
    engine = ScriptedEngine(name)
    outcomes, ends = [], set()
    for seed in range(60):
        maze, views = _maze(seed)
        d = Dialogue.start(maze=maze, views=views, condition="collab", seats=(name, name), max_turns=30)
        t = play(d, {name: engine}, seed)
        again = play(
            Dialogue.start(maze=maze, views=views, condition="collab", seats=(name, name), max_turns=30),
            {name: engine},
            seed,
        )
        assert t == again
        outcomes.append(grade(maze, list(extract_rule(t).steps)).outcome)
        ends.add(t.end)
    success = statistics.mean(o.success for o in outcomes)
    assert 0.05 < success < 0.8
    assert {o.end for o in outcomes} >= {"goal", "wall"} and ends >= {"acti", "max_turns"}


def test_rule_extraction_of_solo_answers_and_garbage():
    maze, views = _maze()
    d = Dialogue.start(maze=maze, views=views, condition="solo_full", seats=("m",))
    path = maze.shortest_path()
    d.add_reply("Route: " + ", ".join(str(c) for c in path[:3]))
    d.add_reply("Final route: " + " -> ".join(f"({r}, {c})" for r, c in path))
    assert grade(maze, list(extract_rule(d.transcript()).steps)).outcome.success
    empty = Transcript("x", "collab", ("a", "b"), (Message("user", "hi"),), "max_turns", "v1")
    assert extract_rule(empty).error == "transcript has no agent messages"
    chatter = Transcript(
        "x", "collab", ("a", "b"), (Message("agent_1", "hmm"), Message("agent_2", "ok")), "max_turns", "v1"
    )
    assert extract_rule(chatter).steps == () and extract_rule(chatter).error


def test_rule_extraction_needs_agreement():
    msgs = (
        Message("agent_1", "Let's move down to (1, 0)."),
        Message("agent_2", "No, that is a wall. Let's go right (0, 1)."),
        Message("agent_1", "OK, sounds good."),
        Message("agent_2", "Now move down, then right."),
        Message("agent_1", "Agreed."),
    )
    ex = extract_rule(Transcript("x", "collab", ("a", "b"), msgs, "max_turns", "v1"))
    assert [(s.first, s.second) for s in ex.steps] == [("0", "1"), ("down", ""), ("right", "")]


def test_scripted_names():
    assert parse_scripted("scripted:degraded:0.3").error_rate == 0.3
    with pytest.raises(ValueError, match="scripted:oracle"):
        parse_scripted("scripted:genius")


@pytest.mark.parametrize("condition", ["solo_full", "solo_distributed"])
def test_scripted_agents_answer_solo_prompts_with_a_route(condition):
    oracle, degraded = ScriptedEngine("scripted:oracle"), ScriptedEngine("scripted:degraded:0.3")
    outcomes = []
    for seed in range(30):
        maze, views = _maze(seed)
        for engine in (oracle, degraded):
            t = play(
                Dialogue.start(maze=maze, views=views, condition=condition, seats=(engine.name,)),
                {engine.name: engine},
                seed,
            )
            g = grade(maze, list(extract_rule(t).steps))
            if engine is oracle:
                assert t.end == "answered" and g.outcome.success and g.outcome.optimal
            else:
                outcomes.append(g.outcome.success)
    assert 0 < sum(outcomes) < len(outcomes)


@pytest.mark.parametrize(
    "options",
    [
        {"templates": "v1"},
        {"map_style": "spaced", "map_labels": True},
        {"map_labels": True},
        {"layout": "merged"},
    ],
)
def test_oracle_pairs_read_every_map_form_and_layout(options):
    from gapbench.study import ProtocolConfig

    templates = ProtocolConfig(**options).load()
    engine = ScriptedEngine("scripted:oracle")
    for seed in range(10):
        maze, views = _maze(seed, 6)
        for condition, seats in [("collab", (engine.name,) * 2), ("solo_distributed", (engine.name,))]:
            d = Dialogue.start(maze=maze, views=views, condition=condition, seats=seats, templates=templates)
            t = play(d, {engine.name: engine}, seed)
            assert grade(maze, list(extract_rule(t).steps)).outcome.success, (options, seed, t.to_json())
