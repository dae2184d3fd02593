"""Second stage: re-score the fused candidates before the top k are chosen.

First-stage rank fusion only knows ranks. The rerankers look at the candidates themselves:

* `terms` — two signals with an equal say (each z-scored over the candidates, no fitted weights):
  the cosine of the question and the chunk's own stored vector, and how much of the question
  (idf-weighted over the candidates, stemmed) one window of two adjacent sentences holds. A
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
import openai
from llama_index.core.embeddings import BaseEmbedding

from rag.core import text as tx
from rag.core.config import RerankSettings, Settings
from rag.core.errors import ConfigError, RerankerError
from rag.answering.llm import error_detail, scrub
from rag.core.models import Passage
from rag.retrieval.evidence import QuestionTerms
from rag.index.store import Store

# Rank-fusion constant for prefer_recent: small, so a passage must be both relevant and new to lead.
RECENCY_K = 3
_EPOCH = date(1970, 1, 1)


def _z(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-9)


class Reranker(ABC):
    @abstractmethod
    def rerank(self, question: str, query_vector: Sequence[float] | None, passages: list[Passage]) -> list[Passage]:
        """The passages best first, each with `rerank_score` set (or unchanged for `none`)."""


class NoReranker(Reranker):
    def rerank(self, question, query_vector, passages):
        return passages


class TermWindowReranker(Reranker):
    def __init__(self, store: Store, embedder: BaseEmbedding):
        self.store = store
        self.embedder = embedder

    def signals(self, question: str, qvec: np.ndarray, passages: list[Passage], terms: QuestionTerms) -> list[np.ndarray]:
        vectors = self.store.vectors([p.chunk_id for p in passages])
        cosine = np.array([float(vectors[p.chunk_id] @ qvec) if p.chunk_id in vectors else 0.0 for p in passages])
        coverage = np.array([terms.best_window(i).coverage for i in range(len(passages))])
        return [_z(cosine), _z(coverage)]

    def rerank(self, question, query_vector, passages):
        if len(passages) < 2:
            return passages
        qvec = np.asarray(
            query_vector if query_vector is not None else self.embedder.get_query_embedding(question), dtype=np.float32
        )
        terms = QuestionTerms(question, passages)
        score = np.sum(self.signals(question, qvec, passages, terms), axis=0)
        order = np.argsort(-score, kind="stable")
        return [passages[i].model_copy(update={"rerank_score": round(float(score[i]), 4)}) for i in order]


class WindowEmbeddingReranker(TermWindowReranker):
    # Windows embedded per query: the cost of this reranker (~3-8 ms each on 2 cores).
    EMBEDDED = 12

    def signals(self, question, qvec, passages, terms):
        first = super().signals(question, qvec, passages, terms)
        lead = np.argsort(-np.sum(first, axis=0), kind="stable")[: self.EMBEDDED]
        windows = [terms.best_window(int(i)) for i in lead]
        texts = [passages[int(i)].text[w.start : w.end] or passages[int(i)].text for i, w in zip(lead, windows)]
        sims = np.asarray(self.embedder.get_text_embedding_batch(texts), dtype=np.float32) @ qvec
        # Candidates outside the lead keep the lowest similarity seen: they cannot overtake on this signal.
        window = np.full(len(passages), float(sims.min()))
        window[lead] = sims
        return [*first, _z(window)]


class ServerReranker(Reranker):
    """Scores every candidate with a cross-encoder behind `{url}/rerank` and orders them by its score.

    The request is the common form (Cohere's, which vLLM, llama.cpp's server, Infinity and Jina
    accept): `{"model", "query", "documents", "top_n"}` answered by `{"results": [{"index",
    "relevance_score"}]}`. Each document is the chunk headed by its title and byline, as it is matched
    in the first stage. The openai client does the HTTP: timeouts, retries with backoff, the key.
    """

    def __init__(self, settings: RerankSettings):
        if not settings.url:
            raise ConfigError(
                "RAG_RERANKER=server needs RAG_RERANK_URL: the /v1 base URL of a reranking server "
                "(e.g. vLLM serving BAAI/bge-reranker-v2-m3, or llama.cpp's llama-server --reranking)."
            )
        self.url = settings.url.rstrip("/")
        self.settings = settings
        self._key = settings.api_key.get_secret_value() if settings.api_key else ""
        self._client = openai.OpenAI(
            api_key=self._key or "not-needed",  # local servers ignore it; the client insists on one
            base_url=self.url,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
        )

    def rerank(self, question, query_vector, passages):
        if len(passages) < 2:
            return passages
        body = {
            "model": self.settings.model,
            "query": question,
            "documents": [tx.match_text(p.title, p.text, p.author) for p in passages],
            "top_n": len(passages),
        }
        try:
            reply = self._client.post("/rerank", body=body, cast_to=object)
        except openai.APIError as err:
            raise self._error(err) from err
        scores = self._scores(reply, len(passages))
        # Candidates the server left unscored keep their first-stage order, after the scored ones.
        order = sorted(range(len(passages)), key=lambda i: (i not in scores, -scores.get(i, 0.0), i))
        return [
            passages[i].model_copy(update={"rerank_score": round(scores[i], 4)}) if i in scores else passages[i]
            for i in order
        ]

    def _scores(self, reply: object, n: int) -> dict[int, float]:
        results = reply.get("results") if isinstance(reply, dict) else None
        scores: dict[int, float] = {}
        for item in results if isinstance(results, list) else ():
            index = item.get("index") if isinstance(item, dict) else None
            score = item.get("relevance_score") if isinstance(item, dict) else None
            if isinstance(index, int) and 0 <= index < n and isinstance(score, (int, float)):
                scores[index] = float(score)
        if not scores:
            raise RerankerError(
                f"the reranking server at {self.url} answered /rerank without results "
                "({'results': [{'index', 'relevance_score'}]}); is RAG_RERANK_URL a reranking server?"
            )
        return scores

    def _error(self, err: openai.APIError) -> RerankerError:
        url = self.url
        if isinstance(err, openai.APITimeoutError):
            return RerankerError(
                f"no reply from the reranking server at {url} within {self.settings.timeout:g} s; "
                "raise RAG_RERANK_TIMEOUT, or set RAG_RERANKER=window to rerank without it."
            )
        if isinstance(err, openai.APIConnectionError):
            return RerankerError(
                f"could not reach the reranking server at {url}; is it running? "
                "(RAG_RERANK_URL; RAG_RERANKER=window reranks without it)"
            )
        if not isinstance(err, openai.APIStatusError):
            return RerankerError(f"the reranking server at {url} sent a reply that could not be read ({type(err).__name__}).")
        status = err.status_code
        if status in (401, 403):
            return RerankerError(f"the reranking server at {url} rejected the key (HTTP {status}); check RAG_RERANK_API_KEY.")
        if status == 404:
            return RerankerError(
                f"{url}/rerank was not found (HTTP 404): start the server as a reranker (vLLM with a reranking "
                f"model, llama-server --reranking) and check RAG_RERANK_MODEL ({self.settings.model}) and that "
                "RAG_RERANK_URL ends in the server's /v1 path."
            )
        return RerankerError(f"the reranking server at {url} failed (HTTP {status}): {scrub(error_detail(err), self._key)[:300]}")


def build_reranker(settings: Settings, store: Store, embedder: BaseEmbedding) -> Reranker:
    match settings.reranker:
        case "none":
            return NoReranker()
        case "terms":
            return TermWindowReranker(store, embedder)
        case "window":
            return WindowEmbeddingReranker(store, embedder)
        case "server":
            return ServerReranker(settings.rerank)
    raise ValueError(settings.reranker)


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
