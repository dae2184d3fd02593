"""Routes for asking: `POST /api/ask` (the `rag ask --json` shape) and `POST /api/search`."""

from __future__ import annotations

from fastapi import APIRouter, Request

from rag.api.bodies import AskRequest, SearchRequest, conversation

router = APIRouter()


@router.post("/api/ask")
def ask(body: AskRequest, request: Request):
    assistant = request.app.state.assistant
    return assistant.ask(body.question, history=conversation(body.history), **body.scope()).public()


@router.post("/api/search")
def search(body: SearchRequest, request: Request):
    return request.app.state.assistant.search(body.question, **body.scope()).public()
