"""Maze helpers for writing the held-out corpus: the real generator, views and a path sketch."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[5]
sys.path.insert(0, str(ROOT))

from gapbench.maze import MazeParams, generate, split_views  # noqa: E402

DIRS = {(-1, 0): "up", (1, 0): "down", (0, -1): "left", (0, 1): "right"}


def maze_for(size: int, seed: int, start: tuple[int, int] = (0, 0)):
    return generate(MazeParams(size=size, start=start), seed=seed)


def path_dirs(maze) -> list[str]:
    cells = maze.shortest_path()
    return [DIRS[(b[0] - a[0], b[1] - a[1])] for a, b in zip(cells, cells[1:])]


def show(size: int, seed: int, start=(0, 0)) -> str:
    m = maze_for(size, seed, start)
    a, b = split_views(m, seed)
    rows = m.render(spaced=False).splitlines()
    ra, rb = a.render(spaced=False).splitlines(), b.render(spaced=False).splitlines()
    out = [f"== size={size} seed={seed} start={m.start} goal={m.goal} path={len(path_dirs(m))}"]
    for r in range(size):
        out.append(f"{r} {rows[r]}   {ra[r]}   {rb[r]}")
    out.append("   " + " ".join(path_dirs(m)) + "   cells " + " ".join(f"{c[0]}{c[1]}" for c in m.shortest_path()))
    return "\n".join(out)


if __name__ == "__main__":
    size = int(sys.argv[1])
    for seed in range(int(sys.argv[2]), int(sys.argv[3])):
        print(show(size, seed))
