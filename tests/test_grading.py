import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gapbench.grading import ALL_SCHEMES, Scheme, Step, grade, interpret, parse_route, render_route, walk
from gapbench.maze import MOVES, MazeParams, generate, parse_maze

SYMBOLS = ["number_number", "letter_number", "number_letter", "letter_letter"]


@st.composite
def walks(draw, max_size=10):
    """A random walk of adjacent on-grid cells (walls ignored: round trips test the notation)."""
    size = draw(st.integers(2, max_size))
    cell = (draw(st.integers(0, size - 1)), draw(st.integers(0, size - 1)))
    cells = [cell]
    for _ in range(draw(st.integers(0, 25))):
        options = [(cell[0] + dr, cell[1] + dc) for dr, dc in MOVES.values()]
        options = [c for c in options if 0 <= c[0] < size and 0 <= c[1] < size and c != cells[-1]]
        cell = draw(st.sampled_from(options))
        cells.append(cell)
    return size, cells


@settings(max_examples=300, deadline=None)
@given(walk=walks(), scheme=st.sampled_from(ALL_SCHEMES), symbols=st.sampled_from(SYMBOLS))
def test_any_route_in_any_coordinate_scheme_parses_back_to_the_same_cells(walk, scheme, symbols):
    size, cells = walk
    text = render_route(cells, scheme, size, symbols)
    steps = parse_route(text)
    assert all(s.symbols == symbols for s in steps)
    assert interpret(steps, scheme, cells[0], size) == cells


@settings(max_examples=200, deadline=None)
@given(walk=walks(), style=st.sampled_from(["words", "letters", "compass"]))
def test_any_route_in_directions_parses_back(walk, style):
    size, cells = walk
    steps = parse_route(render_route(cells, ALL_SCHEMES[0], size, "directions", style))
    assert interpret(steps, ALL_SCHEMES[0], cells[0], size) == cells


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 10**5), scheme=st.sampled_from(ALL_SCHEMES), symbols=st.sampled_from(SYMBOLS))
def test_grading_finds_the_optimal_route_whatever_scheme_it_was_written_in(seed, scheme, symbols):
    maze = generate(MazeParams(size=6), seed=seed)
    path = maze.shortest_path()
    g = grade(maze, parse_route(render_route(path, scheme, maze.size, symbols)))
    assert g.outcome.success and g.outcome.optimal and g.outcome.weighted == 1.0
    assert g.outcome.moves == len(path) - 1


MAZE = parse_maze("""
@ . . #
# # . #
. . . .
* # # .
""")  # start (0,0), goal (3,0); optimal 7 moves: R R D D L L D


def test_walk_outcomes():
    path = MAZE.shortest_path()
    assert len(path) - 1 == 7
    win = walk(MAZE, path)
    assert (win.success, win.weighted, win.moves, win.optimal, win.end) == (True, 1.0, 7, True, "goal")
    into_wall = walk(MAZE, [(0, 0), (0, 1), (1, 1)])
    assert (into_wall.success, into_wall.final, into_wall.end) == (False, (0, 1), "wall")
    assert into_wall.weighted == pytest.approx(1 - 6 / 7)
    off_grid = walk(MAZE, [(0, 0), (-1, 0)])
    assert (off_grid.final, off_grid.end, off_grid.weighted) == ((0, 0), "off_grid", 0.0)
    jump = walk(MAZE, [(0, 0), (0, 2)])
    assert (jump.final, jump.end) == ((0, 0), "not_adjacent")
    stop = walk(MAZE, path[:3])
    assert (stop.success, stop.end, stop.weighted) == (False, "route_ended", pytest.approx(1 - 5 / 7))
    detour = walk(MAZE, [(0, 0), (0, 1), (0, 2), (1, 2), (2, 2), (2, 3), (3, 3)])
    assert detour.weighted == pytest.approx(1 - 5 / 7)  # shortest-path distance, not Manhattan
    longer = walk(MAZE, path[:3] + [(0, 1), (0, 0)] + path[1:])
    assert longer.success and longer.optimal is False and longer.moves == 11


