"""What `Assistant.stream` yields: the evidence, answer text that passed the citation check, then the final `Answer`.

Front ends render these and nothing else. `EvidenceFound` comes first, as soon as retrieval is done
(the top passages' best sentences, verbatim), so a reader has something true to read while a model
writes; it is absent when nothing was retrieved. The `AnswerText` pieces are shown as they come; `Final`
then says what completes them into the checked answer: `rest` to append, or (`restart`) the whole
answer to show instead, when the checked answer is not a continuation of what was shown (an
abstention after text, a repaired citation).
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.core.models import Answer, Highlight


@dataclass(frozen=True)
class EvidenceFound:
    """The best sentence of each of the top articles' passages, before any answer text."""

    highlights: tuple[Highlight, ...]


@dataclass(frozen=True)
class AnswerText:
    """The next piece of the answer, already checked against the passages."""

    text: str


@dataclass(frozen=True)
class Final:
    """The checked answer with its citations and retrieved passages; always the last event."""

    answer: Answer
    # What completes the pieces shown into `answer.answer`: appended, or shown instead when `restart`.
    rest: str = ""
    restart: bool = False


StreamEvent = EvidenceFound | AnswerText | Final
