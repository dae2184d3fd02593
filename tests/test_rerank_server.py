"""`RAG_RERANKER=server`: a cross-encoder behind the /rerank API (vLLM, llama.cpp's server, Infinity,
Cohere), spoken over real HTTP on loopback to the scriptable test server; real Chroma, real embedder."""

from __future__ import annotations

import pytest

from rag import Assistant
from rag.core.errors import ConfigError, RerankerError
from tests.test_cli import rag
from tests.test_rerank_context import DISTRACTOR, QUESTION, TARGET


def answers_the_question(request: dict) -> list[float]:
    """What a cross-encoder does for QUESTION: the document that says who was bought scores high."""
    return [0.97 if "agreed to buy" in d else 0.02 for d in request["documents"]]


@pytest.fixture
def mining(make_settings, embedder, tmp_path):
    """Two articles where dense and BM25 both rank the distractor first (see test_rerank_context)."""
    folder = tmp_path / "mining"
    folder.mkdir()
    (folder / "profile.txt").write_text(DISTRACTOR)
    (folder / "roundup.txt").write_text(TARGET)
    plain = Assistant(make_settings(context_tokens=0, top_k=2, reranker="none"), embedder=embedder)
    assert not plain.ingest([folder]).failed
    assert plain.search(QUESTION).passages[0].source.endswith("profile.txt")
    return plain


def served(plain: Assistant, url: str, **rerank) -> Assistant:
    settings = plain.settings.model_copy(update={"reranker": "server"})
    settings.rerank = settings.rerank.model_copy(update={"url": url, "max_retries": 0, **rerank})
    return Assistant(settings, embedder=plain.embedder, store=plain.store)


def test_the_servers_scores_order_the_passages(mining, openai_server):
    openai_server.rerank = answers_the_question
    top = served(mining, openai_server.url, model="bge-reranker-test").search(QUESTION).passages[0]
    assert top.source.endswith("roundup.txt") and "Karsk Metals" in top.text
    assert top.rerank_score == 0.97
    sent = [r for r in openai_server.requests if r.path == "/v1/rerank"][-1].body
    assert sent["model"] == "bge-reranker-test" and sent["query"] == QUESTION
    # Every fused candidate is scored, each headed by its article's title as it is matched.
    assert sent["top_n"] == len(sent["documents"]) >= 2
    assert any(d.startswith("Weekend round-up\n") and "Karsk Metals" in d for d in sent["documents"])


def test_candidates_the_server_leaves_out_keep_their_order_after_the_scored(mining, openai_server):
    def top_one(request: dict) -> list[float]:
        request["top_n"] = 1  # a server that returns its best document only, whatever top_n asked
        return answers_the_question(request)

    openai_server.rerank = top_one
    passages = served(mining, openai_server.url).search(QUESTION).passages
    assert passages[0].source.endswith("roundup.txt") and passages[0].rerank_score == 0.97
    assert len(passages) == 2 and passages[1].rerank_score is None


def test_a_transient_failure_is_retried(mining, openai_server):
    openai_server.rerank = answers_the_question
    openai_server.fail(503, times=1)
    top = served(mining, openai_server.url, max_retries=1).search(QUESTION).passages[0]
    assert top.source.endswith("roundup.txt")
    assert len([r for r in openai_server.requests if r.path == "/v1/rerank"]) == 2


def test_server_down_is_named(mining, dead_server_url):
    with pytest.raises(RerankerError, match="could not reach the reranking server at " + dead_server_url):
        served(mining, dead_server_url).search(QUESTION)


def test_a_server_without_the_rerank_route_says_how_to_start_one(mining, openai_server):
    openai_server.rerank = None  # a chat-only server: /v1/rerank is 404
    with pytest.raises(RerankerError, match=r"/rerank was not found \(HTTP 404\).*--reranking"):
        served(mining, openai_server.url).search(QUESTION)


def test_a_failing_server_reports_its_own_message(mining, openai_server):
    openai_server.rerank = answers_the_question
    openai_server.fail(500, message="CUDA out of memory", times=None)
    with pytest.raises(RerankerError, match=r"failed \(HTTP 500\): CUDA out of memory"):
        served(mining, openai_server.url).search(QUESTION)


def test_a_reply_without_scores_is_an_error_not_an_order(mining, openai_server):
    openai_server.rerank = lambda request: []
    with pytest.raises(RerankerError, match="without results"):
        served(mining, openai_server.url).search(QUESTION)


def test_server_reranker_needs_a_url(make_settings, embedder):
    with pytest.raises(ConfigError, match="RAG_RERANK_URL"):
        Assistant(make_settings(reranker="server"), embedder=embedder)


def test_cli_answers_through_the_reranking_server(openai_server, dead_server_url, tmp_path):
    folder, data = tmp_path / "mining", tmp_path / "data"
    folder.mkdir()
    (folder / "profile.txt").write_text(DISTRACTOR)
    (folder / "roundup.txt").write_text(TARGET)
    assert rag("ingest", str(folder), data_dir=data).returncode == 0
    openai_server.rerank = answers_the_question
    env = {"RAG_RERANKER": "server", "RAG_RERANK_URL": openai_server.url, "RAG_TOP_K": "1", "RAG_CONTEXT_TOKENS": "0"}
    done = rag("ask", QUESTION, data_dir=data, env=env)
    assert done.returncode == 0, done.stderr
    assert "Karsk Metals" in done.stdout
    assert any(r.path == "/v1/rerank" for r in openai_server.requests)
    dead = {**env, "RAG_RERANK_URL": dead_server_url, "RAG_RERANK_MAX_RETRIES": "0"}
    down = rag("ask", QUESTION, data_dir=data, env=dead)
    assert down.returncode == 1
    assert f"could not reach the reranking server at {dead_server_url}" in down.stderr and "Traceback" not in down.stderr
