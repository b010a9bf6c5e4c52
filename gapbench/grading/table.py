"""The game's rule for a collaboration: the proposal on the table, and what each reply does with it.

A move executes when one agent's concrete proposal is accepted by the other, or when both state the
same move (docs/GRADING.md). ``grading.acts`` says what a message does; this module applies the rule
to one reply at a time, in three steps: ``answer`` (the partner's proposal accepted, rejected or left
on the table), ``confirm_narration`` (moves just executed, narrated again, add nothing) and
``next_table`` (the last concrete proposal of the message goes on the table).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from gapbench.grading import cues
from gapbench.grading.acts import Acts, Run, offered_options
from gapbench.grading.replies import (
    accepted_part,
    accepting_sentence,
    arrives_at,
    arrives_elsewhere,
    carries_out,
    counters,
    rejects,
)
from gapbench.grading.restates import (
    cell_reached,
    exact,
    matches,
    one_step_from,
    reached,
    richer,
    within,
    written,
)
from gapbench.grading.schemes import Step
from gapbench.grading.text import sentences

_ACTI = re.compile(r"\bACTI\b", re.IGNORECASE)


def _sentence_end(text: str, pos: int) -> int:
    for start, piece in sentences(text):
        if start <= pos < start + len(piece):
            return start + len(piece)
    return len(text)


def _first_sentence_end(text: str) -> int:
    pieces = sentences(text)
    return pieces[0][0] + len(pieces[0][1]) if pieces else 0


@dataclass
class Table:
    """The proposal on the table and the moves just executed (which narration may confirm)."""

    speaker: str | None = None
    steps: tuple[Step, ...] = ()
    executed: tuple[Step, ...] = ()  # the last executed block, still open to narration
    narrated: int = 0  # how many of ``executed`` have been narrated since
    from_plan: bool = False
    asked: bool = False  # the proposer also asked about the map: a bare "Yes" answers that question
    offer: bool = False  # "If (0,1) is open, then right": only the partner's restatement executes it
    earlier: tuple[Step, ...] = ()  # the message's proposal before the one on the table


@dataclass
class Turn:
    """What one reply did with the proposal on the table."""

    accepted: tuple[Step, ...] = ()  # the steps it executed
    consumed: set[int] = field(default_factory=set)  # its proposals that only restate (indices in ``moving``)
    accepting: Run | None = None  # the run that accepted the table by going on from it


def proposals(acts: Acts, executed: list[Step]) -> list[Run]:
    """The message's proposals; "Again?" after an executed down proposes down ("Again." restates it)."""
    if acts.repeats and executed and executed[-1].is_direction:
        question = acts.text.rstrip().endswith("?")
        return [Run((executed[-1],), 0, len(acts.text), "proposal", question=question, again=True)]
    return [r for r in acts.runs if r.role == "proposal"]


