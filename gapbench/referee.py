"""The referee: the environment of the ``referee`` condition, executing agreed moves as the dialogue runs.

After each agent message it finds the moves both agents have just agreed on, executes them on the
full maze and tells both agents the result in a ``[user]`` message: the new position, the goal
reached, or a wall (or the maze's edge) hit; the goal and a wall end the game, as in the study.

Agreement is read from the structured tags when the intervention prescribes them (a ``MOVE: d``
answered by ``AGREE`` or by the same ``MOVE: d``; a missing or malformed tag line is no move).
Otherwise the referee asks the grader's own dialogue-act extraction (``extract_rule``) about the
transcript so far: the moves it finds after this message and not before are the ones just agreed.
A move written as a cell is executed under the consistent reading (``grade_extraction``) of the
extraction so far, the scheme that best matches the agents' own statements; a cell that is not next
to the current position is announced and not executed. The executed route is the ground truth; the
grader, run afterwards on the same transcript, is checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gapbench.grading.extract import Extraction, extract_rule
from gapbench.grading.schemes import ALL_SCHEMES, Scheme, Step, to_cell
from gapbench.grading.validate import grade_extraction
from gapbench.maze import MOVES, Cell, Maze
from gapbench.protocol.interventions import parse_tag
from gapbench.transcript import Message, Transcript

REFEREE_METHOD = "referee"


def _where(cell: Cell) -> str:
    return f"row {cell[0] + 1}, column {cell[1] + 1}"


POSITION_NOTE = "(rows and columns counted from 1 at the top-left)"


@dataclass
class Referee:
    maze: Maze
    structured: bool  # read tags (structured_moves) instead of the grader's extraction
    moves: list[str] = field(default_factory=list)  # executed directions
    end: str | None = None  # goal | wall | off_grid once the game is over
    tags: list[str | None] = field(
        default_factory=list
    )  # structured: each agent message's tag (None: no move)
    _open: tuple[str, str] | None = None  # structured: (speaker, direction) of the proposal on the table
    _extracted: int = 0  # free-form: steps of the extraction already executed

    @property
    def position(self) -> Cell:
        r, c = self.maze.start
        for d in self.moves:
            r, c = r + MOVES[d][0], c + MOVES[d][1]
        return r, c

    @property
    def cells(self) -> list[Cell]:
        """The valid positions walked, from the start (a move into a wall is not a position)."""
        out = [self.maze.start]
        for d in self.moves:
            nxt = (out[-1][0] + MOVES[d][0], out[-1][1] + MOVES[d][1])
            if self.maze.in_bounds(nxt) and self.maze.is_open(nxt):
                out.append(nxt)
        return out

    def observe(self, transcript: Transcript) -> str | None:
        """Judge the last message of the dialogue so far; the text of the ``[user]`` message for
        both agents, or None when nothing was agreed."""
        if self.structured:
            return self._execute(self._structured(transcript.messages[-1]), ALL_SCHEMES[0])
        return self._execute(*self._free_form(transcript))

    def _structured(self, message: Message) -> list[Step]:
        tag = parse_tag(message.text)
        self.tags.append(
            None if tag is None else (f"MOVE: {tag.direction}" if tag.kind == "move" else tag.kind.upper())
        )
        table, self._open = self._open, None
        if tag is None or tag.kind == "disagree":
            return []
        if (
            table is not None
            and table[0] != message.speaker
            and (tag.kind == "agree" or table[1] == tag.direction)
        ):
            return [Step(table[1])]
        if tag.kind == "move":
            self._open = (message.speaker, tag.direction)
        return []

    def _free_form(self, transcript: Transcript) -> tuple[list[Step], Scheme]:
        extraction = extract_rule(transcript)
        new = list(extraction.steps[self._extracted :])
        self._extracted = len(extraction.steps)
        scheme = ALL_SCHEMES[0]
        if any(not s.is_direction for s in new):
            reading = grade_extraction(self.maze, extraction).consistent
            scheme = reading.scheme if reading is not None and reading.scheme is not None else scheme
        return new, scheme

    def _execute(self, steps: list[Step], scheme: Scheme) -> str | None:
        done: list[str] = []
        for step in steps:
            position = self.position
            direction = step.first
            if not step.is_direction:
                target = to_cell(step, scheme, self.maze.size)
                delta = (target[0] - position[0], target[1] - position[1])
                if delta == (0, 0):
                    continue  # the current cell restated
                direction = next((d for d, m in MOVES.items() if m == delta), "")
                if not direction:
                    return self._say(
                        done,
                        f"The agreed cell ({step.first}, {step.second}) is not next to your position, {_where(position)}: it is not executed.",
                    )
            dr, dc = MOVES[direction]
            target = (position[0] + dr, position[1] + dc)
            self.moves.append(direction)
            done.append(direction)
            if not self.maze.in_bounds(target):
                self.end = "off_grid"
                return self._say(done, f"Moving {direction} leaves the maze. The game is over.")
            if not self.maze.is_open(target):
                self.end = "wall"
                return self._say(
                    done, f"Moving {direction} runs into a wall at {_where(target)}. The game is over."
                )
            if target == self.maze.goal:
                self.end = "goal"
                return self._say(done, f"You reached the goal at {_where(target)}. The game is over.")
        return self._say(done, f"You are now at {_where(self.position)} {POSITION_NOTE}.") if done else None

    @staticmethod
    def _say(done: list[str], result: str) -> str:
        return (f"Both agreed: {', '.join(done)}. " if done else "") + result

    def summary(self) -> dict[str, Any]:
        """What the record keeps: the executed route, how the game ended, the tags read."""
        out: dict[str, Any] = {
            "moves": list(self.moves),
            "cells": [list(c) for c in self.cells],
            "end": self.end or "open",
        }
        if self.structured:
            out["tags"] = list(self.tags)
        return out


def referee_extraction(summary: dict[str, Any]) -> Extraction:
    """The referee's executed route as an extraction, so it is graded by the one walk."""
    return Extraction(tuple(Step(d) for d in summary["moves"]), REFEREE_METHOD, version=REFEREE_METHOD)  # type: ignore[arg-type]
