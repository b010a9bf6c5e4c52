"""What a reply says about the proposal on the table, beyond restating it: a rejection, a partial
acceptance ("only the first two"), a counter-proposal inside the acceptance, an arrival elsewhere.
``grading.table`` weighs these when it applies the game's rule.
"""

from __future__ import annotations

import re

from gapbench.grading import cues
from gapbench.grading.acts import Acts, Run, corrects_position
from gapbench.grading.restates import matches
from gapbench.grading.schemes import Step
from gapbench.grading.text import sentences


def rejects(acts: Acts, proposal: tuple[Step, ...]) -> bool:
    """An explicit rejection, a negated restatement, or a wall report aimed at the proposal."""
    if acts.rejects and not corrects_position(acts):
        return True
    after_yes = (
        acts.accept_end if acts.accepts else len(acts.text) + 1
    )  # "Great, let's do it. We can't go up": the next up
    for r in acts.runs:
        if r.start >= after_yes:
            continue
        if r.role in ("negated", "conditional") and (
            matches(r.steps, proposal, strict=True) or matches(r.steps[:1], proposal[:1], strict=True)
        ):
            return True
    for lo, hi in acts.wall_sentences:
        if lo >= after_yes:
            continue
        inside = [r for r in acts.runs if lo <= r.start < hi and r.role in ("info", "negated", "proposal")]
        if (not inside and not acts.accepts) or any(
            matches(r.steps[:1], proposal[:1], strict=True) for r in inside
        ):
            return True
    return False


def accepted_part(acts: Acts, plan: tuple[Step, ...]) -> int:
    """How many steps of ``plan`` a partial acceptance takes: "only the first step", "the first two",
    "as far as (2,1)" (0: no partial acceptance)."""
    if acts.only_first:
        return acts.only_first
    if acts.only_direction:
        return next((k for k, st in enumerate(plan) if st.first != acts.only_direction), len(plan))
    for cell in acts.until:
        for k, step in enumerate(plan):
            if not step.is_direction and step.same_move(cell):
                return k + 1
    return 0


_LETS = re.compile(r"\s*(?:let'?s|let us)\s+(?:\w+\s+){0,2}$", re.IGNORECASE)


def carries_out(acts: Acts, r: Run) -> bool:
    """ "I agree with you! Let's move right.": a "let's" in the sentence right after a bare acceptance
    carries out the move agreed (unlike "Fine. Up, please." or "Okay. [...] Go up.", which ask anew)."""
    return not r.asks and bool(_LETS.fullmatch(acts.text, acts.accept_end, r.start))


_FURTHER = re.compile(
    r"\b(?:next|then|again|afterwards?|after that|now|too|also|more|another)\b", re.IGNORECASE
)


_BUT = re.compile(r"\b(?:but|although|though|however)\b", re.IGNORECASE)


def counters(acts: Acts, moving: list[Run], proposal: tuple[Step, ...], earlier: tuple[Step, ...]) -> bool:
    """Does the accepting sentence itself put forward a different move ("I agree, let's go down." to
    "right")? Then it counters the proposal; "Agreed. Next, down" or "OK, and down after" go on."""
    if not proposal or not acts.accepts or acts.accept_end < 0:
        return False
    start = max((lo for lo, _ in sentences(acts.text) if lo < acts.accept_end), default=0)
    inside = [r for r in moving if start <= r.start < acts.accept_end and not r.question]
    but = _BUT.search(acts.text, start, acts.accept_end) is not None  # "OK, but I think right is better."
    if (
        len(inside) != 1
        or not (inside[0].marked or but)
        or _FURTHER.search(acts.text, start, acts.accept_end)
    ):
        return False
    steps = inside[0].steps
    plans = [plan for plan in (proposal, earlier, earlier + proposal) if plan]
    # a restatement may start from the plan's head or include the moves just made before it
    return not any(
        matches(steps[: len(plan)], plan[: len(steps)]) or matches(steps[-len(plan) :], plan)
        for plan in plans
    )


def accepting_sentence(acts: Acts, r: Run) -> bool:
    """ "I can confirm rows 1 and 2. [...] I agree to down twice.": a move in a sentence that itself
    accepts names what is accepted; it does not ask anew."""
    for start, piece in sentences(acts.text):
        if start <= r.start < start + len(piece):
            return bool(cues.ACCEPT.search(piece)) and not cues.NOT_ACCEPT.search(piece)
    return False


def _arrival_cells(acts: Acts) -> list[Step]:
    lo, hi = acts.arrival
    return [st for c in acts.claims if lo <= c.start < hi for st in c.steps if not st.is_direction]


def arrives_at(acts: Acts, proposal: tuple[Step, ...]) -> bool:
    """ "Now at r3c1. Move right to r3c2?" after a proposal to go to r3c1: the arrival reported is the
    proposal's own cell, so it carries the proposal out, whatever the message proposes next."""
    if not proposal or proposal[-1].is_direction:
        return False
    return any(st.same_move(proposal[-1]) for st in _arrival_cells(acts))


def arrives_elsewhere(acts: Acts, proposal: tuple[Step, ...]) -> bool:
    """ "I've reached row 4 column 4" after a proposal to go to row 2, column 2: the arrival reported
    is not the proposal's, so it does not carry it out."""
    if not proposal or proposal[-1].is_direction:
        return False
    cells = _arrival_cells(acts)
    return bool(cells) and not any(st.same_move(proposal[-1]) for st in cells)
