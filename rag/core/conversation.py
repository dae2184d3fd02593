"""The conversation so far, as the answerer reads it for follow-ups ("what did he say next?")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, Field


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class Conversation(BaseModel):
    """User and assistant turns, oldest first; other roles and empty turns are not kept."""

    turns: list[Turn] = Field(default_factory=list)

    @classmethod
    def of(cls, messages: Conversation | Iterable[Mapping] | None) -> Conversation:
        """From OpenAI-style messages ({"role", "content"}), or a Conversation as it is."""
        if isinstance(messages, Conversation):
            return messages
        turns = [
            Turn(role=m["role"], content=m["content"])
            for m in messages or ()
            if m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str) and m["content"]
        ]
        return cls(turns=turns)

    def add(self, question: str, answer: str) -> Conversation:
        """This conversation with one more exchange (a new object: a UI session keeps its own copy)."""
        return Conversation(turns=[*self.turns, Turn(role="user", content=question), Turn(role="assistant", content=answer)])

    def messages(self) -> list[dict[str, str]]:
        return [t.model_dump() for t in self.turns]

    def __bool__(self) -> bool:
        return bool(self.turns)
