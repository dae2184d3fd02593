"""HTTP API over `Assistant`: JSON routes and an OpenAI-compatible chat endpoint.

Routes (``create_app(assistant)``; ``rag api`` serves it with uvicorn):

* ``POST /api/ask``     {question, history?, sources?, top_k?, mode?, since?, until?} -> ``Answer.public()``
                        (the ``rag ask --json`` shape)
* ``POST /api/search``  {question, top_k?, sources?, mode?, since?, until?} -> ``SearchResult.public()``
* ``GET  /api/sources`` -> the indexed articles (the ``rag sources --json`` shape)
* ``GET  /health``      -> {"status": "ok", "articles", "chunks", "provider"}
* ``POST /v1/chat/completions`` (OpenAI-compatible, ``stream`` true or false): the last
  user message is the question, the user/assistant messages before it the history.
  ``choices[0].message.content`` is the cited answer; the extra top-level fields
  ``citations`` (list of ``Citation.public()``) and ``newsdesk`` (``Answer.public()``)
  carry the sources. Streamed: ``chat.completion.chunk`` deltas as the answer is
  generated, a final chunk with ``finish_reason: "stop"``, ``citations`` and
  ``newsdesk``, then ``data: [DONE]``. Optional body fields ``sources``, ``top_k``,
  ``mode``, ``since``, ``until`` narrow retrieval as on ``/api/ask``.
* ``GET  /v1/models``   -> one model, ``newsdesk`` (any ``model`` value is accepted).
* ``POST /api/documents`` multipart ``files``: saved under the uploads folder (safe names) and
  indexed -> the ingest report; ``DELETE /api/documents/{source}`` removes an article.

Protection (rag/security.py): a Host header outside the trusted hosts gets 400, a body over the
limit 413 before it is read whole, and CORS is closed unless ``RAG_API_CORS_ORIGINS`` is set.

Errors are JSON ``{"error": {"message", "type"}}``, never a traceback: invalid body
422, invalid question 400, empty index 409, language model failure 502, vector
store unreachable 503, missing/wrong API key 401, anything unexpected 500.

API key: when ``settings.api_key`` (``RAG_API_KEY`` / ``API_KEY``) is set, every
``/api`` and ``/v1`` route needs ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``.
``GET /health`` stays open so load balancers and container health checks can probe
it; it reveals only counts and the provider name.

Endpoints are plain ``def`` functions, so FastAPI runs the blocking Assistant calls
in its thread pool and concurrent requests are served in parallel.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any, Literal

from fastapi import Depends, FastAPI, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from rag.core.errors import (
    ConfigError,
    DocumentError,
    EmptyIndexError,
    IndexBusyError,
    InvalidQuestionError,
    LLMError,
    ModelFileError,
    RagError,
    RerankerError,
    StoreUnavailableError,
)
from rag.core.models import Answer
from rag.core.security import BodyLimit, is_loopback, trusted_hosts

MODEL_ID = "newsdesk"
log = logging.getLogger("rag.api")

# Most specific first: (exception class, HTTP status, error type).
_ERRORS: list[tuple[type[Exception], int, str]] = [
    (InvalidQuestionError, 400, "invalid_request_error"),
    (EmptyIndexError, 409, "empty_index"),
    (LLMError, 502, "llm_error"),
    (RerankerError, 502, "reranker_error"),
    (StoreUnavailableError, 503, "store_unavailable"),
    (IndexBusyError, 503, "index_busy"),
    (ModelFileError, 500, "config_error"),
    (ConfigError, 500, "config_error"),
    (DocumentError, 400, "invalid_request_error"),
    (RagError, 400, "invalid_request_error"),
]


def _error(status: int, message: str, kind: str, headers: dict | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, **extra}}, status_code=status, headers=headers)


def error_status(exc: Exception) -> tuple[int, str]:
    for cls, status, kind in _ERRORS:
        if isinstance(exc, cls):
            return status, kind
    return 500, "internal_error"


# --------------------------------------------------------------------------- request bodies


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # OpenAI content parts: keep the text ones
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") in ("text", "input_text"))
        return self.content or ""


Mode = Literal["hybrid", "dense", "bm25"]


class Scope(BaseModel):
    """What to search: which articles (by name, by publication date) and how many passages."""

    top_k: int | None = Field(None, ge=1, le=50)
    sources: list[str] | None = None
    mode: Mode | None = None
    since: date | None = Field(None, description="only articles published on or after this date (YYYY-MM-DD)")
    until: date | None = Field(None, description="only articles published on or before this date")

    def scope(self) -> dict:
        return self.model_dump(include={"top_k", "sources", "mode", "since", "until"})


class SearchRequest(Scope):
    model_config = ConfigDict(extra="forbid")

    question: str


class AskRequest(SearchRequest):
    history: list[Message] = Field(default_factory=list, description="the conversation so far, OpenAI-style")


class ChatRequest(Scope):
    model_config = ConfigDict(extra="ignore")  # temperature, max_tokens, user, ...: accepted, not used

    model: str | None = None
    messages: list[Message] = Field(min_length=1)
    stream: bool = False


def _history(messages: list[Message]) -> list[dict]:
    return [{"role": m.role, "content": m.text()} for m in messages if m.role in ("user", "assistant") and m.text()]


def _split_chat(messages: list[Message]) -> tuple[str, list[dict]]:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].role == "user":
            return messages[i].text(), _history(messages[:i])
    raise InvalidQuestionError("The conversation holds no user message; the last user message is the question.")


# --------------------------------------------------------------------------- app


def create_app(assistant, host: str = "127.0.0.1") -> FastAPI:
    """The API for a server bound to `host` (which decides the default trusted hosts; see rag/security.py)."""
    settings = assistant.settings
    app = FastAPI(
        title="newsdesk",
        description="Answers questions about news articles with cited passages.",
        version="0.1.0",
    )
    app.state.assistant = assistant
    # Outermost first: refuse a foreign Host or an oversized body before anything reads it.
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.api_cors_origins, allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    app.add_middleware(
        BodyLimit,
        limit_for=lambda path: settings.api_max_upload_bytes if path == "/api/documents" else settings.api_max_body_bytes,
    )
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=trusted_hosts(settings, host))

    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError):
        status, kind = error_status(exc)
        return _error(status, str(exc), kind)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError):
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(str(p) for p in d['loc'][1:]) or 'body'}: {d['msg']}" for d in details)
        return _error(422, f"Invalid request: {summary}", "invalid_request_error", details=details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        kind = {401: "authentication_error", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request_error")
        return _error(exc.status_code, str(exc.detail), kind, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(500, f"Internal error ({type(exc).__name__}); see the server log.", "internal_error")

    def require_key(request: Request) -> None:
        secret = assistant.settings.api_key
        expected = secret.get_secret_value() if secret is not None else ""
        if not expected:
            return
        given = request.headers.get("x-api-key", "")
        auth = request.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            given = auth[7:].strip()
        if not given or not secrets.compare_digest(given.encode(), expected.encode()):
            raise StarletteHTTPException(
                401,
                "Missing or wrong API key. Send `Authorization: Bearer <key>` or `X-API-Key: <key>`.",
                headers={"WWW-Authenticate": "Bearer"},
            )

    guarded = [Depends(require_key)]

    @app.get("/health")
    def health():
        try:
            return {
                "status": "ok",
                "articles": len(assistant.articles()),
                "chunks": assistant.store.chunk_count(),
                "provider": assistant.provider,
            }
        except RagError as exc:
            status, kind = error_status(exc)
            return JSONResponse(
                {"status": "unavailable", "error": {"message": str(exc), "type": kind}}, status_code=503
            )

    @app.post("/api/ask", dependencies=guarded)
    def ask(body: AskRequest):
        return assistant.ask(body.question, history=_history(body.history), **body.scope()).public()

    @app.post("/api/search", dependencies=guarded)
    def search(body: SearchRequest):
        return assistant.search(body.question, **body.scope()).public()

    @app.get("/api/sources", dependencies=guarded)
    def sources():
        return [a.model_dump(mode="json") for a in assistant.articles()]

    @app.post("/api/documents", dependencies=guarded)
    def upload(files: list[UploadFile]):
        """Multipart upload of articles: saved under the uploads folder whatever their names, then indexed."""
        report = assistant.upload([(f.filename or "upload", f.file.read()) for f in files])
        return report.model_dump(mode="json")

    @app.delete("/api/documents/{source:path}", dependencies=guarded)
    def remove(source: str):
        if not assistant.remove(source):
            raise StarletteHTTPException(404, f"No indexed article named '{source}'.")
        return {"removed": source}

    @app.get("/v1/models", dependencies=guarded)
    def models():
        return {"object": "list", "data": [_model_card()]}

    @app.get("/v1/models/{model_id}", dependencies=guarded)
    def model(model_id: str):
        if model_id != MODEL_ID:
            raise StarletteHTTPException(404, f"No model '{model_id}'; this server has '{MODEL_ID}'.")
        return _model_card()

    @app.post("/v1/chat/completions", dependencies=guarded)
    def chat(body: ChatRequest):
        question, history = _split_chat(body.messages)
        cid = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        if not body.stream:
            answer = assistant.ask(question, history=history, **body.scope())
            return {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": MODEL_ID,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer.answer},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "citations": [c.public() for c in answer.citations],
                "newsdesk": answer.public(),
            }
        pieces = assistant.stream(question, history=history, **body.scope())
        # Start it here, so a bad question or an empty index is an HTTP error, not a broken stream.
        first = next(pieces)
        return StreamingResponse(
            _sse(first, pieces, cid, created),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return app


def _model_card() -> dict:
    return {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "newsdesk"}


def _sse(first, rest: Iterator, cid: str, created: int) -> Iterator[str]:
    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        data = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **extra,
        }
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    streamed = ""
    answer: Answer | None = None
    try:
        item = first
        while True:
            if isinstance(item, Answer):
                answer = item
                break
            streamed += item
            yield chunk({"content": item})
            item = next(rest)
    except StopIteration:
        pass
    except Exception as exc:  # headers are sent: report it in-band, as OpenAI does
        if not isinstance(exc, RagError):
            log.exception("error while streaming an answer")
        status, kind = error_status(exc)
        message = str(exc) if isinstance(exc, RagError) else f"Internal error ({type(exc).__name__}); see the server log."
        yield f"data: {json.dumps({'error': {'message': message, 'type': kind, 'code': status}})}\n\n"
        yield "data: [DONE]\n\n"
        return
    if answer is None:
        yield f"data: {json.dumps({'error': {'message': 'The answer stream ended early.', 'type': 'internal_error'}})}\n\n"
        yield "data: [DONE]\n\n"
        return
    # The checked answer can differ from what streamed (an abstention, repaired citations).
    if answer.answer != streamed:
        if answer.answer.startswith(streamed):
            yield chunk({"content": answer.answer[len(streamed):]})
        else:
            # Like `rag ask`: the checked answer follows in full; `newsdesk.answer` is authoritative.
            yield chunk({"content": ("\n\n" if streamed else "") + answer.answer})
    yield chunk({}, "stop", citations=[c.public() for c in answer.citations], newsdesk=answer.public())
    yield "data: [DONE]\n\n"


def serve(assistant, host: str = "127.0.0.1", port: int = 8000) -> int:
    import uvicorn

    settings = assistant.settings
    if settings.api_key is None and not is_loopback(host):
        print(f"warning: serving on {host} without an API key; set RAG_API_KEY to require one.", file=sys.stderr)
    print(
        f"API key: {'required' if settings.api_key else 'none'}; trusted hosts: {', '.join(trusted_hosts(settings, host))}; "
        f"CORS: {', '.join(settings.api_cors_origins) or 'closed'}",
        file=sys.stderr,
    )
    uvicorn.run(create_app(assistant, host), host=host, port=port, log_level="info")
    return 0
