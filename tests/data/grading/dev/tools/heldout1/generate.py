"""Generated remainder of the held-out split: dialogues simulated on real mazes, rendered in many voices.

Each collaboration is planned as a sequence of proposals over the maze's real views (an agent only
says a cell is open or a wall when its own view shows it), then rendered by a per-agent voice with
its own phrase banks, coordinate scheme and habits. The gold route is the list of moves the
simulation actually had both agents agree to, so labels follow from the plan, not from the text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from mazes import DIRS, maze_for
from gapbench.maze import split_views

STEP = {v: k for k, v in DIRS.items()}
OPP = {"up": "down", "down": "up", "left": "right", "right": "left"}

# ---------------------------------------------------------------- coordinate schemes


def _letters(i: int) -> str:
    return "ABCDEFGH"[i]


SCHEMES = {
    "rc0": ("(row, col), counting from 0", lambda r, c: f"({r},{c})", ["coordinates"]),
    "rc0s": ("(row, col) from 0", lambda r, c: f"({r}, {c})", ["coordinates"]),
    "rc1": ("(row, column), counting from 1", lambda r, c: f"({r + 1},{c + 1})", ["coordinates", "one_based"]),
    "xy0": ("(x, y) with x = column and y = row, from 0", lambda r, c: f"({c},{r})", ["coordinates", "xy"]),
    "xy1": ("(x, y) = (column, row), counting from 1", lambda r, c: f"({c + 1}, {r + 1})", ["coordinates", "xy", "one_based"]),
    "rXcY0": ("rXcY, 0-indexed", lambda r, c: f"r{r}c{c}", ["coordinates", "rXcY"]),
    "rXcY1": ("rXcY with r1c1 at the top-left", lambda r, c: f"r{r + 1}c{c + 1}", ["coordinates", "rXcY", "one_based"]),
    "words1": ("row and column numbers from 1", lambda r, c: f"row {r + 1}, column {c + 1}", ["coordinates", "named_fields", "one_based"]),
    "named0": ("(row=…, col=…) from 0", lambda r, c: f"(row={r}, col={c})", ["coordinates", "named_fields"]),
    "namedxy": ("(x=…, y=…), x the column, y the row, from 0", lambda r, c: f"(x={c}, y={r})", ["coordinates", "named_fields", "xy"]),
    "A1": ("letters for columns (A = left) and numbers for rows (1 = top)", lambda r, c: f"{_letters(c)}{r + 1}", ["coordinates", "letter_number"]),
    "1A": ("row number then column letter (1A = top-left)", lambda r, c: f"{r + 1}{_letters(c)}", ["coordinates", "letter_number"]),
    "full": ("（row，col） from 0", lambda r, c: f"（{r}，{c}）", ["coordinates", "fullwidth"]),
    "ord": ("ordinal rows and columns", lambda r, c: f"the {_ord(r + 1)} row, {_ord(c + 1)} column", ["ordinal_words"]),
    "bare": ("row,col from 0", lambda r, c: f"{r},{c}", ["coordinates"]),
}


def _ord(n: int) -> str:
    return ["zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"][n]


# ---------------------------------------------------------------- direction spellings

COUNT_WORDS = {2: ["twice", "two times", "2x", "×2"], 3: ["three times", "3x", "×3"], 4: ["four times", "4x", "×4"], 5: ["five times", "5x", "×5"]}
ARROWS = {"up": "↑", "down": "↓", "left": "←", "right": "→"}
EMOJI = {"up": "⬆️", "down": "⬇️", "left": "⬅️", "right": "➡️"}
LOOKALIKE = {
    "down": ["d\u043ewn", "do\u200bwn", "DОWN".replace("О", "\u041e")],
    "right": ["r\u0456ght", "R\u0130GHT", "ri\u200dght"],
    "left": ["l\u0435ft", "le\u200bft", "LЕFT".replace("Е", "\u0415")],
    "up": ["u\u0440", "U\u0420"],
}


@dataclass
class Agent:
    """One speaker: its view, its voice (phrase banks) and its habits."""

    name: str
    view: tuple[str, ...]
    voice: "Voice"
    scheme: str | None
    rng: random.Random

    def sees(self, cell) -> str:
        return self.view[cell[0]][cell[1]]

    def fmt(self, cell) -> str:
        return SCHEMES[self.scheme][1](*cell) if self.scheme else ""


# ---------------------------------------------------------------- voices


@dataclass
class Voice:
    name: str
    propose: list[str]  # {d} direction word, {to} target cell text (may be empty)
    propose_cell: list[str]  # {to}
    accept: list[str]  # {d}
    accept_plan: list[str]  # {plan}
    reject: list[str]  # {d} {to}
    ask: list[str]  # {d} {to}: question, not an acceptance
    info_open: list[str]  # {to}
    info_wall: list[str]
    info_hidden: list[str]
    position: list[str]  # {at}
    plan: list[str]  # {plan}
    acti: list[str]
    opening: list[str]  # {goal}
    tags: list[str] = field(default_factory=list)
    wrap: str = ""  # "think" | "analysis" | ""
    bold: bool = False


VOICES = [
    Voice(
        "gpt41",
        ["**Proposed move:** {d}{to_arrow}", "**Next move:** {d}{to_arrow}", "Let's move **{d}**{to_paren}."],
        ["**Move to {to}.**"],
        ["Agreed — **{d}**.", "Confirmed: {d}.", "✅ {d}", "Agreed. **Move: {d}.**"],
        ["Agreed on all steps: {plan}.", "✅ Plan confirmed: {plan}."],
        ["Let's not go {d} — {to} is a wall on my map.", "**No:** {to} is a wall on my side, so {d} is out."],
        ["Before I agree: is {to} open on your map?", "Can you confirm {to} is open before we go {d}?"],
        ["{to} is open on my map.", "On my side, {to} is open."],
        ["{to} is a wall on my map.", "Note: {to} is a **wall** on my side."],
        ["{to} is hidden on my map.", "I can't see {to}."],
        ["We're at {at}.", "Position: {at}."],
        ["**Plan:** {plan}. Agreed?", "I propose the sequence **{plan}**. Can we agree on all of it?"],
        ["ACTI!", "We're on the goal. **ACTI!**"],
        ["Hi! I'm using {scheme}. The goal is at {goal}.", "Hello — coordinates: {scheme}. Goal: **{goal}**."],
        ["markdown"],
        bold=True,
    ),
    Voice(
        "claude",
        ["I'd suggest we move {d}{to_paren}.", "Shall we go {d}{to_paren}?", "My suggestion would be to go {d}{to_paren}."],
        ["I'd propose we move to {to}."],
        ["That sounds good to me — {d} it is.", "Agreed, let's go {d}.", "Yes, I'm happy with {d}."],
        ["I agree with the whole sequence: {plan}.", "That plan works for me: {plan}."],
        ["I'd rather not go {d}, I'm afraid — {to} is a wall on my map.", "I'd hold off on {d}: my map shows {to} as a wall."],
        ["Before we commit, could you tell me what {to} looks like on your map?", "I'm not sure about {d} yet — is {to} open for you?"],
        ["On my map, {to} is open.", "I can see that {to} is open."],
        ["On my map, {to} is a wall.", "I can see a wall at {to}."],
        ["{to} is hidden on my map, unfortunately.", "I can't see {to} from my view."],
        ["We should now be at {at}.", "So we're at {at}."],
        ["To save time, I'd suggest a short sequence: {plan}. Would you agree to all of it?"],
        ["We've reached the goal. ACTI!", "That should be the goal — ACTI!"],
        ["Hello! Thanks for teaming up. To keep us aligned, I'll use {scheme}. On my map the goal is at {goal}.", "Hi! I'd suggest we use {scheme}; the goal appears to be at {goal}."],
        ["verbose"],
    ),
    Voice(
        "gemini",
        ["### Next\n**{d}**{to_paren}.", "Okay, next step: **{d}**{to_paren}.", "### Proposal\nMove **{d}**{to_paren}."],
        ["### Proposal\nMove to {to}."],
        ["Okay, **{d}** — agreed.", "Confirmed. Moving **{d}**.", "Sounds good: {d}."],
        ["Okay, all of it: {plan}.", "Confirmed — {plan}."],
        ["### Hold on\n{to} is a wall on my map. Not {d}.", "Can't go {d}: {to} is a wall for me."],
        ["### Question\nWhat's at {to} on your side?", "Is {to} clear for you?"],
        ["- {to}: open", "{to} is open for me."],
        ["- {to}: wall", "{to} is a wall for me."],
        ["- {to}: hidden", "{to} is hidden for me."],
        ["### Position\n{at}", "Current position: {at}."],
        ["### Okay, here's the plan\n{plan}. Agree?", "### Plan\n{plan} — can we lock that in?"],
        ["### Done\nACTI!", "Goal reached. ACTI!"],
        ["## Okay, here's the setup\nCoordinates: {scheme}. Goal: {goal}.", "## Setup\nI'll use {scheme}. The goal is {goal}."],
        ["markdown"],
    ),
    Voice(
        "llama8b",
        ["I propose that we move {D}{to_paren}. What do you think?", "I think we should move {D}{to_paren}. Moving {D} is a safe option!", "Let's move {D}{to_paren}! We are making great progress!"],
        ["I think we should move to {to}. What do you think?"],
        ["I agree! Let's move {D}. We are getting closer to the goal!", "Yes, I agree, let's move {D}!", "Great idea! Let's move {D}."],
        ["Yes, I agree with the plan! Let's do it: {plan}!", "I agree! {plan}!"],
        ["Thank you for the suggestion, but on my map {to} is a wall (#). So we cannot move {D}.", "Unfortunately, {to} is a wall (#) on my map, so moving {D} would end the game."],
        ["Hmm, I'm not sure. What do you see at {to}?", "Before we move {D}, can you tell me what is at {to} on your map?"],
        ["On my map, {to} is open (.).", "I can see that {to} is open (.) on my map."],
        ["On my map, {to} is a wall (#).", "I can see a wall (#) at {to}."],
        ["On my map, {to} is hidden (?).", "Unfortunately I cannot see {to}, it is hidden (?)."],
        ["Now we are at {at}.", "Great! We are now at {at}."],
        ["I have a plan! Let's go {plan}. Do you agree?", "How about this plan: {plan}? Do you agree?"],
        ["We have reached the goal! ACTI!", "Yay! ACTI!"],
        ["Hello! I'm so excited to play ACTI with you! Let's work together! I will use {scheme}. I can see the goal at {goal}.", "Hi partner! Let's work together to reach the goal as fast as possible. I'll describe positions using {scheme}. The goal (*) is at {goal}."],
        ["verbose"],
    ),
    Voice(
        "qwen_small",
        ["move {d}", "I will move {d}.", "Next move is {d}."],
        ["move to {to}"],
        ["ok {d}", "{d}", "Yes. {d}."],
        ["ok. {plan}", "Yes. {plan}."],
        ["no {d}. {to} is #", "Cannot. {to} is wall."],
        ["what is {to}?", "{to}?"],
        ["{to} is .", "{to} is open"],
        ["{to} is #", "{to} is wall"],
        ["{to} is ?", "I don't know {to}"],
        ["We are at {at}.", "position {at}"],
        ["The path is {plan}.", "{plan}"],
        ["ACTI!", "ACTI! ACTI!"],
        ["The goal is {goal}.", "Start. Goal {goal}."],
        ["terse"],
    ),
    Voice(
        "phi",
        ["Proposal: {d}{to_paren}.", "{D}{to_paren}.", "Move: {d}{to_paren}."],
        ["Proposal: {to}."],
        ["Agree: {d}.", "OK, {d}.", "{D}, agreed."],
        ["Agree: {plan}.", "OK: {plan}."],
        ["Disagree: {to} is a wall.", "No. {to} = wall."],
        ["Check {to} first?", "{to} status?"],
        ["{to} open.", "{to}: open."],
        ["{to} wall.", "{to}: wall."],
        ["{to} hidden here.", "{to}: unknown."],
        ["At {at}.", "Now {at}."],
        ["Plan: {plan}. Agree?", "Sequence: {plan}?"],
        ["ACTI!", "Goal. ACTI!"],
        ["Scheme: {scheme}. Goal {goal}.", "Using {scheme}; goal {goal}."],
        ["terse"],
    ),
    Voice(
        "mistral",
        ["ok let's go {d}{to_paren}", "how about {d}{to_paren}?", "{d} next{to_paren}"],
        ["let's go to {to}"],
        ["yep, {d}", "sure, {d}", "sounds good, going {d}"],
        ["yep, all of it: {plan}", "sure — {plan}"],
        ["nope, {to} is a wall for me", "can't go {d}, wall at {to} on my side"],
        ["hmm what's {to} on your side?", "you sure about {d}? what's at {to}?"],
        ["{to} is open on mine", "I see {to} open"],
        ["{to} is a wall on mine", "wall at {to} on my map"],
        ["can't see {to}", "{to} is ? for me"],
        ["we're at {at} now", "ok at {at}"],
        ["plan: {plan}. good?", "let's just do {plan}?"],
        ["ACTI!", "there! ACTI!"],
        ["hey! using {scheme}. goal's at {goal}", "hi — {scheme}. goal {goal}"],
        ["terse"],
    ),
    Voice(
        "command_r",
        ["I suggest we proceed {d}{to_paren}.", "My recommendation is to move {d}{to_paren}.", "We should move {d}{to_paren}."],
        ["I suggest we proceed to {to}."],
        ["Understood. I agree to move {d}.", "I concur: {d}.", "Acknowledged — {d}."],
        ["I concur with the full sequence: {plan}.", "Acknowledged. Sequence agreed: {plan}."],
        ["I must object: {to} is a wall on my map, so moving {d} is not possible.", "That is not possible — {to} is marked as a wall on my map."],
        ["Could you first confirm the status of {to}?", "Please confirm whether {to} is passable."],
        ["{to} is passable on my map.", "My map shows {to} as open."],
        ["My map shows {to} as a wall.", "{to} is impassable on my map."],
        ["{to} is not visible on my map.", "I have no information about {to}."],
        ["Current position: {at}.", "We are now at {at}."],
        ["I suggest the following sequence: {plan}. Please confirm.", "Proposed sequence: {plan}. Do you concur?"],
        ["We have reached the goal. ACTI!", "Objective reached. ACTI!"],
        ["Greetings. I will refer to cells using {scheme}. The goal is located at {goal}.", "To coordinate, I will use {scheme}. The goal is at {goal}."],
        [],
    ),
    Voice(
        "gemma",
        ["Let's go {d}{to_paren}! 😊", "How about {d}{to_paren}? 🙂", "Next: {d}{to_paren} 🚶"],
        ["Let's head to {to}! 😊"],
        ["Yes! {d} 👍", "👍 {d}", "Great, {d} it is! 🎉"],
        ["Love it! {plan} 👍", "👍 All good: {plan}"],
        ["Oh no, {to} is a wall on my map 🧱 — not {d}!", "Careful! {to} is a wall for me 🚫"],
        ["Hmm 🤔 what's at {to} for you?", "Is {to} open for you? 🤔"],
        ["{to} is open for me ✅", "✅ {to} is open"],
        ["{to} is a wall for me 🧱", "🧱 at {to}"],
        ["{to} is hidden for me ❓", "❓ {to}"],
        ["We're at {at} 📍", "📍 {at}"],
        ["Plan: {plan} — sound good? 🙂", "What if we do {plan}? 😊"],
        ["ACTI! 🎉", "🏁 ACTI!"],
        ["Hi! 👋 I'll use {scheme}. The goal is at {goal} 🎯", "Hello! 😊 Using {scheme}; goal at {goal} 🎯"],
        ["emoji"],
    ),
    Voice(
        "r1",
        ["Let's move {d}{to_paren}.", "I propose {d}{to_paren}.", "Next, {d}{to_paren}."],
        ["Let's move to {to}."],
        ["Agreed, {d}.", "Yes, {d}.", "OK, moving {d}."],
        ["Agreed with the plan: {plan}.", "Yes, all of it: {plan}."],
        ["No, {to} is a wall on my map, so not {d}.", "We can't go {d}: {to} is a wall for me."],
        ["What is {to} on your map?", "Is {to} open for you?"],
        ["{to} is open on my map.", "On my map {to} is '.'."],
        ["{to} is a wall on my map.", "On my map {to} is '#'."],
        ["{to} is hidden for me.", "{to} is '?' on my map."],
        ["We're at {at}.", "Now at {at}."],
        ["Plan: {plan}. Agree?", "How about {plan}?"],
        ["ACTI!", "Goal reached. ACTI!"],
        ["I'll use {scheme}. Goal is at {goal}.", "Using {scheme}: the goal is {goal}."],
        ["reasoning_block"],
        wrap="think",
    ),
    Voice(
        "gptoss",
        ["Move {d}{to_paren}.", "Propose: {d}{to_paren}.", "{D}{to_paren}?"],
        ["Move to {to}."],
        ["Agree: {d}.", "Agreed — {d}.", "{D}: yes."],
        ["Agree with plan: {plan}.", "Plan accepted: {plan}."],
        ["Reject {d}: {to} is a wall here.", "No — {to} is a wall on my map."],
        ["Status of {to}?", "What's {to} on yours?"],
        ["{to} open here.", "{to} is open on my map."],
        ["{to} is a wall here.", "{to} wall on my map."],
        ["{to} unknown here.", "{to} hidden for me."],
        ["At {at}.", "Position {at}."],
        ["Plan: {plan}. Agree?", "Proposed plan: {plan}."],
        ["ACTI!", "Goal. ACTI!"],
        ["Coordinates: {scheme}. Goal {goal}.", "Using {scheme}. Goal at {goal}."],
        ["reasoning_block"],
        wrap="analysis",
    ),
]
VOICE = {v.name: v for v in VOICES}


# ---------------------------------------------------------------- simulation


@dataclass
class Sim:
    """A dialogue under construction: messages, executed moves, tags."""

    maze: object
    agents: list[Agent]
    rng: random.Random
    msgs: list[str] = field(default_factory=list)
    route: list = field(default_factory=list)
    pos: tuple = (0, 0)
    tags: set = field(default_factory=set)
    notes: list = field(default_factory=list)
    carry: list = field(default_factory=list)  # an acceptance waiting to open the speaker's next message

    @property
    def speaker(self) -> Agent:
        return self.agents[len(self.msgs) % 2]

    @property
    def listener(self) -> Agent:
        return self.agents[(len(self.msgs) + 1) % 2]

    def say(self, parts: list[str], thought: str = "") -> None:
        parts, self.carry = self.carry + parts, []
        parts = [p.strip() for p in parts if p and p.strip()]
        if self.speaker.voice.name in ("gemini", "gpt41", "claude"):
            text = "\n\n".join(parts)
        else:
            text = " ".join(p if p[-1] in ".!?:)…🎉😊🙂🚶👍✅❓🧱🚫🎯📍" or p[-1] in "".join(EMOJI.values()) + "".join(ARROWS.values()) else p + "." for p in parts)
        wrap = self.speaker.voice.wrap
        if wrap == "think":
            text = f"<think>\n{thought or 'Let me look at my map again.'}\n</think>\n\n{text}"
        elif wrap == "analysis":
            text = f"analysis{thought or 'Check map.'}assistantfinal{text}"
        self.msgs.append(text)

    def pick(self, bank: list[str], **kw) -> str:
        return self.rng.choice(bank).format(**kw)


def nxt(cell, d):
    dr, dc = STEP[d]
    return (cell[0] + dr, cell[1] + dc)


def dir_word(agent: Agent, d: str, sim: Sim, *, perturb: bool = False) -> str:
    if perturb:
        sim.tags.add("unicode")
        return sim.rng.choice(LOOKALIKE[d])
    style = getattr(agent, "dirstyle", "word")
    if style == "arrow":
        sim.tags.add("arrows")
        return ARROWS[d]
    if style == "emoji":
        sim.tags.update({"arrows", "emoji"})
        return EMOJI[d]
    return d


def plan_text(agent: Agent, moves: list[str], sim: Sim) -> str:
    """A multi-step plan, with repetition words for runs of the same move."""
    runs: list[tuple[str, int]] = []
    for m in moves:
        if runs and runs[-1][0] == m:
            runs[-1] = (m, runs[-1][1] + 1)
        else:
            runs.append((m, 1))
    parts = []
    for m, n in runs:
        w = dir_word(agent, m, sim)
        if n == 1:
            parts.append(w)
        else:
            sim.tags.add("repetition")
            cw = sim.rng.choice(COUNT_WORDS.get(n, [f"{n} times"]))
            parts.append(f"{cw} {w}" if cw[0].isdigit() and "x" in cw else f"{w} {cw}")
    return ", then ".join(parts) if sim.rng.random() < 0.5 else ", ".join(parts)


def fmt_kw(agent: Agent, d: str, to, sim: Sim, perturb=False) -> dict:
    w = dir_word(agent, d, sim, perturb=perturb)
    cell = agent.fmt(to) if to is not None and agent.scheme else ""
    if cell:
        sim.tags.update(SCHEMES[agent.scheme][2])
    return {
        "d": w,
        "D": w.upper() if w.isascii() and w.isalpha() else w,
        "to_paren": f" to {cell}" if cell else "",
        "to_arrow": f" → {cell}" if cell else "",
        "to": cell or {"up": "the cell above", "down": "the cell below", "left": "the cell to the left", "right": "the cell to the right"}[d],
    }


def cell_text(agent: Agent, cell, sim: Sim) -> str:
    if agent.scheme:
        sim.tags.update(SCHEMES[agent.scheme][2])
        return agent.fmt(cell)
    return "that cell"


def view_note(agent: Agent, cell, sim: Sim) -> str:
    """A true statement about ``cell`` from ``agent``'s own view (or '' off the grid)."""
    n = len(agent.view)
    if not (0 <= cell[0] < n and 0 <= cell[1] < n) or not agent.scheme:
        return ""
    s = agent.sees(cell)
    bank = agent.voice.info_wall if s == "#" else agent.voice.info_hidden if s == "?" else agent.voice.info_open
    return sim.pick(bank, to=cell_text(agent, cell, sim))


