"""A lab of human-AI games: participants, their sequences of mazes, the model's turns and the records.

A person takes one seat of a collaboration dialogue and a model the other; everything else is a
`gapbench run` dialogue: the same protocol (the model sees the study's prompts, the person's
messages as its partner's), the same record (`jobs.make_record`), the same grader, written through
the same locked, append-only results writer into a run directory that `gapbench report` reads.
No web code here: the server (server.py) only calls these methods.
"""

from __future__ import annotations

import hashlib
import queue
import secrets
import threading
import time
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gapbench import rundir
from gapbench._resources import shipped
from gapbench.engines.base import ChatRequest, Completion, Engine
from gapbench.grading.extract import RULE_GRADER_VERSION
from gapbench.jobs import DialogueJob, make_record
from gapbench.mazeset import MazeItem
from gapbench.play import HUMAN, is_human
from gapbench.protocol import Dialogue
from gapbench.redact import redact_text
from gapbench.results import DialogueRecord, ResultsWriter, iter_records, shard_files, shard_name
from gapbench.serving import build_engines, check_study, fit_layouts
from gapbench.study import DialogueSpec, MazeSetPath, Study, load_mazes, study_yaml
from gapbench.transcript import AGENTS, Speaker

Seat = Literal["first", "second"]
PLAY_CONFIG = shipped("examples") / "play.yaml"


