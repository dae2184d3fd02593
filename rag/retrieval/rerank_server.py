"""A cross-encoder served by an existing engine (vLLM, llama.cpp's server, Infinity, Cohere) over `/rerank`."""

from __future__ import annotations

import openai

from rag.core import remote
from rag.core import text as tx
from rag.core.config import RerankSettings
from rag.core.errors import RerankerError
from rag.retrieval.rerank import Reranker


class ServerReranker(Reranker):
    """Scores every candidate with a cross-encoder behind `{url}/rerank` and orders them by its score.

    The request is the common form (Cohere's, which vLLM, llama.cpp's server, Infinity and Jina
    accept): `{"model", "query", "documents", "top_n"}` answered by `{"results": [{"index",
    "relevance_score"}]}`. Each document is the chunk headed by its title and byline, as it is matched
    in the first stage. The openai client does the HTTP (timeouts, the key), `remote.retrying` the retries.
    """

    def __init__(self, settings: RerankSettings):
        self.url = settings.server_url()
        self.settings = settings
        self._key = settings.api_key.get_secret_value() if settings.api_key else ""
        self._client = remote.client(self.url, self._key, settings.timeout)

    def rerank(self, evidence, query_vector, passages):
        if len(passages) < 2:
            return passages
        body = {
            "model": self.settings.model,
            "query": evidence.question,
            "documents": [tx.match_text(p.title, p.text, p.author) for p in passages],
            "top_n": len(passages),
        }
        reply = remote.retrying(
            lambda: self._client.post("/rerank", body=body, cast_to=object),
            self.settings.max_retries,
            lambda err, _attempts: self._error(err),
            what="rerank request",
        )
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
        return RerankerError(f"the reranking server at {url} failed (HTTP {status}): {remote.scrub(remote.error_detail(err), self._key)[:300]}")
