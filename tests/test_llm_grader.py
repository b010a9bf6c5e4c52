"""The LLM grader: strict parsing of its JSON, and grading batched through a real engine."""

import json

import pytest
import yaml

from gapbench.grading import grade
from gapbench.grading.llm import grader_request, parse_grader_output
from gapbench.grading.record import grade_transcript
from gapbench.maze import parse_maze
from gapbench.results import read_results
from gapbench.runner import run_experiment
from gapbench.transcript import Message, Transcript

MAZE = parse_maze("@ . . #\n# # . #\n. . . .\n* # # .")  # R R D D L L D


def _output(turns, scheme=None):
    return json.dumps(
        {
            "scheme": scheme
            or {"origin": 1, "orientation": "top_left", "order": "row_col", "symbols": "number_number"},
            "turns": turns,
        }
    )


def test_moves_count_and_considered_cells_do_not():
    cells = [(1, 2), (1, 3), (2, 3), (3, 3), (3, 2), (3, 1), (4, 1)]  # 1-based
    turns = [
        {"turn": i, "coordinates": list(c), "type": "move", "agent": "both"} for i, c in enumerate(cells)
    ]
    turns.insert(2, {"turn": 9, "coordinates": [2, 1], "type": "consider", "agent": "agent_1"})
    ex = parse_grader_output("Here you go:\n```json\n" + _output(turns) + "\n```")
    assert ex.error is None and ex.method == "llm" and len(ex.steps) == 7
    assert ex.detail["declared_scheme"]["origin"] == 1
    g = grade(MAZE, list(ex.steps))
    assert g.outcome.success and g.scheme.origin == 1


def test_directions_and_letters_are_accepted():
    turns = [
        {"direction": d, "type": "move"} for d in ["right", "right", "down", "down", "left", "left", "down"]
    ]
    assert grade(MAZE, list(parse_grader_output(_output(turns)).steps)).outcome.success
    letters = [{"coordinates": ["A", 2], "type": "move"}, {"coordinates": ["A", 3], "type": "move"}]
    assert [(s.first, s.second) for s in parse_grader_output(_output(letters)).steps] == [
        ("A", "2"),
        ("A", "3"),
    ]


def test_malformed_grader_output_is_an_error_not_a_crash():
    for text, fragment in [
        ("I think they won.", "no YAML or JSON object"),
        ("{not json}", "does not follow the schema"),
        (json.dumps({"turns": []}), "does not follow the schema"),  # no scheme
        (_output([{"coordinates": [1, 2], "type": "jump"}]), "does not follow the schema"),
    ]:
        ex = parse_grader_output(text)
        assert ex.steps == () and fragment in ex.error, text
    junk = parse_grader_output(
        _output([{"coordinates": ["xx", 2], "type": "move"}, {"coordinates": [1, 2], "type": "move"}])
    )
    assert len(junk.steps) == 1  # a malformed cell is skipped, the rest counts


def test_a_yaml_reply_with_json_style_route_entries_is_read_whole():
    # how frontier models often write the schema: YAML keys, each route entry a JSON flow mapping
    reply = (
        "maze_origin: 1\nmaze_orientation: top_left\ncoordinates_orientation: row_col\n"
        "coordinates_symbols: number_number\nroute:\n"
        '  - {"turn": 0, "coordinates": [[1, 2]], "turn_type": "consider", "agent": "agent_1"}\n'
        '  - {"turn": 1, "coordinates": [[1, 2], [1, 3]], "turn_type": "move", "agent": "both"}\n'
    )
    ex = parse_grader_output(reply)
    assert ex.error is None and [(s.first, s.second) for s in ex.steps] == [("1", "2"), ("1", "3")]
    assert ex.message_index == (1, 1) and ex.detail["declared_scheme"]["origin"] == 1


# start (0,0), goal (2,2): down leads on, right is a dead end
XY_MAZE = parse_maze("@ . #\n. # .\n. . *")


@pytest.mark.parametrize(
    "convention",
    [
        "We use 0-based (x, y) coordinates.",
        # no origin stated: a written 0 rules out the 1-based readings (off the grid, so not theirs)
        "We use (x, y) coordinates.",
    ],
)
def test_an_llm_grade_is_checked_against_the_conventions_the_agents_stated(convention):
    """The grader model misdeclares (row, col) for agents who said they use (x, y): the agents' own
    words decide the reading, so the dead-end move right is not read as the move down."""
    transcript = Transcript(
        "m",
        "collab",
        ("a", "a"),
        (
            Message("agent_1", f"{convention} Let's go to (1,0)."),
            Message("agent_2", "Agreed, (1,0)."),
        ),
        "acti",
        "v2",
    )
    reply = yaml.safe_dump(
        {
            "maze_origin": 0,
            "maze_orientation": "top_left",
            "coordinates_orientation": "row_col",
            "coordinates_symbols": "number_number",
            "route": [
                {"turn": 0, "coordinates": [[1, 0]], "turn_type": "consider", "agent": "agent_1"},
                {"turn": 1, "coordinates": [[1, 0]], "turn_type": "move", "agent": "both"},
            ],
        }
    )
    g = grade_transcript(XY_MAZE, transcript, parse_grader_output(reply))
    assert tuple(g.cells[-1]) == (0, 1) and g.weighted < 0  # right, as the agents meant it
    bare = grade(XY_MAZE, list(parse_grader_output(reply).steps))
    assert bare.outcome.final == (1, 0) and bare.outcome.weighted > 0  # without their words: down


def test_grader_request_shows_the_agents_messages_only():
    t = Transcript(
        "m",
        "collab",
        ("a", "a"),
        (
            Message("user", "SECRET MAP", audience="agent_1"),
            Message("agent_1", "go right"),
            Message("agent_2", "ok"),
        ),
        "acti",
        "v1",
    )
    request = grader_request(t, "grade/x", max_tokens=300)
    body = request.messages[-1].content
    assert "go right" in body and "SECRET MAP" not in body and "agent_2" in body
    assert request.sampling.max_tokens == 300 and request.sampling.temperature == 0.0


def test_a_run_with_an_llm_grader_records_both_extractions_and_their_agreement(tmp_path, tiny_model_dir):
    config = tmp_path / "study.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "output_dir": str(tmp_path / "run"),
                "models": {
                    "oracle": "scripted:oracle",
                    "tiny": {"model": str(tiny_model_dir), "options": {"dtype": "float32"}},
                },
                "mazes": [{"size": 4, "count": 3, "seed": 0}],
                "conditions": ["collab"],
                "pairs": [["oracle", "oracle"]],
                "max_turns": 20,
                "grader": {"model": "tiny", "max_tokens": 64},
            }
        )
    )
    run_experiment(config, progress=False)
    records = read_results(tmp_path / "run")
    assert len(records) == 3
    for r in records:
        assert set(r.grades) == {"rule", "llm"}
        # A random tiny model writes no valid grader JSON: the error is recorded and the rule-based
        # grade counts; the agreement is still reported.
        assert r.grades["llm"].error and r.primary == "rule"
        assert r.grades["rule"].success and r.grader_agreement is False