class ModelWorker:
    """Owns the engine: one thread makes every call, so sessions never touch it concurrently, and
    requests that wait together go to the engine as one batch."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._queue: queue.Queue[tuple[str, Any, Future | None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="gapbench-play-model", daemon=True)
        self._thread.start()

    def generate(self, request: ChatRequest) -> Completion:
        future: Future = Future()
        self._queue.put(("generate", request, future))
        return future.result()

    def end(self, conversation_id: str) -> None:
        self._queue.put(("end", conversation_id, None))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self.engine.close()

    def _loop(self) -> None:
        running = True
        while running:
            batch = [self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            running = None not in batch
            work = [b for b in batch if b is not None]
            for _, cid, _ in (b for b in work if b[0] == "end"):
                try:
                    self.engine.end(cid)
                except Exception:
                    pass
            asks = [b for b in work if b[0] == "generate"]
            if not asks:
                continue
            try:
                results = self.engine.generate([request for _, request, _ in asks])
            except Exception as exc:
                results = [
                    Completion(
                        r.conversation_id, "", finish_reason="error", error=f"{type(exc).__name__}: {exc}"
                    )
                    for _, r, _ in asks
                ]
            for (_, _, future), completion in zip(asks, results):
                future.set_result(completion)  # type: ignore[union-attr]


DEFAULT_CONSENT = (
    "You are invited to take part in a study of how people and AI models work together.\n\n"
    "You will play a short maze game with a partner through a chat. Each of you sees only part of the "
    "maze, so you have to talk to reach the goal together. Your messages, when you sent them and the "
    "outcome of each game are recorded under a random participant id. No name, address or other "
    "detail about you is stored, so please do not type any in the chat.\n\n"
    'Taking part is voluntary: you can stop at any time with "Give up" or by closing this page.'
)


def sequence(items: list[MazeItem], number: int, seat: Seat | None) -> list[tuple[MazeItem, Seat]]:
    """The games of the ``number``-th participant: every maze once, starting at a maze that moves on
    by one per participant (so no maze is always played first), and, unless ``seat`` fixes it, seats
    alternating across mazes and across participants (so every maze is played from both seats)."""
    n = len(items)
    order = [(number + i) % n for i in range(n)]
    return [(items[j], seat or ("first" if (j + number) % 2 == 0 else "second")) for j in order]


def play_config(study: Study, model: str, mazes: Path | None) -> Study:
    """The study as played (what run.json records): the one model (a key of the study's models, or a
    model name), collaboration only, graded by the rule grader."""
    data = study.model_dump(mode="json")
    data.update(
        name=f"{study.name}-play",
        models={model: data["models"].get(model, model)},
        conditions=["collab"],
        pairs="homogeneous",
        relay=None,
        grader="rule",
    )
    if mazes is not None:
        data["mazes"] = [MazeSetPath(path=str(mazes.resolve())).model_dump()]
    return Study.model_validate(data)


@dataclass
class Game:
    """One maze played by one participant in one seat: a runner DialogueJob plus what a person adds."""

    job: DialogueJob
    human: Speaker  # the person's seat: agent_1 speaks first
    turn_started: float = field(default_factory=time.time)  # when the person last got the turn
    error: str | None = None  # the model's last failure, shown in the page; the person may retry
    record: DialogueRecord | None = None  # once the game is over

    @property
    def item(self) -> MazeItem:
        return self.job.maze

    @property
    def dialogue(self) -> Dialogue:
        return self.job.dialogue

    @property
    def your_turn(self) -> bool:
        return not self.dialogue.done and self.dialogue.speaker() == self.human and self.error is None


@dataclass
class Participant:
    id: str  # random and anonymous: recorded as human:<id>
    number: int  # order of arrival, which sets the sequence
    games: list[tuple[MazeItem, Seat]]
    played: int = 0  # games started
    game: Game | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)  # one request at a time per participant


class Lab:
    """Everything `gapbench play` serves: the study as played, the model, and the run directory.

    Safe for concurrent sessions: each participant has a lock, the engine is owned by one worker
    thread, and records go through one writer under a lock (the shard's file lock is held from
    `open` to `close`, so neither a second server nor a `gapbench run` can write the same shard).
    """

    def __init__(
        self,
        *,
        study: Study,
        config_path: Path,
        model: str,
        items: list[MazeItem],
        seat: Seat | None,
        run_dir: Path,
        max_chars: int,
        consent: str,
        echo: Any = print,
    ) -> None:
        self.config = study
        self.model = model
        self.items = items
        self.seat = seat
        self.run_dir = run_dir
        self.max_chars = max_chars
        self.consent = consent
        self.templates = study.protocol.load()
        # A run of the same settings plans AI-AI dialogues; games are another kind of record, so their
        # hash is kept apart and neither joins the other's directory.
        results_hash = hashlib.sha256(
            f"play:{rundir.run_hash(study, [i.id for i in items])}".encode()
        ).hexdigest()[:16]
        rundir.open_run(run_dir, results_hash, config_path, new_run=False, dry_run=False)
        self.info = rundir.new_info(study, results_hash, config_path, {"rule": RULE_GRADER_VERSION})
        self.shard = run_dir / rundir.RESULTS_DIR / shard_name(0, 1)
        self._held = ExitStack()  # the shard's lock, from here to close()
        self._held.enter_context(rundir.shard_lock(self.shard))
        self._write_lock = threading.Lock()
        self._writer: ResultsWriter | None = None
        self._join_lock = threading.Lock()
        earlier = {m for r in iter_records(shard_files(run_dir)) for m in r.models if is_human(m)}
        self._arrivals = len(earlier)  # balancing goes on across restarts
        self.worker: ModelWorker | None = None
        try:
            engines = build_engines(study, [model])
            self.layouts = fit_layouts(self.templates, engines, echo)
            self.worker = ModelWorker(engines[model])
        except BaseException:
            self._held.close()
            raise

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
        with self._write_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        self._held.close()

    # ------------------------------------------------------------------------------ participants
    def join(self) -> Participant:
        with self._join_lock:
            number, self._arrivals = self._arrivals, self._arrivals + 1
        return Participant(secrets.token_hex(4), number, sequence(self.items, number, self.seat))

    def start_next(self, p: Participant) -> None:
        """The participant's next game (none once all are played); the model opens it when it holds the first seat."""
        if p.game is not None and not p.game.dialogue.done:
            raise ValueError("finish or give up this game first")
        if p.played >= len(p.games):
            p.game = None
            return
        item, seat = p.games[p.played]
        human = f"{HUMAN}{p.id}"
        seats = (human, self.model) if seat == "first" else (self.model, human)
        key = f"play:{p.id}:{p.played}:{item.id}"
        dialogue_spec = DialogueSpec(
            hashlib.sha256(key.encode()).hexdigest()[:16],
            "collab",
            item.id,
            seats,
            p.played,
            self.config.seed,
        )
        meta = {
            "play": {"participant": p.id, "seat": seat, "game": p.played + 1, "games": len(p.games)},
            "message_timings": [],
        }
        dialogue = Dialogue.start(
            maze=item.maze,
            views=item.views,
            condition="collab",
            seats=seats,
            max_turns=self.config.max_turns,
            templates=self.templates,
            layouts=self.layouts,
            meta=meta,
        )
        p.game = Game(
            DialogueJob(dialogue_spec, item, dialogue, self.config),
            AGENTS[0] if seat == "first" else AGENTS[1],
        )
        p.played += 1
        self._advance(p.game)

    def say(self, game: Game, text: str) -> None:
        """The person's message, then the model's answer (unless the message ended the game)."""
        text = text.strip()
        if not game.your_turn:
            raise ValueError("it is not your turn")
        if not text:
            raise ValueError("type a message first")
        if len(text) > self.max_chars:
            raise ValueError(f"your message has {len(text)} characters; the limit is {self.max_chars}")
        game.dialogue.add_reply(text)
        self._timed(game, game.turn_started)
        self._advance(game)

    def retry(self, game: Game) -> None:
        """Ask the model again after it failed."""
        if game.error is None:
            raise ValueError("the model has not failed; nothing to retry")
        game.error = None
        self._advance(game)

    def give_up(self, game: Game) -> None:
        if not game.dialogue.done:
            game.dialogue.give_up()
            self._finish(game)

    # ---------------------------------------------------------------------------------- internals
    def _advance(self, game: Game) -> None:
        """Let the model speak while it holds the turn; record the game once it is over."""
        while not game.dialogue.done and game.dialogue.speaker() != game.human:
            started = time.time()
            completion = self.worker.generate(game.job.request())  # type: ignore[union-attr]
            if completion.error:
                game.error = f"The model could not answer ({completion.error}). Try again, or give up."
                return
            game.job.take(completion)
            self._timed(game, started)
        if game.dialogue.done:
            self._finish(game)
        else:
            game.turn_started = time.time()

    def _timed(self, game: Game, started: float) -> None:
        now = time.time()
        speaker = game.dialogue.messages[-1].speaker  # one entry per agent message, in order
        game.dialogue.meta["message_timings"].append(
            {"speaker": speaker, "at": round(now, 3), "seconds": round(now - started, 3)}
        )

    def _finish(self, game: Game) -> None:
        if game.record is not None:
            return
        game.job.end({self.model: self.worker})  # type: ignore[dict-item]
        record = make_record(game.job, None, self.info.results_hash)
        with self._write_lock:
            if self._writer is None:  # the first record: only now does the directory become this run's
                rundir.claim(self.run_dir, self.info, redact_text(study_yaml(self.config)))
                self._writer = ResultsWriter(self.shard)
            self._writer.write(record)
        game.record = record


def open_lab(
    config_path: Path,
    *,
    model: str,
    seat: Seat | None,
    mazes: Path | None,
    games: int | None,
    out: Path | None,
    max_chars: int,
    consent: Path | None,
    echo: Any = print,
) -> Lab:
    """A lab from a study file and the command's options; errors name the option to fix."""
    from gapbench.study import load_config

    study, _ = load_config(config_path)
    config = play_config(study, model, mazes)
    items = load_mazes(config, config_path.parent)
    if games is not None:
        if games < 1:
            raise ValueError(f"--games {games}: give at least 1")
        items = items[:games]
    if consent is not None and not consent.is_file():
        raise FileNotFoundError(f"--consent {consent}: no such file; give a text file with the consent text")
    text = consent.read_text(encoding="utf-8").strip() if consent is not None else DEFAULT_CONSENT
    run_dir = out if out is not None else Path("runs") / f"play-{study.name}"
    check_study(config, run_dir)  # the model resolves and the directory is writable, before anything is made
    return Lab(
        study=config,
        config_path=config_path,
        model=model,
        items=items,
        seat=seat,
        run_dir=run_dir.resolve(),
        max_chars=max_chars,
        consent=text,
        echo=echo,
    )
