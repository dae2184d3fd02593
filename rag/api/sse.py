"""Server-sent events for the streamed routes: one response shape, one in-band error report."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from itertools import chain

from fastapi.responses import StreamingResponse

from rag.api.errors import error_status
from rag.core.errors import RagError
from rag.core.events import StreamEvent

log = logging.getLogger("rag.api")

ENDED_EARLY = {"message": "The answer stream ended early.", "type": "internal_error"}


def respond(events: Iterator[StreamEvent], encode) -> StreamingResponse:
    """`encode(events)` as an SSE response. The first event is taken here, before the headers go out, so a bad
    question or an empty index is an HTTP error with its status, not a broken stream."""
    first = next(events)
    return StreamingResponse(
        encode(chain([first], events)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def data(payload: dict, event: str | None = None) -> str:
    return (f"event: {event}\n" if event else "") + f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def in_band_error(exc: Exception) -> dict:
    """An error raised once the headers are sent, reported in the stream as OpenAI does: `{message, type, code}`."""
    if not isinstance(exc, RagError):
        log.exception("error while streaming an answer")
    status, kind = error_status(exc)
    message = str(exc) if isinstance(exc, RagError) else f"Internal error ({type(exc).__name__}); see the server log."
    return {"message": message, "type": kind, "code": status}