def test_weighted_outcome_is_negative_when_ending_further_away():
    maze = parse_maze(". @ . *\n# # # #\n# # # #\n# # # #")
    away = walk(maze, [(0, 1), (0, 0)])
    assert away.weighted == pytest.approx(1 - 3 / 2)


def test_most_favourable_interpretation_wins_and_is_recorded():
    # 1-based, bottom-left origin, col-row ("x, y") description of R R D D L L D.
    text = "(2, 4), (3, 4), (3, 3), (3, 2), (2, 2), (1, 2), (1, 1)"
    g = grade(MAZE, parse_route(text))
    assert g.outcome.success
    assert g.scheme == Scheme(origin=1, corner="bottom_left", order="col_row")
    assert g.symbols == "number_number"


@pytest.mark.parametrize(
    "text",
    [
        "right, right, down, down, left, left, down",
        "R R D D L L D",
        "RRDDLLD",
        "east, east, south, south, west, west, south",
        "r0c1 r0c2 r1c2 r2c2 r2c1 r2c0 r3c0",
        "[0, 1] [0, 2] [1, 2] [2, 2] [2, 1] [2, 0] [3, 0]",
        "B1 C1 C2 C3 B3 A3 A4",  # letter = column, 1-based row
        "move right to (0,1), then right to (0,2), down (1,2), down (2,2), left (2,1), left (2,0), down (3,0)",
    ],
)
def test_many_ways_of_writing_the_same_route(text):
    g = grade(MAZE, parse_route(text))
    assert g.outcome.success and g.outcome.optimal, text


def test_empty_and_garbage_routes_score_zero():
    for text in ["", "no idea", "🙂" * 50, "(99, 99)", "\x00\x01"]:
        g = grade(MAZE, parse_route(text))
        assert not g.outcome.success and g.outcome.weighted <= 0.0


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=300))
def test_normaliser_and_validator_never_crash_on_any_string(text):
    g = grade(MAZE, parse_route(text))
    assert -10 < g.outcome.weighted <= 1.0


@settings(max_examples=300, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(
            st.sampled_from(["0", "1", "5", "12", "99", "A", "Z", "up", "left"]),
            st.sampled_from(["", "0", "3", "B", "77"]),
        ),
        max_size=30,
    )
)
def test_grading_never_crashes_on_any_valid_steps(pairs):
    steps = []
    for first, second in pairs:
        try:
            steps.append(Step(first, second))
        except ValueError:
            assert (second == "") != (first in MOVES)  # only malformed steps are refused
    g = grade(MAZE, steps)
    assert g.outcome.moves <= len(steps)


# ------------------------------------------------------------- dialogue acts: the examples
from gapbench.grading import extract_rule, grade_transcript  # noqa: E402
from gapbench.grading.llm import parse_grader_output  # noqa: E402
from gapbench.grading.routes import find_mentions  # noqa: E402
from gapbench.transcript import Message, Transcript  # noqa: E402

OPEN = parse_maze("@....\n.....\n.....\n.....\n....*")


def executed(*texts, condition="collab"):
    speakers = ("agent_1", "agent_2") if condition == "collab" else ("agent_1", "agent_1")
    messages = tuple(Message(speakers[i % 2], t) for i, t in enumerate(texts))
    return [
        s.as_list()
        for s in extract_rule(Transcript("m", condition, ("a", "a"), messages, "acti", "v2")).steps
    ]