def answer(table: Table, acts: Acts, moving: list[Run], at: Step | None = None) -> tuple[Table, Turn]:
    """The partner's proposal: accepted (whole or in part), rejected, or left on the table. ``at`` is
    the cell the agents last stated or reached, as written, if known."""
    turn = Turn()
    # "Fine. Up, please.": accepted by its first sentence; the later, worded move is a new proposal.
    # "Yes. At (2,0). Right.": after the acceptance and the arrival it reports, a move is the next one.
    arrived_at, arrived_end = acts.arrival
    # "👍 We could go right or down. I'd pick right.": a move picked from the options offered is new.
    offered_at, offered = offered_options(acts)
    fresh_ask = {
        k
        for k, r in enumerate(moving)
        if (
            acts.bare_accept
            and 0 <= acts.accept_end <= r.start
            and r.marked
            and not carries_out(acts, r)
            and (r.asks or not accepting_sentence(acts, r))
            # "Agree. Move to r2c1." to "move down to r2c1": the cell proposed, named again, is no
            # further move
            and not (any(not st.is_direction for st in r.steps) and exact(r.steps, table.steps))
        )
        or (acts.accepts and 0 <= acts.accept_end <= arrived_at and arrived_end <= r.start)
        or (r.start > offered_at and all(st.is_direction for st in r.steps) and _dirs(r) in offered)
    }
    in_rejection = [any(lo <= r.start < hi for lo, hi in acts.reject_sentences) for r in moving]
    # A cell answering a direction (or the reverse) restates it only with a sign of agreement.
    loose = (
        acts.accepts or acts.reports_arrival or bool(_ACTI.search(acts.text)) or _only_symbols(acts, moving)
    )
    refuted = frozenset(written(r.steps[0]) for r in acts.runs if r.role == "negated" and len(r.steps) == 1)
    # "Yes, and one more right after": the acceptance takes the table, the run is a further move.
    further = {
        k
        for k, r in enumerate(moving)
        if acts.accepts and cues.AND_FURTHER.search(acts.text, max(0, r.start - 30), r.start + 12)
    }
    # "Down to r7c1 then. ... right x6." + "Agreed: down to r7c1, then right six times.": both, as one plan.
    both = table.earlier + table.steps
    restating_both = [
        k
        for k, r in enumerate(moving)
        if table.earlier
        and not r.question
        and len(r.steps) == len(both)
        and matches(r.steps, both, strict=True)
    ]
    restating = [
        k
        for k, r in enumerate(moving)
        if k not in further
        and matches(r.steps, table.steps, strict=not (loose or r.narration))
        and one_step_from(at, r.steps, table.steps)
        and not r.question
        and k not in fresh_ask
        and not in_rejection[k]  # "No, (1,3) gets us nowhere"
        and not any(written(st) in refuted for st in r.steps if not st.is_direction)  # "not (2,1)"
    ]
    # "Row 3 is open from (3,1) to (3,5). Let's move down to (1,0).": an exact restatement is the one
    restating.sort(key=lambda k: not exact(moving[k].steps, table.steps))
    # "Right to (2,4). (4,4) is the goal." + "Agreed, right.": a move that restates the first proposal
    # exactly does not loosely restate a later cell.
    restating = [
        k
        for k in restating
        if not (
            table.earlier
            and all(st.is_direction for st in moving[k].steps)
            and matches(moving[k].steps, table.earlier[: len(moving[k].steps)], strict=True)
            and not matches(moving[k].steps, table.steps, strict=True)
        )
    ]
    # "Down to (2,1). Then we can go right." + "Let's move down to (2,1). Now right to (2,2).": the
    # earlier proposal restated before the one on the table executes too, first.
    earlier = [
        k
        for k, r in enumerate(moving)
        if table.earlier and acts.accepts and not r.question and matches(r.steps, table.earlier, strict=True)
    ]
    both_in_turn = (earlier[0], restating[0]) if earlier and restating and restating[0] > earlier[0] else None
    # "B3, then B4 and B5, and down to E5." + "Let's do B3 first. Agreed.": the first proposal, or its
    # start, restated alone is what is accepted.
    earlier_part = [
        k
        for k, r in enumerate(moving)
        if table.earlier
        and acts.accepts
        and not r.question
        and len(r.steps) <= len(table.earlier)
        and matches(r.steps, table.earlier[: len(r.steps)], strict=True)
        and not in_rejection[k]
    ]
    # "why →?", "is ← open on your side?": a challenge leaves the proposal on the table.
    echoed = [
        k for k, r in enumerate(moving) if matches(r.steps, table.steps) and r.question and r.challenges
    ]
    prefix = [
        k
        for k, r in enumerate(moving)
        if not r.question
        and len(r.steps) < len(table.steps)
        and matches(r.steps, table.steps[: len(r.steps)])
        and not in_rejection[k]
        and k not in fresh_ask
    ]
    extends = [
        k
        for k, r in enumerate(moving)
        if not r.question
        and len(r.steps) > len(table.steps)
        and r.parts > 1
        and matches(r.steps[: len(table.steps)], table.steps, strict=not loose)
        and k not in fresh_ask
    ]
    accepted: tuple[Step, ...] | None = None
    if counters(acts, moving, table.steps, table.earlier):
        pass  # "I agree, let's go down." to "right": a different move, so nothing is accepted
    elif both_in_turn is not None:
        k, j = both_in_turn
        accepted = richer(moving[k].steps, table.earlier, refuted) + richer(
            moving[j].steps, table.steps, refuted
        )
        turn.consumed |= {k, j}
    elif restating_both and acts.accepts:
        accepted = richer(moving[restating_both[0]].steps, both, refuted)
        turn.consumed.add(restating_both[0])
    elif restating:
        accepted = richer(moving[restating[0]].steps, table.steps, refuted)
        turn.consumed.add(restating[0])
    elif acts.only_first and not acts.rejects and (table.earlier or acts.only_first >= 2):
        accepted = both[: acts.only_first]  # "I agree to steps 1-3": the steps of the whole message's plan
        turn.consumed |= {k for k, r in enumerate(moving) if matches(r.steps, accepted, strict=True)}
    elif earlier_part and not prefix and not extends:
        k = earlier_part[0]
        accepted = richer(moving[k].steps, table.earlier[: len(moving[k].steps)], refuted)
        turn.consumed.add(k)
    elif table.offer:
        accepted = None  # a conditional offer waits for the partner to state the move
    elif prefix and acts.accepts and moving[prefix[0]].narration and len(moving[prefix[0]].steps) == 1:
        # "Agreed. Moving right.": the plan, narrated from its first step (not "I agree with moving
        # right to r1c2 and r1c3", which names the part accepted)
        accepted = table.steps
        turn.consumed.add(prefix[0])
    elif prefix:
        accepted = _prefix(acts, moving, prefix[0], table.steps, turn.consumed)
    elif rejects(acts, table.steps):
        accepted = None
    elif extends:
        accepted = table.steps  # "Right again, and then down": accepts right, proposes down
        turn.accepting = moving[extends[0]]
    elif (
        (acts.accepts and (not table.asked or cues.FIRM_ACCEPT.search(acts.text) is not None))
        or (acts.reports_arrival and not moving and not arrives_elsewhere(acts, table.steps))
        or (acts.reports_arrival and arrives_at(acts, table.steps) and not acts.rejects)
        or (accepted_part(acts, table.steps) and not acts.rejects)
    ):
        accepted = table.steps[: accepted_part(acts, table.steps) or len(table.steps)]
    if accepted is not None:
        # "Yes, all four, down to (2,4)": restating part of what was accepted adds nothing; nor does
        # naming the cell just reached ("right ok. row 2, col 2.").
        first = _first_sentence_end(acts.text)
        # "👍 ➡️ Let's go ➡️!": a marked proposal after the restatement is the next move.
        after = moving[restating[0]].start if restating else len(acts.text)
        turn.consumed |= {
            k
            for k, r in enumerate(moving)
            if k not in fresh_ask
            and not (r.again or r.question)
            and not (r.marked and r.start > after)
            and (
                r.narration
                or r.start < first
                or reached(r.steps, accepted)
                or cell_reached(r, accepted)
                or accepting_sentence(acts, r)  # "..., I accept those two. [...] down, down agreed"
            )
            and within(r.steps, accepted)
        }
        turn.accepted = accepted
        narrated = len(accepted) if restating or prefix else 0
        return Table(executed=accepted, narrated=narrated, from_plan=len(table.steps) > 1), turn
    if echoed and not acts.rejects:
        turn.consumed |= set(echoed)  # "is ← open on your side?": a question about it, the proposal stays
    elif acts.rejects or rejects(acts, table.steps) or moving:
        table = Table(executed=table.executed, narrated=table.narrated, from_plan=table.from_plan)
    return table, turn