def thought_for(agent: Agent, sim: Sim, d: str | None) -> str:
    """Reasoning text for think/analysis voices: considers moves, proposes nothing by itself."""
    at = sim.pos
    opts = []
    for m in ("up", "down", "left", "right"):
        c = nxt(at, m)
        if 0 <= c[0] < len(agent.view) and 0 <= c[1] < len(agent.view):
            s = agent.sees(c)
            opts.append(f"{m} is {'a wall' if s == '#' else 'hidden' if s == '?' else 'open'}")
    base = f"We're at row {at[0]}, column {at[1]} (0-based). Looking around on my map: " + "; ".join(opts) + "."
    if d is None:
        return base
    others = [m for m in ("down", "right", "left", "up") if m != d]
    alt = sim.rng.choice(others)
    return base + f" Maybe {alt}? Hmm, no. The partner's information matters too. I'll go with {d}."


def propose(sim: Sim, moves: list[str], *, kind: str = "plain", prefix: list[str] | None = None, perturb=False) -> None:
    """The speaker puts ``moves`` on the table (a plan when there are several)."""
    a = sim.speaker
    parts = list(prefix or [])
    target = sim.pos
    for m in moves:
        target = nxt(target, m)
    if len(moves) > 1:
        sim.tags.add("multi_step_plan")
        parts.append(sim.pick(a.voice.plan, plan=plan_text(a, moves, sim)))
    else:
        d = moves[0]
        kw = fmt_kw(a, d, target, sim, perturb=perturb)
        if kind == "conditional":
            sim.tags.add("conditional")
            parts.append(f"If {kw['to']} is open on your map, we could go {kw['d']}.")
        elif kind == "question":
            sim.tags.add("proposing_question")
            parts.append(sim.rng.choice([f"Should we go {kw['d']}?", f"{kw['d'].capitalize()}?", f"What about going {kw['d']}{kw['to_paren']}?"]))
        elif kind == "alternatives":
            sim.tags.add("alternatives")
            alts = [m for m in ("down", "right", "up", "left") if m != d and _open(sim, nxt(sim.pos, m))]
            if alts:
                o = fmt_kw(a, alts[0], nxt(sim.pos, alts[0]), sim)
                parts.append(sim.rng.choice([
                    f"We could go {o['d']}{o['to_paren']} or {kw['d']}{kw['to_paren']}. Let's do {kw['d']}.",
                    f"Options: {o['d']}, or {kw['d']}. I prefer {kw['d']}{kw['to_paren']}.",
                ]))
            else:
                parts.append(sim.pick(a.voice.propose, **kw))
        elif kind == "cell" and a.scheme:
            parts.append(sim.pick(a.voice.propose_cell, **kw))
        else:
            parts.append(sim.pick(a.voice.propose, **kw))
    sim.say(parts, thought_for(a, sim, moves[0]))