@pytest.mark.parametrize(
    "dialogue, route",
    [
        (["Let's go down. So, down?", "Yes."], [["down"]]),  # one proposal, stated twice
        (["I propose (2,2), because (2,3) looks open", "Agreed"], [["2", "2"]]),  # a reason is not a move
        (
            [
                "Shall we take (3,1)? Do you agree?",
                "I agree that we are at (2,1). But (3,1) is a wall on my map.",
            ],
            [],
        ),
        (["We can't go left to (1,0), that's a wall", "Right, so what now?"], []),  # negated
        (["Moving right now!", "We're at (1,3) now."], [["right"]]),  # arrival reported: agreed
        (["Let’s go down.", "OK"], [["down"]]),  # curly apostrophe
        (["Let's backtrack up.", "Confirmed, moving up."], [["up"]]),
        (["We are at (2,2). Let's move left.", "Sounds good"], [["left"]]),  # a position claim is not a move
        (["Down?", "Down."], [["down"]]),  # no verb needed
        (["Down?", "👍"], [["down"]]),  # emoji acceptance
        (["Down twice?", "ok"], [["down"], ["down"]]),
        (
            ["Plan: right, right, down. Agree?", "Agreed, let's do all three."],
            [["right"], ["right"], ["down"]],
        ),
        (["Plan D: go right", "ok"], [["right"]]),  # "Plan D" is not a move
        (["head to the bottom-right corner", "ok"], []),
        (["Down or right?", "Yes"], []),  # alternatives are not a concrete proposal
        (["If we went left we'd hit a wall. Down?", "Sure."], [["down"]]),
        (
            ["Down?", "Down.", "Moved down. Right?", "Right."],
            [["down"], ["right"]],
        ),  # narration confirms, adds nothing
        (["→ → ↓", "Agreed: → → ↓"], [["right"], ["right"], ["down"]]),
        (["Move to （1，0）?", "好的, （1，0）."], [["1", "0"]]),  # full-width punctuation
        (["<think>maybe right</think>Down?", "Down."], [["down"]]),  # reasoning is not what was said
    ],
)
def test_moves_execute_only_when_both_agents_agree(dialogue, route):
    assert executed(*dialogue) == route


@pytest.mark.parametrize(
    "dialogue, route",
    [
        (["(0,1), (0,3) open. R×5, D → goal. ok?", "ok"], [["right"]] * 5 + [["down"]]),  # "×" counts
        (["Plan: → three times. Agreed?", "Okay, all of it: → three times."], [["right"]] * 3),
        (["Plan: 2x ↓. Agree?", "sure — ↓ ×2."], [["down"], ["down"]]),
        (["Right, then down. Agree on both?", "Agree on both."], [["right"], ["down"]]),
        (["Right?", "We both need to be sure first."], []),  # "to be sure", "we both" do not agree
        (["Proposal: (0,1).", "I concur: right."], [["0", "1"]]),
        (["Right?", "I'd hold off on right."], []),
        # a position restated in another form is still a claim; narration confirms the move
        (
            ["Right?", "Moving right now!", "Done, we're at (0,1) — row 0, column 1.", "Good."],
            [["right"]],
        ),
        (["I think we should go down now to go around the walls.", "OK."], [["down"]]),  # not a wall report
        (["We should now be at (0,1).", "Yes."], []),  # a stated position, not a move
        (["(0,1) is '?' on my map.", "OK."], []),  # a described cell
        (["(1,0) is probably open.", "Agreed."], []),
        (["Row 2 is open, and so is (1,1).", "Agreed."], []),
        (["(1,0) is open, and (2,0) too.", "Agreed."], []),
        (["r1c0-r1c2 are hidden for me.", "OK."], []),  # a range, described
        (["Goal: (4,4).", "Agreed."], []),
        (["(1,0) is the cell directly below us.", "Yes."], []),
        (
            [
                "Down to (1,0) then. Row 1 is open on my map: right twice.",
                "Agreed: down to (1,0), then right twice.",
            ],
            [["1", "0"], ["right"], ["right"]],
        ),  # both proposals of the message, restated as one plan
        (
            [
                "Then down to (1,0). What about (2,0)? It's hidden for me.",
                "Agreed, down to (1,0). (2,0) is open.",
            ],
            [["1", "0"]],
        ),  # a question about a cell the asker cannot see is a question about the map
        (
            ["Row 1 is open on my map all the way: (1,0), (1,1).", "OK."],
            [],
        ),  # cells listed after a description
        (
            ["How about ➡️?", "👍 ➡️ Let's go ➡️!", "👍 ➡️ Next: ➡️", "👍 ➡️ Next: ⬇️", "👍 ⬇️"],
            [["right"], ["right"], ["right"], ["down"]],
        ),  # a marked proposal after the restatement is the next move
        (
            [
                "Counting from 1 as you do: route (1,1) → (1,2) → (2,2).",
                "I trust you — agreed on the whole route.",
            ],
            [["1", "1"], ["1", "2"], ["2", "2"]],
        ),  # "as you do:" is no reason clause; the agreement opens its clause
        (["Then right twice: (0,1), (0,2). Agree?", "Right twice — agreed."], [["0", "1"], ["0", "2"]]),
        (
            [
                "| Move | From | To |\n|---|---|---|\n| down | (0,0) | (1,0) |\n| down | (1,0) | (2,0) |\n\nAgree on these two?",
                "Agreed on both downs.",
            ],
            [["1", "0"], ["2", "0"]],
        ),  # a table row of a move, its from cell and its to cell
        (["### Position\n(0,1)", "OK."], []),  # a heading labels what follows
    ],
)
def test_dialogue_acts_of_rule_4(dialogue, route):
    assert executed(*dialogue) == route


