"""`gapbench play`: the real command serving the game to a real browser (Playwright driving Debian's
chromium, no browser download) against the scripted oracle, plus the lab under concurrent games, the
token and request guards, a model that fails, and the report's human-AI section.

The oracle reads its partner's map from a message and proposes one move per turn ("I propose we move
right to (0, 1)."); the person here shares their map, then accepts each proposal in the oracle's own
words ("Agreed: we move right."), so the pair reaches the goal and the oracle says ACTI!.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gapbench.results import read_results

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = "needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
CONSENT = "Consent for the test study: you agree to play <b>two</b> mazes."
SYMBOLS = {"wall": "#", "hidden": "?", "start": "@", "goal": "*", "open": "."}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`gapbench play` in a subprocess, stopped with Ctrl+C (SIGINT) as a person would."""

    def __init__(self, tmp: Path, *args: str, host: str = "127.0.0.1") -> None:
        self.port = _free_port()
        self.run_dir = tmp / "run"
        self.log = tmp / "server.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
        cmd = [
            sys.executable,
            "-m",
            "gapbench.cli",
            "play",
            *args,
            "--host",
            host,
            "--port",
            str(self.port),
            "--out",
            str(self.run_dir),
        ]
        log = open(self.log, "w")  # noqa: SIM115 (the server writes to it for its whole life)
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp)
        self.base = f"http://{host}:{self.port}/"
        deadline = time.time() + 60
        while "open http" not in self.output() or not self._listening(host):
            if self.proc.poll() is not None or time.time() > deadline:
                raise AssertionError(f"gapbench play did not start:\n{self.output()}")
            time.sleep(0.2)

    def _listening(self, host: str) -> bool:
        try:
            socket.create_connection((host, self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        assert self.proc.wait(timeout=30) == 0, self.output()
        return self.output()

    def records(self) -> dict[str, list]:
        """Records by participant id (from the human seat)."""
        out: dict[str, list] = {}
        for r in read_results(self.run_dir):
            pid = next(m for m in r.models if m.startswith("human:")).split(":", 1)[1]
            out.setdefault(pid, []).append(r)
        return out


@pytest.fixture(scope="module")
def oracle_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("play")
    (tmp / "consent.txt").write_text(CONSENT)
    server = Server(tmp, "--model", "scripted:oracle", "--games", "2", "--consent", str(tmp / "consent.txt"))
    yield server
    out = server.stop()
    assert "Traceback" not in out, out


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


# ------------------------------------------------------------------------------------ the person
def _begin(page, base: str, consent: str | None = CONSENT) -> str:  # type: ignore[no-untyped-def]
    page.on("dialog", lambda d: d.accept())
    page.goto(base)
    page.wait_for_selector("#consent:not([hidden])")
    if consent is not None:
        assert page.inner_text("#consent-text") == consent  # the configured text, as text
    page.click("#begin")
    page.wait_for_selector("#my-map .cell")
    return page.inner_text("#whoami").removeprefix("participant ")


def _my_map(page) -> list[str]:  # type: ignore[no-untyped-def]
    cells = page.eval_on_selector_all(
        "#my-map .cell", "cs => cs.map(c => [+c.dataset.row, +c.dataset.col, c.className])"
    )
    size = max(r for r, _, _ in cells) + 1
    rows = [["?"] * size for _ in range(size)]
    for r, c, cls in cells:
        rows[r][c] = next(sym for name, sym in SYMBOLS.items() if f" {name}" in f" {cls}")
    return ["".join(row) for row in rows]


def _partner_messages(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.eval_on_selector_all(
        "#messages .msg.partner", "ms => ms.map(m => m.childNodes[1].textContent)"
    )


def _send(page, text: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#say", text)
    page.click("#send")


def _settled(page) -> None:  # type: ignore[no-untyped-def]
    """Wait until the person may type again, or the game is over."""
    page.wait_for_function(
        "() => !document.getElementById('say').disabled || !document.getElementById('reveal').hidden"
    )


def _reply(page, tag: str = "") -> str:  # type: ignore[no-untyped-def]
    """The person's next message: the map first, then acceptance of the oracle's proposal."""
    said = page.eval_on_selector_all("#messages .msg.you", "ms => ms.length")
    if not said:
        return f"My map{tag}:\n" + "\n".join(_my_map(page))
    proposal = re.search(r"I propose we move (up|down|left|right)", (_partner_messages(page) or [""])[-1])
    return f"Agreed: we move {proposal.group(1)}.{tag}" if proposal else f"Go on.{tag}"


def _over(page) -> bool:  # type: ignore[no-untyped-def]
    return page.is_visible("#reveal")


# ---------------------------------------------------------------------------------------- tests
@pytest.mark.browser
def test_a_whole_game_with_the_oracle_reaches_acti_and_is_recorded_and_graded(
    oracle_server: Server, browser
) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    pid = _begin(page, oracle_server.base)
    assert re.fullmatch(r"[0-9a-f]{8}", pid)
    seat = "first" if "speak first" in page.inner_text("#progress") else "second"
    for _ in range(40):
        if _over(page):
            break
        _send(page, _reply(page))
        _settled(page)
    assert _over(page)
    assert "ACTI!" in _partner_messages(page)[-1]
    outcome = page.inner_text("#outcome")
    assert outcome.startswith("Success") and "ACTI! was said" in outcome
    assert page.eval_on_selector_all("#full-maze .cell", "cs => cs.length") == 36
    assert page.eval_on_selector_all("#full-maze .cell.hidden", "cs => cs.length") == 0  # the maze revealed
    points = page.get_attribute("#full-maze .route-line", "points")
    [record] = oracle_server.records()[pid]
    grade = record.grade
    assert (
        record.condition == "collab"
        and record.transcript.end == "acti"
        and grade.success
        and grade.weighted == 1.0
    )
    assert len(points.split()) == grade.moves + 1 == len(grade.cells)  # the graded route is the one drawn
    human = f"human:{pid}"
    assert record.models == ([human, "scripted:oracle"] if seat == "first" else ["scripted:oracle", human])
    assert record.prompt_version == "v2" and record.transcript.meta["play"]["seat"] == seat
    agent = record.transcript.agent_messages
    timings = record.transcript.meta["message_timings"]
    assert [t["speaker"] for t in timings] == [m.speaker for m in agent] and all(
        t["seconds"] >= 0 for t in timings
    )
    assert [m.text for m in agent if m.model == human] == page.eval_on_selector_all(
        "#messages .msg.you", "ms => ms.map(m => m.childNodes[1].textContent)"
    )
    # The next game is the other seat (balanced), then the session is finished.
    page.click("#next")
    page.wait_for_function("() => document.getElementById('reveal').hidden")
    other = "second" if seat == "first" else "first"
    assert f"speak {other}" in page.inner_text("#progress") and "Game 2 of 2" in page.inner_text("#progress")
    page.click("#give-up")
    page.wait_for_selector("#reveal:not([hidden])")
    page.click("#next")
    page.wait_for_selector("#finished:not([hidden])")
    assert [r.transcript.meta["play"]["seat"] for r in oracle_server.records()[pid]] == [seat, other]
    page.close()


@pytest.mark.browser
def test_giving_up_mid_game_ends_and_records_it(oracle_server: Server, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    pid = _begin(page, oracle_server.base)
    for _ in range(2):
        if page.is_enabled("#say"):
            _send(page, _reply(page))
            _settled(page)
    assert not _over(page)
    shown = page.eval_on_selector_all("#messages .msg", "ms => ms.length")
    page.click("#give-up")
    page.wait_for_selector("#reveal:not([hidden])")
    assert "you gave up" in page.inner_text("#outcome")
    assert page.eval_on_selector_all("#full-maze .cell", "cs => cs.length") == 36
    assert page.is_disabled("#say") and page.is_disabled("#give-up")
    [record] = oracle_server.records()[pid]
    assert record.transcript.end == "gave_up" and not record.grade.success
    assert len(record.transcript.agent_messages) == shown
    page.close()


@pytest.mark.browser
def test_two_participants_at_once_keep_their_own_records(oracle_server: Server, browser) -> None:  # type: ignore[no-untyped-def]
    before = (
        sum(len(rs) for rs in oracle_server.records().values())
        if (oracle_server.run_dir / "results").exists()
        else 0
    )
    a, b = browser.new_context(), browser.new_context()
    pages = {"A": a.new_page(), "B": b.new_page()}
    pids = {tag: _begin(page, oracle_server.base) for tag, page in pages.items()}
    assert pids["A"] != pids["B"]
    for _ in range(40):
        live = {tag: p for tag, p in pages.items() if not _over(p)}
        if not live:
            break
        for tag, p in live.items():  # both requests in flight together
            if p.is_enabled("#say"):
                _send(p, _reply(p, f" [{tag}]"))
        for p in live.values():
            _settled(p)
    records = oracle_server.records()
    assert sum(len(rs) for rs in records.values()) == before + 2
    for tag, other in (("A", "B"), ("B", "A")):
        [r] = records[pids[tag]]
        assert r.transcript.end == "acti" and r.grade.success
        mine = [m.text for m in r.transcript.agent_messages if m.model == f"human:{pids[tag]}"]
        assert mine and all(f"[{tag}]" in t for t in mine) and not any(f"[{other}]" in t for t in mine)
        assert pids[other] not in json.dumps(r.transcript.to_dict())
    a.close()
    b.close()


@pytest.mark.browser
def test_screenshot_of_the_game_shows_the_maps(oracle_server: Server, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    _begin(page, oracle_server.base)
    for _ in range(3):
        _send(page, _reply(page))
        _settled(page)
    cells = page.eval_on_selector_all("#my-map .cell", "cs => cs.map(c => c.className)")
    assert len(cells) == 36 and any("hidden" in c for c in cells) and any("start" in c for c in cells)
    assert "This is your map" in page.inner_text("#instructions")
    shot = tmp_path / "play.png"
    page.screenshot(path=str(shot), full_page=True)
    image = Image.open(shot).convert("RGB")
    assert image.width >= 1000 and len(image.getcolors(1 << 20) or []) > 20  # not blank: many colours
    page.close()


@pytest.mark.browser
def test_markup_in_a_message_is_shown_as_text(oracle_server: Server, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    pid = _begin(page, oracle_server.base)
    if not page.is_enabled("#say"):
        _settled(page)
    attack = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"><b>bold</b>'
    _send(page, attack)
    _settled(page)
    texts = page.eval_on_selector_all("#messages .msg.you", "ms => ms.map(m => m.childNodes[1].textContent)")
    assert attack in texts
    assert page.evaluate("() => window.pwned") is None
    assert page.eval_on_selector_all("#messages script, #messages img, #messages b", "es => es.length") == 0
    page.click("#give-up")
    page.wait_for_selector("#reveal:not([hidden])")
    [record] = oracle_server.records()[pid]
    assert attack in [m.text for m in record.transcript.agent_messages]  # stored as typed
    page.close()


# ------------------------------------------------------------------------------ without a browser
def test_requests_are_guarded(oracle_server: Server) -> None:
    c = httpx.Client(base_url=oracle_server.base)
    assert c.get("/", headers={"Host": "attacker.example"}).status_code == 421  # DNS rebinding
    page = c.get("/")
    assert "default-src 'self'" in page.headers["content-security-policy"] and "<script>" not in page.text
    assert c.post("/api/begin", content="x", headers={"Content-Type": "text/plain"}).status_code == 415
    assert c.post("/api/say", json={"text": "hi"}).json()["stage"] == "consent"  # no session
    state = c.post("/api/begin", json={}).json()
    if not state["your_turn"]:
        pytest.fail(f"the oracle answers at once: {state}")
    long = c.post("/api/say", json={"text": "x" * 1001})
    assert long.status_code == 400 and "limit is 1000" in long.json()["problem"]
    assert c.post("/api/say", json={"text": "   "}).json()["problem"] == "type a message first"
    assert c.post("/api/next", json={}).json()["problem"] == "finish or give up this game first"
    c.post("/api/give-up", json={})


def test_beyond_the_loopback_every_request_needs_the_printed_token(tmp_path: Path) -> None:
    server = Server(tmp_path, "--model", "scripted:oracle", host="127.0.0.2")
    try:
        token = re.search(r"\?token=([\w-]+)", server.output()).group(1)  # type: ignore[union-attr]
        assert httpx.get(server.base).status_code == 403
        assert httpx.get(server.base + "api/state?token=wrong").status_code == 403
        c = httpx.Client(base_url=server.base)
        first = c.get(f"/?token={token}")
        assert first.status_code == 200 and "gapbench_token" in first.cookies
        assert c.get("/api/state").json()["stage"] == "consent"  # the cookie carries the token
        assert c.post("/api/begin", json={}).json()["stage"] == "play"
    finally:
        server.stop()


@pytest.fixture()
def down_server(tmp_path: Path) -> Iterator[Server]:
    """The model is served over the OpenAI API by a server that is not there."""
    study = tmp_path / "study.yaml"
    study.write_text(
        "name: down\nmodels:\n  down: {model: smollm2-135m-instruct, engine: openai, "
        f"options: {{base_url: 'http://127.0.0.1:{_free_port()}/v1', max_retries: 0}}}}\n"
        "mazes: [{size: 4, density: 0.2, count: 1, seed: 3}]\n"
    )
    server = Server(tmp_path, str(study), "--model", "down", "--seat", "first")
    yield server
    assert "Traceback" not in server.stop()


def test_a_failing_model_is_a_message_in_the_page_not_a_crash(down_server: Server) -> None:
    c = httpx.Client(base_url=down_server.base)
    c.post("/api/begin", json={})
    state = c.post("/api/say", json={"text": "Hello"}).json()
    assert state["stage"] == "play" and "could not answer" in state["error"] and not state["your_turn"]
    again = c.post("/api/retry", json={}).json()
    assert "could not answer" in again["error"] and len(again["messages"]) == 1
    assert c.post("/api/give-up", json={}).json()["end"] == "gave_up"
    [record] = read_results(down_server.run_dir)
    assert record.transcript.end == "gave_up" and [m.text for m in record.transcript.agent_messages] == [
        "Hello"
    ]


@pytest.mark.browser
def test_a_failing_model_shows_its_error_and_a_retry_button(down_server: Server, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    _begin(page, down_server.base, consent=None)
    _send(page, "Hello")
    page.wait_for_selector("#model-error:not([hidden])")
    assert (
        "could not answer" in page.inner_text("#model-error")
        and page.is_visible("#retry")
        and page.is_disabled("#say")
    )
    page.click("#retry")
    page.wait_for_selector("#model-error:not([hidden])")
    page.click("#give-up")
    page.wait_for_selector("#reveal:not([hidden])")
    assert "you gave up" in page.inner_text("#outcome")
    page.close()


def _play_in_lab(run_dir: Path, participants: int, games: int) -> None:
    """``participants`` people play whole games against the oracle at once, through the lab (threads, one writer)."""
    from gapbench.play.lab import open_lab

    lab = open_lab(
        ROOT / "examples" / "play.yaml",
        model="oracle",
        seat=None,
        mazes=None,
        games=games,
        out=run_dir,
        max_chars=1000,
        consent=None,
        echo=lambda _: None,
    )
    errors: list[BaseException] = []

    def play() -> None:
        try:
            p = lab.join()
            for _ in range(games):
                lab.start_next(p)
                g = p.game
                while not g.dialogue.done:
                    move = re.search(r"I propose we move (\w+)", g.dialogue.messages[-1].text)
                    mine = g.item.views[0 if g.human == "agent_1" else 1].rows
                    lab.say(g, f"Agreed: we move {move.group(1)}." if move else "My map:\n" + "\n".join(mine))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=play) for _ in range(participants)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lab.close()
    assert not errors, errors


def test_concurrent_games_in_one_lab_are_all_recorded_once(tmp_path: Path) -> None:
    _play_in_lab(tmp_path / "run", participants=8, games=2)
    records = read_results(tmp_path / "run")
    assert (
        len(records) == 16
        and len({r.dialogue_id for r in records}) == 16
        and all(r.grade.success for r in records)
    )
    assert len({m for r in records for m in r.models if m.startswith("human:")}) == 8
    seats = [r.transcript.meta["play"]["seat"] for r in records]
    assert seats.count("first") == seats.count("second") == 8  # balanced across participants and mazes
    by_maze: dict[str, set[str]] = {}
    for r in records:
        by_maze.setdefault(r.maze_id, set()).add(r.transcript.meta["play"]["seat"])
    assert all(s == {"first", "second"} for s in by_maze.values())


def test_the_turn_limit_ends_a_game(tmp_path: Path) -> None:
    from gapbench.play.lab import open_lab

    study = tmp_path / "short.yaml"
    study.write_text(
        "name: short\nmodels: {oracle: scripted:oracle}\nmazes: [{size: 6, density: 0.3, count: 1, seed: 0}]\nmax_turns: 3\n"
    )
    lab = open_lab(
        study,
        model="oracle",
        seat="first",
        mazes=None,
        games=None,
        out=tmp_path / "run",
        max_chars=50,
        consent=None,
        echo=lambda _: None,
    )
    try:
        p = lab.join()
        lab.start_next(p)
        game = p.game
        lab.say(game, "Hello")
        with pytest.raises(ValueError, match="the limit is 50"):
            lab.say(game, "x" * 51)
        lab.say(game, "Where are you?")
        assert (
            game.dialogue.turns == 3 and game.record is not None and game.record.transcript.end == "max_turns"
        )
        with pytest.raises(ValueError, match="not your turn"):
            lab.say(game, "one more")
    finally:
        lab.close()
    [record] = read_results(tmp_path / "run")
    assert record.transcript.end == "max_turns" and record.models[0].startswith("human:")


def test_report_shows_human_ai_pairs_beside_ai_ai_and_the_viewer_replays_them(tmp_path: Path) -> None:
    from gapbench.report import build_report
    from gapbench.runner import run_experiment

    _play_in_lab(tmp_path / "play", participants=4, games=2)
    study = tmp_path / "ai.yaml"
    study.write_text(  # two copies of the oracle on the same mazes as examples/play.yaml
        "name: ai\noutput_dir: ai\nmodels: {oracle: scripted:oracle}\nmazes: [{size: 6, density: 0.3, count: 6, seed: 0}]\n"
        "conditions: [collab]\nmax_turns: 50\n"
    )
    run_experiment(study, progress=False, echo=lambda _: None)
    page = build_report([tmp_path / "play", tmp_path / "ai"], tmp_path / "report")
    data = json.loads((tmp_path / "report" / "report.json").read_text())
    [row] = data["human_ai"]
    assert row["model"] == "scripted:oracle" and row["participants"] == 4 and row["gave_up"] == 0
    assert row["person_first"]["weighted"]["n"] == row["model_first"]["weighted"]["n"] == 4
    assert row["ai_ai"]["weighted"]["mean"] == 1.0 and row["versus_ai"]["weighted"]["mean"] == 0.0
    assert not any("human:" in r["model"] for r in data["homogeneous"])  # people are not model rows
    md = (tmp_path / "report" / "report.md").read_text()
    assert (
        "## Human-AI pairs" in md
        and "| scripted:oracle | 1.00 [1.00, 1.00] (n=4) | 1.00 [1.00, 1.00] (n=4) | 1.00" in md
    )
    dialogues = json.loads(page.read_text().split('id="dialogues">', 1)[1].split("</script>", 1)[0])
    played = [d for d in dialogues if any(m.startswith("human:") for m in d["models"])]
    assert len(played) == 8 and all(d["maze"] and d["grades"]["rule"]["route"] for d in played)
    assert {d["models"].index("scripted:oracle") for d in played} == {0, 1}


@pytest.mark.slow
def test_smollm2_plays_on_cpu(tmp_path: Path) -> None:
    """The embedded default model answers a person through the transformers engine on CPU."""
    server = Server(tmp_path, "--model", "smollm2-135m-instruct", "--seat", "second", "--games", "1")
    try:
        c = httpx.Client(base_url=server.base, timeout=300)
        state = c.post("/api/begin", json={}).json()
        assert (
            state["your_turn"]
            and [m["who"] for m in state["messages"]] == ["partner"]
            and state["messages"][0]["text"].strip()
        )
        assert c.post("/api/give-up", json={}).json()["end"] == "gave_up"
    finally:
        server.stop()
    [record] = read_results(server.run_dir)
    [opening] = record.transcript.agent_messages
    assert record.models[0] == "smollm2-135m-instruct" and opening.completion_tokens and opening.prompt_tokens