def _open(sim: Sim, cell) -> bool:
    n = sim.maze.size
    return 0 <= cell[0] < n and 0 <= cell[1] < n and sim.maze.is_open(cell)


def accept(sim: Sim, moves: list[str], *, narrate=False, then: list[str] | None = None, perturb=False) -> None:
    """The speaker accepts the moves on the table (executed), optionally adding more parts."""
    a = sim.speaker
    if len(moves) > 1:
        text = sim.pick(a.voice.accept_plan, plan=plan_text(a, moves, sim))
    elif narrate:
        sim.tags.add("narration")
        kw = fmt_kw(a, moves[0], nxt(sim.pos, moves[0]), sim, perturb=perturb)
        text = sim.rng.choice([f"Moving {kw['d']} now!", f"Going {kw['d']}.", f"Done — moved {kw['d']}.", f"On it: {kw['d']}."])
    else:
        text = sim.pick(a.voice.accept, **fmt_kw(a, moves[0], nxt(sim.pos, moves[0]), sim, perturb=perturb))
    sim.route.extend(moves)
    for m in moves:
        if sim.pos == sim.maze.goal or not _open(sim, nxt(sim.pos, m)):
            break
        sim.pos = nxt(sim.pos, m)
    return text


def chunk(path: list[str], rng: random.Random, plan_rate: float) -> list[list[str]]:
    out, i = [], 0
    while i < len(path):
        n = 1
        if rng.random() < plan_rate:
            n = rng.choice([2, 2, 3, 3, 4])
        out.append(path[i : i + n])
        i += n
    return out


