"""OpenAIEngine against real HTTP servers on 127.0.0.1.

The retry/backoff/timeout tests use a scripted `http.server` in a thread and run in the main
environment. The `vllm`-marked tests start a real `vllm serve` of the prepared SmolLM2 (only where
vLLM is installed: `.venv-vllm/bin/pytest -m vllm`).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from gapbench.engines.base import ChatMessage, ChatRequest, EngineError, Sampling
from gapbench.engines.openai import OpenAIEngine
from gapbench.registry import DEFAULT_MODEL, ModelSpec, Source, load_spec

os.environ.setdefault("HF_HUB_OFFLINE", "1")

MODEL = DEFAULT_MODEL


def _spec() -> ModelSpec:
    """A card for the served name only: the server, not this engine, loads the weights."""
    return ModelSpec(name=MODEL, family="smollm2", source=Source(path="/nonexistent"), max_model_len=2048)


def _request(cid: str, text: str = "Hi", **sampling: Any) -> ChatRequest:
    return ChatRequest(cid, (ChatMessage("user", text),), Sampling(**sampling))


def _ok(text: str = "hello", cached: int | None = None, finish: str = "stop") -> dict[str, Any]:
    usage: dict[str, Any] = {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    return {
        "id": "x",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
        "usage": usage,
    }


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] | str = field(default_factory=_ok)
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class ScriptedServer:
    """Answers POSTs with scripted replies (the last one repeats); records what it received."""

    def __init__(self, replies: list[Reply] | None = None) -> None:
        self.replies = list(replies or [Reply()])
        self.received: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    server.received.append((self.path, dict(self.headers), body))
                    reply = server.replies.pop(0) if len(server.replies) > 1 else server.replies[0]
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    time.sleep(reply.delay_s)
                    data = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data.encode())
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and hung up: expected in the timeout test
                finally:
                    with server._lock:
                        server.in_flight -= 1

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    s = ScriptedServer()
    yield s
    s.close()


def _engine(url: str, **options: Any) -> OpenAIEngine:
    options = {"backoff_s": 0.05, "max_backoff_s": 0.2, "max_retries": 3, "timeout_s": 5.0, **options}
    return OpenAIEngine(_spec(), base_url=url, **options)


def test_sends_sampling_and_reads_usage(server: ScriptedServer) -> None:
    server.replies = [Reply(body=_ok("four", cached=5, finish="length"))]
    engine = _engine(server.url)
    request = ChatRequest(
        "c1",
        (ChatMessage("system", "Be brief."), ChatMessage("user", "2+2?")),
        Sampling(max_tokens=12, temperature=0.7, top_p=0.9, seed=3, stop=("\n",), min_tokens=2),
    )
    (done,) = engine.generate([request])
    engine.close()
    assert (done.text, done.prompt_tokens, done.completion_tokens, done.cached_tokens) == ("four", 7, 2, 5)
    assert done.finish_reason == "length" and done.error is None
    path, _, body = server.received[0]
    assert path == "/v1/chat/completions"
    assert body == {
        "model": MODEL,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}],
        "max_tokens": 12,
        "temperature": 0.7,
        "top_p": 0.9,
        "stream": False,
        "seed": 3,
        "stop": ["\n"],
        "min_tokens": 2,
    }


def test_cached_tokens_zero_when_not_reported(server: ScriptedServer) -> None:
    engine = _engine(server.url)
    (done,) = engine.generate([_request("c")])
    engine.close()
    assert done.cached_tokens == 0 and done.prompt_tokens == 7
    assert "seed" not in server.received[0][2] and "min_tokens" not in server.received[0][2]


def test_retries_429_then_succeeds_with_backoff(server: ScriptedServer) -> None:
    rate_limited = Reply(429, {"error": {"message": "slow down"}})
    server.replies = [rate_limited, rate_limited, Reply()]
    engine = _engine(server.url, backoff_s=0.1, max_backoff_s=1.0)
    start = time.monotonic()
    (done,) = engine.generate([_request("c")])
    elapsed = time.monotonic() - start
    engine.close()
    assert done.error is None and done.text == "hello"
    assert len(server.received) == 3
    # jittered delays: attempt 0 waits 0.05-0.1 s, attempt 1 waits 0.1-0.2 s
    assert 0.15 <= elapsed < 3.0


def test_retry_after_header_is_honoured(server: ScriptedServer) -> None:
    server.replies = [Reply(429, {"error": "busy"}, headers={"Retry-After": "0.6"}), Reply()]
    engine = _engine(server.url, backoff_s=0.01, max_backoff_s=2.0)
    start = time.monotonic()
    (done,) = engine.generate([_request("c")])
    engine.close()
    assert done.error is None and time.monotonic() - start >= 0.6


def test_gives_up_after_max_retries_on_5xx(server: ScriptedServer) -> None:
    server.replies = [Reply(503, {"error": {"message": "overloaded"}})]
    engine = _engine(server.url, max_retries=2)
    (done,) = engine.generate([_request("c")])
    engine.close()
    assert done.finish_reason == "error" and len(server.received) == 3
    assert "3 attempt" in done.error and "HTTP 503: overloaded" in done.error


def test_timeout_is_an_error_completion_in_bounded_time(server: ScriptedServer) -> None:
    server.replies = [Reply(delay_s=3.0)]
    engine = _engine(server.url, timeout_s=0.3, max_retries=1)
    start = time.monotonic()
    (done,) = engine.generate([_request("c")])
    engine.close()
    assert time.monotonic() - start < 2.0
    assert done.finish_reason == "error" and "timeout" in done.error and len(server.received) == 2


def test_client_error_fails_only_its_request(server: ScriptedServer) -> None:
    too_long = Reply(400, {"error": {"message": "maximum context length is 2048 tokens"}})
    server.replies = [too_long, Reply()]  # the first request to arrive gets the 400
    engine = _engine(server.url, max_concurrency=1)
    first, second = engine.generate([_request("a"), _request("b")])
    engine.close()
    assert len(server.received) == 2  # a 400 is not retried
    assert first.finish_reason == "error" and "maximum context length" in first.error
    assert second.error is None and second.conversation_id == "b"


def test_connection_refused_is_retried_then_reported() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again on exit: nothing listens there
    engine = _engine(f"http://127.0.0.1:{port}/v1", max_retries=2)
    (done,) = engine.generate([_request("c")])
    engine.close()
    assert done.finish_reason == "error" and "connection" in done.error and "3 attempt" in done.error


def test_unknown_model_or_bad_key_fail_the_engine(server: ScriptedServer) -> None:
    server.replies = [Reply(404, {"error": {"message": "The model `x` does not exist."}})]
    engine = _engine(server.url)
    with pytest.raises(EngineError, match="--served-model-name"):
        engine.generate([_request("c")])
    server.replies = [Reply(401, {"error": {"message": "bad key"}})]
    with pytest.raises(EngineError, match="api_key_env"):
        engine.generate([_request("c")])
    engine.close()


def test_api_key_from_env_is_sent_but_never_logged(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk-test-0123456789"
    monkeypatch.setenv("GAPBENCH_TEST_KEY", secret)
    server.replies = [Reply(500, {"error": "boom"}), Reply()]
    caplog.set_level(logging.DEBUG)
    engine = _engine(server.url, api_key_env="GAPBENCH_TEST_KEY")
    (done,) = engine.generate([_request("c")])
    engine.close()
    assert done.error is None
    assert all(headers.get("Authorization") == f"Bearer {secret}" for _, headers, _ in server.received)
    assert "retry 1/3" in caplog.text and secret not in caplog.text and secret not in repr(engine)


def test_missing_key_env_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GAPBENCH_NO_SUCH_KEY", raising=False)
    with pytest.raises(EngineError, match="GAPBENCH_NO_SUCH_KEY"):
        OpenAIEngine(_spec(), api_key_env="GAPBENCH_NO_SUCH_KEY")


def test_concurrency_limit_and_request_order(server: ScriptedServer) -> None:
    server.replies = [Reply(delay_s=0.15)]
    engine = _engine(server.url, max_concurrency=2)
    start = time.monotonic()
    done = engine.generate([_request(f"c{i}") for i in range(6)])
    elapsed = time.monotonic() - start
    engine.close()
    assert [c.conversation_id for c in done] == [f"c{i}" for i in range(6)]
    assert server.max_in_flight == 2
    assert elapsed >= 3 * 0.15  # six requests, two at a time


# ------------------------------------------------------------------- a real `vllm serve`
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def vllm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`vllm serve` of the prepared SmolLM2 on a random loopback port; stopped at module end."""
    pytest.importorskip("vllm", reason="vllm is not installed here (it lives in .venv-vllm: make test-vllm)")
    from gapbench.registry import prepare

    model_dir = prepare(load_spec(DEFAULT_MODEL))
    port = _free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1"),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2"),
        "VLLM_CPU_OMP_THREADS_BIND": os.environ.get("VLLM_CPU_OMP_THREADS_BIND", "0-1"),
    }
    log_path = tmp_path_factory.getbasetemp() / "vllm-serve.log"
    # `vllm serve` itself fails in vllm-cpu 0.32 (its CLI asks for the version of a distribution
    # named "vllm"); the API server module is the same server without that lookup.
    cmd = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model_dir),
        "--served-model-name",
        MODEL,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--max-model-len",
        "2048",
        "--block-size",
        "32",
        "--enable-prefix-caching",
        "--enable-prompt-tokens-details",
        "--enforce-eager",
        "--dtype",
        "bfloat16",
    ]
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 240
            while True:
                if proc.poll() is not None:
                    pytest.fail(
                        f"vllm serve exited with {proc.returncode}:\n{Path(log_path).read_text()[-3000:]}"
                    )
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"vllm serve not healthy in 240 s:\n{Path(log_path).read_text()[-3000:]}")
                time.sleep(1)
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.vllm
def test_real_vllm_serve_dialogue(vllm_server: str) -> None:
    engine = OpenAIEngine(_spec(), base_url=vllm_server, timeout_s=120, max_concurrency=4)
    system = ChatMessage("system", "You are agent A. A maze is hidden; talk with your partner. " * 8)
    history = {cid: [system] for cid in ("a", "b")}
    turns = []
    for turn in range(3):
        for cid in history:
            history[cid].append(ChatMessage("user", f"Turn {turn}: where is the exit for {cid}?"))
        batch = [
            ChatRequest(cid, tuple(msgs), Sampling(max_tokens=16, seed=1)) for cid, msgs in history.items()
        ]
        done = engine.generate(batch)
        turns.append(done)
        for c in done:
            assert c.error is None, c.error
            assert c.prompt_tokens > 0 and 0 < c.completion_tokens <= 16
            history[c.conversation_id].append(ChatMessage("assistant", c.text))
    # usage counts grow with the dialogue; the shared system prompt and each history are cached
    assert all(b.prompt_tokens > a.prompt_tokens for a, b in zip(turns[0], turns[1]))
    assert all(c.cached_tokens > 0 for c in turns[2])
    # greedy with a seed is reproducible over HTTP too
    again = engine.generate([ChatRequest("a2", tuple(history["a"][:2]), Sampling(max_tokens=16, seed=1))])
    assert again[0].text == turns[0][0].text
    engine.close()


@pytest.mark.vllm
def test_real_vllm_serve_too_long_prompt_fails_alone(vllm_server: str) -> None:
    engine = OpenAIEngine(_spec(), base_url=vllm_server, timeout_s=120, max_retries=0)
    long = _request("long", "maze " * 5000, max_tokens=4)
    short = _request("short", "Say hi.", max_tokens=4)
    bad, good = engine.generate([long, short])
    engine.close()
    assert bad.finish_reason == "error" and "HTTP 400" in bad.error
    assert good.error is None and good.completion_tokens > 0
