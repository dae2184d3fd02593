"""newsdesk: answers questions about news articles with cited passages.

The public names load on first use, so `rag --help` does not pay for the libraries behind them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_HOMES = {
    "Assistant": "rag.assistant",
    "Settings": "rag.core.config",
    "RagError": "rag.core.errors",
    **{name: "rag.core.models" for name in ("Answer", "Article", "Citation", "Highlight", "IngestReport", "Passage", "SearchResult")},
    **{name: "rag.core.events" for name in ("AnswerText", "EvidenceFound", "Final", "StreamEvent")},
    "Conversation": "rag.core.conversation",
}

__all__ = [
    "Answer",
    "AnswerText",
    "Article",
    "Assistant",
    "Citation",
    "Conversation",
    "EvidenceFound",
    "Final",
    "Highlight",
    "IngestReport",
    "Passage",
    "RagError",
    "SearchResult",
    "Settings",
    "StreamEvent",
]

if TYPE_CHECKING:
    from rag.assistant import Assistant
    from rag.core.config import Settings
    from rag.core.conversation import Conversation
    from rag.core.errors import RagError
    from rag.core.events import AnswerText, EvidenceFound, Final, StreamEvent
    from rag.core.models import Answer, Article, Citation, Highlight, IngestReport, Passage, SearchResult


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'rag' has no attribute '{name}'")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value