def wall_neighbour(sim: Sim, cell, avoid: str | None) -> str | None:
    """A move from ``cell`` into a wall (not off the grid), if any."""
    n = sim.maze.size
    for m in sim.rng.sample(list(STEP), 4):
        c = nxt(cell, m)
        if m != avoid and 0 <= c[0] < n and 0 <= c[1] < n and not sim.maze.is_open(c):
            return m
    return None


# ---------------------------------------------------------------- one collaboration


def collab_case(k: int, spec: dict) -> dict:
    rng = random.Random(f"ho-gen-collab-{k}")
    size, seed = spec["maze"][:2]
    start = tuple(spec["maze"][2]) if len(spec["maze"]) > 2 else (0, 0)
    maze = maze_for(size, seed, start)
    va, vb = split_views(maze, seed)
    voices = spec["voices"]
    scheme = spec.get("scheme")
    agents = [Agent("agent_1", va.rows, VOICE[voices[0]], scheme, rng), Agent("agent_2", vb.rows, VOICE[voices[1]], spec.get("scheme2", scheme), rng)]
    for ag in agents:
        ag.dirstyle = spec.get("dirstyle", "word")
    sim = Sim(maze, agents, rng, pos=maze.start)
    for v in voices:
        sim.tags.update(VOICE[v].tags)
    if not scheme:
        sim.tags.add("directions")
    cells = maze.shortest_path()
    path = [DIRS[(b[0] - a[0], b[1] - a[1])] for a, b in zip(cells, cells[1:])]
    outcome = spec["outcome"]
    stop = spec.get("stop", len(path))  # steps of the real path that get agreed
    steps = chunk(path[:stop], rng, spec.get("plans", 0.2))
    events = set(spec.get("events", []))
    notes = []

    # opening (agent_1): scheme + goal + optional strategy line, then the first proposal
    a1 = agents[0]
    opening = []
    if a1.scheme:
        opening.append(sim.pick(a1.voice.opening, scheme=SCHEMES[a1.scheme][0], goal=a1.fmt(maze.goal)))
        sim.tags.update(SCHEMES[a1.scheme][2])
    if "strategy" in events:
        opening.append(rng.choice(["Let's head for the bottom-right corner area first.", "Strategy: stay close to the walls on the right side and work our way toward the goal.", "Plan A is to hug the top edge; Plan D would be going around the long way — let's keep that as a backup."]))
    if outcome == "refusal":
        return _refusal(sim, spec, opening, path, k)
    if outcome == "no_agreement":
        return _no_agreement(sim, spec, opening, path, k)

    pending_prefix = opening
    after_goal_acti = outcome == "success"
    for i, moves in enumerate(steps):
        # optional rejected wrong move before this step
        if "reject" in events and rng.random() < 0.6:
            wrong = wall_neighbour(sim, sim.pos, moves[0])
            if wrong and sim.speaker.sees(nxt(sim.pos, wrong)) == "?" and sim.listener.sees(nxt(sim.pos, wrong)) == "#":
                propose(sim, [wrong], prefix=pending_prefix + [view_note(sim.speaker, nxt(sim.pos, wrong), sim)])
                pending_prefix = []
                kw = fmt_kw(sim.speaker, wrong, nxt(sim.pos, wrong), sim)
                sim.tags.add("rejection")
                notes.append(f"a proposed {wrong} into a wall is rejected")
                rej = sim.pick(sim.speaker.voice.reject, **kw)
                propose(sim, moves, prefix=[rej])
                _respond(sim, moves, spec, events, notes, i, len(steps))
                continue
        kind = "plain"
        if len(moves) == 1:
            r = rng.random()
            if "question" in events and r < 0.25:
                kind = "question"
            elif "alternatives" in events and r < 0.4:
                kind = "alternatives"
            elif "cells" in events and r < 0.7:
                kind = "cell"
        if "conditional" in events and len(moves) == 1 and rng.random() < 0.3:
            # conditional first, the partner only informs, then a concrete proposal
            tgt = nxt(sim.pos, moves[0])
            if sim.speaker.sees(tgt) == "?" and sim.speaker.scheme:
                propose(sim, moves, kind="conditional", prefix=pending_prefix)
                pending_prefix = []
                sim.say([view_note(sim.speaker, tgt, sim)], thought_for(sim.speaker, sim, None))
                notes.append("a conditional proposal is followed by information only and then restated concretely")
        note = view_note(sim.speaker, nxt(sim.pos, moves[0]), sim) if rng.random() < 0.5 else ""
        if "positions" in events and sim.pos != maze.start:
            sim.tags.add("position_claims")
            pending_prefix = pending_prefix + [sim.pick(sim.speaker.voice.position, at=cell_text(sim.speaker, sim.pos, sim) if sim.speaker.scheme else "the new cell")]
        propose(sim, moves, kind=kind, prefix=pending_prefix + [note])
        pending_prefix = []
        _respond(sim, moves, spec, events, notes, i, len(steps))

    # endings
    if pending_prefix:  # nothing was proposed yet: the opening leads the first message
        sim.carry = pending_prefix
    if outcome == "success":
        if sim.pos != maze.goal:
            raise AssertionError(f"case {k}: success plan did not reach the goal")
        if not sim.msgs[-1].rstrip().endswith("ACTI!"):
            sim.say([sim.pick(sim.speaker.voice.acti)])
        if "after_end" in events:
            pass
    elif outcome == "false_acti":
        sim.tags.add("false_acti")
        rest = path[stop:]
        if rng.random() < 0.5 and rest:
            kw = fmt_kw(sim.speaker, rest[0], nxt(sim.pos, rest[0]), sim)
            sim.say([sim.pick(sim.speaker.voice.propose, **kw), sim.pick(sim.speaker.voice.acti)])
            notes.append("the last proposal comes with ACTI! before any agreement, which ends the game")
        else:
            sim.say([rng.choice(["That should be the goal!", "We must be there now.", "I think we made it."]), sim.pick(sim.speaker.voice.acti)])
            notes.append("ACTI! is declared before the goal")
    elif outcome == "wall":
        wrong = wall_neighbour(sim, sim.pos, None)
        if wrong is None:
            raise AssertionError(f"case {k}: no wall next to the stop cell")
        tgt = nxt(sim.pos, wrong)
        # the proposer cannot see the wall; the partner agrees without checking
        if sim.speaker.sees(tgt) == "#":
            sim.say([rng.choice(["Hmm, let me look at my map again.", "Where are we now, exactly?", "Let me think about the next step."])], thought_for(sim.speaker, sim, None))
        propose(sim, [wrong], prefix=[view_note(sim.speaker, tgt, sim)])
        sim.tags.add("wall_agreed")
        notes.append(f"{wrong} into the wall at 0-based (row, col) {tgt} is agreed")
        text = accept(sim, [wrong])
        if "after_end" in events:
            more = rng.choice(["down", "right"])
            propose_text = sim.pick(sim.speaker.voice.propose, **fmt_kw(sim.speaker, more, None, sim))
            sim.say([text, propose_text])
            sim.say([accept(sim, [more])])
            sim.tags.add("after_end")
            notes.append(f"a further {more} is agreed after the walk has ended")
        else:
            sim.say([text])
    elif outcome == "stall":
        rest = path[stop:]
        d1 = rest[0]
        d2 = next((m for m in ("down", "right", "left", "up") if m != d1 and _open(sim, nxt(sim.pos, m))), None)
        sim.tags.add("no_agreement")
        k1 = fmt_kw(sim.speaker, d1, nxt(sim.pos, d1), sim)
        sim.say([sim.pick(sim.speaker.voice.propose, **k1)])
        if d2:
            k2 = fmt_kw(sim.speaker, d2, nxt(sim.pos, d2), sim)
            sim.say([rng.choice(["I'd rather not.", "Hmm, I disagree.", "I agree that it could work, but I see it differently."]), sim.pick(sim.speaker.voice.propose, **k2)])
            k1 = fmt_kw(sim.speaker, d1, nxt(sim.pos, d1), sim)
            sim.say([rng.choice(["No.", "I still prefer my idea.", "Let's not argue, but I'm not convinced."]), sim.pick(sim.speaker.voice.propose, **k1)])
        else:
            sim.say([sim.pick(sim.speaker.voice.ask, **fmt_kw(sim.speaker, d1, nxt(sim.pos, d1), sim))])
        notes.append("the last proposals are never accepted")
    elif outcome == "split":
        sim.tags.update({"split_up", "narration"})
        sim.say([rng.choice(["Let's split up to explore faster: I'll go one way, you go the other.", "New idea: we split up and each explore on our own, then report back."])])
        ways = {sim.speaker.name: ["right", "up"], sim.listener.name: ["down", "left"]}  # never the same move
        for j in range(3):
            m = rng.choice(ways[sim.speaker.name])
            sim.say([rng.choice([f"I'm going {m} on my own.", f"Exploring {m}.", f"I went {m} by myself."])])
        notes.append("after the split, no move is agreed by both")
    return _finish(sim, spec, k, notes)