def _dirs(r: Run) -> tuple[str, ...]:
    return tuple(st.first for st in r.steps)


def _only_symbols(acts: Acts, moving: list[Run]) -> bool:
    """ "Down." answered by "(1,0).": a reply that is nothing but the move restates it."""
    return len(moving) == 1 and not re.search(
        r"\w", acts.text[: moving[0].start] + acts.text[moving[0].end :]
    )


def _prefix(
    acts: Acts, moving: list[Run], k: int, plan: tuple[Step, ...], consumed: set[int]
) -> tuple[Step, ...]:
    """ "Down, yes. Not the right yet.", "d1, e1 fine. e2, e3 fine.": consecutive runs that go on with
    the plan add up to the part accepted, in the first run's sentence and in later sentences that
    accept again (not "r2c2, r2c3 yes; r2c4 onward later.")."""
    pieces = sentences(acts.text)
    end = _sentence_end(acts.text, moving[k].start)
    n = p = 0
    while (
        k < len(moving)
        and not moving[k].question
        and matches(moving[k].steps, plan[n : n + len(moving[k].steps)])
        and n + len(moving[k].steps) <= len(plan)
    ):
        if moving[k].start >= end:
            while p < len(pieces) and pieces[p][0] + len(pieces[p][1]) <= moving[k].start:
                p += 1  # the sentences only move forward: one pass over them
            piece = pieces[p][1] if p < len(pieces) else ""
            if not (cues.ACCEPT.search(piece) or cues.FINE_AT_END.search(piece)):
                break
            end = pieces[p][0] + len(piece)
        consumed.add(k)
        n += len(moving[k].steps)
        k += 1
    return plan[:n]