def test_the_path_holds_up_and_a_listed_start_cell_is_not_read_in_a_mirrored_scheme():
    """ "the path holds up" is no move; a route listing the start first is read in a scheme where its
    first cell is the start (or next to it), not in a mirrored one where it jumps (which would score 0
    where the walk really ends further from the goal)."""
    assert parse_route("Checking each step again, the path holds up: r0c1, r1c1") == [
        Step("0", "1", "row_col"),
        Step("1", "1", "row_col"),
    ]
    maze = parse_maze("@.....#\n.#...#.\n..#....\n...#..#\n..#...#\n##.....\n...#.#*")
    text = "(x, y) with x the column and y the row, from 0. Path: " + ", ".join(
        [f"(0, {y})" for y in range(7)] + [f"({x}, 6)" for x in range(1, 7)]
    )
    t = Transcript(maze.id, "solo_full", ("a",), (Message("agent_1", text),), "answered", "v2")
    g = grade_transcript(maze, t)
    assert (g.end, round(g.weighted, 4), g.cells[-1]) == ("wall", -0.3333, [4, 0])


def test_moves_after_the_goal_are_not_part_of_the_route():
    g = grade_transcript(
        MAZE,
        Transcript(
            MAZE.id,
            "collab",
            ("a", "a"),
            tuple(
                Message(("agent_1", "agent_2")[i % 2], t)
                for i, t in enumerate(["R R D D L L D?", "Agreed, all seven.", "One more down?", "ok"])
            ),
            "acti",
            "v2",
        ),
    )
    assert g.success and g.moves == 7 and g.end == "goal"


def test_restated_positions_choose_the_scheme_and_never_walk():
    # 1-based positions restated every turn; the agreed step (2,1) is down from (1,1).
    t = Transcript(
        OPEN.id,
        "collab",
        ("a", "a"),
        tuple(
            Message(s, x)
            for s, x in [
                ("agent_1", "We are at (1,1). Let's go to (2,1)."),
                ("agent_2", "Agreed, (2,1)."),
                ("agent_1", "We're at (2,1) now. (3,1)?"),
                ("agent_2", "Yes."),
            ]
        ),
        "acti",
        "v2",
    )
    g = grade_transcript(OPEN, t)
    assert g.scheme["origin"] == 1 and g.cells == [[0, 0], [1, 0], [2, 0]]
    assert g.consistent["evidence"] == g.consistent["stated"] == 2  # both stated positions fit


def test_a_solo_answer_without_a_route_gets_no_credit():
    text = (
        "To solve this I would use breadth-first search from @. The possible moves are up, down, left and right. "
        "We avoid # cells and stop at *."
    )
    t = Transcript(
        MAZE.id,
        "solo_full",
        ("a",),
        (Message("agent_1", text), Message("user", "review"), Message("agent_1", "My answer stands.")),
        "answered",
        "v2",
    )
    g = grade_transcript(MAZE, t)
    assert (g.end, g.weighted, g.partial, g.success) == ("no_route", 0.0, 0.0, False)


def test_solo_final_answer_after_the_critic_counts():
    t = Transcript(
        MAZE.id,
        "solo_full",
        ("a",),
        (
            Message("agent_1", "Route: (0,1), (1,1)"),
            Message("user", "review"),
            Message(
                "agent_1",
                "(1,1) is a wall, sorry. Final answer: (0,1), (0,2), (1,2), (2,2), (2,1), (2,0), (3,0)",
            ),
        ),
        "answered",
        "v2",
    )
    g = grade_transcript(MAZE, t)
    assert g.success and g.optimal and g.partial == 1.0


