"""`GET /health`: open even when an API key is set, for load balancers; it reveals counts and the provider only."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from rag.api.errors import error_status
from rag.core.errors import RagError

router = APIRouter()


@router.get("/health")
def health(request: Request):
    assistant = request.app.state.assistant
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
