"""Does one written route restate another? Comparisons of step sequences as the agents wrote them.

A reply restates the proposal when it names the same steps, or a cell for a direction (loosely, with
a sign of agreement; only one step from where the agents are). ``grading.table`` applies the game's
rule with these comparisons.
"""

from __future__ import annotations

from gapbench.grading.acts import Run
from gapbench.grading.schemes import Step


def matches(run: tuple[Step, ...], proposal: tuple[Step, ...], *, strict: bool = False) -> bool:
    """Does ``run`` restate ``proposal`` (the same steps, a direction matching a cell's hint)?
    Unless ``strict``, a cell without a hint may restate a direction ("Right?" - "(0,1).")."""
    if len(run) != len(proposal):
        return False
    for a, b in zip(run, proposal):
        if a.same_move(b):
            continue
        if a.is_direction and not b.is_direction and b.hint == a.first:
            continue
        if not strict and b.is_direction and not a.is_direction and a.hint == b.first:
            continue  # "Right, then down?" - "Right to (0,4): yes. [...] down to (1,4) too."
        if not strict and b.is_direction and not a.is_direction and not a.hint:
            continue  # "Move right." - "(3,1) ACTI!": the same move if (3,1) is right of us
        if not strict and a.is_direction and not b.is_direction and not b.hint:
            continue
        return False
    return True


def raw_cell(step: Step) -> tuple[int, int] | None:
    """A cell's two symbols as numbers (letters count from A = 0), or None for a direction."""
    if step.is_direction:
        return None
    return tuple(int(x) if x.isdigit() else ord(x) - ord("A") for x in (step.first, step.second))  # type: ignore[return-value]


def one_step_from(at: Step | None, run: tuple[Step, ...], proposal: tuple[Step, ...]) -> bool:
    """A cell that loosely restates a direction ("Right?" - "(0,2)") must be one step from where the
    agents are: adjacency does not depend on the coordinate scheme, so it can be checked as written."""
    here = raw_cell(at) if at is not None and at.order is None and at.origin is None else None
    if here is None or len(run) != 1 or len(proposal) != 1:
        return True
    a, b = run[0], proposal[0]
    cell = (
        a
        if b.is_direction and not a.is_direction and not a.hint
        else b
        if a.is_direction and not b.is_direction and not b.hint
        else None
    )
    if cell is None or cell.order is not None or cell.origin is not None:
        return True
    there = raw_cell(cell)
    return there is not None and abs(there[0] - here[0]) + abs(there[1] - here[1]) == 1


def exact(run: tuple[Step, ...], proposal: tuple[Step, ...]) -> bool:
    """Does ``run`` restate ``proposal`` with evidence for every step: the same step, or a cell whose
    written direction is the proposed direction (either way round)?"""
    return len(run) == len(proposal) and all(
        a.same_move(b) or (a.is_direction != b.is_direction and (a.hint or b.hint) in (a.first, b.first))
        for a, b in zip(run, proposal)
    )


def within(run: tuple[Step, ...], block: tuple[Step, ...]) -> bool:
    """Is ``run`` a contiguous part of ``block`` (e.g. the end cell of an accepted plan)?"""
    n = len(run)
    return any(matches(run, block[i : i + n]) for i in range(len(block) - n + 1))


def richer(
    run: tuple[Step, ...], proposal: tuple[Step, ...], refuted: frozenset[tuple[object, ...]] = frozenset()
) -> tuple[Step, ...]:
    """Of two restatements of one move, the one that carries more evidence (a cell with its hint).
    A cell the accepting message refutes ("Down takes us to (1,0), not (1,1). But yes, down.")
    gives way to the direction."""
    out = []
    for a, b in zip(run, proposal):
        cell, direction = (a, b) if b.is_direction else (b, a)
        if direction.is_direction and written(cell) in refuted:
            out.append(direction)
        elif not cell.is_direction and direction.is_direction and not cell.hint:
            out.append(Step(cell.first, cell.second, cell.order, cell.origin, direction.first))
        else:
            out.append(a if (not a.is_direction and a.hint) else b)
    return tuple(out)


def written(step: Step) -> tuple[object, ...]:
    """What ``Step.same_move`` compares, as a key."""
    return (step.first, step.second, step.order, step.origin)


def reached(run: tuple[Step, ...], accepted: tuple[Step, ...]) -> bool:
    """Is ``run`` the cell the accepted steps end on?"""
    return len(run) == 1 and not run[0].is_direction and run[0].same_move(accepted[-1])


def cell_reached(r: Run, accepted: tuple[Step, ...]) -> bool:
    """ "Right. Fourth row, third column.": a bare cell stated after accepting one direction is the
    cell reached, not a new move."""
    return (
        len(accepted) == 1
        and accepted[0].is_direction
        and len(r.steps) == 1
        and not r.steps[0].is_direction
        and not r.steps[0].hint
        and not r.marked
    )
