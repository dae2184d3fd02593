"""Answers that read across articles: what each article says, attributed, and "Reports differ:" when they
give different values of what the question asks for (figures, dates, names), newest first.

News is many outlets telling one story: an answer built from one article's sentence passes that outlet's
claim off as the story. The extractive answerer hands this module one quoted reading per article that bears
on the question; a model is asked for the same shape by its prompt (`prompts.py`), and what other articles
report is added under its answer when it cites none of them (`more`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rag.core.models import Passage
from rag.core.questions import Asked

DIFFER = "Reports differ:"
_COUNT = {2: "Two", 3: "Three", 4: "Four", 5: "Five"}


@dataclass
class Reading:
    """What one article says about the question: its quoted sentences, each with its passage's [n]."""

    passage: Passage  # the passage of the first quoted sentence: the article's title, outlet and date
    sentences: list[tuple[str, int]]  # (quoted text, n)

    @property
    def text(self) -> str:
        return " ".join(text for text, _ in self.sentences)


def differ(readings: list[Reading], asked: Asked) -> bool | None:
    """Do two of the articles give different values of what is asked (none in common)? None when the question
    asks for no kind of value ("Why ...?"): then there is nothing to compare."""
    values = [asked.values(r.text) for r in readings]
    if any(v is None for v in values):
        return None
    return any(not asked.agree(a, b) for i, a in enumerate(values) for b in values[i + 1 :])


def compose(readings: list[Reading], asked: Asked) -> str:
    """One line per article: its outlet or title, its date, its quoted sentences with their [n]. Under
    "Reports differ:" (newest first, undated last) when the values differ, else in the order retrieved, under
    "... report this:" when they agree on the value asked for, "... bear on this:" when none is asked for."""
    differs = differ(readings, asked)
    if differs:
        readings = _newest_first(readings)
    count = _COUNT.get(len(readings), len(readings))
    head = DIFFER if differs else f"{count} articles report this:" if differs is False else f"{count} articles bear on this:"
    return "\n".join([head, *_lines(readings)])


def more(answer: str, readings: list[Reading], asked: Asked) -> str:
    """What other articles report, after an `answer` (its text, markers aside) that cites none of them: under
    "Other articles report differently:" (newest first) when their values differ from the answer's, else under
    "Also reported:"."""
    mine = asked.values(answer)
    differs = mine is not None and any(not asked.agree(mine, asked.values(r.text)) for r in readings)
    if differs:
        readings = _newest_first(readings)
    return "\n".join(["Other articles report differently:" if differs else "Also reported:", *_lines(readings)])


def _newest_first(readings: list[Reading]) -> list[Reading]:
    """Newest first, undated last, in retrieval order among equals."""
    return sorted(readings, key=lambda r: r.passage.published or date.min, reverse=True)


def _lines(readings: list[Reading]) -> list[str]:
    return [f"- {r.passage.label} ({r.passage.dated}): " + " ".join(f"{text} [{n}]" for text, n in r.sentences) for r in readings]
