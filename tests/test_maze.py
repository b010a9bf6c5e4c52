import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gapbench.maze import (
    HIDDEN,
    Maze,
    MazeError,
    MazeParams,
    View,
    generate,
    merge_views,
    parse_maze,
    parse_view,
    path_lengths,
    split_views,
)

params_st = st.builds(
    MazeParams,
    size=st.integers(3, 10),
    density=st.floats(0.0, 0.45),
)


@settings(max_examples=150, deadline=None)
@given(params=params_st, seed=st.integers(0, 10**6), index=st.integers(0, 1000))
def test_generated_mazes_are_solvable_deterministic_and_in_range(params, seed, index):
    maze = generate(params, seed=seed, index=index)
    assert maze == generate(params, seed=seed, index=index)
    lo, hi = params.path_range
    path = maze.shortest_path()
    assert path is not None and path[0] == maze.start and path[-1] == maze.goal
    assert lo <= len(path) - 1 <= hi
    assert all(maze.is_open(c) for c in path)
    assert parse_maze(maze.render()) == maze
    assert parse_maze(maze.render(spaced=False)).id == maze.id


@settings(max_examples=150, deadline=None)
@given(params=params_st, seed=st.integers(0, 10**6), split_seed=st.integers(0, 100))
def test_views_are_complementary_halves_whose_union_is_the_maze(params, seed, split_seed):
    maze = generate(params, seed=seed)
    a, b = split_views(maze, seed=split_seed)
    assert (a, b) == split_views(maze, seed=split_seed)
    assert merge_views(a, b) == maze
    n = maze.size
    for r in range(n):
        for c in range(n):
            va, vb = a.rows[r][c], b.rows[r][c]
            if (r, c) in (maze.start, maze.goal):
                assert va == vb == maze.symbol((r, c))
            else:
                assert (va == HIDDEN) != (vb == HIDDEN), "each cell visible in exactly one view"
                assert maze.symbol((r, c)) in (va, vb)
    hidden_a = sum(row.count(HIDDEN) for row in a.rows)
    hidden_b = sum(row.count(HIDDEN) for row in b.rows)
    assert abs(hidden_a - hidden_b) <= 1


def test_thousand_study_mazes_have_mean_path_7_to_9_and_generate_fast():
    t0 = time.perf_counter()
    mazes = [generate(MazeParams(), seed=0, index=i) for i in range(1000)]
    elapsed = time.perf_counter() - t0
    lengths = path_lengths(mazes)
    assert 7 <= sum(lengths) / len(lengths) <= 9
    assert elapsed < 2.0
    assert len({m.id for m in mazes}) > 990  # distinct mazes
    walls = sum(row.count("#") for m in mazes for row in m.rows) / (1000 * 36)
    assert 0.2 < walls < 0.35


def test_path_length_bounds_are_respected():
    mazes = [generate(MazeParams(min_path=9, max_path=9), seed=1, index=i) for i in range(50)]
    assert set(path_lengths(mazes)) == {9}


def test_parse_a_maze_from_a_figure():
    maze = parse_maze("""
        @ . # .
        # . . .
        . # # .
        . . . *
    """)
    assert (maze.start, maze.goal, maze.size) == ((0, 0), (3, 3), 4)
    assert len(maze.shortest_path()) - 1 == 6


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty text"),
        ("@ . .\n. . *", "not square"),
        ("@ . x\n. . .\n. . *", "unknown symbol 'x' at row 0, col 2"),
        ("@ ? .\n. . .\n. . *", "allowed only in views"),
        ("@ . .\n. . .\n. . .", "exactly one goal"),
        ("@ . @\n. . .\n. . *", "exactly one start"),
        ("@ # .\n# . .\n. . *", "no path from the start"),
    ],
)
def test_bad_maze_text_gives_a_clear_error(text, fragment):
    with pytest.raises(MazeError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        parse_maze(text)


def test_views_that_disagree_or_leave_holes_are_rejected():
    a = parse_view("@ ?\n? *")
    with pytest.raises(MazeError, match="hidden in both"):
        merge_views(a, a)
    with pytest.raises(MazeError, match="disagree"):
        merge_views(parse_view("@ .\n? *"), parse_view("@ #\n. *"))


def test_bad_params_are_rejected():
    with pytest.raises(MazeError, match="density"):
        MazeParams(density=1.5)
    with pytest.raises(MazeError, match="min_path"):
        MazeParams(size=4, min_path=7, max_path=5)
    with pytest.raises(MazeError, match="start"):
        MazeParams(size=4, start=(4, 0))


def test_view_renders_like_the_study():
    maze = Maze(rows=("..", ".#"), start=(0, 0), goal=(1, 0))
    assert maze.render() == "@ .\n* #"
    assert View(("@?", "*#")).render() == "@ ?\n* #"
    assert maze.render(spaced=False) == "@.\n*#" and View(("@?", "*#")).render(spaced=False) == "@?\n*#"


def test_labelled_maps_number_rows_and_columns_and_stay_aligned():
    view = View(("@?", "*#"))
    assert view.render(spaced=False, labels=True) == "  01\n0 @?\n1 *#"
    assert view.render(labels=True) == "  0 1\n0 @ ?\n1 * #"
    big = generate(MazeParams(size=12), seed=0).render(spaced=False, labels=True).splitlines()
    assert big[0] == "    0  1  2  3  4  5  6  7  8  9 10 11"  # two-digit numbers: cells padded and spaced
    assert (
        big[1].startswith(" 0  @  ") and big[12].startswith("11  ") and len({len(line) for line in big}) == 1
    )
