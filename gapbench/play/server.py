"""The web app of `gapbench play`: one static page, a small JSON API, and the checks every request passes.

Safety: bound to 127.0.0.1 unless told otherwise; bound anywhere else, every request needs the token
printed at start (in the address, then as a cookie); on 127.0.0.1 the Host header must name the
loopback (no DNS rebinding). Sessions are random cookies (SameSite=Strict) and POSTs must be JSON,
so another site cannot play in a person's name. The page sets all text with textContent under a
Content-Security-Policy without inline scripts. Access logs are off: no IP address is kept.
"""

from __future__ import annotations

import hmac
import secrets
import socket
import threading
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict

from gapbench.play.lab import Game, Lab, Participant
from gapbench.report.load import Entry
from gapbench.report.viewer import dialogue_data

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
SESSION_COOKIE = "gapbench_play"
TOKEN_COOKIE = "gapbench_token"
MAX_BODY = 65536  # bytes; messages are limited far below (--max-chars)
_STATIC = {
    "play.js": ("play", "application/javascript"),
    "play.css": ("play", "text/css"),
    "maze.js": ("report", "application/javascript"),
    "maze.css": ("report", "text/css"),
}
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Say(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


def _asset(package: str, name: str) -> str:
    folder = "static/" if package == "play" else ""
    return files(f"gapbench.{package}").joinpath(folder + name).read_text(encoding="utf-8")


def state(lab: Lab, p: Participant | None) -> dict[str, Any]:
    """Everything the page shows, for one participant (no other participant's data, ever)."""
    base: dict[str, Any] = {"max_chars": lab.max_chars, "max_turns": lab.config.max_turns}
    if p is None:
        return {**base, "stage": "consent", "consent": lab.consent}
    base.update(participant=p.id, games=len(p.games), played=p.played)
    game = p.game
    if game is None:
        return {**base, "stage": "finished" if p.played >= len(p.games) else "ready"}
    return {**base, **_game(lab, game), "stage": "over" if game.dialogue.done else "play"}


def _game(lab: Lab, game: Game) -> dict[str, Any]:
    d = game.dialogue
    you = game.human
    instructions = next(m.text for m in d.messages if m.speaker == "user" and m.audience == you)
    out: dict[str, Any] = {
        "game": int(d.meta["play"]["game"]),
        "seat": d.meta["play"]["seat"],
        "instructions": instructions,
        "map": list(game.item.views[0 if you == "agent_1" else 1].rows),
        "your_turn": game.your_turn,
        "error": game.error,
        "turns": d.turns,
        "messages": [
            {"who": "you" if m.speaker == you else "partner", "text": m.text}
            for m in d.messages
            if m.speaker != "user"
        ],
    }
    if game.record is not None:
        r = game.record
        out["reveal"] = dialogue_data(Entry(r, str(lab.run_dir), tuple(r.models), None), game.item, {})
        out["end"] = r.transcript.end
    return out


def create_app(lab: Lab, *, host: str, token: str | None) -> FastAPI:
    """The app for ``lab``; ``token`` (required unless ``host`` is the loopback) guards every request."""
    if token is None and host not in LOOPBACK:
        raise ValueError(f"--host {host}: binding beyond the loopback needs a token")
    app = FastAPI(title="gapbench play", docs_url=None, redoc_url=None, openapi_url=None)
    sessions: dict[str, Participant] = {}
    sessions_lock = threading.Lock()

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        if host in LOOPBACK and (request.url.hostname or "") not in LOOPBACK | {"[::1]"}:
            return PlainTextResponse("this server answers only to 127.0.0.1 or localhost", status_code=421)
        given = request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE) or ""
        if token is not None and not hmac.compare_digest(given.encode(), token.encode()):
            return PlainTextResponse(
                "a token is required: open the address that `gapbench play` printed", status_code=403
            )
        if int(request.headers.get("content-length") or 0) > MAX_BODY:
            return PlainTextResponse("request too large", status_code=413)
        if request.method == "POST" and not request.headers.get("content-type", "").startswith(
            "application/json"
        ):
            return PlainTextResponse("POST bodies must be JSON", status_code=415)
        response = await call_next(request)
        response.headers.update(_HEADERS)
        if token is not None and request.query_params.get("token"):
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return response

    def participant(request: Request) -> Participant | None:
        with sessions_lock:
            return sessions.get(request.cookies.get(SESSION_COOKIE, ""))

    def act(p: Participant | None, action: Any) -> JSONResponse:
        """Run ``action`` for the participant under its lock; a refusal or failure becomes a
        message in the page, never a crash."""
        if p is None:
            return JSONResponse(
                {"stage": "consent", "problem": "your session has ended; start again"}, status_code=409
            )
        if not p.lock.acquire(blocking=False):
            return JSONResponse(
                {**state(lab, p), "problem": "still working on your last message"}, status_code=409
            )
        try:
            action(p)
            return JSONResponse(state(lab, p))
        except ValueError as exc:
            return JSONResponse({**state(lab, p), "problem": str(exc)}, status_code=400)
        except Exception as exc:
            return JSONResponse(
                {**state(lab, p), "problem": f"something went wrong: {type(exc).__name__}: {exc}"},
                status_code=500,
            )
        finally:
            p.lock.release()

    def game_of(p: Participant) -> Game:
        if p.game is None:
            raise ValueError("no game in progress")
        return p.game

    @app.get("/")
    def index() -> Response:
        return Response(_asset("play", "index.html"), media_type="text/html")

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in _STATIC:
            return PlainTextResponse("not found", status_code=404)
        package, media = _STATIC[name]
        return Response(_asset(package, name), media_type=media)

    @app.get("/api/state")
    def get_state(request: Request) -> JSONResponse:
        return JSONResponse(state(lab, participant(request)))

    @app.post("/api/begin")
    def begin(request: Request) -> JSONResponse:
        """Consent given: a new anonymous participant and session, and the first game."""
        p = lab.join()
        cookie = secrets.token_urlsafe(32)
        with sessions_lock:
            sessions[cookie] = p
        response = act(p, lab.start_next)
        response.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="strict")
        return response

    @app.post("/api/say")
    def say(request: Request, body: Say) -> JSONResponse:
        return act(participant(request), lambda p: lab.say(game_of(p), body.text))

    @app.post("/api/retry")
    def retry(request: Request) -> JSONResponse:
        return act(participant(request), lambda p: lab.retry(game_of(p)))

    @app.post("/api/give-up")
    def give_up(request: Request) -> JSONResponse:
        return act(participant(request), lambda p: lab.give_up(game_of(p)))

    @app.post("/api/next")
    def next_game(request: Request) -> JSONResponse:
        return act(participant(request), lab.start_next)

    return app


def check_address(host: str, port: int) -> None:
    """Fail with a clear message, before a model loads, where the server could not listen."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise OSError(
                f"--host {host} --port {port}: cannot listen there ({exc.strerror}); choose another --port or --host"
            ) from None


def serve(lab: Lab, *, host: str, port: int, echo: Any = print) -> None:
    """Serve until interrupted; a token is made and printed when ``host`` is not the loopback."""
    import uvicorn

    token = None if host in LOOPBACK else secrets.token_urlsafe(24)
    app = create_app(lab, host=host, token=token)
    shown = f"[{host}]" if ":" in host else host
    address = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    echo(f"gapbench play: {lab.model} on {len(lab.items)} mazes, records in {lab.run_dir}")
    echo(f"open {address} (one browser window per participant; Ctrl+C stops)")
    if token:
        echo("bound beyond the loopback: only the address above, with its token, is let in")
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, access_log=False, log_level="warning"))
    server.run()
