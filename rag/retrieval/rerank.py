"""Second stage: re-score the fused candidates before the top k are chosen.

First-stage rank fusion only knows ranks. The rerankers look at the candidates themselves:

* `terms` — two signals with an equal say (each z-scored over the candidates, no fitted weights):
  the cosine of the question and the chunk's own stored vector, and how much of the question
  (idf-weighted over the candidates, stemmed) one window of two adjacent sentences holds; for a
  question asking for a quantity, a measure or a date, one window that also holds such a value. A
  chunk that merely shares the topic loses to one where the question's terms meet in one place.
* `window` — `terms` plus a third signal: MiniLM's cosine of the question and that best window,
  embedded at query time for the leading candidates (the chunk vector dilutes a one-sentence
  answer with 200 tokens of context; the window does not).
* `none` — rank fusion's order.
* `server` — a cross-encoder (bge-reranker, jina-reranker, Qwen3-Reranker...) served by an engine
  that speaks the `/rerank` API: vLLM, llama.cpp's `llama-server --reranking`, Infinity, Cohere,
  Jina. No cross-encoder ships its weights on PyPI, so none runs in-process; this is the way to one.

Figures for each on the seed dev set and a RealTime QA slice are in the README.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import date

import numpy as np

from rag.core.models import Passage
from rag.core.text import match_text
from rag.index.embeddings import Embedder
from rag.index.store import Store
from rag.retrieval.evidence import Evidence, QuestionTerms

# Rank-fusion constant for prefer_recent: small, so a passage must be both relevant and new to lead.
RECENCY_K = 3
_EPOCH = date(1970, 1, 1)


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-9)


class Reranker(ABC):
    @abstractmethod
    def rerank(self, evidence: Evidence, query_vector: Sequence[float] | None, passages: list[Passage]) -> list[Passage]:
        """The passages best first, each with `rerank_score` set (or unchanged for `none`)."""


class NoReranker(Reranker):
    def rerank(self, evidence, query_vector, passages):
        return passages


class TermWindowReranker(Reranker):
    def __init__(self, store: Store, embedder: Embedder):
        self.store = store
        self.embedder = embedder

    def signals(self, qvec: np.ndarray, passages: list[Passage], terms: QuestionTerms) -> list[np.ndarray]:
        vectors = self.store.vectors([p.chunk_id for p in passages])
        # A chunk the process's vector index does not hold yet (just committed elsewhere) is embedded here.
        missing = [p for p in passages if p.chunk_id not in vectors]
        if missing:
            embedded = self.embedder.get_text_embedding_batch([match_text(p.title, p.text, p.author) for p in missing])
            vectors.update((p.chunk_id, np.asarray(v, dtype=np.float32)) for p, v in zip(missing, embedded))
        cosine = np.array([float(vectors[p.chunk_id] @ qvec) for p in passages])
        coverage = np.array([terms.best_window(i, answering=True).coverage for i in range(len(passages))])
        return [_z(cosine), _z(coverage)]

    def rerank(self, evidence, query_vector, passages):
        if len(passages) < 2:
            return passages
        qvec = np.asarray(
            query_vector if query_vector is not None else self.embedder.get_query_embedding(evidence.question),
            dtype=np.float32,
        )
        score = np.sum(self.signals(qvec, passages, evidence.over(passages)), axis=0)
        order = np.argsort(-score, kind="stable")
        return [passages[i].model_copy(update={"rerank_score": round(float(score[i]), 4)}) for i in order]


class WindowEmbeddingReranker(TermWindowReranker):
    # Windows embedded per query: the cost of this reranker (~3-8 ms each on 2 cores).
    EMBEDDED = 12

    def signals(self, qvec, passages, terms):
        first = super().signals(qvec, passages, terms)
        lead = np.argsort(-np.sum(first, axis=0), kind="stable")[: self.EMBEDDED]
        windows = [terms.best_window(int(i), answering=True) for i in lead]
        texts = [passages[int(i)].text[w.start : w.end] or passages[int(i)].text for i, w in zip(lead, windows)]
        sims = np.asarray(self.embedder.get_text_embedding_batch(texts), dtype=np.float32) @ qvec
        # Candidates outside the lead keep the lowest similarity seen: they cannot overtake on this signal.
        window = np.full(len(passages), float(sims.min()))
        window[lead] = sims
        return [*first, _z(window)]


def prefer_recent(passages: list[Passage], depth: int) -> list[Passage]:
    """For "what is the latest on X?": among the `depth` most relevant passages, newer articles move up.

    Relevance rank and recency rank are fused (reciprocal ranks, a small k so both count); passages
    below `depth` and those of undated articles keep their relevance order behind the dated ones' peers.
    """
    head, tail = passages[:depth], passages[depth:]
    by_date = sorted(range(len(head)), key=lambda i: (head[i].published is None, -(head[i].published or _EPOCH).toordinal()))
    date_rank = {i: r for r, i in enumerate(by_date)}
    # Ties go to the newer passage: the question asked for the latest.
    fused = sorted(range(len(head)), key=lambda i: (-(1 / (RECENCY_K + i) + 1 / (RECENCY_K + date_rank[i])), date_rank[i]))
    return [head[i] for i in fused] + tail
