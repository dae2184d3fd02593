"""How the project's errors become HTTP errors: JSON `{"error": {"message", "type"}}`, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def error_response(status: int, message: str, kind: str, headers: dict | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, **extra}}, status_code=status, headers=headers)


def error_status(exc: Exception) -> tuple[int, str]:
    for cls, status, kind in _ERRORS:
        if isinstance(exc, cls):
            return status, kind
    return 500, "internal_error"


def install_handlers(app: FastAPI) -> None:
    """Every error a route can raise, as JSON with its status; a traceback only in the server log."""

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
