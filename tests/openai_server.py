"""A scriptable OpenAI-compatible chat server on loopback, for tests.

Speaks enough of the protocol for the real `openai` client: `POST
/v1/chat/completions` (plain, and streamed as chunked SSE ending in `data:
[DONE]`), `GET /v1/models`, and the `/v1/rerank` route that vLLM, llama.cpp's
server, Infinity and Cohere share (when `server.rerank` is set). tests/conftest.py
loads its fixtures: take `openai_server` (or use `with OpenAIServer() as
server:`) and point the client at `server.url`:

    server.reply = lambda request: "Paris [1]."     # or a list of stream pieces
    server.fail(500, times=2)                       # the next 2 chat / rerank requests get HTTP 500
    server.fail(429, headers={"Retry-After": "1"})
    server.hang(times=None)                         # every request stalls until the server stops
    server.drop_stream(after=2)                     # close the connection after 2 streamed pieces
    server.reject_response_format = True            # 400 whenever response_format is sent
    server.rerank = lambda request: [0.1, 0.9, ...]  # /v1/rerank: a score per document (None: no route)
    server.chat_requests[-1].body["messages"]       # what the client sent
    prompt_passages(request)                        # {n: text} of the passages newsdesk put in the prompt
    server.reply = Withheld(reply); ...; reply.release()  # the reply waits until the test has seen what it wanted

Faults queue up in the order given and each applies to the next chat or rerank request
(`times=None`: to every one from then on); requests past them are answered.
The `dead_server_url` fixture gives a loopback URL nothing listens on.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

import pytest

Reply = Callable[[dict], str | list[str]]

# Whole passages under an 'Article: "Title", ...' line as "[n] text"; a model that reads each passage's best
# sentences gets "[n] (from "Title", ...)\ntext" or "[n] (same article as [m])\ntext".
_PASSAGE = re.compile(
    r"^\[(\d+)\] (?:\((?:from .*?|same article as \[\d+\])\)\n)?(.*?)(?=\n\n\[\d+\] |\n\nArticle: |\n\nQuestion: )", re.S | re.M
)


def prompt_passages(request: dict) -> dict[int, str]:
    """The numbered passages in a chat request's last message, as newsdesk's prompt writes them."""
    return {int(n): text for n, text in _PASSAGE.findall(request["messages"][-1]["content"])}


class Withheld:
    """A reply held back until the test calls `release()`: what a client shows before it is released, it
    showed before the model wrote a word. `timed_out` says the test never released it."""

    def __init__(self, reply: Reply, timeout: float = 60.0):
        self.reply, self.timeout = reply, timeout
        self._released = threading.Event()
        self.timed_out = False

    def release(self) -> None:
        self._released.set()

    def __call__(self, request: dict) -> str | list[str]:
        if not self._released.wait(self.timeout):
            self.timed_out = True
        return self.reply(request)


def cite_the_stake(request: dict) -> list[str]:
    """Reply word by word with two sentences about the Scale AI stake, citing whichever seed passage holds them."""
    for n, text in prompt_passages(request).items():
        if "$14 billion" in text:
            first = "Meta acquired a 49 percent stake in Scale AI for more than $14 billion"
            second = "The 28-year-old billionaire was positioned as the public face of Zuckerberg’s AI reboot"
            return [w + " " for w in first.split()] + [f"[{n}]. "] + [w + " " for w in second.split()] + [f"[{n}]."]
    return ["NOT_FOUND"]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: dict | None


@dataclass
class _Fault:
    kind: Literal["status", "hang", "drop"]
    remaining: int | None  # None: forever
    status: int = 500
    message: str = ""
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    after: int = 0


class OpenAIServer:
    def __init__(self, reply: Reply | None = None, *, models: list[str] | None = None):
        # (request JSON) -> the answer text, or a list of pieces to stream one per chunk.
        self.reply: Reply = reply or (lambda request: "Hello from the test server.")
        self.models = models  # None accepts any model name; a list 404s the others
        self.reject_response_format = False
        self.rerank: Callable[[dict], list[float]] | None = None
        self.requests: list[Recorded] = []
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.app = self
        # A short poll interval keeps shutdown (each test's teardown) fast.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        """The base URL for the client (OPENAI_BASE_URL), ending in /v1."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def fail(
        self,
        status: int = 500,
        *,
        times: int | None = 1,
        message: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` chat requests with an OpenAI-style error body."""
        message = message or f"test failure {status}"
        self._add(_Fault("status", times, status=status, message=message, code=code, headers=headers or {}))

    def hang(self, seconds: float = 60.0, *, times: int | None = 1) -> None:
        """Send nothing for `seconds` (cut short when the server stops), then close the connection."""
        self._add(_Fault("hang", times, seconds=seconds))

    def drop_stream(self, *, after: int = 1, times: int | None = 1) -> None:
        """Close the connection after `after` streamed pieces (at once for a non-streamed request)."""
        self._add(_Fault("drop", times, after=after))

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _add(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _next_fault(self) -> _Fault | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.pop(0)
            return fault


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as server:
        yield server


@pytest.fixture
def dead_server_url() -> str:
    """A loopback base URL nothing listens on (the port was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a hanging handler must not block stop()
    app: OpenAIServer

    def handle_error(self, request, client_address) -> None:
        # Clients hanging up (timeouts, dropped streams) are part of the tests, not errors.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _error(
    message: str, *, type_: str = "invalid_request_error", code: str | None = None, param: str | None = None
) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, like real servers

    def log_message(self, format, *args) -> None:  # noqa: A002 - keeps pytest output clean
        pass

    @property
    def app(self) -> OpenAIServer:
        return self.server.app  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        self._record(None)
        if self.path.rstrip("/") == "/v1/models":
            models = self.app.models or ["test-model"]
            data = [{"id": m, "object": "model", "owned_by": "test"} for m in models]
            self._json(200, {"object": "list", "data": data})
        else:
            self._json(404, _error(f"no route {self.path}"))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.loads(raw) if raw else None
        self._record(body)
        route = self.path.rstrip("/")
        reranking = route == "/v1/rerank" and self.app.rerank is not None
        if route != "/v1/chat/completions" and not reranking or not isinstance(body, dict):
            self._json(404, _error(f"no route {self.path}"))
            return
        fault = self.app._next_fault()
        if fault and fault.kind == "status":
            type_ = "server_error" if fault.status >= 500 else "invalid_request_error"
            self._json(fault.status, _error(fault.message, type_=type_, code=fault.code), fault.headers)
            return
        if fault and fault.kind == "hang":
            self.app._stopping.wait(fault.seconds)
            self.close_connection = True
            return
        model = body.get("model", "")
        if reranking:
            scores = self.app.rerank(body)
            ranked = sorted(range(len(scores)), key=lambda i: -scores[i])[: body.get("top_n") or len(scores)]
            results = [{"index": i, "relevance_score": scores[i]} for i in ranked]
            self._json(200, {"id": "rerank-test", "model": model, "results": results, "usage": {"total_tokens": 1}})
            return
        if self.app.models is not None and model not in self.app.models:
            self._json(404, _error(f"The model `{model}` does not exist.", code="model_not_found"))
            return
        if self.app.reject_response_format and "response_format" in body:
            message = "response_format of type json_schema is not supported"
            self._json(400, _error(message, param="response_format"))
            return
        reply = self.app.reply(body)
        pieces = [reply] if isinstance(reply, str) else list(reply)
        drop_after = fault.after if fault and fault.kind == "drop" else None
        if body.get("stream"):
            self._stream(model, pieces, drop_after)
        elif drop_after is not None:
            self.close_connection = True  # no response at all
        else:
            self._json(200, {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(pieces)},
                    "finish_reason": "stop",
                }],
                "usage": {"prompt_tokens": 1, "completion_tokens": len(pieces), "total_tokens": 1 + len(pieces)},
            })

    def _record(self, body: dict | None) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.app.requests.append(Recorded(self.command, self.path, headers, body))

    def _json(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, model: str, pieces: list[str], drop_after: int | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def event(data: str) -> None:
            raw = f"data: {data}\n\n".encode()
            self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
            self.wfile.flush()

        def chunk(delta: dict, finish: str | None = None) -> None:
            event(json.dumps({
                "id": "chatcmpl-test",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }))

        chunk({"role": "assistant", "content": ""})  # real servers open with an empty role delta
        for i, piece in enumerate(pieces):
            if i == drop_after:
                # Leaves the chunked body unterminated, so the client sees a broken stream, not an end.
                self.close_connection = True
                return
            chunk({"content": piece})
        chunk({}, finish="stop")
        event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")
