"""Hybrid retrieval: dense (Chroma) + BM25 (bm25s), fused by reciprocal rank.

The BM25 index is built once per corpus version (see `Store.version`),
kept in memory and on disk under the data dir, and never rebuilt per query.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from rag.core.config import MODES, Settings
from rag.core.errors import EmptyIndexError, InvalidQuestionError
from rag.core.models import Passage, SearchResult, article_info
from rag.core.text import bm25_tokenize, match_text
from rag.index.embeddings import Embedder
from rag.index.store import Store
from rag.retrieval.context import ContextBuilder
from rag.retrieval.evidence import Evidence
from rag.retrieval.rerank import NoReranker, Reranker, TermWindowReranker, WindowEmbeddingReranker
from rag.retrieval.rerank import prefer_recent as recency

log = logging.getLogger(__name__)

RRF_K = 60
# Bump when tokenisation changes, so cached BM25 indexes of the old scheme are not reused.
BM25_SCHEME = "v3"


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


class BM25Index:
    """bm25s over the committed chunks of one corpus version."""

    def __init__(self, version: str, retriever, ids: list[str], metas: list[dict], texts: list[str]):
        self.version = version
        self.retriever = retriever
        self.ids = ids
        self.metas = metas
        self.texts = texts
        self._sources = np.array([m["source"] for m in metas], dtype=object)

    @classmethod
    def build(cls, store: Store, snapshot: tuple[str, dict[str, str]]) -> BM25Index:
        import bm25s

        version, committed = snapshot
        ids, metas, texts = [], [], []
        for i, text, meta in store.iter_committed_chunks(committed):
            ids.append(i)
            metas.append(meta)
            texts.append(text)
        retriever = bm25s.BM25()
        if texts:
            indexed = [match_text(m["title"], t, m.get("author")) for m, t in zip(metas, texts)]
            retriever.index(bm25_tokenize(indexed), show_progress=False)
        return cls(version, retriever, ids, metas, texts)

    def save(self, folder: Path) -> None:
        """Writes the cache beside `folder` and renames it into place, so no reader sees half of it.

        Several retrievers (threads, processes) may build the same version at once; the first
        rename wins and the others drop their copy. The cache is an optimisation: failing to
        write it never fails a search.
        """
        tmp = folder.with_name(f"{folder.name}.tmp-{uuid.uuid4().hex[:8]}")
        try:
            tmp.mkdir(parents=True)
            if self.ids:
                self.retriever.save(str(tmp), show_progress=False)
            (tmp / "chunks.json").write_text(json.dumps({"ids": self.ids, "metas": self.metas, "texts": self.texts}))
            tmp.rename(folder)
        except OSError as exc:
            log.debug("BM25 cache not written to %s: %s", folder, exc)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, version: str) -> BM25Index:
        import bm25s

        data = json.loads((folder / "chunks.json").read_text())
        retriever = bm25s.BM25.load(str(folder), show_progress=False) if data["ids"] else bm25s.BM25()
        return cls(version, retriever, data["ids"], data["metas"], data["texts"])

    def search(self, query_tokens: list[str], n: int, sources: Sequence[str] | None) -> list[tuple[int, float]]:
        if not self.ids or not query_tokens:
            return []
        mask = None
        if sources:
            mask = np.isin(self._sources, list(sources)).astype(np.float32)
            if not mask.any():
                return []
        k = min(n, len(self.ids))
        try:
            docs, scores = self.retriever.retrieve(
                [query_tokens], k=k, show_progress=False, weight_mask=mask, n_threads=0
            )
        except (ValueError, KeyError):
            return []  # no query term is in the vocabulary
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]


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
        self._bm25: BM25Index | None = None
        self._lock = threading.Lock()

    def bm25(self, snapshot: tuple[str, dict[str, str]] | None = None) -> BM25Index:
        """The BM25 index of the corpus version `snapshot` (default: the current one)."""
        snapshot = snapshot or self.store.committed()
        version = snapshot[0]
        current = self._bm25
        if current is not None and current.version == version:
            return current
        with self._lock:
            if self._bm25 is not None and self._bm25.version == version:
                return self._bm25
            home = self.settings.cache_dir / "bm25" / self.settings.collection
            folder = home / f"{BM25_SCHEME}-{version or 'empty'}"
            try:
                index = BM25Index.load(folder, version)
            except (OSError, ValueError, KeyError):
                index = BM25Index.build(self.store, snapshot)
                # Keep (and cache) only a complete index: no commit landed during the build, and it
                # holds every chunk the registry says the committed articles have.
                expected = self.store.committed_chunk_count(version)
                if version != self.store.version() or (expected is not None and len(index.ids) != expected):
                    return index
                if version:
                    # Older versions' caches; another builder's ".tmp-" folder is left to it.
                    for old in home.glob("*"):
                        if ".tmp-" not in old.name and old.name != folder.name:
                            shutil.rmtree(old, ignore_errors=True)
                    index.save(folder)
            self._bm25 = index
            return index

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

        vector = self.embedder.get_query_embedding(question) if mode in ("hybrid", "dense") else None
        # Both retrievers read one snapshot of the corpus; if an ingest commits meanwhile, read again,
        # so a result never mixes two versions of an article.
        for _ in range(5):
            snapshot = self.store.committed()
            dense_hits = self.store.dense(vector, n, sources, snapshot[1], total) if vector is not None else []
            bm25_hits: list[tuple[int, float]] = []
            index = None
            if mode in ("hybrid", "bm25"):
                index = self.bm25(snapshot)
                bm25_hits = index.search(bm25_tokenize([question])[0], n, sources)
            if self.store.version() == snapshot[0]:
                break

        fused: dict[str, dict] = {}
        for rank, hit in enumerate(dense_hits):
            entry = fused.setdefault(hit["id"], {"text": hit["text"], "meta": hit["meta"], "score": 0.0})
            entry["score"] += 1.0 / (RRF_K + rank + 1)
            entry["dense"] = hit["similarity"]
        for rank, (doc, score) in enumerate(bm25_hits):
            cid = index.ids[doc]
            entry = fused.setdefault(cid, {"text": index.texts[doc], "meta": index.metas[doc], "score": 0.0})
            entry["score"] += 1.0 / (RRF_K + rank + 1)
            entry["bm25"] = score

        reranking = not isinstance(self.reranker, NoReranker)
        budget = self.settings.context_tokens
        # The context builder skips passages another one already holds, so it reads past top_k.
        pool = max(self.settings.rerank_candidates, top_k) if reranking or budget else top_k
        ranked = sorted(fused.items(), key=lambda kv: kv[1]["score"], reverse=True)[:pool]
        passages = [
            Passage(
                chunk_id=cid,
                **article_info(e["meta"]),
                text=e["text"],
                start=int(e["meta"]["start"]),
                end=int(e["meta"]["end"]),
                score=round(e["score"], 6),
                dense_score=e.get("dense"),
                bm25_score=e.get("bm25"),
            )
            for cid, e in ranked
        ]
        passages = self.reranker.rerank(evidence, vector, passages)
        if evidence.wants_latest:
            passages = recency(passages, 2 * top_k)
        if budget:
            passages = self.context.build(evidence, passages, budget, top_k)
        else:
            passages = passages[:top_k]
            for i, p in enumerate(passages, 1):
                p.n = i
        return SearchResult.of(question, passages, evidence, started)
