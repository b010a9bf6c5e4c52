"""What the transcript viewer shows per dialogue: maze, both views, walked route, messages, grades."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gapbench.grading import ALL_SCHEMES, Scheme, Step, interpret
from gapbench.mazeset import MazeItem
from gapbench.report.load import Entry
from gapbench.report.measures import group
from gapbench.report.usage import describe_scheme


@dataclass(frozen=True)
class Selection:
    entries: list[Entry]
    total: int  # dialogues before the per-group cap


def select(entries: list[Entry], per_group: int) -> Selection:
    """At most ``per_group`` dialogues per (run, condition, models, K), so big runs keep a readable file;
    0 keeps all."""
    if per_group <= 0:
        return Selection(list(entries), len(entries))
    groups = group(entries, lambda e: (e.run, e.record.condition, e.models, e.record.relay_k))
    kept = [e for _, es in sorted(groups.items(), key=lambda kv: str(kv[0])) for e in es[:per_group]]
    return Selection(kept, len(entries))


def route_cells(grade: Any, item: MazeItem) -> list[list[int]]:
    """The graded route as grid cells, from the start, under the winning scheme."""
    if grade.cells is not None:
        return [list(c) for c in grade.cells]
    steps = [Step.from_list(s) for s in grade.steps]
    scheme = Scheme(**grade.scheme) if grade.scheme else ALL_SCHEMES[0]
    return [list(c) for c in interpret(steps, scheme, item.maze.start, item.maze.size)]


def dialogue_data(e: Entry, item: MazeItem | None, labels: dict[str, str]) -> dict[str, Any]:
    """``labels`` names the run's model keys, which transcripts record per message."""
    r = e.record
    maze = None
    if item is not None:
        m = item.maze
        maze = {
            "rows": [[m.symbol((i, j)) for j in range(m.size)] for i in range(m.size)],
            "views": [[list(row) for row in v.rows] for v in item.views]
            if r.condition != "solo_full"
            else [],
            "optimal": [list(c) for c in item.optimal_path],
        }
    grades = {}
    for method, g in r.grades.items():
        grades[method] = {
            "success": g.success,
            "weighted": round(g.weighted, 4),
            "end": g.end,
            "moves": g.moves,
            "optimal_moves": g.optimal_moves,
            "symbols": g.symbols,
            "scheme": describe_scheme(g.scheme) if g.steps else None,
            "steps": [" ".join(s) for s in g.steps],
            "error": g.error,
            "route": route_cells(g, item) if item is not None else None,
        }
    return {
        "id": r.dialogue_id,
        "run": e.run,
        "condition": r.condition,
        "models": list(e.models),
        "after": list(e.after) if e.after else None,
        "k": r.relay_k,
        "maze_id": r.maze_id,
        "rollout": r.rollout,
        "end": r.transcript.end,
        "error": r.transcript.error,
        "maze": maze,
        "primary": r.primary,
        "grades": grades,
        "messages": [
            {
                "speaker": m.speaker,
                "audience": m.audience,
                "model": labels.get(m.model, m.model) if m.model else None,
                "text": m.text,
            }
            for m in r.transcript.messages
        ],
    }