def _respond(sim: Sim, moves, spec, events, notes, i, n):
    """The partner reacts to the moves on the table: sometimes a question first, then acceptance."""
    rng = sim.rng
    last = i == n - 1
    tgt = nxt(sim.pos, moves[0])
    if "question" in events and len(moves) == 1 and rng.random() < 0.35 and sim.speaker.sees(tgt) == "?":
        sim.tags.add("questions")
        sim.say([sim.pick(sim.speaker.voice.ask, **fmt_kw(sim.speaker, moves[0], tgt, sim))], thought_for(sim.speaker, sim, None))
        note = view_note(sim.speaker, tgt, sim) or "I'm sure."
        sim.say([note, sim.pick(sim.speaker.voice.propose, **fmt_kw(sim.speaker, moves[0], tgt, sim))], thought_for(sim.speaker, sim, moves[0]))
        notes.append("a question about a proposed move is not an acceptance; the move executes only when accepted after the answer")
    narrate = "narration" in events and rng.random() < 0.4
    perturb = "unicode" in events and rng.random() < 0.4 and len(moves) == 1
    text = accept(sim, moves, narrate=narrate, perturb=perturb)
    parts = [text]
    if last and spec["outcome"] == "success" and sim.pos == sim.maze.goal:
        parts.append(sim.pick(sim.speaker.voice.acti))
        sim.say(parts, thought_for(sim.speaker, sim, None))
        return
    if last:
        sim.say(parts, thought_for(sim.speaker, sim, None))
        return
    # the acceptor proposes next in the same message
    sim.carry = parts