def test_partial_credit_is_the_valid_prefix_over_the_optimal_length():
    g = grade_transcript(
        MAZE,
        Transcript(
            MAZE.id, "solo_full", ("a",), (Message("agent_1", "right, right, down, right"),), "answered", "v2"
        ),
    )
    assert g.end == "wall" and g.moves == 3 and g.partial == pytest.approx(3 / 7)


# ------------------------------------------------------------------------------- never raises
@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(st.text(alphabet=st.characters(), max_size=200), min_size=1, max_size=6),
    solo=st.booleans(),
)
def test_no_grading_function_raises_on_any_unicode(texts, solo):
    condition = "solo_full" if solo else "collab"
    speakers = ("agent_1", "agent_1") if solo else ("agent_1", "agent_2")
    t = Transcript(
        MAZE.id,
        condition,
        ("a", "a"),
        tuple(Message(speakers[i % 2], x) for i, x in enumerate(texts)),
        "acti",
        "v2",
    )
    g = grade_transcript(MAZE, t)
    assert g.error is None or not g.error.startswith("grading failed"), g.error
    assert -10 < g.weighted <= 1.0
    parse_grader_output("".join(texts))


@pytest.mark.parametrize("char", ["\u212a", "\u0130", "\ud800", "\x00", "\u200b", "ǅ", "ß", "ﬁ"])
def test_look_alikes_and_lone_surrogates_grade(char):
    t = Transcript(
        MAZE.id,
        "collab",
        ("a", "a"),
        (Message("agent_1", f"{char} Right{char}? (0,{char}1)"), Message("agent_2", f"{char}ok")),
        "acti",
        "v2",
    )
    g = grade_transcript(MAZE, t)
    assert g.error is None or "grading failed" not in g.error


@pytest.mark.parametrize(
    "text",
    [
        "- Right\n" * 2000,  # one list: one sentence holding 2000 runs
        "| 1 | Right |\n" * 1200,  # a table of moves
        ", ".join(f"({i % 5},{i % 5})" for i in range(2000))
        + ". "
        + " ".join("not (1,1)," for _ in range(1000)),
        "If " + " " * 15000 + "then right.",  # a long run of whitespace
        "\t\n" * 8000,
    ],
)
def test_long_sentences_and_whitespace_runs_grade_in_linear_time(text):
    """Messages of the longest size read (16,000 characters) whose one sentence holds thousands of
    runs, or whose whitespace runs are long: every run's context is bounded."""
    import time

    t = Transcript(
        MAZE.id, "collab", ("a", "a"), (Message("agent_1", text), Message("agent_2", text)), "acti", "v2"
    )
    start = time.perf_counter()
    grade_transcript(MAZE, t)
    assert time.perf_counter() - start < 2.0  # quadratic reading took 4-30 s on these


