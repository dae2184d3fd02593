"""Request bodies, validated by FastAPI (pydantic): a bad field is a 422 that names it."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.core.conversation import Conversation
from rag.core.errors import InvalidQuestionError


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # OpenAI content parts: keep the text ones
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") in ("text", "input_text"))
        return self.content or ""


Mode = Literal["hybrid", "dense", "bm25"]


class Scope(BaseModel):
    """What to search: which articles (by name, by publication date) and how many passages."""

    top_k: int | None = Field(None, ge=1, le=50)
    sources: list[str] | None = None
    mode: Mode | None = None
    since: date | None = Field(None, description="only articles published on or after this date (YYYY-MM-DD)")
    until: date | None = Field(None, description="only articles published on or before this date")

    def scope(self) -> dict:
        return self.model_dump(include={"top_k", "sources", "mode", "since", "until"})


class SearchRequest(Scope):
    model_config = ConfigDict(extra="forbid")

    question: str


class AskRequest(SearchRequest):
    history: list[Message] = Field(default_factory=list, description="the conversation so far, OpenAI-style")


class ChatRequest(Scope):
    model_config = ConfigDict(extra="ignore")  # temperature, max_tokens, user, ...: accepted, not used

    model: str | None = None
    messages: list[Message] = Field(min_length=1)
    stream: bool = False


def conversation(messages: list[Message]) -> Conversation:
    return Conversation.of({"role": m.role, "content": m.text()} for m in messages)


def split_chat(messages: list[Message]) -> tuple[str, Conversation]:
    """The last user message (the question) and the conversation before it."""
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].role == "user":
            return messages[i].text(), conversation(messages[:i])
    raise InvalidQuestionError("The conversation holds no user message; the last user message is the question.")
