"""How the project's errors become HTTP errors: JSON `{"error": {"message", "type"}}`, never a traceback."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

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