def test_a_one_megabyte_message_grades_in_under_half_a_second():
    import gc
    import time

    text = ("We are at (2,3). I think down is better, but (4,1) is a wall; shall we go right? " * 13_000)[
        :1_000_000
    ]
    assert len(text) == 1_000_000
    t = Transcript(
        MAZE.id,
        "collab",
        ("a", "a"),
        (Message("agent_1", "Right?"), Message("agent_2", "ok " + text)),
        "acti",
        "v2",
    )
    # The best of three runs after a collection: the code's time, not a pause of the shared machine
    # or of the collector over the whole test session's heap (0.15 s on the 2-core CI box when quiet).
    seconds = []
    for _ in range(3):
        gc.collect()
        start = time.perf_counter()
        grade_transcript(MAZE, t)
        seconds.append(time.perf_counter() - start)
    assert min(seconds) < 0.5, seconds
    start = time.perf_counter()
    parse_grader_output("{" * 5000 + "}" * 5000)
    parse_grader_output("route: " + "[" * 5000)
    parse_grader_output(
        '{"route": [' + '{"turn": 1, "coordinates": [[0, 1]], "turn_type": "move"},' * 3000 + "]}"
    )
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize(
    "dialogue, route",
    [
        # a move back is a move; "back at" states a position
        (["Down?", "Down. Dead end here. Back north to (0,0)?", "Confirmed: north."], [["down"], ["0", "0"]]),
        (["We're back at (1,0).", "OK."], []),
        # a question about the proposal itself asks for agreement; one about a cell does not
        (["Let's move right to (0,1). Does that look clear on your side?", "Yes."], [["0", "1"]]),
        (["Let's move right to (0,1). Is (1,1) open for you?", "Yes."], []),
        (["Plan: 2 ⬇️, then ➡️. Agree?", "Agreed on the whole plan."], [["down"], ["down"], ["right"]]),
        (["Plan:\n1。⬇️ to （1，0）\n2。⬇️ to （2，0）", "Agreed, all of it."], [["1", "0"], ["2", "0"]]),
        # after the acceptance and the arrival it reports, a move is the next proposal
        (["Right to (0,1)?", "Yes. At (0,1). Right.", "Agree right."], [["0", "1"], ["right"]]),
        (
            ["Down?", "Yes. That puts us at (1,0). Plan: down, right.", "Agreed."],
            [["down"], ["down"], ["right"]],
        ),
        (["Right?", "👍\n\nWe could go right or down. I'd pick right.", "OK."], [["right"], ["right"]]),
        (["Right?", "👍\n\nWe could go up or down. I'd pick up.", "Sure."], [["right"], ["up"]]),
        (["Down?", "I agree with you! Let's move down.", "Good."], [["down"]]),  # "let's" carries it out
        (["Next: (1,0).", "Agree down."], [["1", "0"]]),
        (["Down?", "I agree down is a wall."], []),
        # a rejection that only corrects the position, then an acceptance
        (["We're at (0,1). Down to (1,0)?", "Wait, we're at (0,0), not (0,1). Yes."], [["1", "0"]]),
        (["Right to (0,1)?", "(0,1) to our right is hidden for me.", "OK."], []),
        (["Down. What do you see around (0,1)?", "Nothing there. Down."], [["down"]]),
        (["We're at (0,1) - (1,0) is a different cell. Down?", "Yes."], [["down"]]),
        # a run naming part of the plan is the part accepted, even when narrated
        (
            ["Plan: (0,1), (0,2), (0,3).", "I agree with moving right to (0,1) and (0,2)."],
            [["0", "1"], ["0", "2"]],
        ),
        # the earlier proposal restated before the one on the table executes too, first
        (
            [
                "Down to (1,0). Then we can go right.",
                "I agree, let's move down to (1,0). Now right to (1,1).",
            ],
            [["1", "0"], ["1", "1"]],
        ),
    ],
)
def test_dialogue_acts_of_rule_5(dialogue, route):
    assert executed(*dialogue) == route


def test_a_direction_with_its_target_in_brackets_is_one_step():
    (mention,) = find_mentions("Next Move: south (to (2,0))")
    assert mention.steps == (Step("2", "0", hint="down"),)