def confirm_narration(table: Table, acts: Acts, moving: list[Run], consumed: set[int]) -> None:
    """Narration of moves just executed ("Moving right now", "Agreed, up." after the up) confirms
    them; it is not a new move."""
    for k, r in enumerate(moving):
        echo = acts.accepts and not table.steps and not r.marked and r.start < acts.accept_end
        if k in consumed or r.question or not table.executed or not (r.narration or echo):
            continue
        remaining = table.executed[table.narrated :] or table.executed
        if matches(r.steps, remaining[: len(r.steps)], strict=True) and (table.from_plan or not r.again):
            consumed.add(k)
            table.narrated = min(len(table.executed), table.narrated + len(r.steps))


def next_table(table: Table, acts: Acts, moving: list[Run], turn: Turn, speaker: str) -> Table:
    """The last concrete proposal of the message goes on the table."""
    # A proposal followed by the message's own acceptance of the table is superseded by it ("Mine:
    # down, right. Both start with right: let's do right, right first.").
    last = max((moving[k].start for k in turn.consumed), default=-1)
    fresh = [r for k, r in enumerate(moving) if k not in turn.consumed and r.start > last]
    done = turn.accepted
    if (
        done
        and fresh
        and len(fresh[-1].steps) > len(done)
        and matches(fresh[-1].steps[: len(done)], done)
        and (
            fresh[-1] is turn.accepting
            or (fresh[-1].start < _first_sentence_end(acts.text) and not fresh[-1].again)
        )
    ):
        fresh[-1] = replace(fresh[-1], steps=fresh[-1].steps[len(done) :])  # "Yes (4,1), then (5,1)"
    elif (
        not done
        and fresh
        and table.executed
        and not table.steps
        and len(fresh[-1].steps) > len(table.executed)
        and exact(fresh[-1].steps[: len(table.executed)], table.executed)
        and not fresh[-1].steps[len(table.executed) - 1].is_direction  # a cell: not a new move
        and fresh[-1].start < _first_sentence_end(acts.text)
    ):
        # "Down to (1,2). Then right to the goal.": the move just made, confirmed, then the next one
        fresh[-1] = replace(fresh[-1], steps=fresh[-1].steps[len(table.executed) :])
    if not fresh and acts.names_goal is not None:
        fresh = [acts.names_goal]  # "(0,6) is the goal on my map."
    if fresh:
        return Table(
            speaker,
            fresh[-1].steps,
            table.executed,
            table.narrated,
            table.from_plan,
            acts.asks_about_map,
            earlier=fresh[-2].steps if len(fresh) > 1 else (),
        )
    offers = [r for r in acts.runs if r.offer]
    if offers:  # "If (0,1) is open, then right."
        return Table(speaker, offers[-1].steps, table.executed, table.narrated, table.from_plan, offer=True)
    if table.speaker == speaker and acts.asks_about_map:
        table.asked = True  # "Is (1,0) open for you?" after its own proposal: a "Yes" answers that
    return table
