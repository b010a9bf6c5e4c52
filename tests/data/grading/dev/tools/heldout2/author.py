"""Author the h2 held-out cases: dialogues are written from a known executed route, so the label is
the route the text executes; outcomes are left to check.py --fill (the corpus walker).

Usage: python tests/data/grading/heldout/tools/author.py && python .../check.py --fill
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import yaml

from gapbench.maze import Maze, MazeParams, generate, split_views

OUT = Path(__file__).resolve().parent.parent
DIRS = ("up", "down", "left", "right")
STEP = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
OPP = {"up": "down", "down": "up", "left": "right", "right": "left"}
ORD = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"]
NUMW = {2: "twice", 3: "three times", 4: "four times", 5: "five times"}


def mv(cell, d):
    return (cell[0] + STEP[d][0], cell[1] + STEP[d][1])


def text(m: Maze) -> str:
    return m.render(spaced=False) + "\n"


def is_open(m: Maze, cell) -> bool:
    return m.in_bounds(cell) and m.rows[cell[0]][cell[1]] != "#"


def dirs_of(path):
    out = []
    for a, b in itertools.pairwise(path):
        out.append(next(d for d in DIRS if mv(a, d) == b))
    return out


# ---------------------------------------------------------------- coordinate schemes
class Scheme:
    def __init__(self, name, fmt, conv, tags):
        self.name, self.fmt, self.conv, self.tags = name, fmt, conv, tags


SCHEMES = {
    "rc0": Scheme(
        "rc0", lambda c: f"({c[0]}, {c[1]})", "(row, col), 0-indexed from the top-left", ["coordinates"]
    ),
    "rc0t": Scheme("rc0t", lambda c: f"({c[0]},{c[1]})", "(row,col) with (0,0) top-left", ["coordinates"]),
    "rc1": Scheme(
        "rc1",
        lambda c: f"({c[0] + 1}, {c[1] + 1})",
        "(row, column), counting from 1 at the top-left",
        ["coordinates", "one_based"],
    ),
    "xy0": Scheme(
        "xy0",
        lambda c: f"({c[1]}, {c[0]})",
        "(x, y) where x is the column and y the row, (0, 0) top-left",
        ["coordinates", "xy"],
    ),
    "xy1": Scheme(
        "xy1",
        lambda c: f"({c[1] + 1},{c[0] + 1})",
        "(x,y) = (column, row), both starting at 1 in the top-left",
        ["coordinates", "xy", "one_based"],
    ),
    "rXcY": Scheme(
        "rXcY", lambda c: f"r{c[0]}c{c[1]}", "rXcY (row X, column Y, from r0c0 top-left)", ["rXcY"]
    ),
    "RC1": Scheme(
        "RC1", lambda c: f"R{c[0] + 1}C{c[1] + 1}", "R#C# with R1C1 the top-left cell", ["rXcY", "one_based"]
    ),
    "A1": Scheme(
        "A1",
        lambda c: f"{'ABCDEFGH'[c[1]]}{c[0] + 1}",
        "spreadsheet style: columns A, B, C... left to right, rows 1, 2, 3... top to bottom (A1 = top-left)",
        ["letter_number", "one_based"],
    ),
    "words": Scheme(
        "words",
        lambda c: f"row {c[0]}, column {c[1]}",
        "row/column numbers from 0, top-left is row 0, column 0",
        ["named_fields"],
    ),
    "ord": Scheme(
        "ord",
        lambda c: f"the {ORD[c[0]]} row, {ORD[c[1]]} column",
        "rows counted from the top, columns from the left",
        ["ordinal_words", "one_based"],
    ),
}

DIRW = {
    "plain": dict(up="up", down="down", left="left", right="right"),
    "compass": dict(up="north", down="south", left="west", right="east"),
    "arrow": dict(up="↑", down="↓", left="←", right="→"),
    "emoji": dict(up="⬆️", down="⬇️", left="⬅️", right="➡️"),
}


# ---------------------------------------------------------------- voices
BASE = dict(
    open=["I'll use {conv}. We start at {p}."],
    open2=["Same convention works for me. "],
    prop=["Let's move {D} to {c}."],
    propq=["Shall we go {D} to {c}?"],
    prop_coord=["Next: {c}."],
    acc=["Agreed, {D}."],
    acc_coord=["Agreed, {c}."],
    plan=["Plan: {plan}. OK?"],
    acc_plan=["Agreed, all of it."],
    partial=["{okpart} is fine, but then {bad} is a wall on my map. After that let's go {alt} instead."],
    rej=["No, {bad} is a wall on my map."],
    rej_far=["I'd rather not go {bad}; that leads away from the goal."],
    ask=["What do you see around {p} on your map?"],
    ans=["On my map {seen}."],
    cond=["If {c} is open on your map, let's go {D}."],
    cond_yes=["{c} is open for me, so yes: {D}."],
    neg=["Not {bad} (that's a wall for me). Go {D} instead."],
    alt=["We could go {D} or {D2}. I'd pick {D}."],
    pos=["We're at {p}."],
    acti=["ACTI!"],
    dead=["Hmm, {p} is a dead end on my map. Let's go back {D}.", "Dead end here. Back {D} to {c}?"],
    after=["Now at {p}. Next {D}?", "Okay. Next: {D}."],
    stuck=["I still think {D} is better.", "{Dc}, then?"],
)


def V(**kw):
    v = {k: list(t) for k, t in BASE.items()}
    v.update(kw)
    return v


VOICES = {
    "gpt-4o": V(
        tags=["markdown"],
        open=[
            "Hi! Let's get moving. I'll describe positions as {conv}. We're at {p}.",
            "Great, let's start! Using {conv}, our position is {p}.",
        ],
        prop=[
            "**Proposed move:** {D} to {c}.",
            "Let's move **{D}** to {c}.",
            "I suggest we go **{D}** — {c} is open on my map.",
        ],
        propq=["Can we move **{D}** to {c}?", "How about **{D}** to {c}?"],
        acc=[
            "Sounds good! Moving **{D}**.",
            "Agreed — **{D}** it is.",
            "Great, {D} works. ✅",
            "Perfect, let's go {D}.",
        ],
        acc_coord=["Yes, {c} works for me!", "Confirmed: {c}."],
        plan=["Here's a plan:\n\n{planlist}\n\nDoes that work for you?", "**Plan:** {plan}. Agree?"],
        acc_plan=["That plan looks great — let's do all of it!", "Agreed on the whole plan. 👍"],
        pos=["We're now at **{p}**.", "Current position: {p}."],
        acti=["🎉 We reached the goal! **ACTI!**", "ACTI! 🎉"],
    ),
    "gpt-4.1-mini": V(
        tags=["terse"],
        open=["Using {conv}. Start {p}.", "I'll use {conv}. We are at {p}."],
        prop=["Move {D} to {c}.", "Proposal: {D} to {c}.", "Let's go {D} to {c}."],
        propq=["{Dc} to {c}?", "Next move {D}?"],
        acc=["Agree: {D}.", "Confirmed {D}.", "Agreed. Moving {D}.", "OK, {D}."],
        acc_coord=["Agree, {c}.", "Confirmed, {c}."],
        plan=["Proposed sequence: {plan}.", "Plan: {plan}. Confirm?"],
        acc_plan=["Confirmed full sequence.", "Agree with the sequence."],
        pos=["Now at {p}.", "Position {p}."],
        acti=["ACTI!"],
    ),
    "claude-3.5-sonnet": V(
        tags=["verbose"],
        open=[
            "Hello! Looking at my map, I can see part of the maze. To keep us in sync, I'll refer to cells as {conv}. We're starting at {p}.",
            "Hi there. I'll use {conv} so we can coordinate precisely. Our starting position is {p}.",
        ],
        prop=[
            "Based on my map, I'd suggest we move {D} to {c}. Does that look clear on your side?",
            "I propose moving {D} to {c} — it's open on my map.",
        ],
        propq=[
            "Would moving {D} to {c} work for you?",
            "Could we go {D} to {c}? It looks open from what I can see.",
        ],
        acc=[
            "I agree, let's move {D}.",
            "Yes, that works — {D} it is.",
            "That looks right to me. Moving {D}.",
            "Agreed. {Dc} is clear.",
        ],
        acc_coord=["I agree with {c}.", "Yes, {c} looks good on my side too."],
        plan=["Looking ahead, I think the path is: {plan}. Would you agree with that sequence?"],
        acc_plan=["That sequence matches what I can see. Let's do it.", "I agree with the full sequence."],
        rej=[
            "I have to disagree — on my map, {bad} is a wall.",
            "Actually, I can see that {bad} is blocked (wall) on my map, so that won't work.",
        ],
        ask=[
            "Before we commit, can you tell me what's around {p} on your map? Several cells near us are hidden for me."
        ],
        pos=["We should now be at {p}.", "That puts us at {p}."],
        acti=["We've reached the goal! ACTI!", "ACTI!"],
    ),
    "claude-3.7-sonnet": V(
        tags=["markdown", "verbose"],
        open=[
            "I'll use {conv}.\n\n**Current position:** {p}",
            "Let me set a convention: {conv}.\n\nWe begin at {p}.",
        ],
        prop=["**My proposal:** move {D} to {c}.", "Next I'd suggest **{D}** to {c}."],
        propq=["Can we move **{D}** to {c}?"],
        acc=["Agreed — moving **{D}**.", "Yes, I agree with {D}.", "Confirmed: {D}.", "Good call. {Dc}."],
        acc_coord=["Agreed, moving to {c}.", "{c} — confirmed."],
        plan=["**Proposed path:**\n{planlist}\n\nLet me know if you agree with these steps."],
        acc_plan=["I agree with all of those steps.", "That path works on my map too — agreed."],
        pos=["**Current position:** {p}", "We're now at {p}."],
        acti=["We've reached the goal.\n\nACTI!", "ACTI!"],
    ),
    "gemini-2.0-flash": V(
        tags=["markdown"],
        open=[
            "Okay, let's start. I'll use {conv}.\n\n* Current position: {p}",
            "Okay! Using {conv}. We're at {p}.",
        ],
        prop=["* Proposed move: {D} to {c}", "Okay, let's move {D} to {c}.", "I propose we move {D}."],
        propq=["Okay, can we move {D} to {c}?"],
        acc=["Okay, sounds good. Moving {D}.", "Okay, {D}.", "Agreed. {Dc}.", "Sounds good, let's go {D}."],
        acc_coord=["Okay, {c}."],
        plan=["Okay, I think the route is:\n{planlist}\n\nSound good?"],
        acc_plan=["Okay, sounds good. Let's do all of those."],
        pos=["* Current position: {p}", "We are now at {p}."],
        acti=["Okay, we're at the goal! ACTI!", "ACTI!"],
    ),
    "llama-3.1-8b": V(
        tags=["verbose"],
        open=[
            "I'm excited to play ACTI with you! Let's work together to reach the goal. I will use {conv}. Our current position is {p}.",
            "Let's get started! To make things easier, I'll use {conv}. We are currently at {p}.",
        ],
        prop=[
            "I think we should move {D} to {c}. What do you think?",
            "My suggestion is to move {D} to {c}.",
        ],
        propq=["Can we move {D} to {c}?", "What do you think about moving {D} to {c}?"],
        acc=[
            "I agree with you! Let's move {D}.",
            "That sounds like a great idea! Moving {D}.",
            "Yes, let's move {D}.",
        ],
        acc_coord=["I agree, let's move to {c}."],
        plan=["I think the best way forward is to {plan}. Let me know if you agree!"],
        acc_plan=["I agree with your plan! Let's do it."],
        pos=["We are now at {p}.", "Our current position is {p}."],
        acti=["We did it! We reached the goal! ACTI!"],
    ),
    "llama-3.1-70b": V(
        open=["Using {conv}. Starting position: {p}."],
        prop=["I propose we move {D} to {c}.", "Let's move {D} to {c}."],
        propq=["Can we move {D} to {c}?"],
        acc=["I agree. Moving {D}.", "Agreed, {D}.", "Yes, {D}."],
        acc_coord=["Agreed, {c}."],
        plan=["Proposed path: {plan}."],
        acc_plan=["Agreed on the path."],
        pos=["Current position: {p}."],
        acti=["ACTI!"],
    ),
    "qwen2.5-72b": V(
        tags=["markdown"],
        open=["Let's start. Coordinates: {conv}.\n\n**Current Position:** {p}"],
        prop=["**Proposed Move:** {D} to {c}", "**Next Move:** {D} (to {c})"],
        propq=["**Proposal:** Can we move {D} to {c}?"],
        acc=["**Agreed.** Moving {D}.", "Agreed with {D}.", "Confirmed: {D}."],
        acc_coord=["**Agreed:** {c}"],
        plan=["**Proposed Path:**\n{planlist}"],
        acc_plan=["**Agreed** with the proposed path."],
        pos=["**Current Position:** {p}"],
        acti=["**ACTI!**", "ACTI!"],
    ),
    "qwen3-8b": V(
        tags=["reasoning_block"],
        open=["Coordinates: {conv}. We are at {p}."],
        prop=["Let's move {D} to {c}.", "Move {D} to {c}."],
        propq=["Move {D} to {c}?"],
        acc=["Agreed, {D}.", "OK, moving {D}.", "Yes — {D}."],
        plan=["Plan: {plan}."],
        acc_plan=["Agreed with the plan."],
        pos=["Now at {p}."],
        acti=["ACTI!"],
    ),
    "mistral-small": V(
        tags=["terse"],
        open=["Coords {conv}. At {p}."],
        prop=["{Dc}.", "{Dc} to {c}."],
        propq=["{Dc}?"],
        acc=["Ok {D}.", "{Dc}, agreed.", "Yes."],
        acc_coord=["Ok {c}."],
        plan=["{plan}?"],
        acc_plan=["Ok, all."],
        pos=["At {p}."],
        acti=["ACTI!"],
    ),
    "gemma-3-27b": V(
        tags=["emoji"],
        open=["Okay! 😊 I'll use {conv}. We're at {p}.", "Hi! Let's do this! 🧭 Using {conv}. Start: {p}."],
        prop=["Let's go {D} to {c}! 🚀", "I think {D} to {c} is our best bet!"],
        propq=["Can we go {D} to {c}? 🤔"],
        acc=["Sounds great! 👍 {Dc}!", "Yes! {Dc} it is! 😊", "👍", "Perfect! Moving {D}! 🎉"],
        acc_coord=["Yes! {c} 👍"],
        plan=["Here's my idea: {plan}! What do you think? 😊"],
        acc_plan=["Love it! 👍 Let's do all of those!"],
        pos=["We're at {p} now! 📍"],
        acti=["We made it!!! 🎉🎉 ACTI!"],
    ),
    "phi-4": V(
        tags=["markdown", "verbose"],
        open=["### Analysis\n\nI will use {conv}. Our current position is {p}."],
        prop=["### Proposed Action\n\nMove **{D}** to {c}.", "### Next Step\n\nI propose moving {D} to {c}."],
        propq=["### Question\n\nCan we move {D} to {c}?"],
        acc=["### Agreement\n\nI agree to move **{D}**.", "### Response\n\nAgreed: {D}."],
        acc_coord=["### Agreement\n\nAgreed: {c}."],
        plan=["### Proposed Plan\n\n{planlist}"],
        acc_plan=["### Agreement\n\nI agree with the full plan."],
        pos=["### Position\n\n{p}"],
        acti=["### Result\n\nGoal reached. ACTI!"],
    ),
    "deepseek-r1-distill-qwen-32b": V(
        tags=["reasoning_block"],
        open=["I'll use {conv}. We're at {p}."],
        prop=["Let's move {D} to {c}.", "I suggest we go {D} to {c}."],
        propq=["Shall we go {D} to {c}?"],
        acc=["Agreed, let's move {D}.", "Okay, {D}.", "I agree. {Dc}."],
        plan=["I propose: {plan}."],
        acc_plan=["Agreed on the whole path."],
        pos=["Now we're at {p}."],
        acti=["ACTI!"],
    ),
    "gpt-oss-20b": V(
        tags=["terse"],
        open=["Coords: {conv}. Start {p}."],
        prop=["Propose: {D} to {c}.", "Move {D} ({c})."],
        propq=["{Dc} to {c}?"],
        acc=["Agree {D}.", "Confirm: {D}.", "OK {D}."],
        acc_coord=["Confirm {c}."],
        plan=["Plan: {plan}."],
        acc_plan=["Confirm plan."],
        pos=["Pos {p}."],
        acti=["ACTI!"],
    ),
}
THINKERS = {"qwen3-8b", "deepseek-r1-distill-qwen-32b"}


# ---------------------------------------------------------------- collaboration engine
class Talk:
    """Writes a dialogue from events; records the executed route and the features it used."""

    def __init__(self, rng, maze, voices, scheme, dirstyle="plain", claims=0.5, coordprop=0.0, leak=False):
        self.r, self.m, self.voices = rng, maze, voices
        self.views = split_views(maze, seed=rng.randrange(1000))
        self.s, self.dw = SCHEMES[scheme] if scheme else None, DIRW[dirstyle]
        self.claims, self.coordprop, self.leak = claims, coordprop, leak
        self.msgs, self.cur, self.spk, self.pos = [], [], 0, maze.start
        self.route, self.tags, self.accs, self.notes = [], set(), set(), []
        self.think_bits, self.think_pos, self.glyphs = [], maze.start, {}
        self.confuse, self.fix, self.stated, self.more = False, None, True, False
        if dirstyle == "arrow":
            self.tags.add("arrows")
        if dirstyle == "emoji":
            self.tags.add("emoji")
        for v in voices:
            self.tags.update(VOICES[v].get("tags", []))

    # helpers
    def v(self):
        return VOICES[self.voices[self.spk]]

    def cell(self, c):
        return self.s.fmt(c) if self.s else f"({c[0]}, {c[1]})"

    def D(self, d):
        return self.dw[d]

    def say(self, key, **kw):
        t = self.r.choice(self.v()[key])
        kw.setdefault("p", self.cell(self.pos))
        if "D" in kw:
            kw.setdefault("Dc", kw["D"][:1].upper() + kw["D"][1:])
        if "{c}" in t or "{p}" in t:
            self.tags.add("coordinates")
            if self.s:
                self.tags.update(self.s.tags)
        if "{D}" in t or "{Dc}" in t or "{plan" in t:
            self.tags.add("directions")
        out = t.format(**kw)
        self.cur.append(out)
        return out

    def sees(self, who, c):
        if not self.m.in_bounds(c):
            return "edge"
        return self.views[who].rows[c[0]][c[1]]

    def flush(self):
        body = "\n\n".join(p for p in self.cur if p)
        name = self.voices[self.spk]
        if name in THINKERS or (self.leak and name.startswith("gpt-oss")):
            body = self.think(name) + body
        for a, b in self.glyphs.get(self.spk, ()):
            body = body.replace(a, b)
        self.msgs.append({"speaker": f"agent_{self.spk + 1}", "text": body})
        self.cur, self.think_bits, self.think_pos = [], [], self.pos
        self.spk = 1 - self.spk
        if self.fix:
            wrong, true = self.fix
            self.cur.append(
                self.r.choice(
                    [
                        "Small correction: we're at {t}, not {w}.",
                        "Wait, I think we're at {t}, not {w}.",
                        "(We're at {t} actually — {w} is a different cell.)",
                    ]
                ).format(t=self.cell(true), w=self.cell(wrong))
            )
            self.fix = None

    def think(self, name):
        p = self.think_pos
        lines = []
        for d in self.r.sample(DIRS, 3):
            c = mv(p, d)
            if not self.m.in_bounds(c):
                continue
            s = self.sees(self.spk, c)
            what = {
                "#": "a wall",
                ".": "open",
                "?": "hidden to me",
                "edge": "off the map",
                "*": "the goal",
                "@": "the start",
            }[s]
            lines.append(f"If we go {d} we'd be at {self.cell(c)}, which on my map is {what}.")
        lines += self.think_bits
        text = " ".join(lines)
        self.tags.add("reasoning_block")
        if name.startswith("gpt-oss"):
            return f"analysisWe are at {self.cell(p)}. {text} Respond briefly.assistantfinal"
        opener = self.r.choice(
            [
                "Okay, let me think.",
                "Hmm.",
                "Alright, so the other agent said something.",
                "Let me look at my map again.",
            ]
        )
        return f"<think>\n{opener} {text}\n</think>\n\n"

    def claim(self):
        if self.confuse and self.more and self.pos != self.m.goal and self.r.random() < 0.3:
            r, c = self.pos
            wrong = (
                (c, r)
                if r != c and self.m.in_bounds((c, r))
                else (r, c + 1 if c + 1 < self.m.size else c - 1)
            )
            self.say("pos", p=self.cell(wrong))
            self.fix = (wrong, self.pos)
            self.tags.add("position_claims")
            self.notes.append(
                f"a wrong position claim {self.cell(wrong)} is corrected by the partner (no move)"
            )
            return
        if self.r.random() < self.claims:
            self.say("pos")
            self.tags.add("position_claims")

    def step(self, d):
        self.pos = mv(self.pos, d)
        self.route.append(d)

    def plan_text(self, ds):
        # group repeats: "down twice, then right"
        groups, out = [], []
        for d in ds:
            if groups and groups[-1][0] == d:
                groups[-1][1] += 1
            else:
                groups.append([d, 1])
        rep = any(k > 1 for _, k in groups) and self.r.random() < 0.7
        if rep:
            self.tags.add("repetition")
            for d, k in groups:
                w = self.D(d)
                out.append(
                    w
                    if k == 1
                    else self.r.choice([f"{w} {NUMW.get(k, f'{k} times')}", f"{w} x{k}", f"{k} {w}"])
                )
        else:
            out = [self.D(d) for d in ds]
        plan = ", then ".join(out) if self.r.random() < 0.5 else ", ".join(out)
        cells, c = [], self.pos
        for d in ds:
            c = mv(c, d)
            cells.append(c)
        planlist = "\n".join(
            f"{i + 1}. {self.D(d).capitalize()} to {self.cell(x)}" for i, (d, x) in enumerate(zip(ds, cells))
        )
        if planlist:
            self.tags.add("coordinates")
            if self.s:
                self.tags.update(self.s.tags)
        return plan, planlist

    def accept(self, d):
        if self.coordprop and self.r.random() < self.coordprop and "acc_coord" in self.v():
            self.say("acc_coord", c=self.cell(mv(self.pos, d)))
        else:
            self.say("acc", D=self.D(d))
        self.accs.add(self.cur[-1][:12])
        self.step(d)

    def propose(self, d, q=False):
        c = self.cell(mv(self.pos, d))
        if self.coordprop and self.r.random() < self.coordprop:
            self.say("prop_coord", c=c)
        elif q:
            self.say("propq", D=self.D(d), c=c)
            self.tags.add("proposing_question")
        else:
            self.say("prop", D=self.D(d), c=c)

    # events --------------------------------------------------------
    def single(self, d, q=False):
        self.propose(d, q)
        self.flush()
        self.accept(d)
        self.notes.append(f"{self.D(d)} proposed and accepted")
        self.claim()

    def plan(self, ds):
        plan, planlist = self.plan_text(ds)
        self.say("plan", plan=plan, planlist=planlist)
        self.flush()
        self.say("acc_plan")
        for d in ds:
            self.step(d)
        self.say("pos")
        self.tags.update({"multi_step_plan", "position_claims"})
        self.notes.append(f"plan {'/'.join(ds)} accepted whole")

    def partial(self, ds, j, alt):
        plan, planlist = self.plan_text(ds)
        self.say("plan", plan=plan, planlist=planlist)
        self.flush()
        okpart = " and ".join(self.D(d) for d in ds[:j])
        okpart = (
            self.r.choice([f"The first {j} ({okpart})", f"{okpart.capitalize()}"])
            if j > 1
            else f"The first move, {okpart},"
        )
        probe = self.pos
        for d in ds[:j]:
            self.step(d)
        self.say("partial", okpart=okpart, bad=self.D(ds[j]), alt=self.D(alt))
        self.tags.update({"multi_step_plan", "rejection"})
        self.notes.append(
            f"plan {'/'.join(ds)}: only the first {j} accepted, {ds[j]} rejected, counter {alt}"
        )
        del probe
        self.flush()
        self.accept(alt)
        self.notes.append(f"counter {alt} accepted")
        self.claim()

    def reject(self, bad, good, far=False):
        self.propose(bad)
        self.flush()
        self.say("rej_far" if far else "rej", bad=self.D(bad))
        self.tags.add("rejection")
        self.propose(good)
        self.flush()
        self.accept(good)
        self.notes.append(f"{bad} proposed and rejected; {good} counter-proposed and accepted")
        self.claim()

    def ask(self):
        self.say("ask")
        self.flush()
        bits = []
        for d in DIRS:
            s = self.sees(self.spk, mv(self.pos, d))
            if s in "#.":
                bits.append(f"{self.D(d)} is {'a wall' if s == '#' else 'open'}")
        self.say("ans", seen=", ".join(bits) or "everything around us is hidden")
        self.tags.add("questions")
        self.notes.append("a non-proposing question (no move)")

    def cond(self, d):
        c = self.cell(mv(self.pos, d))
        self.say("cond", D=self.D(d), c=c)
        self.flush()
        self.say("cond_yes", D=self.D(d), c=c)
        self.step(d)
        self.tags.add("conditional")
        self.notes.append(f"conditional {d}, condition confirmed and move restated")

    def neg(self, bad, d):
        self.say("neg", bad=self.D(bad), D=self.D(d))
        self.flush()
        self.accept(d)
        self.tags.add("negation")
        self.notes.append(f"'not {bad}' then {d}, accepted")

    def alt(self, d, d2):
        self.say("alt", D=self.D(d), D2=self.D(d2))
        self.flush()
        self.accept(d)
        self.tags.add("alternatives")
        self.notes.append(f"alternatives {d}/{d2}, proposer preferred {d}, partner accepted {d}")

    def finish(self, acti=True, both=False):
        if acti:
            self.say("acti")
            self.flush()
            if both:
                self.say("acti")
                self.flush()
        else:
            self.flush()


def walls_at(m, pos, exclude=()):
    return [d for d in DIRS if d not in exclude and m.in_bounds(mv(pos, d)) and not is_open(m, mv(pos, d))]


def opens_at(m, pos, exclude=()):
    return [d for d in DIRS if d not in exclude and is_open(m, mv(pos, d))]


FULLWIDTH = [
    ("(", "（"),
    (")", "）"),
    (", ", "，"),
    (",", "，"),
    (": ", "："),
    ("!", "！"),
    (". ", "。"),
    ("?", "？"),
]
LOOKALIKE = [
    ("down", "dоwn"),
    ("Agreed", "Аgreed"),
    ("right", "rіght"),
    (" ", "\u00a0"),
    ("—", "–"),
    ("ACTI", "AСTI"),
]


def collab(
    cid,
    seed,
    maze,
    voices,
    scheme,
    *,
    dirstyle="plain",
    mode="success",
    mix=None,
    claims=0.5,
    coordprop=0.0,
    leak=False,
    both_acti=False,
    extra_tags=(),
    glyphs=None,
):
    rng = random.Random(seed)
    t = Talk(rng, maze, voices, scheme, dirstyle, claims, coordprop, leak)
    if glyphs:
        who = rng.randrange(2)
        t.glyphs[who] = FULLWIDTH if glyphs == "fullwidth" else LOOKALIKE
        t.tags.add(glyphs)
    mix = mix or {"single": 1.0}
    route = dirs_of(maze.shortest_path())
    det = None
    if mode == "backtrack":
        path = maze.shortest_path()
        for i, cell in enumerate(path[:-1]):
            side = [d for d in opens_at(maze, cell) if mv(cell, d) not in path and mv(cell, d) != maze.goal]
            if side and i > 0:
                det = (i, side[0])
                route = route[:i] + [side[0], OPP[side[0]]] + route[i:]
                break
        if det is None:
            mode = "success"
    cut = len(route)
    if mode in ("wall", "false_acti", "short"):
        cut = rng.randint(max(1, len(route) // 2), len(route) - 1)
        if mode == "wall":
            pos = maze.start
            for d in route:
                pos = mv(pos, d)
            while cut > 0:
                pos = maze.start
                for d in route[:cut]:
                    pos = mv(pos, d)
                if walls_at(maze, pos):
                    break
                cut -= 1
    seq = route[:cut]
    t.confuse = mix is MIXES["messy"]
    if scheme in ("rc0", "rc0t") and rng.random() < 0.4:
        t.cur.append(f"We're at {t.cell(maze.start)}.")
        t.stated, t.coordprop = False, 0.0  # directions always accompany unstated cells
    elif scheme:
        t.say("open", conv=t.s.conv)
    i = 0
    kinds, weights = zip(*mix.items())
    while i < len(seq):
        if det and i == det[0]:
            t.single(seq[i])
            t.say("dead", D=t.D(seq[i + 1]), c=t.cell(mv(t.pos, seq[i + 1])))
            t.flush()
            t.accept(seq[i + 1])
            t.tags.add("backtrack")
            t.notes.append(f"detour {seq[i]} into a dead end, then back {seq[i + 1]} (both executed)")
            t.claim()
            i += 2
            continue
        k = rng.choices(kinds, weights)[0]
        d = seq[i]
        t.more = i + 4 < len(seq)  # a wrong claim needs a later message to correct it
        pos = t.pos
        if k == "plan" and len(seq) - i >= 2 and not (det and i < det[0] <= i + 4):
            n = min(len(seq) - i, rng.randint(2, 4))
            t.plan(seq[i : i + n])
            i += n
            continue
        if k == "partial" and len(seq) - i >= 2 and not (det and i < det[0] <= i + 4):
            done = False
            for j in (2, 1):
                if i + j >= len(seq):
                    continue
                p2 = pos
                for x in seq[i : i + j]:
                    p2 = mv(p2, x)
                bad = walls_at(maze, p2, exclude=(seq[i + j],))
                if bad:
                    t.partial(seq[i : i + j] + [bad[0]], j, seq[i + j])
                    i += j + 1
                    done = True
                    break
            if done:
                continue
        if k == "reject" and walls_at(maze, pos, exclude=(d,)):
            t.reject(walls_at(maze, pos, exclude=(d,))[0], d)
        elif k == "reject_far" and opens_at(maze, pos, exclude=(d,)):
            t.reject(opens_at(maze, pos, exclude=(d,))[0], d, far=True)
        elif k == "neg" and walls_at(maze, pos, exclude=(d,)):
            t.neg(walls_at(maze, pos, exclude=(d,))[0], d)
        elif k == "alt" and opens_at(maze, pos, exclude=(d,)):
            t.alt(d, opens_at(maze, pos, exclude=(d,))[0])
        elif k == "cond":
            t.cond(d)
        elif k == "ask":
            t.ask()
            t.single(d)
        else:
            t.single(d, q=(k == "q"))
        i += 1
    t.more = False
    notes = list(t.notes)
    if mode == "wall":
        bad = walls_at(maze, t.pos)[0]
        t.single(bad)
        t.tags.add("wall_agreed")
        notes.append(f"both agreed {bad} into a wall at {t.pos} in the maze frame; the walk ends there")
        if rng.random() < 0.6:
            nxt = rng.choice(DIRS)
            t.say("after", D=t.D(nxt))
            t.flush()
            t.say("acc", D=t.D(nxt))
            t.tags.add("after_end")
            notes.append("a further move agreed after the wall is not listed (the walk already ended)")
        t.finish(acti=False)
    elif mode == "false_acti":
        t.finish(acti=True, both=both_acti)
        t.tags.add("false_acti")
        notes.append("ACTI! is said away from the goal: the route simply ends there")
    elif mode == "short":
        d = route[cut]
        t.propose(d)
        t.flush()
        w = [x for x in DIRS if x != d]
        t.say("stuck", D=t.D(rng.choice(w)))
        t.flush()
        t.tags.add("no_agreement")
        notes.append(
            "the transcript ends (turn cap) before the last proposals are accepted, so they are not executed"
        )
    else:
        t.finish(acti=True, both=both_acti)
        if both_acti:
            t.tags.add("after_end")
    if len({a for a in t.accs}) >= 3:
        t.tags.add("agreement_variety")
    t.tags.update(extra_tags)
    conv = f"coordinates are {t.s.conv} (stated in the first message)"
    if not t.stated:
        conv = "coordinates are (row, col) from (0, 0) at the top-left, unstated but evident from the positions and moves"
    note = f"Voices {voices[0]} / {voices[1]}; {conv}. Executed: " + "; ".join(notes) + "."
    if glyphs:
        note += (
            f" agent_{who + 1} writes full-width punctuation (（，）！？：)"
            if glyphs == "fullwidth"
            else f" agent_{who + 1}'s text carries look-alike characters (Cyrillic о/А/С/і, no-break spaces) that a reader reads as plain letters"
        ) + "."
    return case(cid, "collab", sorted(t.tags), note, maze, t.msgs, t.route)


def case(cid, cond, tags, note, maze, msgs, route):
    return {
        "id": cid,
        "condition": cond,
        "phenomena": tags,
        "note": note,
        "maze": text(maze),
        "messages": msgs,
        "gold": {"route": route, "outcome": None},
    }


# ---------------------------------------------------------------- solo answers
def naive(m: Maze):
    """Straight down then across, ignoring walls: the kind of route a careless answer gives."""
    cells, (r, c) = [m.start], m.start
    while r != m.goal[0]:
        r += 1 if m.goal[0] > r else -1
        cells.append((r, c))
    while c != m.goal[1]:
        c += 1 if m.goal[1] > c else -1
        cells.append((r, c))
    return cells


def hits_wall(m, cells):
    return any(not is_open(m, c) for c in cells)


def detour_path(m: Maze):
    """A valid route that is not the shortest one (if any): the best route with one of its cells blocked."""
    best = m.shortest_path()
    for cell in best[1:-1]:
        rows = [list(r) for r in m.rows]
        rows[cell[0]][cell[1]] = "#"
        other = Maze(tuple("".join(r) for r in rows), m.start, m.goal).shortest_path()
        if other and len(best) < len(other) <= len(best) + 6:
            return other
    return None


def fmt_list(cells, s, style):
    body = [s.fmt(c) for c in cells]
    if style == "arrow":
        return " → ".join(body)
    if style == "bracket":
        return "[" + ", ".join(body) + "]"
    if style == "numbered":
        return "\n".join(f"{i}. {b}" for i, b in enumerate(body, 1))
    return ", ".join(body)


def words_of(cells):
    ds = dirs_of(cells)
    groups = []
    for d in ds:
        if groups and groups[-1][0] == d:
            groups[-1][1] += 1
        else:
            groups.append([d, 1])
    return ", then ".join(d if k == 1 else f"{d} {NUMW.get(k, f'{k} times')}" for d, k in groups)


def reasoning(rng, m, cells, s, dist):
    start, goal = s.fmt(m.start), s.fmt(m.goal)
    src = (
        "Combining map view 1 and map view 2 (each shows cells the other hides), "
        if dist
        else "From the map, "
    )
    wall = next(((r, c) for r in range(m.size) for c in range(m.size) if m.rows[r][c] == "#"), None)
    extra = f" There is a wall at {s.fmt(wall)}, so I avoid it." if wall else ""
    return (
        f"{src}the start `@` is at {start} and the goal `*` is at {goal}. I use {s.conv}.{extra} "
        f"Tracing open cells from the start: {words_of(cells) if not hits_wall(m, cells) and len(dirs_of_safe(cells)) else 'following the open cells'}."
    )


def dirs_of_safe(cells):
    try:
        return dirs_of(cells)
    except StopIteration:
        return []


OPENERS = {
    "gpt-4o": "Let's solve this step by step.\n\n",
    "claude-3.7-sonnet": "I'll work through this maze carefully.\n\n",
    "gemini-2.0-flash": "Okay, let's analyze the maze.\n\n",
    "llama-3.1-8b": "To solve this maze, we need to find a path from the start to the goal while avoiding walls.\n\n",
    "qwen2.5-72b": "",
    "phi-4": "To solve the maze, let's carefully analyze the grid.\n\n",
    "gpt-4.1-mini": "",
    "mistral-large": "Here is my solution.\n\n",
    "gemma-2-9b": "Okay, here's how I'd solve this maze! 😊\n\n",
}


def answer(rng, m, cells, s, form, voice, dist, final=False):
    return OPENERS.get(voice, "") + _answer(rng, m, cells, s, form, voice, dist, final)


def _answer(rng, m, cells, s, form, voice, dist, final=False):
    head = "Final solution" if final else rng.choice(["Proposed solution", "Solution", "Final solution"])
    lst = fmt_list(cells, s, rng.choice(["arrow", "bracket", "plain"]))
    if form == "list":
        return f"{reasoning(rng, m, cells, s, dist)}\n\n**{head}:** {lst}"
    if form == "md":
        steps = "\n".join(f"- Step {i}: {s.fmt(c)}" for i, c in enumerate(cells[1:], 1))
        return (
            f"## Analysis\n\n{reasoning(rng, m, cells, s, dist)}\n\n## Path\n\n{steps}\n\n"
            f"## {head}\n\n```\n{fmt_list(cells, s, 'bracket')}\n```"
        )
    if form == "numbered":
        return (
            f"{reasoning(rng, m, cells, s, dist)}\n\n{head} (coordinates):\n{fmt_list(cells, s, 'numbered')}"
        )
    if form == "think":
        alt = next((d for d in DIRS if not is_open(m, mv(m.start, d)) and m.in_bounds(mv(m.start, d))), None)
        tries = f" What about {alt} first? {s.fmt(mv(m.start, alt))} is a wall, so no." if alt else ""
        return (
            f"<think>\nOkay, I need to find a path from {s.fmt(m.start)} to {s.fmt(m.goal)}.{tries} "
            f"Let me try going {words_of(cells) if not hits_wall(m, cells) else 'straight toward the goal'}. "
            f"Wait, let me double-check each cell... I'll use {s.conv}.\n</think>\n\n"
            f"**{head}:** {lst}"
        )
    if form == "prose":
        return (
            f"{reasoning(rng, m, cells, s, dist)}\n\nSo the route is: {words_of(cells)}.\n\n"
            f"{head} as coordinates: {lst}"
        )
    raise ValueError(form)


def solo(cid, seed, maze, cond, voice, scheme, form, plan):
    """plan: same | stands | fix | break | detour | jump | none"""
    rng = random.Random(seed)
    s = SCHEMES[scheme]
    dist = cond == "solo_distributed"
    best = maze.shortest_path()
    tags = {
        "solo_list",
        "reasoning_block" if form == "think" else "solo_prose" if form == "prose" else "solo_list",
    }
    tags.update(s.tags)
    if form == "md":
        tags.add("markdown")
    if plan == "none":
        a = (
            f"To solve this I would run a breadth-first search from the start {s.fmt(maze.start)}: put the start in a queue, "
            "pop a cell, push its open neighbours (up, down, left, right) that are not walls, and stop when the goal is popped. "
            "Backtracking through the parent pointers then gives the shortest path."
        )
        b = (
            "Reviewing my answer: the approach is correct and complete. Applying BFS as described guarantees a valid "
            "shortest path that never crosses a wall, so the final solution is to follow the BFS path from start to goal."
        )
        if dist:
            a = (
                "Since map view 1 and map view 2 each hide different cells, first merge them cell by cell. "
                + a
            )
        tags = {"no_route", "solo_prose"}
        note = f"{voice}: both answers only describe an algorithm and never give a route, so route is null."
        return case(
            cid,
            cond,
            sorted(tags),
            note,
            maze,
            [{"speaker": "agent_1", "text": a}, {"speaker": "agent_1", "text": b}],
            None,
        )
    first = best
    if plan == "fix":
        first = naive(maze)
        if not hits_wall(maze, first):
            first = best[:-1] if len(best) > 3 else best
    final = best
    if plan == "break":
        final = naive(maze) if hits_wall(maze, naive(maze)) else best[:2] + best[3:]
    if plan == "detour":
        final = detour_path(maze) or best
    if plan == "jump":
        k = rng.randrange(2, len(best) - 1)
        final = best[:k] + best[k + 1 :]
    a = answer(rng, maze, first, s, form, voice, dist)
    shown = final if rng.random() < 0.7 else final[1:]  # some answers leave the start out
    review = rng.choice(
        [
            "Let me review my solution step by step.",
            "Reviewing the path cell by cell:",
            "Checking each move again:",
        ]
    )
    if plan == "same":
        b = f"{review} Every move is to an adjacent open cell, and it ends on the goal.\n\n**Final solution:** {fmt_list(shown, s, 'bracket')}"
        why = "the final answer restates the same route"
    elif plan == "stands":
        b = f"{review} Each step is adjacent and none is a wall. The solution above is valid and complete, so I keep it unchanged as my final submission."
        final = first
        why = "the final answer restates no route, so the first answer's route is the label"
    else:
        tags.add("critic_changes")
        if plan == "fix":
            bad = next(c for c in first if not is_open(maze, c)) if hits_wall(maze, first) else None
            issue = (
                f"{s.fmt(bad)} is a wall (#), so that path is invalid"
                if bad
                else "that path stops one cell short of the goal"
            )
            why = "the first answer's route was wrong; the corrected final route is the label"
        elif plan == "break":
            issue = "I can shorten the route"
            why = "the final answer changed a valid route into one that fails; the final route is the label"
        elif plan == "detour":
            issue = "I'd rather stay away from the cells I was unsure about and take a slightly longer way"
            why = "the final answer switched to a longer valid route; the final route is the label"
        else:
            issue = "I can drop a redundant step"
            why = "the final answer drops a cell, making a non-adjacent jump; the final cells are the label"
        b = (
            f"{review} On closer inspection, {issue}.\n\nRevised route: {words_of(final) if plan not in ('break', 'jump') else 'see below'}.\n\n"
            f"**Final solution:** {fmt_list(shown, s, 'bracket')}"
        )
    route = [list(c) for c in final[1:]]
    listed = (
        "the start cell opens the final list"
        if shown is final
        else "the final list leaves the start cell out"
    )
    if plan == "stands":
        listed = "the first answer's list starts at the start cell; the final answer lists no cells"
    note = f"{voice}, {s.conv} (stated in the answer); {listed}; {why}."
    return case(
        cid,
        cond,
        sorted(tags),
        note,
        maze,
        [{"speaker": "agent_1", "text": a}, {"speaker": "agent_1", "text": b}],
        route,
    )


# ---------------------------------------------------------------- the split
MIXES = {
    "simple": {"single": 1.0},
    "questions": {"single": 1.0, "q": 1.0, "ask": 0.3},
    "rich": {
        "single": 2,
        "q": 0.5,
        "plan": 1,
        "reject": 1,
        "ask": 0.5,
        "cond": 0.5,
        "neg": 0.5,
        "alt": 0.5,
        "partial": 0.7,
        "reject_far": 0.3,
    },
    "plans": {"plan": 2, "partial": 1, "single": 1},
    "messy": {"single": 2, "reject": 1.5, "ask": 1, "partial": 1, "q": 1, "alt": 0.5, "reject_far": 0.5},
}


def maze_for(rng, size=None):
    size = size or rng.choice([4, 5, 6, 6, 6, 6, 7, 8])
    dens = rng.choice([0.2, 0.3, 0.3, 0.4])
    return generate(MazeParams(size=size, density=dens), seed=rng.randrange(10**6))


def build_collabs(n_target=112):
    rng = random.Random(20261129)
    names = list(VOICES)
    out = []
    modes = ["success"] * 8 + ["wall"] * 2 + ["false_acti"] * 2 + ["short"] * 2 + ["backtrack"] * 3
    schemes = list(SCHEMES)
    while len(out) < n_target:
        k = len(out)
        a = names[k % len(names)]
        b = a if rng.random() < 0.45 else rng.choice(names)
        mode = rng.choice(modes)
        mixname = rng.choice(list(MIXES))
        scheme = schemes[(k * 7) % len(schemes)]
        dirstyle = rng.choice(["plain"] * 6 + ["compass", "arrow", "emoji"])
        try:
            c = collab(
                f"h2-collab-{mixname}-{k:03d}",
                rng.randrange(10**6),
                maze_for(rng),
                (a, b),
                scheme,
                dirstyle=dirstyle,
                mode=mode,
                mix=MIXES[mixname],
                claims=rng.choice([0.2, 0.5, 0.9]),
                coordprop=rng.choice([0.0, 0.0, 0.0, 0.4]),
                leak=rng.random() < 0.5,
                both_acti=rng.random() < 0.3,
                glyphs=rng.choice([None] * 8 + ["fullwidth", "unicode"]),
            )
        except (IndexError, StopIteration, KeyError):
            continue
        out.append(c)
    return out


def build_solos(n_target=56):
    rng = random.Random(4242)
    voices = [
        "gpt-4o",
        "claude-3.7-sonnet",
        "gemini-2.0-flash",
        "llama-3.1-8b",
        "qwen2.5-72b",
        "phi-4",
        "deepseek-r1-distill-llama-70b",
        "gpt-4.1-mini",
        "mistral-large",
        "gemma-2-9b",
    ]
    plans = ["same"] * 4 + ["stands"] * 2 + ["fix"] * 3 + ["break"] * 2 + ["detour"] * 2 + ["jump", "none"]
    forms = ["list", "md", "numbered", "think", "prose"]
    schemes = ["rc0", "rc0t", "rc1", "xy0", "xy1", "rXcY", "A1", "RC1"]
    out = []
    while len(out) < n_target:
        k = len(out)
        cond = "solo_full" if k % 2 == 0 else "solo_distributed"
        plan = plans[k % len(plans)]
        form = forms[(k // 2) % len(forms)]
        voice = voices[k % len(voices)]
        if form == "think" and "deepseek" not in voice and "qwen" not in voice:
            voice = rng.choice(["deepseek-r1-distill-qwen-14b", "qwen3-32b"])
        try:
            c = solo(
                f"h2-{cond.replace('_', '-')}-{plan}-{k:03d}",
                rng.randrange(10**6),
                maze_for(rng),
                cond,
                voice,
                schemes[k % len(schemes)],
                form,
                plan,
            )
        except (IndexError, StopIteration, ValueError, TypeError):
            continue
        out.append(c)
    return out


def dump(name, cases):
    (OUT / name).write_text(
        yaml.safe_dump(cases, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8"
    )


if __name__ == "__main__":
    dump("h2_collab_generated.yaml", build_collabs())
    dump("h2_solo.yaml", build_solos())
