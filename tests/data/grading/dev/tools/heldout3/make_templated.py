"""Write dev/h3_templated_collab.yaml: the h3 split's phrase-bank collaborations (the minority of the split).

Run from the repository root, then fill outcomes with fill_outcomes.py. Deterministic (fixed seeds).
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

from gapbench.maze import MazeParams, generate

OUT = Path(__file__).resolve().parents[2] / "h3_templated_collab.yaml"
NAMES = {(-1, 0): "up", (1, 0): "down", (0, -1): "left", (0, 1): "right"}
PROPOSE = [
    "I propose {m}.",
    "Let's move {m}.",
    "Next move: {m}.",
    "How about {m}?",
    "My suggestion is {m}.",
    "{M}, please.",
]
ACCEPT = [
    "Agreed.",
    "OK, {m}.",
    "Sounds good — {m}.",
    "Yes.",
    "Confirmed: {m}.",
    "Fine by me.",
    "{M}, agreed.",
]
REJECT = [
    "No — {m} is a wall on my map.",
    "I can't agree: {m} runs into a wall for me.",
    "Not {m}; that cell is #.",
]
SCENARIOS = ["success", "success", "truncated", "rejected", "wall", "false_acti"]
NOTATIONS = ["directions", "rowcol", "onebased", "xy"]


def _label(notation: str, cell: tuple[int, int], move: str) -> str:
    r, c = cell
    if notation == "directions":
        return move
    if notation == "rowcol":
        return f"{move} to ({r}, {c})"
    if notation == "onebased":
        return f"{move} to ({r + 1}, {c + 1})"
    return f"{move} to ({c}, {r})"


def _intro(notation: str) -> str:
    return {
        "directions": "",
        "rowcol": "I'll use (row, column), counting from 0 at the top-left. ",
        "onebased": "I'll use (row, column) counting from 1; the start is (1, 1). ",
        "xy": "I'll use (x, y) with x the column and y the row, from 0 at the top-left. ",
    }[notation]


def _case(i: int, rng: random.Random) -> str:
    size = rng.choice([4, 5, 5, 6, 6, 7])
    maze = generate(MazeParams(size=size, density=0.3), seed=3303, index=i)
    rows = ["".join(maze.symbol((r, c)) for c in range(size)) for r in range(size)]
    path = maze.shortest_path()
    moves = [(b, NAMES[(b[0] - a[0], b[1] - a[1])]) for a, b in itertools.pairwise(path)]
    scenario, notation = SCENARIOS[i % len(SCENARIOS)], NOTATIONS[(i // 2) % len(NOTATIONS)]
    props: list[tuple[str, bool]] = []  # (proposal text, accepted by the partner)
    route: list[str] = []
    stop = len(moves) if scenario in ("success", "rejected", "wall") else rng.randint(1, len(moves) - 1)
    if scenario == "wall":
        stop = len(moves) - 1
    note_bits: list[str] = []

    def bad_move(
        here: tuple[int, int], avoid: str, inside: bool = True
    ) -> tuple[tuple[int, int], str] | None:
        for delta, name in NAMES.items():
            bad = (here[0] + delta[0], here[1] + delta[1])
            if name != avoid and maze.in_bounds(bad) and not maze.is_open(bad):
                return bad, name
        return None

    walled = [k for k, (_, move) in enumerate(moves) if bad_move(path[k], move, inside=True)]
    reject_at = rng.choice(walled) if scenario == "rejected" and walled else -1
    for k, (cell, move) in enumerate(moves[:stop]):
        if k == reject_at and (found := bad_move(path[k], move, inside=True)):
            props.append((_label(notation, *found), False))
            note_bits.append(f"a proposal of {found[1]} at {path[k]} is rejected (0-based row, col)")
        props.append((_label(notation, cell, move), True))
        route.append(move)
    if scenario == "wall" and (found := bad_move(path[stop], moves[stop][1], inside=True)):
        props.append((_label(notation, *found), True))
        route.append(found[1])
        note_bits.append(
            f"the last agreed move, {found[1]} from {path[stop]} (0-based row, col), enters a wall"
        )
    if scenario == "false_acti":
        note_bits.append("ACTI! is said before the goal is reached")
    if scenario == "truncated":
        note_bits.append("the excerpt ends before the goal")
    texts = [_intro(notation) + rng.choice(PROPOSE).format(m=props[0][0], M=props[0][0].capitalize())]
    for j, (text, accepted) in enumerate(props):
        move_name = text.split()[0]
        reply = rng.choice(ACCEPT if accepted else REJECT).format(m=move_name, M=move_name.capitalize())
        if j + 1 < len(props):
            nxt = props[j + 1][0]
            reply += " " + rng.choice(PROPOSE).format(m=nxt, M=nxt.capitalize())
        elif scenario != "truncated":
            reply += " ACTI!"
        texts.append(reply)
    msgs = [(f"a{n % 2}", text) for n, text in enumerate(texts)]
    scheme = {
        "directions": "screen directions",
        "rowcol": "0-based (row, column)",
        "onebased": "1-based (row, column)",
        "xy": "0-based (x, y), x = column",
    }[notation]
    note = (
        f"Phrase-bank collaboration ({scheme}; any coordinate scheme is stated in the first message). Every executed move is "
        f"one agent's proposal answered by the other's acceptance in the next message, which also"
        f" proposes the next move"
        + ("; " + "; ".join(note_bits) if note_bits else "")
        + f". Executed: {', '.join(route) or 'nothing'}."
    )
    tags = ["terse", "agreement_variety", "directions" if notation == "directions" else "coordinates"]
    tags += {"onebased": ["one_based"], "xy": ["xy"]}.get(notation, [])
    tags += {"rejected": ["rejection"], "wall": ["wall_agreed"], "false_acti": ["false_acti"]}.get(
        scenario, []
    )
    lines = [
        f"- id: h3-collab-templated-{i + 1:03d}",
        "  condition: collab",
        f"  phenomena: [{', '.join(tags)}]",
    ]
    lines += ["  note: >-", f"    {note}", "  maze: |"] + [f"    {row}" for row in rows] + ["  messages:"]
    for who, text in msgs:
        lines += [f"    - speaker: agent_{int(who[1]) + 1}", "      text: |-", f"        {text}"]
    lines += ["  gold:", f"    route: [{', '.join(route)}]", "    outcome: {}", ""]
    return "\n".join(lines)


def main() -> None:
    rng = random.Random(3303)
    OUT.write_text("\n".join(_case(i, rng) for i in range(30)), encoding="utf-8")


if __name__ == "__main__":
    main()
