"""Maze sets: many mazes with both split views, stored as a Hugging Face dataset (parquet).

Every model in a study sees the same mazes and the same splits: the set fixes them. Loading
re-derives everything that can be derived (ids, views' union, path lengths) and refuses a set
that does not check out.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from gapbench.maze import (
    Maze,
    MazeError,
    MazeParams,
    View,
    generate,
    merge_views,
    parse_maze,
    parse_view,
    split_views,
)

DATA_FILE = "mazes.parquet"
META_FILE = "mazeset.json"


@dataclass(frozen=True)
class MazeItem:
    index: int
    maze: Maze
    views: tuple[View, View]
    optimal_path: list[tuple[int, int]]

    @property
    def id(self) -> str:
        return self.maze.id


@dataclass(frozen=True)
class MazeSet:
    params: MazeParams
    seed: int
    items: list[MazeItem]

    def __len__(self) -> int:
        return len(self.items)

    def by_id(self) -> dict[str, MazeItem]:
        return {item.id: item for item in self.items}


def build_set(params: MazeParams, *, count: int, seed: int) -> MazeSet:
    """``count`` mazes; maze i depends only on (params, seed, i), so a longer set extends a shorter one."""
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    items = []
    for i in range(count):
        maze = generate(params, seed=seed, index=i)
        items.append(MazeItem(i, maze, split_views(maze, seed=seed), maze.shortest_path() or []))
    return MazeSet(params, seed, items)


def write_set(mazes: MazeSet, out: Path) -> Path:
    """One parquet file (loadable with ``datasets.load_dataset("parquet", data_files=str(out / DATA_FILE))``) + metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    rows = {
        "index": [it.index for it in mazes.items],
        "id": [it.id for it in mazes.items],
        "size": [it.maze.size for it in mazes.items],
        "maze": [it.maze.render() for it in mazes.items],
        "view_1": [it.views[0].render() for it in mazes.items],
        "view_2": [it.views[1].render() for it in mazes.items],
        "optimal_path": [[list(c) for c in it.optimal_path] for it in mazes.items],
        "optimal_length": [len(it.optimal_path) - 1 for it in mazes.items],
    }
    pq.write_table(pa.Table.from_pydict(rows), out / DATA_FILE)
    meta = {"params": asdict(mazes.params), "seed": mazes.seed, "count": len(mazes)}
    (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return out


def generate_set(params: MazeParams, *, count: int, seed: int, out: Path) -> Path:
    return write_set(build_set(params, count=count, seed=seed), out)


def load_set(path: Path) -> MazeSet:
    """Read and validate a set written by ``write_set``; errors name the maze and the problem."""
    import pyarrow.parquet as pq

    data, meta_path = path / DATA_FILE, path / META_FILE
    if not data.is_file() or not meta_path.is_file():
        raise FileNotFoundError(
            f"{path} is not a maze set (expected {DATA_FILE} and {META_FILE}); "
            f"create one with `gapbench mazes generate --out {path}`"
        )
    try:
        meta = json.loads(meta_path.read_text())
        p = meta["params"]
        params = MazeParams(p["size"], p["density"], tuple(p["start"]), p["min_path"], p["max_path"])
        seed = meta["seed"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"{meta_path} is not a maze set description ({type(exc).__name__}: {exc}); regenerate it with `gapbench mazes generate --out {path}`"
        ) from None
    items = []
    for row in pq.read_table(data).to_pylist():
        where = f"{path}: maze {row.get('index')}"
        try:
            maze = parse_maze(row["maze"])
            views = (parse_view(row["view_1"]), parse_view(row["view_2"]))
            if merge_views(*views) != maze:
                raise MazeError("its two views do not reassemble the maze")
        except (MazeError, KeyError) as exc:
            raise ValueError(f"{where} is invalid: {exc}") from None
        if maze.id != row["id"]:
            raise ValueError(
                f"{where}: id {row['id']} does not match its content ({maze.id}); the set was edited"
            )
        path_cells = [tuple(c) for c in row["optimal_path"]]
        if len(path_cells) - 1 != len(maze.shortest_path() or []) - 1:
            raise ValueError(f"{where}: stored optimal path length is wrong")
        items.append(MazeItem(row["index"], maze, views, path_cells))
    return MazeSet(params, seed, items)


def describe(mazes: MazeSet, index: int = 0) -> str:
    """A maze of the set with both agents' views, for people."""
    if not 0 <= index < len(mazes):
        raise ValueError(
            f"--index {index} is out of range: the set has {len(mazes)} mazes (0..{len(mazes) - 1})"
        )
    item = mazes.items[index]
    lines = [
        f"maze {item.index} of {len(mazes)}  id {item.id}  size {item.maze.size}  "
        f"start {item.maze.start}  goal {item.maze.goal}  optimal path {len(item.optimal_path) - 1} moves",
        "",
    ]
    blocks = [
        ("full maze", item.maze.render()),
        ("agent 1 view", item.views[0].render()),
        ("agent 2 view", item.views[1].render()),
    ]
    width = max(2 * item.maze.size - 1, max(len(title) for title, _ in blocks))
    columns = [[title] + text.splitlines() for title, text in blocks]
    for parts in zip(*columns):
        lines.append("    ".join(part.ljust(width) for part in parts).rstrip())
    return "\n".join(lines)
