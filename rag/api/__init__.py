"""HTTP API over `Assistant`: JSON routes and an OpenAI-compatible chat endpoint (routes: README, "HTTP API").

A front end: imports rag.core and rag.assistant only. `create_app` wires one router per feature
(`questions`, `documents`, `openai_compat`), the protection of rag/core/security.py (trusted hosts,
body limits, CORS), the optional API key, and errors as JSON `{"error": {"message", "type"}}`.
Endpoints are plain `def` functions, so FastAPI runs the blocking Assistant calls in its thread
pool and concurrent requests are served in parallel.
"""

from __future__ import annotations

import logging
import secrets
import sys
from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from rag.api import documents, openai_compat, questions
from rag.api.errors import error_response, error_status
from rag.core.errors import RagError
from rag.core.security import BodyLimit, is_loopback, trusted_hosts

if TYPE_CHECKING:
    from rag.assistant import Assistant

log = logging.getLogger("rag.api")


def create_app(assistant: Assistant, host: str = "127.0.0.1") -> FastAPI:
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
        return error_response(status, str(exc), kind)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError):
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(str(p) for p in d['loc'][1:]) or 'body'}: {d['msg']}" for d in details)
        return error_response(422, f"Invalid request: {summary}", "invalid_request_error", details=details)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        kind = {401: "authentication_error", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request_error")
        return error_response(exc.status_code, str(exc.detail), kind, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, f"Internal error ({type(exc).__name__}); see the server log.", "internal_error")

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
                "chunks": assistant.chunk_count(),
                "provider": assistant.provider,
            }
        except RagError as exc:
            status, kind = error_status(exc)
            return JSONResponse(
                {"status": "unavailable", "error": {"message": str(exc), "type": kind}}, status_code=503
            )

    for router in (questions.router, documents.router, openai_compat.router):
        app.include_router(router, dependencies=guarded)
    return app


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 8000) -> int:
    import uvicorn

    settings = assistant.settings
    if settings.api_key is None and not is_loopback(host):
        print(f"warning: serving on {host} without an API key; set RAG_API_KEY to require one.", file=sys.stderr)
    print(
        f"API key: {'required' if settings.api_key else 'none'}; trusted hosts: {', '.join(trusted_hosts(settings, host))}; "
        f"CORS: {', '.join(settings.api_cors_origins) or 'closed'}",
        file=sys.stderr,
    )
    # Built now, not on the first request: a model that cannot load fails the start, and is loaded before anyone waits.
    print(f"answers from: {assistant.provider}; index: {assistant.where}", file=sys.stderr)
    uvicorn.run(create_app(assistant, host), host=host, port=port, log_level="info")
    return 0
