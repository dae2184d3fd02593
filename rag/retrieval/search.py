"""Hybrid retrieval: dense (Chroma) + BM25 (the on-disk keyword index, `rag.index.keyword`), fused by
reciprocal rank, then the second stage and the reader's context."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from rag.core import tracing
from rag.core.config import MODES, Settings
from rag.core.errors import EmptyIndexError, IndexBusyError, InvalidQuestionError
from rag.core.models import Passage, SearchResult, article_info
from rag.core.text import bm25_tokenize
from rag.index.embeddings import Embedder
from rag.index.keyword_sync import sync_keywords
from rag.index.store import Store
from rag.retrieval.context import ContextBuilder
from rag.retrieval.copies import collapse_copies
from rag.retrieval.evidence import Evidence
from rag.retrieval.rerank import NoReranker, Reranker, TermWindowReranker, WindowEmbeddingReranker
from rag.retrieval.rerank import prefer_recent as recency

log = logging.getLogger(__name__)

RRF_K = 60


def build_reranker(settings: Settings, store: Store, embedder: Embedder) -> Reranker:
    """The second stage the settings choose (`RAG_RERANKER`)."""
    match settings.reranker:
        case "none":
            return NoReranker()
        case "terms":
            return TermWindowReranker(store, embedder)
        case "window":
            return WindowEmbeddingReranker(store, embedder)
        case "server":
            from rag.retrieval.rerank_server import ServerReranker

            return ServerReranker(settings.rerank)
    raise ValueError(settings.reranker)


class Retriever:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        embedder: Embedder,
        count_tokens: Callable[[str], list],
        reranker: Reranker | None = None,
    ):
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.reranker = reranker or build_reranker(settings, store, embedder)
        self.context = ContextBuilder(store.article_texts, count_tokens)

    def keyword_hits(self, question: str, n: int, sources: Sequence[str] | None, snapshot: tuple[str, dict[str, str]]):
        """BM25 hits of the snapshot's committed chunks; builds what the keyword index lacks first
        (an index from before it existed, another host's commits to a Chroma server)."""
        keywords = self.store.keywords
        if keywords.missing(*snapshot):
            try:
                sync_keywords(self.store, progress=False)
            except IndexBusyError as exc:
                # Dense retrieval still finds those articles; the next question tries again.
                log.warning("keyword index not brought up to date: %s", exc)
        return keywords.search(bm25_tokenize([question])[0], n, sources, snapshot[1])

    def search(
        self,
        question: str,
        top_k: int | None = None,
        sources: Sequence[str] | None = None,
        mode: str | None = None,
        evidence: Evidence | None = None,
    ) -> SearchResult:
        """The passages for `question`; `sources` limits the articles searched (an empty list: none).
        A question about the latest news moves newer relevant articles up (see `rerank.prefer_recent`).
        The result carries the question's `Evidence`, for the answerer to read on."""
        started = time.perf_counter()
        evidence = evidence or Evidence(question)
        top_k = top_k or self.settings.top_k
        mode = mode or self.settings.retrieval_mode
        if mode not in MODES:
            raise InvalidQuestionError(f"Unknown retrieval mode '{mode}'; choose one of {', '.join(MODES)}.")
        n = max(self.settings.candidates, top_k)
        total = self.store.chunk_count()
        if not total:
            raise EmptyIndexError(self.store.where)
        if sources is not None and not sources:
            return SearchResult.of(question, [], evidence, started)

        with tracing.span("retrieve", mode=mode, top_k=top_k, scoped=sources is not None) as current:
            with tracing.span("embed_query"):
                vector = self.embedder.get_query_embedding(question) if mode in ("hybrid", "dense") else None
            fused = self._fused(question, vector, mode, n, sources, total)

            reranking = not isinstance(self.reranker, NoReranker)
            budget = self.settings.context_tokens
            # The context builder skips passages another one already holds, so it reads past top_k.
            pool = max(self.settings.rerank_candidates, top_k) if reranking or budget else top_k
            ranked = sorted(fused.items(), key=lambda kv: kv[1]["score"], reverse=True)[:pool]
            passages = [_passage(cid, e) for cid, e in ranked]
            with tracing.span("rerank", reranker=type(self.reranker).__name__, candidates=len(passages)):
                passages = collapse_copies(evidence, self.reranker.rerank(evidence, vector, passages), self.store.article_texts)
            if evidence.wants_latest:
                passages = recency(passages, 2 * top_k)
            with tracing.span("context", budget_tokens=budget):
                if budget:
                    passages = self.context.build(evidence, passages, budget, top_k)
                else:
                    passages = passages[:top_k]
                    for i, p in enumerate(passages, 1):
                        p.n = i
            current.set_attribute("passages", len(passages))
        return SearchResult.of(question, passages, evidence, started)

    def _fused(
        self, question: str, vector, mode: str, n: int, sources: Sequence[str] | None, total: int
    ) -> dict[str, dict]:
        """The first stage: dense and BM25 hits fused by reciprocal rank, by chunk id."""
        # Both retrievers read one snapshot of the corpus; if an ingest commits meanwhile, read again,
        # so a result never mixes two versions of an article.
        for _ in range(5):
            snapshot = self.store.committed()
            with tracing.span("dense", candidates=n):
                dense_hits = self.store.dense(vector, n, sources, snapshot[1], total) if vector is not None else []
            with tracing.span("keyword", candidates=n):
                bm25_hits = self.keyword_hits(question, n, sources, snapshot) if mode in ("hybrid", "bm25") else []
            if self.store.version() == snapshot[0]:
                break

        with tracing.span("fuse", dense=len(dense_hits), keyword=len(bm25_hits)):
            return _fuse(dense_hits, bm25_hits)


def _fuse(dense_hits: list[dict], bm25_hits: list) -> dict[str, dict]:
    """Reciprocal-rank fusion, by chunk id."""
    fused: dict[str, dict] = {}
    for rank, hit in enumerate(dense_hits):
        entry = fused.setdefault(hit["id"], {"text": hit["text"], "meta": hit["meta"], "score": 0.0})
        entry["score"] += 1.0 / (RRF_K + rank + 1)
        entry["dense"] = hit["similarity"]
    for rank, hit in enumerate(bm25_hits):
        entry = fused.setdefault(hit.chunk_id, {"text": hit.text, "meta": hit.meta, "score": 0.0})
        entry["score"] += 1.0 / (RRF_K + rank + 1)
        entry["bm25"] = hit.score
    return fused


def _passage(cid: str, e: dict) -> Passage:
    return Passage(
        chunk_id=cid,
        **article_info(e["meta"]),
        text=e["text"],
        start=int(e["meta"]["start"]),
        end=int(e["meta"]["end"]),
        score=round(e["score"], 6),
        dense_score=e.get("dense"),
        bm25_score=e.get("bm25"),
    )
