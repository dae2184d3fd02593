"""HTTP API over `Assistant`: JSON routes and an OpenAI-compatible chat endpoint (routes: README, "HTTP API").

A front end: imports rag.core and rag.assistant only. `create_app` wires one router per feature
(`questions`, `documents`, `openai_compat`), the protection of rag/core/security.py (trusted hosts,
body limits, CORS), the optional API key, and errors as JSON `{"error": {"message", "type"}}`.
Endpoints are plain `def` functions, so FastAPI runs the blocking Assistant calls in its thread
pool and concurrent requests are served in parallel.
"""

from __future__ import annotations

import secrets
import sys
from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from rag.api import documents, health, openai_compat, questions
from rag.api.errors import install_handlers
from rag.core.metrics import MetricsMiddleware, watch_index
from rag.core.security import BodyLimit, is_loopback, trusted_hosts

if TYPE_CHECKING:
    from rag.assistant import Assistant

def create_app(assistant: Assistant, host: str = "127.0.0.1") -> FastAPI:
    """The API for a server bound to `host` (which decides the default trusted hosts; see rag/core/security.py)."""
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
    # Outermost: every request is counted, refused ones included; `/metrics` is answered here.
    app.add_middleware(MetricsMiddleware)
    watch_index(assistant.index_stats)

    install_handlers(app)
    app.include_router(health.router)
    for router in (questions.router, documents.router, openai_compat.router):
        app.include_router(router, dependencies=[Depends(require_key)])
    return app


def require_key(request: Request) -> None:
    """With an API key set (RAG_API_KEY), every /api and /v1 route needs it as a bearer token or X-API-Key."""
    secret = request.app.state.assistant.settings.api_key
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
