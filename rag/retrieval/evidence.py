"""The evidence about one question, computed once and handed along retrieval -> context -> answering.

`Evidence(question)` holds the question's content terms (stemmed, question frame dropped), whether it
asks for the latest news, and what it asks for (`Asked`). `over(passages)` gives the idf of those terms
over a set of passages' sentences and each passage's best window of adjacent sentences; a passage's
sentences are split and stemmed once per question, whichever stage asks first. `highlights` picks the
evidence shown before the answer: the best whole sentence of each of the top articles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from rag.core import dates
from rag.core import text as tx
from rag.core.models import INFO_FIELDS, Highlight, Passage
from rag.core.questions import Asked

# Sentences in a window: a claim and the one that completes it.
WINDOW_SENTENCES = 2
# Evidence shown before the answer: one sentence from each of this many articles, in retrieval order...
HIGHLIGHTS = 3
# ...each a whole sentence of at least this many words (not a heading, a byline or a cut-off fragment).
MIN_QUOTE_WORDS = 6

SentenceTerms = list[tuple[int, int, set[str]]]


@dataclass(frozen=True)
class Window:
    """The best sentence window of a passage: offsets into `passage.text` and its idf-weighted coverage."""

    start: int
    end: int
    coverage: float


class Evidence:
    def __init__(self, question: str):
        self.question = question
        self.terms = set(tx.terms(question, drop_frame=True))
        self.wants_latest = dates.wants_latest(question)
        self._sentences: dict[str, SentenceTerms] = {}
        self._over: dict[tuple[str, ...], QuestionTerms] = {}

    @cached_property
    def asked(self) -> Asked:
        """What the question asks for, as the extractive answerer reads it (strict)."""
        return Asked.of(self.question)

    @cached_property
    def asked_loosely(self) -> Asked:
        """What the question asks for, as a model's answer is held to it."""
        return Asked.of(self.question, strict=False)

    def sentences(self, text: str) -> SentenceTerms:
        if text not in self._sentences:
            self._sentences[text] = [(s, e, set(tx.terms(text[s:e]))) for s, e in tx.split_sentences(text)]
        return self._sentences[text]

    def spans(self, text: str) -> list[tuple[int, int]]:
        """The text's sentence spans, split once per question (the extractive reader reads them too)."""
        return [(s, e) for s, e, _ in self.sentences(text)]

    def over(self, passages: Sequence[Passage]) -> QuestionTerms:
        """The question's terms over these passages; the same passages (the answer's evidence and its prompt)
        are read once."""
        key = tuple(p.text for p in passages)
        if key not in self._over:
            self._over[key] = QuestionTerms(self, passages)
        return self._over[key]

    def highlights(self, passages: Sequence[Passage], limit: int = HIGHLIGHTS) -> list[Highlight]:
        """The best sentence of each of the first `limit` articles whose passages hold any of the question's terms."""
        terms = self.over(passages)
        out: list[Highlight] = []
        seen: set[str] = set()
        for i, p in enumerate(passages):
            window = None if p.source in seen else terms.best_sentence(i, p.text)
            if window is None:
                continue
            seen.add(p.source)
            out.append(
                Highlight(
                    n=p.n, **p.model_dump(include=INFO_FIELDS), quote=p.text[window.start : window.end],
                    start=p.start + window.start, end=p.start + window.end,
                )
            )
            if len(out) == limit:
                break
        return out


class QuestionTerms:
    """The question's terms with idf counted over these passages' sentences; windows by passage position."""

    def __init__(self, evidence: Evidence | str, passages: Sequence[Passage]):
        evidence = evidence if isinstance(evidence, Evidence) else Evidence(evidence)
        self.terms = evidence.terms
        self.asked = evidence.asked
        self.texts = [p.text for p in passages]
        self.sentences = [evidence.sentences(p.text) for p in passages]
        self._windows: dict[tuple[int, int, bool], Window] = {}
        df: dict[str, int] = {}
        for spans in self.sentences:
            for t in set().union(*(terms for _, _, terms in spans)) if spans else ():
                df[t] = df.get(t, 0) + 1
        n = max(len(passages), 1)
        self.idf = {t: math.log(1 + n / df.get(t, 0.5)) for t in self.terms}
        self.total = sum(self.idf.values())

    def coverage(self, found: set[str]) -> float:
        return sum(self.idf[t] for t in self.terms & found) / self.total if self.total else 0.0

    def best_sentence(self, i: int, text: str) -> Window | None:
        """Passage i's whole sentence (of `text`, its text) holding most of the question; None when none holds any."""
        best = None
        for s, e, found in self.sentences[i]:
            sentence = text[s:e]
            if not sentence.endswith(tx.TERMINAL) or len(sentence.split()) < MIN_QUOTE_WORDS:
                continue
            cov = self.coverage(found)
            if cov > 0 and (best is None or cov > best.coverage):
                best = Window(s, e, cov)
        return best

    def best_window(self, i: int, size: int = WINDOW_SENTENCES, *, answering: bool = False) -> Window:
        """Passage i's window of `size` adjacent sentences holding most of the question; `answering`: of the
        windows that hold a value of the kind it asks for (a quantity, a measure, a date), when it asks for
        one (coverage 0 when none does). Each is found once: the rerankers, the context and the prompt ask again."""
        key = (i, size, answering)
        if key not in self._windows:
            self._windows[key] = self._best_window(i, size, answering)
        return self._windows[key]

    def _best_window(self, i: int, size: int, answering: bool) -> Window:
        spans = self.sentences[i]
        if not spans:
            return Window(0, 0, 0.0)
        typed = answering and (self.asked.number or self.asked.measure or self.asked.time)
        best = Window(spans[0][0], spans[min(size, len(spans)) - 1][1], -1.0 if not typed else 0.0)
        for j in range(max(1, len(spans) - size + 1)):
            part = spans[j : j + size]
            cov = self.coverage(set().union(*(terms for _, _, terms in part)))
            if cov > best.coverage and not (typed and not self.asked.values(self.texts[i][part[0][0] : part[-1][1]])):
                best = Window(part[0][0], part[-1][1], cov)
        return best