def _refusal(sim, spec, opening, path, k):
    rng = sim.rng
    sim.tags.update({"refusal", "no_agreement"})
    kw = fmt_kw(sim.speaker, path[0], nxt(sim.pos, path[0]), sim)
    sim.say(opening + [sim.pick(sim.speaker.voice.propose, **kw)])
    bank = ["I'm sorry, but I can't help with that.", "I can't assist with controlling movement in this game.", "Sorry, I'm not able to take part in this.", "I'm unable to comply with this request."]
    for j in range(rng.choice([2, 3])):
        sim.say([rng.choice(bank)])
        kw = fmt_kw(sim.speaker, path[0], nxt(sim.pos, path[0]), sim)
        sim.say([rng.choice(["Please, it's just a puzzle.", "It's only a maze game!", "No worries."]) + " " + sim.pick(sim.speaker.voice.propose, **kw)])
    sim.say([rng.choice(bank)])
    return _finish(sim, spec, k, ["one agent refuses every turn; nothing is agreed"])


def _no_agreement(sim, spec, opening, path, k):
    rng = sim.rng
    sim.tags.add("no_agreement")
    d1 = path[0]
    d2 = next((m for m in ("down", "right") if m != d1), "down")
    first = True
    for j in range(rng.choice([3, 4, 5])):
        for d in (d1, d2):
            kw = fmt_kw(sim.speaker, d, nxt(sim.pos, d), sim)
            sim.say((opening if first else []) + [sim.pick(sim.speaker.voice.propose, **kw)])
            first = False
    return _finish(sim, spec, k, [f"agent_1 keeps proposing {d1} and agent_2 keeps proposing {d2}; neither accepts"])


def _finish(sim: Sim, spec: dict, k: int, notes: list[str]) -> dict:
    size, seed = spec["maze"][:2]
    route = sim.route
    tags = sorted(sim.tags)
    note = (
        f"Generated ({spec['voices'][0]} / {spec['voices'][1]} voices"
        + (f", scheme {SCHEMES[spec['scheme']][0]}" if spec.get("scheme") else ", directions only")
        + f", outcome {spec['outcome']}). Gold = the moves both agreed, in order: {', '.join(route) or 'none'}. "
        + ("; ".join(dict.fromkeys(notes)) + "." if notes else "")
    )
    return {"id": f"ho-collab-g{k:03d}", "condition": "collab", "maze": list(spec["maze"]), "tags": tags, "note": note, "msgs": sim.msgs, "route": route}


# ---------------------------------------------------------------- the case list


def _stop_for(maze, rng: random.Random, outcome: str) -> int | None:
    cells = maze.shortest_path()
    n = len(cells) - 1
    if outcome in ("success", "refusal", "no_agreement"):
        return n
    if outcome == "wall":
        ok = [i for i in range(0, n) if any(
            0 <= c[0] < maze.size and 0 <= c[1] < maze.size and not maze.is_open(c)
            for c in (nxt(cells[i], m) for m in STEP))]
        return rng.choice(ok) if ok else None
    return rng.randint(1, n - 1) if n > 1 else None


