"""What `Assistant.stream` yields: answer text that passed the citation check, then the final `Answer`.

Front ends render these and nothing else: the pieces of `AnswerText` joined (a `restart` piece
replacing what came before it) are exactly `Final.answer.answer`.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.core.models import Answer


@dataclass(frozen=True)
class AnswerText:
    """The next piece of the answer. `restart`: the checked answer differs from what was shown
    (an abstention, a repaired citation), so this piece is the whole answer, replacing the pieces before it."""

    text: str
    restart: bool = False


@dataclass(frozen=True)
class Final:
    """The checked answer with its citations and retrieved passages; always the last event."""

    answer: Answer


StreamEvent = AnswerText | Final
