"""The OpenAI-compatible routes: `POST /v1/chat/completions` (whole or streamed as SSE) and `/v1/models`."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

from fastapi import APIRouter, Request
from starlette.exceptions import HTTPException

from rag.api import sse
from rag.api.bodies import ChatRequest, split_chat
from rag.core.events import AnswerText, EvidenceFound, StreamEvent

MODEL_ID = "newsdesk"

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
    # The answer text only: the evidence is newsdesk's own (`/api/ask/stream`), not OpenAI's protocol. Dropped
    # before the response starts, so a model that is down is still an HTTP error here.
    events = (e for e in assistant.stream(question, history=history, **body.scope()) if not isinstance(e, EvidenceFound))
    return sse.respond(events, lambda events: _sse(events, cid, created))


def _sse(events: Iterator[StreamEvent], cid: str, created: int) -> Iterator[str]:
    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        data = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **extra,
        }
        return sse.data(data)

    yield chunk({"role": "assistant", "content": ""})
    streamed = False
    try:
        for event in events:
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
    except Exception as exc:  # headers are sent: report it in-band
        yield sse.data({"error": sse.in_band_error(exc)})
        yield "data: [DONE]\n\n"
        return
    yield sse.data({"error": sse.ENDED_EARLY})
    yield "data: [DONE]\n\n"