@pytest.mark.parametrize(
    "dialogue, route",
    [
        # the same cell in a second notation is one step
        (["Move to (0,1), row 0 column 1.", "ok (0,1)"], [["0", "1", "row_col"]]),
        # a sentence that accepts and names a different move counters; the partner's echo then agrees
        (["I say we go right.", "I agree, let's go down.", "Down!"], [["down"]]),
        # "Agree: no" rejects; "Position after move:" states a position
        (
            ["Proposal: down", "Agree: no\nProposal: right", "Agree: yes\nPosition after move: (0,1)"],
            [["right"]],
        ),
        # a numbered part of a plan, and a restated part of it, is what is accepted
        (
            ["Plan: right, down, right, right.", "I agree with the first two moves: right and down."],
            [["right"], ["down"]],
        ),
        (
            ["I propose down 3 times.", "I agree to down twice, then we check again.", "OK, down twice."],
            [["down"]] * 2,
        ),
        (["B3, then B4 and B5, and down column 5 to E5.", "Let's do B3 first. Agreed."], [["B", "3"]]),
        # terse single letters
        (["R", "ok R. then R again", "R ok. D next"], [["right"], ["right"]]),
        # "we need to agree" is not agreement; "Both walls." is not "both"
        (["Right.", "Down.", "We need to agree. I say right.", "I say down."], []),
        (["What are (1,3) and (2,4) on your map?", "Both walls."], []),
        # a conditional with a fallback, and a condition that only asks, commit to nothing
        (
            [
                "If the cell below is open on your map, let's go down; otherwise, we can go right.",
                "If you're sure right is open, we can go right. Which do you prefer?",
            ],
            [],
        ),
        (["Then if (2,5) is open we go right once more.", "Agreed."], []),
        # one agent's position is not a joint move; split-up agents move jointly only on explicit acceptance
        (["I moved down twice, I'm at (2,0) now.", "I'm at (0,3) now."], []),
        (["Let's split up: I'll go right, you go down.", "I'll try (1,2).", "I'm at (1,2) as well!"], []),
        # a move word and its arrow, a counted move written twice, a gloss in brackets: one move each
        (["Yes, left! ⬅️", "Agreed."], [["left"]]),
        (["Down x3 ↓↓↓?", "ok"], [["down"]] * 3),
        (["→→→ right three times?", "ok"], [["right"]] * 3),
        (["Vamos abajo (down).", "Vale."], [["down"]]),
        # other languages and unambiguous misspellings
        (["Je propose à droite.", "D'accord."], [["right"]]),
        (["lets go dwon", "OK DWON"], [["down"]]),
        # structured replies
        (['{"moves": ["down", "down", "right"]}', '{"response": "agree"}'], [["down"], ["down"], ["right"]]),
        # a cell that loosely restates a direction must be one step from where the agents are
        (
            [
                "We're at (0,0). Are you sure (1,0) is open? What about (0,2)? It's open for me.",
                "Yes, (1,0) is open for me. Let's move down.",
            ],
            [],
        ),
    ],
)
def test_dialogue_acts_of_rule_8(dialogue, route):
    assert executed(*dialogue) == route


@pytest.mark.parametrize(
    "dialogue, route",
    [
        # "OK, but ..." with another move counters the proposal
        (["Let's go down 2 times!", "OK, but I think right is better.", "Right."], [["right"]]),
        # a question about the partner's map proposes nothing; a list of the four directions neither
        (["Right to (0,1)? Can you confirm (0,2)?", "Yes."], [["0", "1"]]),
        (["How about we just use directions (up/down/left/right)?", "Sure."], []),
        # the cell just reached, restated before "then", confirms it; the next move is what follows
        (
            [
                "Move down to (1,2)?",
                "Move down to (1,2).",
                "Down to (1,2). Then right to (1,3).",
                "Right to (1,3).",
            ],
            [["1", "2"], ["1", "3"]],
        ),
        # "B1 is hidden for me. A2 too." describes A2
        (["B1 is hidden for me. A2 too.", "OK."], []),
        # a fact confirmed and a concern understood accept nothing (rule-11)
        (["Let's go RIGHT.", "DOWN is confirmed safe for me. Proposal: DOWN."], []),
        (["Please confirm RIGHT.", "Understood your concern. But I'll trust my map. DOWN?"], []),
        (["Left to (2,1)?", "OK, I understand. Left to (2,1)."], [["2", "1"]]),
    ],
)
def test_dialogue_acts_of_rule_10(dialogue, route):
    assert executed(*dialogue) == route