COLLAB_PLAN = [
    # (voices, scheme, outcome, events, dirstyle)
    (("gpt41", "gpt41"), "rc0", "success", ["positions", "reject"], "word"),
    (("claude", "claude"), "rc1", "success", ["conditional", "question", "positions"], "word"),
    (("gemini", "gemini"), "xy0", "false_acti", ["alternatives", "reject"], "word"),
    (("llama8b", "llama8b"), None, "wall", ["narration", "after_end"], "word"),
    (("qwen_small", "qwen_small"), "rc0s", "no_agreement", [], "word"),
    (("phi", "mistral"), "rXcY0", "success", ["reject", "cells"], "word"),
    (("command_r", "claude"), "words1", "stall", ["question", "positions"], "word"),
    (("gemma", "gemma"), None, "success", ["narration"], "emoji"),
    (("r1", "r1"), "rc0", "false_acti", ["reject"], "word"),
    (("gptoss", "gptoss"), "rc0", "success", ["alternatives"], "word"),
    (("mistral", "phi"), None, "wall", ["unicode"], "arrow"),
    (("gpt41", "llama8b"), "A1", "success", ["cells", "question"], "word"),
    (("claude", "gemini"), "named0", "stall", ["conditional", "reject"], "word"),
    (("llama8b", "qwen_small"), None, "refusal", [], "word"),
    (("gemini", "command_r"), "xy1", "wall", ["positions"], "word"),
    (("phi", "phi"), "1A", "success", ["cells"], "word"),
    (("qwen_small", "llama8b"), "bare", "false_acti", [], "word"),
    (("gemma", "mistral"), "full", "success", ["unicode", "narration"], "word"),
    (("r1", "gpt41"), "rXcY1", "stall", ["alternatives"], "word"),
    (("command_r", "command_r"), "namedxy", "success", ["reject", "positions"], "word"),
    (("mistral", "mistral"), None, "split", ["narration"], "word"),
    (("gptoss", "phi"), "rc0s", "wall", ["reject", "after_end"], "word"),
    (("claude", "llama8b"), "ord", "false_acti", ["question"], "word"),
    (("gpt41", "gemini"), None, "success", ["unicode", "alternatives"], "arrow"),
    (("llama8b", "llama8b"), "rc1", "stall", ["narration", "positions"], "word"),
    (("qwen_small", "phi"), None, "no_agreement", [], "word"),
    (("gemini", "gemma"), "rc0", "success", ["conditional", "question"], "word"),
    (("phi", "command_r"), "xy0", "false_acti", ["cells"], "word"),
    (("mistral", "gpt41"), "A1", "wall", ["question"], "word"),
    (("r1", "claude"), "rc1", "success", ["reject", "positions"], "word"),
    (("gemma", "qwen_small"), None, "stall", ["unicode"], "emoji"),
    (("command_r", "gemini"), "words1", "success", ["alternatives", "cells"], "word"),
    (("claude", "phi"), "rXcY0", "wall", ["conditional"], "word"),
    (("gpt41", "gpt41"), "named0", "false_acti", ["positions"], "word"),
    (("llama8b", "gemma"), None, "refusal", [], "word"),
    (("gptoss", "r1"), "rc0", "stall", ["question", "reject"], "word"),
    (("mistral", "claude"), "1A", "success", ["narration", "question"], "word"),
    (("phi", "qwen_small"), "bare", "wall", [], "word"),
    (("gemini", "llama8b"), "ord", "success", ["strategy", "positions"], "word"),
    (("command_r", "mistral"), None, "split", [], "word"),
    (("gemma", "gpt41"), "xy1", "false_acti", ["unicode", "alternatives"], "word"),
    (("claude", "claude"), "full", "stall", ["conditional", "positions"], "word"),
    (("r1", "phi"), "namedxy", "wall", ["after_end"], "word"),
    (("gpt41", "command_r"), "rXcY1", "success", ["strategy", "reject"], "word"),
    (("qwen_small", "gemini"), "rc0s", "no_agreement", ["strategy"], "word"),
    (("llama8b", "mistral"), None, "false_acti", ["narration", "unicode"], "word"),
    (("gptoss", "gemma"), "A1", "success", ["question"], "arrow"),
    (("phi", "gpt41"), "rc0", "stall", ["alternatives", "reject"], "word"),
    (("gemini", "phi"), "rc0", "success", ["unicode", "strategy"], "word"),
    (("mistral", "r1"), "xy0", "wall", ["positions", "reject"], "word"),
]

SIZES = [4, 5, 6, 6, 6, 7, 8, 6, 5, 7]


def collab_cases() -> list[dict]:
    out = []
    for k, (voices, scheme, outcome, events, dirstyle) in enumerate(COLLAB_PLAN, start=1):
        rng = random.Random(f"ho-gen-spec-{k}")
        size = SIZES[k % len(SIZES)]
        for attempt in range(50):
            seed = 600 + 37 * k + attempt
            maze = maze_for(size, seed)
            stop = _stop_for(maze, rng, outcome)
            if stop is None:
                continue
            spec = {"maze": [size, seed], "voices": voices, "scheme": scheme, "outcome": outcome, "events": events, "dirstyle": dirstyle, "stop": stop, "plans": 0.25 if size >= 7 else 0.15}
            try:
                case = collab_case(k, spec)
            except AssertionError:
                continue
            if 2 <= len(case["msgs"]) <= 30:
                out.append(case)
                break
        else:
            raise AssertionError(f"no maze fits generated case {k}")
    return out


# ---------------------------------------------------------------- solo answers

SOLO_FMT = {
    "rc0": ("(row, col), 0-indexed", lambda r, c: f"({r}, {c})", ["coordinates"]),
    "rc1": ("(row, column) counting from 1", lambda r, c: f"({r + 1}, {c + 1})", ["coordinates", "one_based"]),
    "xy0": ("(x, y) with x the column and y the row, from 0", lambda r, c: f"({c}, {r})", ["coordinates", "xy"]),
    "br0": ("[row, col], 0-based", lambda r, c: f"[{r}, {c}]", ["coordinates"]),
    "A1": ("column letter + row number (A1 = top-left)", lambda r, c: f"{_letters(c)}{r + 1}", ["coordinates", "letter_number"]),
    "rXcY0": ("rXcY, 0-based", lambda r, c: f"r{r}c{c}", ["coordinates", "rXcY"]),
    "named1": ("(row=R, col=C), 1-based", lambda r, c: f"(row={r + 1}, col={c + 1})", ["coordinates", "named_fields", "one_based"]),
    "full": ("（row，col）, 0-based", lambda r, c: f"（{r}，{c}）", ["coordinates", "fullwidth"]),
}

SOLO_VOICE = {
    "gpt41": (["**Reasoning:** I traced the open cells from the start toward the goal.\n\n**Final solution ({fmt}):**\n{body}"],
              ["I re-checked every step; all moves are adjacent and avoid walls.\n\n**Final solution:**\n{body}"],
              ["After reviewing, I found a problem with my previous path. **Corrected final solution:**\n{body}"]),
    "claude": (["I'll describe positions as {fmt}. Working through the map, the route I'd suggest is:\n\n{body}\n\nI believe this avoids every wall."],
               ["Thank you for the chance to review. Checking each step again, the path holds up:\n\n{body}"],
               ["On reflection, I made an error. Here is my revised final solution:\n\n{body}"]),
    "gemini": (["## Okay, here's the solution\n### Coordinates\n{fmt}\n### Path\n{body}"],
               ["## Review\nEverything checks out.\n### Final path\n{body}"],
               ["## Review\nI spotted an issue and fixed it.\n### Final path\n{body}"]),
    "llama8b": (["What a fun maze! Let's find the path together. I will use {fmt}. Here is my solution:\n\n{body}\n\nI hope this helps!"],
                ["I have reviewed my solution carefully and I am confident it is correct! Here it is again:\n\n{body}"],
                ["I apologize for the mistake in my previous answer! Here is the corrected solution:\n\n{body}"]),
    "qwen_small": (["The path is {body}"], ["The final solution is {body}"], ["Sorry. The final solution is {body}"]),
    "phi": (["Coordinates {fmt}. Path: {body}."], ["Verified. Final: {body}."], ["Correction. Final: {body}."]),
    "mistral": (["ok so using {fmt}: {body}"], ["checked it, still good: {body}"], ["oops, fixed: {body}"]),
    "command_r": (["Using {fmt}, the proposed solution is as follows:\n{body}"], ["Upon review, the solution is valid. Final solution:\n{body}"], ["Upon review, a correction is required. Final solution:\n{body}"]),
}


def _cells_of(moves, start):
    out, cur = [], start
    for m in moves:
        cur = nxt(cur, m)
        out.append(cur)
    return out


