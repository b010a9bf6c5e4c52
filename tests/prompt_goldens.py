"""The chats of one maze, as the golden files under tests/data/prompts/ store them.

Kept apart from the code under test: the golden files record what agents saw, written once and
compared byte for byte afterwards (v1's were written before v2 existed).
"""

from __future__ import annotations

from pathlib import Path

from gapbench.maze import MazeParams, generate, split_views
from gapbench.protocol import Dialogue

GOLDEN_DIR = Path(__file__).parent / "data" / "prompts"
CONDITIONS = ("solo_full", "solo_distributed", "collab")


def golden_maze():
    maze = generate(MazeParams(size=6), seed=0)
    return maze, split_views(maze, seed=0)


def _dump(label: str, chat) -> str:
    return f"=== {label}\n" + "".join(f"--- {m.role}\n{m.content}\n" for m in chat)


def chats_text(condition: str, **start) -> str:
    """Every turn-1 chat of ``condition`` on the golden maze (agent 2 after a first message of agent 1,
    agent 1's second turn; solo: the prompt and the critic turn), as text."""
    maze, views = golden_maze()
    seats = ("m", "m") if condition == "collab" else ("m",)
    d = Dialogue.start(maze=maze, views=views, condition=condition, seats=seats, **start)
    parts = [_dump("agent_1 turn 1", d.chat())]
    d.add_reply("First message of agent 1.")
    parts.append(_dump(f"{d.speaker()} turn {d.turns + 1 if condition != 'collab' else 1}", d.chat()))
    if condition == "collab":
        d.add_reply("First message of agent 2.")
        parts.append(_dump("agent_1 turn 2", d.chat()))
    return "".join(parts)
