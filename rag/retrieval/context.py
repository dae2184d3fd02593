"""What the reader gets: the ranked chunks, completed across their edges, within a token budget.

A chunk ends where the splitter ran out of room, not where the news did: the sentence that names
the subject can sit at the end of one chunk and the figure at the start of the next. When a
chunk's best evidence (its window holding most of the question, see `evidence.QuestionTerms`)
touches the chunk's first or last sentence, the reader also gets up to `EDGE_TOKENS` of the
article's sentences across that edge. Passages are added best first until `Settings.context_tokens`
or `top_k` is reached. Each passage stays an exact span of the cleaned article
(`text == article[start:end]`), so citations still quote and highlight exactly.

Measured on a RealTime QA slice, sentence windows alone (~128 tokens each, twice as many passages)
held the answer less often than whole chunks for the same budget, so chunks stay the unit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rag.core import text as tx
from rag.core.models import Passage
from rag.retrieval.evidence import Evidence

# About two sentences of news prose across an edge.
EDGE_TOKENS = 64


class ContextBuilder:
    def __init__(self, article_texts: Callable[[Sequence[str]], dict[str, str]], count_tokens: Callable[[str], list]):
        self.article_texts = article_texts
        self.count = lambda s: len(count_tokens(s))

    def build(self, evidence: Evidence, passages: list[Passage], budget: int, limit: int) -> list[Passage]:
        """At most `limit` passages, best first, their texts together within `budget` tokens (the first always)."""
        if not passages:
            return []
        terms = evidence.over(passages)
        articles = self.article_texts(sorted({p.source for p in passages}))
        sentences: dict[str, list[tuple[int, int]]] = {}
        out: list[Passage] = []
        given: dict[str, list[tuple[int, int]]] = {}
        spent = 0
        for i, p in enumerate(passages):
            article = articles.get(p.source)
            if article is None or article[p.start : p.end] != p.text:
                continue  # the article changed since this chunk was read; its offsets mean nothing now
            if p.source not in sentences:
                sentences[p.source] = tx.split_sentences(article)
            best = terms.best_window(i)
            start, end = self._complete(article, sentences[p.source], p, p.start + best.start, p.start + best.end)
            if any(s <= start and end <= e for s, e in given.get(p.source, [])):
                continue  # already given whole inside another passage
            cost = self.count(article[start:end])
            if out and spent + cost > budget:
                break
            given.setdefault(p.source, []).append((start, end))
            spent += cost
            out.append(p.model_copy(update={"text": article[start:end], "start": start, "end": end}))
            if len(out) >= limit:
                break
        for n, p in enumerate(out, 1):
            p.n = n
        return out

    def _complete(
        self, article: str, spans: list[tuple[int, int]], chunk: Passage, best_start: int, best_end: int
    ) -> tuple[int, int]:
        """The chunk's span, widened across an edge its best evidence touches."""
        inside = [k for k, (s, e) in enumerate(spans) if s < chunk.end and chunk.start < e]
        if not inside:
            return chunk.start, chunk.end
        first, last = inside[0], inside[-1]
        start, end = chunk.start, chunk.end
        if best_start < spans[first][1]:  # the evidence opens the chunk: read what comes before
            start = self._extend(article, spans, first, -1, start)
        if best_end > spans[last][0]:  # the evidence closes the chunk: read what follows
            end = self._extend(article, spans, last, 1, end)
        return start, end

    def _extend(self, article: str, spans: list[tuple[int, int]], k: int, step: int, edge: int) -> int:
        size = 0
        while 0 <= k + step < len(spans):
            k += step
            s, e = spans[k]
            size += self.count(article[s:e])
            if size > EDGE_TOKENS:
                break
            edge = min(edge, s) if step < 0 else max(edge, e)
        return edge
