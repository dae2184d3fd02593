"""Reading `Assistant.stream` / `Answerer.stream` events in tests."""

from __future__ import annotations

from collections.abc import Iterable

from rag.core.events import AnswerText, Final, StreamEvent
from rag.core.models import Answer


def split(events: Iterable[StreamEvent]) -> tuple[list[str], Answer]:
    """The streamed text pieces and the final Answer; fails unless the stream ends in exactly one Final."""
    events = list(events)
    assert events and isinstance(events[-1], Final), events
    assert all(isinstance(e, AnswerText) for e in events[:-1]), events
    return [e.text for e in events[:-1]], events[-1].answer
