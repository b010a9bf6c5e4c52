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
@given(pairs=st.lists(st.tuples(st.sampled_from(["0", "1", "5", "12", "99", "A", "Z", "up", "left"]), st.sampled_from(["", "0", "3", "B", "77"])), max_size=30))
def test_grading_never_crashes_on_any_valid_steps(pairs):
    steps = []
    for first, second in pairs:
        try:
            steps.append(Step(first, second))
        except ValueError:
            assert (second == "") != (first in MOVES)  # only malformed steps are refused
    g = grade(MAZE, steps)
    assert g.outcome.moves <= len(steps)
