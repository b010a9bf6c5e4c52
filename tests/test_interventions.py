"""Beyond the study: interventions (prompt overlays) as a factor, the referee condition, and their report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gapbench.agents import ScriptedAgent, interventions_in
from gapbench.engines.base import ChatMessage
from gapbench.maze import parse_maze, split_views
from gapbench.protocol import Dialogue, chat_for, load_templates
from gapbench.protocol.interventions import (
    REFEREE_CLAUSE,
    load_overlay,
    parse_tag,
    shipped_overlays,
)
from gapbench.referee import Referee
from gapbench.report import build_report
from gapbench.results import read_results
from gapbench.rundir import run_hash
from gapbench.study import load_config, load_mazes, plan

GAPBENCH = [sys.executable, "-m", "gapbench.cli"]
ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ["coordinate_convention", "grid_labels", "share_map_first", "state_position", "structured_moves"]

# Start top-left, goal bottom-right; (0,1) is open, (1,0) a wall.
MAZE = parse_maze("@.#\n#..\n#.*")


def write_study(tmp_path: Path, **overrides) -> Path:
    config = {
        "name": "iv",
        "output_dir": str(tmp_path / "run"),
        "models": {"d": "scripted:degraded:0.2"},
        "mazes": [{"size": 5, "count": 4, "seed": 2}],
        "conditions": ["solo_full", "collab", "referee"],
        "interventions": ["none", "state_position"],
        "max_turns": 24,
    }
    config.update(overrides)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*GAPBENCH, *args], capture_output=True, text=True, cwd=cwd or ROOT, timeout=600)


# ------------------------------------------------------------------------------------ overlays
def test_the_five_overlays_ship_and_none_changes_nothing(tmp_path):
    assert shipped_overlays() == SHIPPED
    config, _ = load_config(write_study(tmp_path))
    assert config.templates_for("none") == config.protocol.load() == load_templates("v2")


@pytest.mark.parametrize(
    "name, clause",
    [
        ("coordinate_convention", "agree with the other agent on one coordinate system"),
        ("state_position", "In every message, state your current position on the map."),
        ("share_map_first", "In your first message, describe your whole map to the other agent"),
        ("grid_labels", "The rows and columns of your map are numbered."),
        ("structured_moves", "MOVE: up\nMOVE: down\nMOVE: left\nMOVE: right\nAGREE\nDISAGREE"),
    ],
)
def test_each_overlay_renders_its_clause_before_the_closing_line(tmp_path, name, clause):
    config, _ = load_config(write_study(tmp_path, interventions=["none", name]))
    item = load_mazes(config, tmp_path)[0]
    plain = Dialogue.start(
        maze=item.maze,
        views=item.views,
        condition="collab",
        seats=("a", "a"),
        templates=config.templates_for("none"),
    )
    over = Dialogue.start(
        maze=item.maze,
        views=item.views,
        condition="collab",
        seats=("a", "a"),
        templates=config.templates_for(name),
    )
    text, base = over.chat()[1].content, plain.chat()[1].content
    full = load_overlay(name).clauses["collab"]
    assert clause in full and full not in base
    assert text.endswith("\n\n" + full + "\n\nBegin now.")
    if name == "grid_labels":  # drawn with row and column numbers, the map_labels rendering option
        compact, labelled = (
            item.views[0].render(spaced=False),
            item.views[0].render(spaced=False, labels=True),
        )
        assert labelled in text and compact in base and compact not in text
        base = base.replace(compact, labelled)
    assert text.replace("\n\n" + full, "", 1) == base  # the clause and nothing else
    # Solo prompts are never overlaid: solo is the baseline of the gap.
    assert config.templates_for(name).solo_full == config.protocol.load().solo_full


def test_the_referee_condition_tells_the_agents_about_the_referee(tmp_path):
    config, _ = load_config(write_study(tmp_path))
    assert REFEREE_CLAUSE in config.templates_for("none", referee=True).collab
    assert REFEREE_CLAUSE not in config.templates_for("none").collab
    out = cli(
        "prompts",
        "show",
        str(write_study(tmp_path)),
        "--condition",
        "referee",
        "--intervention",
        "state_position",
        "--agent",
        "1",
    )
    assert out.returncode == 0, out.stderr
    assert (
        "intervention state_position" in out.stdout
        and REFEREE_CLAUSE in out.stdout
        and "state your current position" in out.stdout
    )


def test_a_user_overlay_is_named_by_its_file_and_versioned_by_its_content(tmp_path):
    overlay = tmp_path / "overlays" / "be_brief.yaml"
    overlay.parent.mkdir()
    overlay.write_text("collab: |-\n  Keep every message under {max_turns} words.\n")
    path = write_study(tmp_path, interventions=["none", "overlays/be_brief.yaml"])
    config, _ = load_config(path)
    assert "Keep every message under 50 words." in config.templates_for(config.interventions[1]).fill(
        "collab", map="@*", max_turns=50
    )
    mazes = [m.id for m in load_mazes(config, tmp_path)]
    specs = plan(config, mazes)
    assert {s.intervention for s in specs if s.condition == "collab"} == {"none", str(overlay)}
    before = run_hash(config, mazes)
    overlay.write_text("collab: |-\n  Keep every message short.\n")
    assert run_hash(load_config(path)[0], mazes) != before  # an edited file never mixes into old results


def test_no_intervention_keeps_the_ids_and_hash_a_study_had_before_the_factor(tmp_path):
    path = write_study(tmp_path, interventions=["none"], conditions=["solo_full", "collab"])
    config, _ = load_config(path)
    mazes = [m.id for m in load_mazes(config, tmp_path)]
    data = yaml.safe_load(path.read_text())
    del data["interventions"]
    path.write_text(yaml.safe_dump(data))
    same, _ = load_config(path)
    assert [s.id for s in plan(config, mazes)] == [s.id for s in plan(same, mazes)]
    assert run_hash(config, mazes) == run_hash(same, mazes)
    crossed, _ = load_config(
        write_study(tmp_path, interventions=["none", "grid_labels"], conditions=["solo_full", "collab"])
    )
    ids = [s.id for s in plan(crossed, mazes)]
    assert len(ids) == len(set(ids)) == 3 * len(mazes) and run_hash(crossed, mazes) != run_hash(config, mazes)
    assert set(ids) > {s.id for s in plan(config, mazes)}


@pytest.mark.parametrize(
    "overrides, files, expected",
    [
        (
            {"interventions": ["none", "politeness"]},
            {},
            "interventions: Value error, unknown intervention 'politeness'; use none, coordinate_convention",
        ),
        (
            {"interventions": ["referee"]},
            {},
            "referee is a collaboration condition, not a prompt overlay (solo conditions have no moves to referee); add `referee` to conditions",
        ),
        (
            {"interventions": ["none", "pos.yaml"]},
            {"pos.yaml": "collab: |-\n  State your {position}.\n"},
            "pos.yaml (on templates v2): collab: unknown placeholder {position}; use only",
        ),
        (
            {"interventions": ["none", "pos.yaml"]},
            {"pos.yaml": "collab: |-\n  Mind the brace {\n"},
            "pos.yaml (on templates v2): collab: ",
        ),
        (
            {"interventions": ["none", "pos.yaml"]},
            {"pos.yaml": "solo_full: |-\n  Plan well.\n"},
            "pos.yaml: solo_full: interventions change collaboration prompts only (solo runs without them); put the clause under collab or system",
        ),
        (
            {"interventions": ["none", "structured_moves"], "protocol": "tags.yaml"},
            {"tags.yaml": "TAGS"},
            "interventions: structured_moves: templates sha256:",
        ),
        (
            {"interventions": ["none", "state_position"], "conditions": ["solo_full"]},
            {},
            "interventions: they change collaboration prompts, but conditions have no collab or referee",
        ),
    ],
)
def test_bad_interventions_fail_at_dry_run_naming_the_field_and_the_fix(tmp_path, overrides, files, expected):
    for name, text in files.items():
        if text == "TAGS":  # a user template that already imposes its own tag lines
            v2 = (ROOT / "gapbench/protocol/templates/v2.yaml").read_text()
            text = v2.replace(
                "  Begin now.\n\nsolo_full",
                "  End each message with a line MOVE: <direction>.\n\n  Begin now.\n\nsolo_full",
            )
        (tmp_path / name).write_text(text)
    out = cli("run", str(write_study(tmp_path, **overrides)), "--dry-run")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert expected in out.stderr, out.stderr
    assert not (tmp_path / "run").exists()


# -------------------------------------------------------------------------------- the referee
def _dialogue(structured: bool, maze=MAZE) -> Dialogue:
    return Dialogue.start(
        maze=maze,
        views=split_views(maze, seed=0),
        condition="collab",
        seats=("a", "a"),
        max_turns=20,
        templates=load_templates("v2"),
        environment=Referee(maze, structured=structured),
    )


def test_parse_tag_reads_the_last_line_and_malformed_lines_are_no_move():
    assert (
        parse_tag("I think right.\nMOVE: right") == parse_tag("**MOVE: Right**")
        and parse_tag("MOVE: right").direction == "right"
    )
    assert parse_tag("ok\nAGREE").kind == "agree" and parse_tag("no\n`DISAGREE`").kind == "disagree"
    for bad in ("MOVE: upward", "MOVE: up, then left", "Move up", "MOVE:", "MOVE: up\nthanks", "", "AGREE!!"):
        assert parse_tag(bad) is None, bad


def test_the_referee_executes_a_structured_move_once_both_agree_and_tells_both_agents():
    d = _dialogue(structured=True)
    d.add_reply("Let us go right.\nMOVE: right")
    assert len(d.messages) == 3  # proposed, not yet agreed: no note
    d.add_reply("Fine by me.\nAGREE")
    note = d.messages[-1]
    assert note.speaker == "user" and note.audience == "all"
    assert (
        note.text
        == "Both agreed: right. You are now at row 1, column 2 (rows and columns counted from 1 at the top-left)."
    )
    for agent in ("agent_1", "agent_2"):
        assert chat_for(d.messages, agent, d.templates)[-1].content == "[user]: " + note.text
    d.add_reply("AGREE")  # nothing on the table any more: agreeing again executes nothing
    d.add_reply("MOVE: down\nnot a tag line")  # malformed: recorded as no move
    d.add_reply("AGREE")
    assert d.environment.moves == ["right"] and d.environment.tags == [
        "MOVE: right",
        "AGREE",
        "AGREE",
        None,
        "AGREE",
    ]
    assert d.end == "in_progress"


def test_a_wall_hit_ends_the_game():
    d = _dialogue(structured=True)
    d.add_reply("MOVE: down")
    d.add_reply("MOVE: down")  # the same move from both: agreed
    assert (
        d.messages[-1].text
        == "Both agreed: down. Moving down runs into a wall at row 2, column 1. The game is over."
    )
    assert d.done and d.end == "wall"
    with pytest.raises(RuntimeError):
        d.add_reply("MOVE: right")
    t = d.transcript()
    assert t.meta["referee"] == {
        "moves": ["down"],
        "cells": [[0, 0]],
        "end": "wall",
        "tags": ["MOVE: down", "MOVE: down"],
    }


def test_the_goal_ends_the_game_and_free_form_agreement_comes_from_the_grader():
    d = _dialogue(structured=False)
    d.add_reply("I propose we move right.")
    d.add_reply("Agreed, right. Then I propose down.")
    assert d.messages[-1].text.startswith("Both agreed: right. You are now at row 1, column 2")
    d.add_reply("Yes, down to (1, 1).")
    assert "You are now at row 2, column 2" in d.messages[-1].text
    d.add_reply("Let's move right to (1, 2).")
    d.add_reply("I disagree.")  # rejected: nothing happens
    assert d.messages[-1].speaker == "agent_1"
    d.add_reply("Then down to (2, 1)?")
    d.add_reply("OK, down.")
    d.add_reply("Now right to (2, 2), the goal.")
    d.add_reply("Agreed.")
    assert (
        d.messages[-1].text
        == "Both agreed: right. You reached the goal at row 3, column 3. The game is over."
    )
    assert d.end == "goal" and d.environment.cells == [(0, 0), (0, 1), (1, 1), (2, 1), (2, 2)]


def test_a_cell_that_is_not_next_to_the_position_is_announced_and_not_executed():
    d = _dialogue(structured=False, maze=parse_maze("@....\n.....\n.....\n.....\n....*"))
    d.add_reply("Let's go straight to (3, 3).")  # not next to the start under any scheme
    d.add_reply("Agreed, (3, 3).")
    assert (
        d.messages[-1].text
        == "The agreed cell (3, 3) is not next to your position, row 1, column 1: it is not executed."
    )
    assert d.environment.moves == [] and not d.done


# ---------------------------------------------------------------------------- scripted agents
def _chat(instructions: str, partner: str) -> list[ChatMessage]:
    return [
        ChatMessage("system", "s"),
        ChatMessage("user", instructions),
        ChatMessage("assistant", "Here is my map:\n@ . #\n# . .\n# . *"),
        ChatMessage("user", "[other agent]: Here is my map:\n@ . #\n# . .\n# . *\n" + partner),
    ]


def test_the_degraded_agent_agrees_blindly_without_referee_and_disagrees_on_a_wall_under_it():
    templates = load_templates("v2")
    plain = templates.fill("collab", map="@.#\n#..\n#.*")
    refereed = templates.fill("collab", map="@.#\n#..\n#.*") + "\n\n" + REFEREE_CLAUSE
    assert interventions_in(refereed) == {"referee"} and interventions_in(plain) == set()
    agent = ScriptedAgent(0.2)
    assert "Agreed: we move down to (1, 0)." in agent.reply(
        _chat(plain, "I propose we move down to (1, 0)."), seed=1
    )
    assert "I disagree: (1, 0) is a wall" in agent.reply(
        _chat(refereed, "I propose we move down to (1, 0)."), seed=1
    )


def test_scripted_agents_end_every_structured_message_with_one_tag_line(tmp_path):
    config, _ = load_config(write_study(tmp_path, interventions=["structured_moves"], conditions=["collab"]))
    text = config.templates_for("structured_moves").fill("collab", map="@.#\n#..\n#.*")
    assert interventions_in(text) == {"structured_moves"}
    oracle = ScriptedAgent()
    assert (
        parse_tag(oracle.reply(_chat(text, "I propose we move right to (0, 1).\nMOVE: right"), seed=0)).kind
        == "agree"
    )
    assert parse_tag(
        oracle.reply(_chat(text, "I propose we move down to (1, 0).\nMOVE: down"), seed=0)
    ) == parse_tag("MOVE: right")


# ------------------------------------------------------------------------------ runs and report
def test_records_carry_the_intervention_and_the_referee_grades_the_route(tmp_path):
    out = cli("run", str(write_study(tmp_path)), "--no-progress")
    assert out.returncode == 0, out.stderr
    records = read_results(tmp_path / "run")
    refereed = [r.referee_agreement for r in records if r.condition == "referee"]
    assert (
        f"rule grader vs referee: the same route in {sum(refereed)} of {len(refereed)} refereed dialogues"
        in out.stdout
    )
    seen = {(r.condition, r.intervention) for r in records}
    assert seen == {
        ("solo_full", "none"),
        ("collab", "none"),
        ("collab", "state_position"),
        ("referee", "none"),
        ("referee", "state_position"),
    }
    lines = [
        json.loads(line)
        for line in (tmp_path / "run/results/shard-0000-of-0001.jsonl").read_text().splitlines()
    ]
    assert all(line["intervention"] in ("none", "state_position") for line in lines)
    for r in records:
        if r.condition == "referee":
            meta = r.transcript.meta["referee"]
            assert (
                r.primary == "referee"
                and r.grade.cells == meta["cells"]
                and set(r.grades) == {"rule", "referee"}
            )
            assert r.referee_agreement == (
                r.grades["rule"].cells == meta["cells"] and r.grades["rule"].end == r.grade.end
            )
            assert r.transcript.end in ("goal", "wall", "max_turns", "acti")
            assert (r.transcript.end == "goal") == r.grade.success
        else:
            assert r.referee_agreement is None and "referee" not in r.transcript.meta
        said = " ".join(m.text for m in r.transcript.agent_messages)
        assert ("I am at (" in said) == (r.intervention == "state_position")
    assert any(r.transcript.messages[-1].speaker == "user" for r in records if r.condition == "referee")


def test_the_example_closes_part_of_the_gap_with_cis_and_reports_referee_agreement(tmp_path):
    config = yaml.safe_load((ROOT / "examples/interventions.yaml").read_text())
    config["output_dir"] = str(tmp_path / "run")
    path = tmp_path / "interventions.yaml"
    path.write_text(yaml.safe_dump(config))
    out = cli("run", str(path), "--no-progress")
    assert out.returncode == 0, out.stderr
    build_report([tmp_path / "run"], tmp_path / "report")
    report = json.loads((tmp_path / "report/report.json").read_text())
    rows = {(r["condition"], r["intervention"]): r for r in report["interventions"]}
    assert set(rows) == {(c, i) for c in ("collab", "referee") for i in ["none", *SHIPPED]}
    assert rows[("collab", "none")]["closed"] is None  # the baseline closes nothing by definition
    for key in [("collab", "state_position"), ("referee", "none")]:  # the known truth of the scripted agents
        closed = rows[key]["closed"]
        assert (
            0 < closed["low"] < closed["mean"] < closed["high"]
            and closed["mazes"] == config["mazes"][0]["count"]
        )
    assert all(r["referee_agreement"] is None for (c, _), r in rows.items() if c == "collab")
    assert all(0 < r["referee_agreement"]["mean"] <= 1 for (c, _), r in rows.items() if c == "referee")
    assert (
        rows[("referee", "none")]["disagreements"] > rows[("collab", "none")]["disagreements"] == 0
    )  # blind agreement turned careful
    md = (tmp_path / "report/report.md").read_text()
    assert "## Interventions and the referee" in md and "38.3% \u00b1 14.1%" in md
    line = next(x for x in md.splitlines() if "| collab | state_position |" in x)
    closed = rows[("collab", "state_position")]["closed"]
    assert f"| {closed['mean']:.0%} [{closed['low']:.0%}, {closed['high']:.0%}] |" in line
    # The study's own tables keep to the dialogues without intervention.
    homogeneous = report["homogeneous"][0]
    assert homogeneous["collab"]["weighted"]["n"] == config["mazes"][0]["count"]


@pytest.mark.slow
def test_smollm2_runs_a_referee_study_end_to_end(tmp_path, smollm2_dir):
    path = write_study(
        tmp_path,
        models={"smol": {"model": str(smollm2_dir), "options": {"dtype": "bfloat16", "device": "cpu"}}},
        mazes=[{"size": 4, "count": 2, "seed": 0}],
        conditions=["referee"],
        interventions=["none", "structured_moves"],
        max_turns=4,
        sampling={"max_tokens": 48},
    )
    out = cli("run", str(path), "--no-progress")
    assert out.returncode == 0, out.stderr
    records = read_results(tmp_path / "run")
    assert len(records) == 4 and {r.intervention for r in records} == {"none", "structured_moves"}
    for r in records:
        assert (
            r.condition == "referee"
            and r.primary == "referee"
            and r.transcript.end in ("goal", "wall", "max_turns", "acti")
        )
        assert r.referee_agreement is not None and all(
            m.completion_tokens for m in r.transcript.agent_messages
        )
        if r.intervention == "structured_moves":
            assert len(r.transcript.meta["referee"]["tags"]) == len(r.transcript.agent_messages)
    report = cli("report", str(tmp_path / "run"), "--out", str(tmp_path / "report"))
    assert report.returncode == 0, report.stderr
    rows = json.loads((tmp_path / "report/report.json").read_text())["interventions"]
    assert {(r["condition"], r["intervention"]) for r in rows} == {
        ("referee", "none"),
        ("referee", "structured_moves"),
    }
    assert all(r["referee_agreement"]["n"] == 2 for r in rows)


def test_paired_ratio_recovers_a_known_share_of_the_gap_and_refuses_no_gap():
    from gapbench.stats import paired_ratio

    mazes = [f"m{i}" for i in range(12)]
    solo = {m: [1.0] for m in mazes}
    base = {m: [0.2 + 0.05 * (i % 3)] for i, m in enumerate(mazes)}
    half = {m: [base[m][0] + 0.5 * (1.0 - base[m][0])] for m in mazes}  # closes exactly half on every maze
    est = paired_ratio([half, base, solo], [1, -1, 0], [0, -1, 1])
    assert (
        est is not None
        and est.mean == pytest.approx(0.5)
        and est.low == pytest.approx(0.5)
        and est.high == pytest.approx(0.5)
    )
    assert est.mazes == 12 and est.n == 36
    noisy = {m: [half[m][0] + (0.1 if i % 2 else -0.1)] for i, m in enumerate(mazes)}
    wide = paired_ratio([noisy, base, solo], [1, -1, 0], [0, -1, 1])
    assert wide.low < wide.mean < wide.high
    assert paired_ratio([half, solo, solo], [1, -1, 0], [0, -1, 1]) is None  # no gap to close
    assert paired_ratio([half, base, {"elsewhere": [1.0]}], [1, -1, 0], [0, -1, 1]) is None  # no shared maze
