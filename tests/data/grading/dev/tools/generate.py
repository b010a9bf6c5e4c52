"""Generate the machine-written part of the dev corpus: collab_generated.yaml and solo_generated.yaml.

Run from the repository root: `python tests/data/grading/dev/tools/generate.py`. Deterministic.

The hand-written files carry the hardest and most natural cases; this script adds volume with
variety: every dialogue draws two independent voices (terse, chatty, markdown, rambling, emoji,
position-restating, ...), one coordinate scheme, and a mix of events (rejections, questions that
are not acceptance, plans agreed or declined, walls, false ACTI!, splitting up, refusals). The gold
route is what the simulated game executed: a move counts only when the other agent accepted it.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))
from gapbench.maze import Maze, MazeParams, generate  # noqa: E402
from tests.grading_corpus import walk_gold  # noqa: E402

DEV = Path(__file__).resolve().parents[1]
STEP = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}
ARROW = {"up": "↑", "down": "↓", "left": "←", "right": "→"}
EMOJI = {"up": "⬆️", "down": "⬇️", "left": "⬅️", "right": "➡️"}
ORD = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"]
LETTERS = "ABCDEFGH"
COUNT = {2: ["twice", "two times", "2 times", "two steps"], 3: ["three times", "3 times", "three steps"],
         4: ["four times", "4 times", "four steps"]}


# ---------------------------------------------------------------- schemes: how a move is named

@dataclass
class Scheme:
    """How agents name a move; `intro` states the convention so a careful reader can tell it."""

    name: str

    def cell(self, cell: tuple[int, int]) -> str:
        r, c = cell
        return {
            "rc0": f"({r},{c})", "rc0s": f"({r}, {c})", "rc1": f"({r + 1},{c + 1})",
            "xy0": f"({c},{r})", "xy1": f"({c + 1}, {r + 1})", "rxcy0": f"r{r}c{c}", "RXCY1": f"R{r + 1}C{c + 1}",
            "named0": f"(row={r}, col={c})", "namedxy": f"(x={c}, y={r})", "letter": f"{LETTERS[c]}{r + 1}",
            "numletter": f"{r + 1}{LETTERS[c]}", "ordinal": f"the {ORD[r]} row, {ORD[c]} column",
            "colrow1": f"column {c + 1}, row {r + 1}", "full": f"（{r}，{c}）", "bare": f"{r},{c}",
        }[self.name]

    def intro(self, start: tuple[int, int], rng: random.Random) -> str:
        s = self.cell(start)
        return {
            "rc0": f"I'll use (row, col) from 0; we're at {s}.", "rc0s": f"Coordinates as (row, column), 0-indexed: start {s}.",
            "rc1": f"Counting rows and columns from 1 (row first), we start at {s}.",
            "xy0": f"I use (x, y): x = column, y = row, from 0. Start = {s}.",
            "xy1": f"Let me use (x, y) with x the column and y the row, both from 1: we're at {s}.",
            "rxcy0": f"Notation rRcC, 0-based: start is {s}.", "RXCY1": f"I'll write RxCy (row x, column y, from 1). Start: {s}.",
            "named0": f"Position: {s} (0-based).", "namedxy": f"Position {s}; x counts columns, y counts rows.",
            "letter": f"Columns are letters from the left (A, B, ...), rows numbers from the top (1, 2, ...). We're on {s}.",
            "numletter": f"Rows are numbers from the top, columns letters from the left: we're on {s}.",
            "ordinal": f"We're in {s}.", "colrow1": f"I count from 1. We're in {s}.",
            "full": f"坐标（行，列），从0开始。起点{s}。", "bare": f"Let's say row,col from 0: start {s}.",
        }[self.name]


OPPOSITE = {"up": "down", "down": "up", "left": "right", "right": "left"}
DIRECTION_STYLES = ["plain", "plain", "plain", "arrow", "emoji", "letter"]


def say_dir(d: str, style: str, cap: bool = False) -> str:
    if style == "arrow":
        return ARROW[d]
    if style == "emoji":
        return EMOJI[d]
    if style == "letter":
        return d[0].upper()
    return d.capitalize() if cap else d


# ---------------------------------------------------------------- voices

@dataclass
class Voice:
    """Phrase banks of one agent: how it proposes, accepts, objects, asks, claims its position."""

    name: str
    propose: list[str]
    accept: list[str]
    reject: list[str]
    ask: list[str]
    claim: list[str]
    done: list[str]
    tags: tuple[str, ...] = ()


VOICES = [
    Voice("terse", ["{m}?", "{m}.", "{m}", "{M}?"], ["ok", "k", "yes", "{m}.", "👍", "sure", "{M}"],
          ["no. {m}", "No, {m}.", "not {o}. {m}", "{o} no. {m}?", "nope, {m}"], ["why {o}?", "{o}? sure?"], [], ["ACTI!", "goal. ACTI!"], ("terse",)),
    Voice("assistant", ["I suggest we move {m}.", "Let's go {m}.", "How about {m}?", "Next move: {m}.", "I propose {m}."],
          ["Sounds good!", "Agreed.", "Confirmed, moving {m}.", "Great, let's do it.", "Agreed — {m}.", "Yes, {m} works for me."],
          ["I don't think {o} is right — it looks blocked on my map. Let's go {m} instead.",
           "I'd rather not go {o}. I propose {m}."],
          ["Before we go {o}, can you tell me what you see there?", "Are you sure about {o}? What's on your map there?"],
          ["We're at {p} now.", "Current position: {p}."], ["We've reached the goal! ACTI!", "That's the goal. ACTI!"],
          ("agreement_variety",)),
    Voice("markdown", ["**Proposal:** {m}", "### Next move\n**{m}**", "**Move:** {m}\n\n- reason: open on my map",
                       "## Suggestion\nLet's go **{m}**."],
          ["✅ Agreed: **{m}**", "**Agreed.** Moving {m}.", "👍 **Confirmed:** {m}"],
          ["❌ **Not {o}** — that's blocked for me.\n\n**Counter-proposal:** {m}"],
          ["**Question:** is {o} open on your side?"], ["**Position:** {p}"], ["🎉 **ACTI!**"], ("markdown",)),
    Voice("rambler", ["Hmm, okay, so I think maybe we should go {m} because on my map it looks like there is a path there, what do you think?",
                      "Let me think... I believe the best move now is {m}. Is that okay with you?",
                      "Okay! So now I would like to go {m}, I think that is a good idea."],
          ["Yes I think that is a good idea, let's go {m}!", "Okay, I agree with you, {m} it is. This is fun!",
           "Sure, I will go {m} with you."],
          ["Hmm, I am not sure about {o}, because I think there might be a wall. Maybe {m} is better?",
           "Oh, I don't think {o} is good, my map shows something there. Can we go {m} please?"],
          ["Wait, why do you want to go {o}? I don't understand, can you explain?"],
          ["I think we are now at {p}, if I counted right.", "So now we are at {p} I believe."],
          ["Yay! I think we did it! ACTI!"], ("verbose",)),
    Voice("emoji", ["{m} 👉", "{m}? 🤔", "Let's go {m} 🚀"], ["👍", "✅", "🙌 yes", "👌 {m}"], ["🚫 {o}. {m} 👉", "❌ {o} 🧱 → {m}?"],
          ["🤔 {o}?"], ["📍 {p}"], ["🎯 ACTI! 🎉"], ("emoji",)),
    Voice("claimer", ["We are at {p}. Let's move {m}.", "We're at {p}; next {m}.", "At {p}. I propose {m}."],
          ["We are at {p}. Agreed, {m}.", "OK — {m}.", "Agreed."],
          ["We are at {p}. {o} is a wall for me, so {m}.", "We are at {p}. I disagree with {o}; I propose {m}."], ["We are at {p}. Is {o} really open?"],
          ["We are at {p}."], ["We are at the goal. ACTI!"], ("position_claims",)),
    Voice("curt", ["Move {m}.", "Go {m}.", "{M}, please."], ["Fine.", "Done.", "Okay.", "Moving {m}."],
          ["Negative, {o} is blocked. Go {m}.", "Not {o}. {M}.", "Disagree. {M} instead."], ["{o}? Explain.", "Why {o}?"], [], ["ACTI!"], ("terse",)),
    Voice("casual", ["let's do {m}", "{m} i guess?", "how about {m}", "ok {m} next"], ["yep", "yeah {m}", "sure thing", "let's do it", "cool"],
          ["nah, {o} is a dead end. {m}?", "hmm no, not {o}. what about {m}", "{o} looks bad on mine tbh, {m}?"], ["{o}? what's over there"], ["we're on {p} now"], ["we made it!! ACTI!"],
          ("agreement_variety",)),
]


# ---------------------------------------------------------------- the simulated game

@dataclass
class Game:
    maze: Maze
    scheme: Scheme | None  # None: directions
    dstyle: str
    rng: random.Random
    voices: tuple[Voice, Voice]
    messages: list[dict] = field(default_factory=list)
    route: list = field(default_factory=list)
    pos: tuple[int, int] = (0, 0)
    events: list[str] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)
    ended: bool = False  # the walk ended (goal or wall) but talk may go on

    def speaker(self) -> int:
        return len(self.messages) % 2

    def say(self, text: str) -> None:
        self.messages.append({"speaker": f"agent_{self.speaker() + 1}", "text": text})

    def after(self, d: str, pos: tuple[int, int] | None = None) -> tuple[int, int]:
        r, c = pos or self.pos
        return r + STEP[d][0], c + STEP[d][1]

    def name(self, d: str, pos: tuple[int, int] | None = None, cap: bool = False) -> str:
        if self.scheme is None:
            return say_dir(d, self.dstyle, cap)
        target = self.scheme.cell(self.after(d, pos))
        # never "up to X": that reads as "as far as X"
        return self.rng.choice([target, f"{d}: {target}", f"to {target}", f"{d}, to {target}"])

    def where(self) -> str:
        if self.scheme is not None:
            return self.scheme.cell(self.pos)
        r, c = self.pos
        return self.rng.choice([f"row {r + 1}, column {c + 1} (counting from 1)", f"the {ORD[r]} row, {ORD[c]} column"])

    def fmt(self, voice: Voice, bank: str, m: str = "", o: str = "") -> str:
        text = self.rng.choice(getattr(voice, bank))
        return text.replace("{m}", m).replace("{M}", m[:1].upper() + m[1:]).replace("{o}", o).replace("{p}", self.where())

    def execute(self, d: str) -> None:
        self.route.append(d if self.scheme is None else list(self.after(d)))
        if self.ended:
            return
        nxt = self.after(d)
        n = self.maze.size
        if not (0 <= nxt[0] < n and 0 <= nxt[1] < n) or not self.maze.is_open(nxt):
            self.ended = True
            return
        self.pos = nxt
        if self.pos == self.maze.goal:
            self.ended = True


def join(voice: Voice, accept: str, proposal: str) -> str:
    """An acceptance followed by the next proposal, punctuated so the two read as two sentences."""
    if voice.name == "markdown":
        return f"{accept}\n\n{proposal}"
    return f"{accept}{'' if accept[-1:] in '.!?' else '.'} {proposal}"


def wall_dirs(maze: Maze, pos: tuple[int, int]) -> list[str]:
    out = []
    for d, (dr, dc) in STEP.items():
        q = (pos[0] + dr, pos[1] + dc)
        if 0 <= q[0] < maze.size and 0 <= q[1] < maze.size and not maze.is_open(q):
            out.append(d)
    return out


def path_dirs(maze: Maze, source: tuple[int, int]) -> list[str]:
    cells = maze.shortest_path(source)
    return [next(d for d, s in STEP.items() if (b[0] - a[0], b[1] - a[1]) == s) for a, b in zip(cells, cells[1:])]


SCHEMES = ["rc0", "rc0s", "rc1", "xy0", "xy1", "rxcy0", "RXCY1", "named0", "namedxy", "letter", "numletter",
           "ordinal", "colrow1", "full", "bare"]
SCHEME_TAGS = {"rc0": (), "rc0s": (), "rc1": ("one_based",), "xy0": ("xy",), "xy1": ("xy", "one_based"),
               "rxcy0": ("rXcY",), "RXCY1": ("rXcY", "one_based"), "named0": ("named_fields",),
               "namedxy": ("named_fields", "xy"), "letter": ("letter_number", "one_based"),
               "numletter": ("letter_number", "one_based"), "ordinal": ("ordinal_words",),
               "colrow1": ("xy", "one_based", "named_fields"), "full": ("fullwidth", "unicode"), "bare": ()}
ENDINGS = ["goal", "goal", "goal", "wall", "wall", "stop", "stop", "false_acti", "split", "refusal", "none", "after_goal"]


def collab_case(index: int, rng: random.Random) -> dict:
    size = rng.choice([4, 5, 5, 6, 6, 6, 6, 7, 8])
    start = rng.choice([(0, 0)] * 5 + [(0, size - 1), (size - 1, 0)])
    maze = generate(MazeParams(size=size, start=start), seed=5000 + index)
    use_coords = rng.random() < 0.45
    scheme = Scheme(rng.choice(SCHEMES)) if use_coords else None
    voices = (rng.choice(VOICES), rng.choice(VOICES))
    if scheme is not None and scheme.name in ("ordinal", "colrow1", "full", "numletter", "letter"):
        voices = (voices[0] if voices[0].name != "emoji" else VOICES[1], voices[1] if voices[1].name != "emoji" else VOICES[1])
    dstyle = rng.choice(DIRECTION_STYLES)
    if dstyle == "letter" and {v.name for v in voices} - {"terse", "curt"}:
        dstyle = "plain"  # single letters only between clipped voices
    g = Game(maze, scheme, dstyle, rng, voices, pos=maze.start)
    g.tags |= set(voices[0].tags) | set(voices[1].tags)
    g.tags.add("coordinates" if scheme else "directions")
    if scheme:
        g.tags |= set(SCHEME_TAGS[scheme.name])
    if g.dstyle == "arrow":
        g.tags.add("arrows")
    if g.dstyle == "emoji":
        g.tags |= {"emoji", "arrows"}
    ending = rng.choice(ENDINGS)
    plan = path_dirs(maze, maze.start)
    cut = len(plan)
    if ending in ("stop", "false_acti", "split", "refusal", "wall"):
        cut = rng.randint(1 if ending != "wall" else 0, max(1, len(plan) - 2))
    if ending == "none":
        cut = 0
    back_steps: set[int] = set()  # plan indices that undo a detour into a side branch
    if cut >= 2 and rng.random() < 0.2:
        j = rng.randrange(1, cut)
        here = maze.start
        for s in plan[:j]:
            here = g.after(s, here)
        side = [s for s in STEP if s != plan[j] and maze.is_open(g.after(s, here)) and s != OPPOSITE[plan[j - 1]]]
        if side:
            s = rng.choice(side)
            plan = plan[:j] + [s, OPPOSITE[s]] + plan[j:]
            cut += 2
            back_steps.add(j + 1)
    on_table: str | None = None  # the move proposed by the previous speaker, if any
    opened = False

    def voice() -> Voice:
        return voices[g.speaker()]

    def open_line() -> str:
        nonlocal opened
        if opened or scheme is None:
            return ""
        opened = True
        return scheme.intro(maze.start, rng) + " "

    def propose_text(d: str, back: bool = False) -> str:
        if back:
            g.events.append(f"a detour, then {d} proposed as a backtrack")
            g.tags.add("backtrack")
            return rng.choice(["Dead end here.", "Hmm, that leads nowhere.", "This looks like a dead end."]) + \
                f" Let's backtrack {g.name(d)}."
        text = open_line()
        walls = [w for w in wall_dirs(maze, g.pos) if w != d]
        extra = rng.random()
        if walls and extra < 0.15:
            w = rng.choice(walls)
            text += rng.choice([f"We can't go {w}, that's a wall. ", f"{w.capitalize()} is blocked ({w} is #). "])
            g.tags.add("negation")
            g.events.append(f"'{w}' is negated (a wall), not proposed")
        elif walls and extra < 0.25:
            w = rng.choice(walls)
            text += f"If we went {w} we'd hit a wall. "
            g.tags.add("conditional")
            g.events.append(f"'if we went {w}' is a conditional, not a proposal")
        return text + g.fmt(voice(), "propose", g.name(d))

    # --- moves up to the cut, each through one of several exchange patterns
    i = 0
    while i < cut:
        d = plan[i]
        pattern = rng.random()
        if on_table is None:
            moved = g.route and rng.random() < 0.3 and i not in back_steps
            lead = rng.choice([f"Done, we moved {plan[i - 1]}. ", f"Moving {plan[i - 1]} now. ", f"OK, moved {plan[i - 1]}. "]) if moved else ""
            if moved:  # narrates the move just agreed; it is not a second move
                g.tags.add("narration")
            g.say(lead + propose_text(d, i in back_steps))
            on_table = d
            continue
        # on_table == d here: the speaker reacts
        assert on_table == d
        remaining = plan[i:cut]
        if pattern < 0.10 and len(remaining) >= 2 and scheme is None:
            # the previous proposal was a single move; this speaker offers a multi-step plan instead
            k = min(len(remaining), rng.choice([2, 3]))
            steps = remaining[:k]
            if len(set(steps)) == 1 and k in COUNT:
                plan_txt = f"{say_dir(steps[0], 'plain')} {rng.choice(COUNT[k])}"
                g.tags.add("repetition")
            else:
                plan_txt = ", ".join(say_dir(s, "plain") for s in steps)
            g.say(rng.choice([f"Let's do more at once: {plan_txt}. Agree?", f"Plan: {plan_txt}. OK with all of it?"]))
            g.tags.add("multi_step_plan")
            if rng.random() < 0.6:
                g.say(rng.choice([f"Agreed, all {k}: {plan_txt}.", f"Yes, let's do all {k}.", f"Agreed — {plan_txt}."]))
                for s in steps:
                    g.execute(s)
                g.events.append(f"plan '{plan_txt}' explicitly agreed: {k} moves")
                i += k
                on_table = None
            else:
                first = say_dir(steps[0], "plain")
                g.say(rng.choice([f"One at a time. {first.capitalize()} first.", f"Only {first} for now, I can't see further."]))
                g.say(g.fmt(voices[g.speaker()], "accept", g.name(steps[0])))
                g.execute(steps[0])
                g.events.append(f"plan '{plan_txt}' declined; only {first} agreed")
                i += 1
                on_table = None
            continue
        if pattern < 0.22:
            # a question back: not acceptance; the proposer explains and re-proposes, then acceptance
            g.say(g.fmt(voice(), "ask", o=g.name(d)))
            g.tags.add("questions")
            g.say(rng.choice(["It's open on my map. ", "Yes, I can see it's open. ", "Trust me, it's free. "]) + g.fmt(voice(), "propose", g.name(d)))
            g.say(g.fmt(voice(), "accept", g.name(d)))
            g.execute(d)
            g.events.append(f"{d}: questioned first, accepted after the re-proposal")
            i += 1
            on_table = None
            continue
        text = g.fmt(voice(), "accept", g.name(d))
        g.execute(d)
        g.events.append(f"{d} accepted")
        if voice().claim and voice().name != "claimer" and rng.random() < 0.25:
            text = join(voice(), text, g.fmt(voice(), "claim"))  # where the move took them: narration, not a move
            g.tags.add("position_claims")
        i += 1
        on_table = None
        if i < cut and rng.random() < 0.75:
            nd = plan[i]
            if rng.random() < 0.12:
                # a decoy: this speaker proposes a wrong move, which the other rejects with the right one
                wrong = [w for w in STEP if w != nd and w != OPPOSITE[d]]
                decoy = rng.choice(wrong)
                g.say(join(voice(), text, propose_text(decoy)))
                g.say(g.fmt(voice(), "reject", g.name(nd), g.name(decoy)))
                g.tags.add("rejection")
                g.events.append(f"{decoy} proposed and rejected in favour of {nd}")
                on_table = nd
                continue
            g.say(join(voice(), text, propose_text(nd, i in back_steps)))
            on_table = nd
        else:
            g.say(text)
    # --- endings
    if ending in ("goal", "after_goal"):  # the whole shortest path was agreed: at the goal
        if g.messages and g.messages[-1]["text"].find("ACTI") < 0:
            g.say(g.fmt(voice(), "done"))
        if ending == "after_goal":
            back = next(iter(d for d in STEP if maze.in_bounds(g.after(d)) and maze.is_open(g.after(d))))
            g.say(rng.choice([f"Hm, my * might be one further. {back.capitalize()}?", f"Wait, let's double-check: {back}?"]))
            g.say(rng.choice([f"ok, {back}", f"{back.capitalize()}, fine."]))
            g.execute(back)
            g.tags.add("after_end")
            g.events.append(f"{back} agreed after the goal (after the end)")
        g.events.append("goal reached")
    elif ending == "wall":
        walls = wall_dirs(maze, g.pos)
        if on_table is not None:
            g.say(rng.choice(["Hold on.", "Wait, let me look again."]))
            on_table = None
        if walls:
            w = rng.choice(walls)
            g.say(propose_text(w))
            g.say(g.fmt(voice(), "accept", g.name(w)))
            g.execute(w)
            g.tags.add("wall_agreed")
            g.events.append(f"{w} agreed into a wall: the walk ends there")
            if rng.random() < 0.5:
                free = [d for d in STEP if maze.in_bounds(g.after(d)) and maze.is_open(g.after(d))]
                if free:
                    f = rng.choice(free)
                    g.say(rng.choice(["Ouch, wall. ", "That was a wall! "]) + g.fmt(voice(), "propose", g.name(f)))
                    g.say(g.fmt(voice(), "accept", g.name(f)))
                    g.execute(f)
                    g.tags.add("after_end")
                    g.events.append(f"{f} agreed after the wall (after the end)")
        else:
            g.say(propose_text(plan[cut]))
            g.say(rng.choice(["I'm not sure about that. Let me think.", "Hmm, let me check my map first."]))
            g.events.append(f"no wall next to the last cell; {plan[cut]} is proposed but not accepted")
            g.tags.add("no_agreement")
    elif ending == "false_acti":
        if on_table is not None:
            g.say(rng.choice(["Hmm.", "Hold on, I think we're there already."]))
            on_table = None
        g.say(rng.choice(["I think we're at the goal. ACTI!", "ACTI!", "Done! ACTI!"]))
        g.say(rng.choice(["ACTI!", "Yes, ACTI!", "ACTI! 🎉"]))
        g.tags.add("false_acti")
        g.events.append("ACTI! said away from the goal")
    elif ending == "split":
        a, b = rng.sample(list(STEP), 2)
        g.say(rng.choice([f"Let's split up to save time: I'll go {a}, you go {b}.", f"We're wasting turns. I'm going {a} on my own, you explore {b}."]))
        g.say(rng.choice([f"OK, I'm moving {b}.", f"Fine, going {b} by myself."]))
        g.say(rng.choice([f"I moved {a} twice. Nothing yet.", f"{a.capitalize()} again for me."]))
        g.say(rng.choice([f"I went {b}, dead end.", f"Still going {b}."]))
        g.tags.add("split_up")
        g.events.append(f"they split up ({a} / {b}); solo moves are not agreed")
    elif ending == "refusal":
        g.say(rng.choice(["I can't continue with this game.", "I'm sorry, but I won't make any more moves.",
                          "As an AI, I cannot physically move in a maze."]))
        g.tags.add("refusal")
        g.events.append("one agent refuses to go on")
    elif ending == "stop":
        if on_table is None:
            nd = plan[cut] if cut < len(plan) else "down"
            g.say(propose_text(nd))
            on_table = nd
        g.say(rng.choice([f"I'm not sure about {g.name(on_table)}. Let's compare maps first.",
                          "Wait, my map looks different here. Can you describe yours?"]))
        g.say(rng.choice(["Sure: mostly open around us, walls further on.", "Hard to say, many cells are hidden for me."]))
        g.tags.add("no_agreement")
        g.events.append("the last proposal is never accepted")
    else:  # "none": no move is ever agreed
        first = plan[0]
        other = rng.choice([d for d in STEP if d != first and maze.in_bounds(g.after(d))])
        g.say(open_line() + g.fmt(voice(), "propose", g.name(other)))
        for _ in range(rng.randint(1, 2)):
            g.say(g.fmt(voice(), "reject", g.name(first), g.name(other)))
            g.say(g.fmt(voice(), "reject", g.name(other), g.name(first)))
        g.tags.add("no_agreement")
        g.tags.add("rejection")
        g.events.append(f"{other} and {first} keep being rejected; no move agreed")
    note = (f"Generated ({voices[0].name} / {voices[1].name}, "
            f"{'scheme ' + scheme.name if scheme else 'directions, ' + g.dstyle}). "
            + "; ".join(g.events) + ".")
    if scheme:
        note += f" The scheme is stated in agent_1's first message: {scheme.intro(maze.start, random.Random(0))!r}"
    return finish(f"dev-gen-collab-{index:03d}", "collab", g.tags, note, maze, g.messages, g.route)


def finish(cid: str, condition: str, tags: set[str], note: str, maze: Maze, messages: list[dict], route) -> dict:
    text = maze.render(spaced=False)
    return {"id": cid, "condition": condition, "phenomena": sorted(tags), "note": note, "maze": text,
            "messages": messages, "route": route, "outcome": walk_gold(text, route)}


# ---------------------------------------------------------------- solo answers

def solo_case(index: int, rng: random.Random) -> dict:
    size = rng.choice([4, 5, 6, 6, 6, 7, 8])
    maze = generate(MazeParams(size=size), seed=7000 + index)
    condition = rng.choice(["solo_full", "solo_distributed"])
    tags: set[str] = set()
    cells = maze.shortest_path()
    kind = rng.choice(["same", "same", "unchanged", "fixed", "broken", "truncated", "none", "none", "prose", "prose", "none_then_route"])
    scheme = Scheme(rng.choice(["rc0", "rc0s", "rc1", "xy0", "xy1", "rxcy0", "RXCY1", "letter", "named0"]))
    tags |= set(SCHEME_TAGS[scheme.name]) | {"coordinates", "solo_list"}

    def as_list(path: list[tuple[int, int]]) -> str:
        sep = rng.choice([", ", " -> ", " → ", "; "])
        body = sep.join(scheme.cell(c) for c in path)
        return rng.choice([f"[{body}]", body])

    def wrong_path() -> list[tuple[int, int]] | None:
        # step into a wall next to the shortest path, as a model that misreads one row would
        for k, c in enumerate(cells[:-1]):
            for d in STEP:
                q = (c[0] + STEP[d][0], c[1] + STEP[d][1])
                if not maze.in_bounds(q) or maze.is_open(q):
                    continue
                tails = [maze.shortest_path(n) for n in maze.neighbours(q) if n not in cells[: k + 1]]
                tails = sorted((p for p in tails if p), key=len)
                if tails and k + 2 + len(tails[0]) <= len(cells) + 2:
                    return cells[: k + 1] + [q] + tails[0]  # through the wall q, then on to the goal
        return None

    intro = scheme.intro(maze.start, rng)
    reason = rng.choice(["I follow the open cells and avoid the walls.", "The shortest route I can find:",
                         "Combining map view 1 and map view 2:" if condition == "solo_distributed" else "Reading the map row by row:",
                         "Let me trace the path step by step."])
    final_word = rng.choice(["Final solution:", "**Final answer:**", "Final path:", "My final solution is"])
    if kind in ("fixed", "broken") and wrong_path() is None:
        kind = "same"  # no wall next to the path to misread
    notes = [f"Generated ({condition}, kind {kind}" + (f", scheme {scheme.name})" if kind not in ("prose", "none") else ")")]
    route: list | None
    if kind in ("same", "unchanged"):
        first = f"{intro} {reason}\n{as_list(cells)}"
        second = (f"{rng.choice(['I checked every step.', 'The path is valid.', 'Reviewed: no wall is crossed.'])} {final_word} {as_list(cells)}"
                  if kind == "same" else rng.choice(["I reviewed my solution and it is correct; I keep it unchanged.",
                                                     "After review, the solution above is complete and valid. No changes."]))
        route = [list(c) for c in cells[1:]]
        notes.append("the final answer " + ("restates the same list" if kind == "same" else "restates nothing, so the first list counts"))
    elif kind in ("fixed", "broken"):
        bad = wrong_path()
        good_first = kind == "broken"
        first_path, final_path = (cells, bad) if good_first else (bad, cells)
        first = f"{intro} {reason}\n{as_list(first_path)}"
        second = (f"{rng.choice(['On review I found a mistake.', 'Let me correct my path.', 'I think a shorter option exists.'])} "
                  f"{final_word} {as_list(final_path)}")
        route = [list(c) for c in final_path[1:]]
        tags.add("critic_changes")
        if final_path is bad:
            tags.add("wall_agreed")
        notes.append("the critic turn changes the route; gold is the final list" + (" (it steps into a wall)" if final_path is bad else ""))
    elif kind == "truncated":
        k = rng.randint(1, len(cells) - 2)
        first = f"{intro} {reason}\n{as_list(cells[: k + 1])} and then on to the goal."
        second = f"{final_word} {as_list(cells[: k + 1])}, then continue to *."
        route = [list(c) for c in cells[1: k + 1]]
        tags.add("solo_prose")
        notes.append(f"only {k} cell(s) after the start are listed; 'then continue to the goal' names no cells")
    elif kind == "prose":
        tags = {"solo_prose", "directions"}
        dirs = [next(d for d, s in STEP.items() if (b[0] - a[0], b[1] - a[1]) == s) for a, b in zip(cells, cells[1:])]
        runs: list[list] = []
        for d in dirs:
            if runs and runs[-1][0] == d:
                runs[-1][1] += 1
            else:
                runs.append([d, 1])
        words = {1: ["once", "one step", "1 step"], 2: ["twice", "two times", "2 steps"], 3: ["three times", "3 steps"],
                 4: ["four times", "4 steps"], 5: ["five times", "5 steps"], 6: ["six times", "6 steps"], 7: ["seven times", "7 steps"]}
        prose = ", then ".join(f"{d} {rng.choice(words[n])}" for d, n in runs)
        if any(n > 1 for _, n in runs):
            tags.add("repetition")
        first = f"{rng.choice(['From the start,', 'Starting at @,', 'Plan:'])} go {prose}."
        second = rng.choice([f"Final: {prose}.", f"After checking, my final route is: {prose}."])
        route = dirs
        notes.append("prose route with counted runs, restated after the critic turn")
    else:  # none / none_then_route
        tags = {"no_route", "verbose"}
        first = rng.choice([
            "To solve a maze, one can use depth-first search: go as far as possible, then backtrack. The valid moves are up, down, left and right.",
            "The goal is to go from @ to * without crossing #. Possible moves: up, down, left, right. We should explore systematically, for example with BFS.",
            "This is a classic pathfinding problem. A* search with the Manhattan distance heuristic would find the optimal route through the open cells.",
            "Step 1: identify the start (@). Step 2: identify the goal (*). Step 3: find the open cells (.) between them. Step 4: move only up, down, left or right.",
            "I will solve this by exploring the neighbours of each cell. From any cell the possible moves are up, down, left and right, unless there is a wall (#) or the edge of the grid.",
            "First we need to combine map view 1 and map view 2, since each hides some cells with ?. Then we can run a search over the open cells to reach *.",
        ])
        if kind == "none":
            second = rng.choice(["After reviewing, my approach is correct: BFS guarantees the shortest path.",
                                 "I reviewed it. The algorithm above will find a valid path from the start to the goal.",
                                 "My solution is complete: following these steps leads from @ to * without crossing any wall.",
                                 "Final solution: apply the search described above; the moves are up, down, left and right."])
            route = None
            notes.append("neither answer gives a route")
        else:
            second = f"You're right, here is the concrete path. {intro} {final_word} {as_list(cells)}"
            route = [list(c) for c in cells[1:]]
            tags = {"critic_changes", "solo_list", "coordinates"} | set(SCHEME_TAGS[scheme.name])
            notes.append("the first answer has no route; the critic answer gives one, which counts")
    if condition == "solo_distributed" and kind not in ("none",):
        first = rng.choice(["Map view 1 and map view 2 together reveal the whole maze. ", "Merging both views: "]) + first
    if scheme.name in ("rc0", "rc0s", "named0", "rxcy0") and "coordinates" in tags:
        notes.append("0-based row-first, the start written as " + scheme.cell(maze.start))
    return finish(f"dev-gen-solo-{index:03d}", condition, tags, "; ".join(notes) + ".",
                  maze, [{"speaker": "agent_1", "text": first}, {"speaker": "agent_1", "text": second}], route)


# ---------------------------------------------------------------- output

def dump(cases: list[dict], path: Path, header: str) -> None:
    q = lambda s: json.dumps(s, ensure_ascii=False)  # noqa: E731  (a JSON string is a valid YAML scalar)
    out = [f"# {header}", "# Written by tools/generate.py; do not edit by hand, rerun the script."]
    for c in cases:
        out += [f"- id: {c['id']}", f"  condition: {c['condition']}", f"  phenomena: [{', '.join(c['phenomena'])}]",
                f"  note: {q(c['note'])}", "  maze: |"] + [f"    {row}" for row in c["maze"].splitlines()] + ["  messages:"]
        out += [f"    - {{speaker: {m['speaker']}, text: {q(m['text'])}}}" for m in c["messages"]]
        o = c["outcome"]
        out += ["  gold:", f"    route: {json.dumps(c['route']).replace('], [', '], [')}" if c["route"] is not None else "    route: null",
                f"    outcome: {{success: {str(o['success']).lower()}, weighted: {o['weighted']}, end: {o['end']}, "
                f"final: [{o['final'][0]}, {o['final'][1]}]}}"]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


if __name__ == "__main__":
    rng = random.Random(20261129)
    collab = []
    for i in range(1, 81):
        case = collab_case(i, rng)
        while len(case["messages"]) > 30:  # the study's dialogues are short; redraw the long ones
            case = collab_case(i, rng)
        collab.append(case)
    solo = [solo_case(i, rng) for i in range(1, 31)]
    dump(collab, DEV / "collab_generated.yaml", "Machine-written collaboration dialogues (varied voices and schemes).")
    dump(solo, DEV / "solo_generated.yaml", "Machine-written solo answers.")
    print(f"wrote {len(collab)} collab and {len(solo)} solo cases")