@pytest.mark.parametrize(
    "dialogue, route",
    [
        # the cell proposed, named again after a bare acceptance, is that move, not a further one
        (
            ["Is r2c1 open for you? I suggest we move down to r2c1.", "Agree. Move to r2c1."],
            [["2", "1", "row_col"]],
        ),
        # an arrival at the proposed cell carries the proposal out, whatever the message proposes next
        (["Let's move down to (1,0).", "At (1,0). Right to (1,1)?", "Yes."], [["1", "0"], ["1", "1"]]),
        (["Let's move down to (1,0).", "At (0,1). Right to (0,2)?", "Yes."], [["0", "2"]]),
        # a counted move "along row 1" or "to reach" a cell keeps its count; the cell is where it lands
        (["Right x4 along row 1 to (1,4). Agree?", "Yes!"], [["right"]] * 3 + [["1", "4"]]),
        (["Move right three times to reach (0,3)?", "Sure."], [["right"]] * 2 + [["0", "3"]]),
        # an arrow glosses one move word; after a full stop it introduces no cell
        (["Right?", "Moving right! ➡️ One more right?", "Yes, right!"], [["right"], ["right"]]),
        (
            [
                "Down to (1,0)?",
                "Okay! Moving down. ⬇️ The third row, first column is open too - down again?",
                "Yes!",
            ],
            [["1", "0"], ["down"]],
        ),
        # "on your own map" is not agents splitting up
        (
            ["Left to (4,1)!", "No - (4,1) is a wall on your own map. Right to (3,2), please.", "Ok right."],
            [["3", "2"]],
        ),
    ],
)
def test_dialogue_acts_of_rule_13(dialogue, route):
    assert executed(*dialogue) == route


SOLO_MAZE = parse_maze("""
# . # # @
. . . # .
# . # # .
* . . . .
. # # . #
""")  # start (0,4) top-right, goal (3,0)


@pytest.mark.parametrize(
    "answer, end, success",
    [
        # "(0, 0) at the top-left" states the scheme's origin, not where the agent starts
        (
            "Using (row, column) coordinates starting from (0, 0) at the top-left:\n\n"
            "Final solution: (0, 4), (1, 4), (2, 4), (3, 4), (3, 3), (3, 2), (3, 1), (3, 0)",
            "goal",
            True,
        ),
        # labelled landmarks beside the route are not steps of it
        (
            '```json\n{"start": [0, 4], "goal": [3, 0], '
            '"path": [[0, 4], [1, 4], [2, 4], [3, 4], [3, 3], [3, 2], [3, 1], [3, 0]]}\n```',
            "goal",
            True,
        ),
        # two far-apart cells or one cell name places, not a route
        ("The final solution is the path returned by bfs(grid, (0, 4), (3, 0)).", "no_route", False),
        ("Is (0, 0) the top-left corner or the bottom-left? Please clarify.", "no_route", False),
    ],
)
def test_solo_landmarks_and_places_are_not_routes(answer, end, success):
    messages = (
        Message("agent_1", answer),
        Message("user", "Review."),
        Message("agent_1", "My answer stands."),
    )
    record = grade_transcript(SOLO_MAZE, Transcript("m", "solo_full", ("a", "a"), messages, "acti", "v2"))
    assert (record.end, record.success) == (end, success)


@pytest.mark.parametrize(
    "named", ["The start is (0,0) and the goal is (4,1).", "*   Start (@): (0, 0)\n*   Goal (*): (4, 1)\n"]
)
def test_a_named_goal_is_evidence_for_the_scheme(named):
    # (0,1) is a wall in (row, col) but open in (x, y); the goal named as (4,1) says (row, col)
    maze = parse_maze("@#...\n..#.#\n#.##.\n..#..\n#*.#.")
    text = named + "\nThe solution is: (0,0), (0,1), (1,1), (2,1), (3,1), (4,1)."
    messages = (Message("agent_1", text), Message("user", "Review."), Message("agent_1", text))
    record = grade_transcript(maze, Transcript("m", "solo_full", ("a", "a"), messages, "acti", "v2"))
    assert (record.end, record.weighted) == ("wall", 0.0)


def test_a_final_answer_that_declines_leaves_no_route():
    first = (
        "The general direction is clear: we need to head right and down, but the hidden cells make it risky."
    )
    final = "I am unable to provide a definitive list of coordinates for a valid path."
    messages = (Message("agent_1", first), Message("user", "Review."), Message("agent_1", final))
    record = grade_transcript(SOLO_MAZE, Transcript("m", "solo_full", ("a", "a"), messages, "acti", "v2"))
    assert (record.end, record.weighted) == ("no_route", 0.0)


@pytest.mark.parametrize("text", ["I'd pick up", "I'd pick up, then right", "I'd pick up ."])
def test_a_picked_up_is_the_move_up_wherever_its_clause_ends(text):
    assert [m.steps[0].first for m in find_mentions(text)][:1] == ["up"]
