"""Routes for asking: `POST /api/ask` (the `rag ask --json` shape), `POST /api/ask/stream` (the same as
server-sent events, evidence first) and `POST /api/search`."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request

from rag.api import sse
from rag.api.bodies import AskRequest, SearchRequest, conversation
from rag.core.events import AnswerText, EvidenceFound, StreamEvent

router = APIRouter()


@router.post("/api/ask")
def ask(body: AskRequest, request: Request):
    assistant = request.app.state.assistant
    return assistant.ask(body.question, history=conversation(body.history), **body.scope()).public()


@router.post("/api/ask/stream")
def ask_stream(body: AskRequest, request: Request):
    """Events `evidence` (the top articles' best sentences, as soon as retrieval is done), `text` (checked answer
    pieces), then `answer` (the `/api/ask` shape plus `rest`/`restart`: what completes the pieces), or `error`."""
    assistant = request.app.state.assistant
    return sse.respond(assistant.stream(body.question, history=conversation(body.history), **body.scope()), _events)


def _events(events: Iterator[StreamEvent]) -> Iterator[str]:
    try:
        for event in events:
            if isinstance(event, EvidenceFound):
                yield sse.data({"highlights": [h.public() for h in event.highlights]}, "evidence")
            elif isinstance(event, AnswerText):
                yield sse.data({"text": event.text}, "text")
            else:
                yield sse.data({**event.answer.public(), "rest": event.rest, "restart": event.restart}, "answer")
                return
    except Exception as exc:  # headers are sent: report it in-band
        yield sse.data(sse.in_band_error(exc), "error")
        return
    yield sse.data(sse.ENDED_EARLY, "error")


@router.post("/api/search")
def search(body: SearchRequest, request: Request):
    return request.app.state.assistant.search(body.question, **body.scope()).public()
