"""The evidence about a question among its candidate passages: its terms, their idf, each passage's best window."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rag.core import text as tx
from rag.core.models import Passage

# Sentences in a window: a claim and the one that completes it.
WINDOW_SENTENCES = 2


@dataclass
class Window:
    """The best sentence window of a passage: offsets into `passage.text` and its idf-weighted coverage."""

    start: int
    end: int
    coverage: float


class QuestionTerms:
    """The question's content terms with idf counted over the candidate passages' sentences."""

    def __init__(self, question: str, passages: Sequence[Passage]):
        self.terms = set(tx.terms(question, drop_frame=True))
        self.sentences = [_sentence_terms(p.text) for p in passages]
        df: dict[str, int] = {}
        for spans in self.sentences:
            for t in set().union(*(terms for _, _, terms in spans)) if spans else ():
                df[t] = df.get(t, 0) + 1
        n = max(len(passages), 1)
        self.idf = {t: math.log(1 + n / df.get(t, 0.5)) for t in self.terms}
        self.total = sum(self.idf.values())

    def coverage(self, found: set[str]) -> float:
        return sum(self.idf[t] for t in self.terms & found) / self.total if self.total else 0.0

    def best_window(self, i: int, size: int = WINDOW_SENTENCES) -> Window:
        """Passage i's window of `size` adjacent sentences holding most of the question."""
        spans = self.sentences[i]
        if not spans:
            return Window(0, 0, 0.0)
        best = Window(spans[0][0], spans[min(size, len(spans)) - 1][1], -1.0)
        for j in range(max(1, len(spans) - size + 1)):
            part = spans[j : j + size]
            cov = self.coverage(set().union(*(terms for _, _, terms in part)))
            if cov > best.coverage:
                best = Window(part[0][0], part[-1][1], cov)
        return best


def _sentence_terms(text: str) -> list[tuple[int, int, set[str]]]:
    return [(s, e, set(tx.terms(text[s:e]))) for s, e in tx.split_sentences(text)]
