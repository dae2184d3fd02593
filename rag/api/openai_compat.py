"""The OpenAI-compatible routes: `POST /v1/chat/completions` (whole or streamed as SSE) and `/v1/models`."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from itertools import chain

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.exceptions import HTTPException

from rag.api.bodies import ChatRequest, split_chat
from rag.api.errors import error_status
from rag.core.errors import RagError
from rag.core.events import AnswerText, StreamEvent

MODEL_ID = "newsdesk"
log = logging.getLogger("rag.api")

router = APIRouter()


def _model_card() -> dict:
    return {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "newsdesk"}


@router.get("/v1/models")
def models():
    return {"object": "list", "data": [_model_card()]}


@router.get("/v1/models/{model_id}")
def model(model_id: str):
    if model_id != MODEL_ID:
        raise HTTPException(404, f"No model '{model_id}'; this server has '{MODEL_ID}'.")
    return _model_card()


@router.post("/v1/chat/completions")
def chat(body: ChatRequest, request: Request):
    assistant = request.app.state.assistant
    question, history = split_chat(body.messages)
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
    events = assistant.stream(question, history=history, **body.scope())
    # Start it here, so a bad question or an empty index is an HTTP error, not a broken stream.
    first = next(events)
    return StreamingResponse(
        _sse(first, events, cid, created),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _sse(first: StreamEvent, rest: Iterator[StreamEvent], cid: str, created: int) -> Iterator[str]:
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

    def error(message: str, kind: str, **extra) -> str:
        return f"data: {json.dumps({'error': {'message': message, 'type': kind, **extra}})}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    streamed = False
    try:
        for event in chain([first], rest):
            if isinstance(event, AnswerText):
                streamed = True
                yield chunk({"content": event.text})
                continue
            answer = event.answer
            if event.rest:
                # Like `rag ask`: a checked answer that does not continue what streamed follows in full;
                # `newsdesk.answer` is authoritative.
                yield chunk({"content": ("\n\n" if streamed and event.restart else "") + event.rest})
            yield chunk({}, "stop", citations=[c.public() for c in answer.citations], newsdesk=answer.public())
            yield "data: [DONE]\n\n"
            return
    except Exception as exc:  # headers are sent: report it in-band, as OpenAI does
        if not isinstance(exc, RagError):
            log.exception("error while streaming an answer")
        status, kind = error_status(exc)
        message = str(exc) if isinstance(exc, RagError) else f"Internal error ({type(exc).__name__}); see the server log."
        yield error(message, kind, code=status)
        yield "data: [DONE]\n\n"
        return
    yield error("The answer stream ended early.", "internal_error")
    yield "data: [DONE]\n\n"