def _greedy(maze, order: str) -> list[str]:
    """The wall-blind L-shaped route a weak model writes: all of one axis, then the other."""
    (r0, c0), (r1, c1) = maze.start, maze.goal
    v = ["down" if r1 > r0 else "up"] * abs(r1 - r0)
    h = ["right" if c1 > c0 else "left"] * abs(c1 - c0)
    return v + h if order == "v" else h + v


def _render_route(style: str, moves: list[str], start, rng: random.Random, tags: set, numbered=False) -> str:
    if style in SOLO_FMT:
        _, f, t = SOLO_FMT[style]
        tags.update(t)
        tags.add("solo_list")
        cells = [start] + _cells_of(moves, start)
        items = [f(*c) for c in cells]
        if numbered:
            return "\n".join(f"{i + 1}. {x}" for i, x in enumerate(items))
        return rng.choice([" → ", ", ", " -> "]).join(items)
    if style == "arrows":
        tags.add("arrows")
        return " ".join(ARROWS[m] for m in moves)
    if style == "emoji":
        tags.update({"arrows", "emoji"})
        return "".join(EMOJI[m] for m in moves)
    tags.add("solo_prose")  # prose with counts
    runs: list[list] = []
    for m in moves:
        if runs and runs[-1][0] == m:
            runs[-1][1] += 1
        else:
            runs.append([m, 1])
    if any(n > 1 for _, n in runs):
        tags.add("repetition")
    words = {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times", 6: "six times", 7: "seven times"}
    steps = [f"{'move ' if i == 0 else ''}{m} {words.get(n, f'{n} times')}" if rng.random() < 0.6 else f"{['one', 'two', 'three', 'four', 'five', 'six', 'seven'][n - 1]} step{'s' if n > 1 else ''} {m}" for i, (m, n) in enumerate(runs)]
    return "Start at the top-left, " + ", then ".join(steps) + ", and you reach the goal."


SOLO_PLAN = [
    # (voice, condition, style, scenario)
    ("gpt41", "solo_full", "rc0", "ok"),
    ("claude", "solo_distributed", "rc1", "fix"),
    ("gemini", "solo_full", "xy0", "greedy"),
    ("llama8b", "solo_full", "prose", "greedy"),
    ("qwen_small", "solo_distributed", "br0", "break_wall"),
    ("phi", "solo_full", "A1", "ok"),
    ("mistral", "solo_distributed", "arrows", "fix"),
    ("command_r", "solo_full", "rXcY0", "short"),
    ("gpt41", "solo_distributed", "named1", "ok"),
    ("claude", "solo_full", "prose", "fix"),
    ("gemini", "solo_distributed", "full", "break_short"),
    ("llama8b", "solo_distributed", "rc0", "greedy"),
    ("qwen_small", "solo_full", "emoji", "ok"),
    ("phi", "solo_distributed", "xy0", "fix"),
    ("mistral", "solo_full", "rc1", "greedy"),
    ("command_r", "solo_distributed", "prose", "ok"),
    ("gpt41", "solo_full", "br0", "break_wall"),
    ("gemini", "solo_full", "A1", "fix"),
    ("claude", "solo_distributed", "rXcY0", "short"),
    ("llama8b", "solo_full", "named1", "fix"),
    ("phi", "solo_full", "prose", "greedy"),
    ("mistral", "solo_distributed", "rc0", "ok"),
]

SOLO_SIZES = [6, 6, 5, 7, 6, 8, 4, 6, 7, 5, 6]


def solo_cases() -> list[dict]:
    out = []
    for k, (voice, condition, style, scenario) in enumerate(SOLO_PLAN, start=1):
        rng = random.Random(f"ho-gen-solo-{k}")
        size = SOLO_SIZES[k % len(SOLO_SIZES)]
        for attempt in range(80):
            seed = 900 + 41 * k + attempt
            maze = maze_for(size, seed)
            cells = maze.shortest_path()
            good = [DIRS[(b[0] - a[0], b[1] - a[1])] for a, b in zip(cells, cells[1:])]
            greedy = _greedy(maze, rng.choice("vh"))
            greedy_ok = all(maze.is_open(c) for c in _cells_of(greedy, maze.start))
            if scenario in ("greedy", "fix", "break_wall") and greedy_ok:
                continue  # these need the wall-blind route to hit a wall
            if scenario in ("short", "break_short") and len(good) < 4:
                continue
            break
        tags: set = set()
        first_bank, same_bank, fix_bank = SOLO_VOICE[voice]
        fmt = SOLO_FMT[style][0] if style in SOLO_FMT else "directions"
        numbered = voice in ("gpt41", "gemini", "command_r", "claude") and rng.random() < 0.5
        cut = len(good) - rng.choice([1, 2])
        first, final, notes = good, good, []
        if scenario == "greedy":
            first = final = greedy
            notes.append("both answers give the same wall-blind route (one axis, then the other)")
        elif scenario == "fix":
            first = greedy
            tags.add("critic_changes")
            notes.append("the first answer's wall-blind route is replaced after the critic turn by a valid one")
        elif scenario == "break_wall":
            final = greedy
            tags.add("critic_changes")
            notes.append("the critic answer replaces a valid route with a wall-blind 'shorter' one")
        elif scenario == "short":
            first = final = good[:cut]
            notes.append("both answers stop before the goal")
        elif scenario == "break_short":
            final = good[:cut]
            tags.add("critic_changes")
            notes.append("the critic answer drops the last steps")
        else:
            notes.append("both answers give the same valid route")
        body1 = _render_route(style, first, maze.start, rng, tags, numbered)
        body2 = _render_route(style, final, maze.start, rng, tags, numbered)
        m1 = rng.choice(first_bank).format(fmt=fmt, body=body1)
        m2 = rng.choice(fix_bank if first != final else same_bank).format(fmt=fmt, body=body2)
        if fmt == "directions":  # no scheme to announce
            for a, b in (("Coordinates directions. ", ""), ("I will use directions. ", ""), ("I'll describe positions as directions. ", ""),
                         ("ok so using directions: ", "ok so: "), ("Using directions, the", "The"), ("### Coordinates\ndirections\n", "")):
                m1 = m1.replace(a, b)
        m1, m2 = m1.replace("..", "."), m2.replace("..", ".")
        if voice == "llama8b":
            tags.add("verbose")
        if voice in ("qwen_small", "phi", "mistral"):
            tags.add("terse")
        if voice in ("gpt41", "gemini"):
            tags.add("markdown")
        route = [list(c) for c in _cells_of(final, maze.start)] if style in SOLO_FMT else list(final)
        note = (f"Generated ({voice} voice, {condition}, {fmt}). Gold is the final (critic-turn) answer's route"
                + (" as 0-based [row, col] cells" if style in SOLO_FMT else "") + ": " + "; ".join(notes) + ".")
        out.append({"id": f"ho-solo-g{k:03d}", "condition": condition, "maze": [size, seed], "tags": sorted(tags), "note": note, "msgs": [m1, m2], "route": route})
    return out


def all_cases() -> dict[str, list[dict]]:
    return {"collab_generated.yaml": collab_cases(), "solo_generated.yaml": solo_cases()}
