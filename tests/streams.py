"""Reading `Assistant.stream` / `Answerer.stream` events in tests."""

from __future__ import annotations

from collections.abc import Iterable

from rag.core.events import AnswerText, EvidenceFound, Final, StreamEvent
from rag.core.models import Answer


def split(events: Iterable[StreamEvent]) -> tuple[list[str], Answer]:
    """The streamed text pieces and the final Answer; fails unless the stream is at most one EvidenceFound
    (first, and only when passages were retrieved), text pieces, then exactly one Final."""
    events = list(events)
    assert events and isinstance(events[-1], Final), events
    answer = events[-1].answer
    if events[0:1] and isinstance(events[0], EvidenceFound):
        assert answer.passages, events
        events = events[1:]
    assert all(isinstance(e, AnswerText) for e in events[:-1]), events
    return [e.text for e in events[:-1]], answer
