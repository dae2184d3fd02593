"""The HTTP API served for real by uvicorn on loopback, called with httpx and the openai client."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
import uvicorn

from rag import Assistant
from rag.api import create_app
from rag.core.config import LLMSettings, Settings
from tests.conftest import DEV_SET, SEEDS, free_port

DEV = [json.loads(line) for line in DEV_SET.read_text().splitlines() if line.strip()]
ASK_KEYS = {"question", "answer", "abstained", "reason", "citations", "passages", "provider", "timings"}
LAYOFFS = "How many workers did Meta lay off from its AI teams?"


class Server:
    """uvicorn.Server in a background thread; `stop` sets should_exit."""

    def __init__(self, app):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)


def settings(data_dir, **overrides) -> Settings:
    return Settings(data_dir=data_dir, llm=LLMSettings(provider="extractive"), **overrides)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, embedder):
    path = tmp_path_factory.mktemp("api") / "data"
    report = Assistant(settings(path), embedder=embedder).ingest([SEEDS])
    assert report.count("added") == 5 and not report.failed
    return path


@pytest.fixture(scope="module")
def assistant(data_dir, embedder):
    return Assistant(settings(data_dir), embedder=embedder)


@pytest.fixture(scope="module")
def server(assistant):
    with Server(create_app(assistant)) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=120) as c:
        yield c


def assert_error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["message"] and body["error"]["type"]
    assert "Traceback" not in response.text
    return body["error"]


def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "articles": 5, "chunks": r.json()["chunks"], "provider": "extractive"}
    assert r.json()["chunks"] > 5


def test_ask_returns_the_rag_ask_json_shape(client, assistant):
    r = client.post("/api/ask", json={"question": LAYOFFS})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == ASK_KEYS == set(assistant.ask(LAYOFFS).public())
    assert body["question"] == LAYOFFS and body["provider"] == "extractive"
    assert not body["abstained"] and "600" in body["answer"]
    assert body["citations"] and {
        "n", "source", "title", "author", "published", "url", "site", "story", "also_reported_by", "start", "end", "quote"
    } == set(body["citations"][0])
    assert body["citations"][0]["source"] == "seeds/000_c3e6291cb7289f16.txt"


def test_ask_with_sources_top_k_and_history(client):
    history = [{"role": "user", "content": "Who is Alexandr Wang?"}, {"role": "assistant", "content": "The CEO of Scale AI."}]
    r = client.post(
        "/api/ask",
        json={"question": LAYOFFS, "history": history, "sources": ["000_c3e6291cb7289f16.txt"], "top_k": 2},
    )
    assert r.status_code == 200, r.text
    passages = r.json()["passages"]
    assert 1 <= len(passages) <= 2 and {p["source"] for p in passages} == {"seeds/000_c3e6291cb7289f16.txt"}


def test_unanswerable_question_abstains(client):
    body = client.post("/api/ask", json={"question": "What is the release date of the Avocado model?"}).json()
    assert body["abstained"] and body["citations"] == []


def test_search(client):
    r = client.post("/api/search", json={"question": LAYOFFS, "top_k": 3, "mode": "bm25"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["question"] == LAYOFFS and [p["n"] for p in body["passages"]] == [1, 2, 3]
    assert set(body["passages"][0]) == {
        "n", "source", "title", "author", "published", "url", "site", "story", "also_reported_by", "text", "score", "start", "end"
    }


def test_publication_date_range(client):
    # Only seed 001 states a date ("Dec 12" under its byline, its year from the file's time).
    r = client.post("/api/search", json={"question": LAYOFFS, "since": "2000-01-01"})
    assert r.status_code == 200, r.text
    found = {p["source"] for p in r.json()["passages"]}
    assert found == {"seeds/001_8c60345e6fa449dd.txt"}
    assert all(p["published"].endswith("-12-12") for p in r.json()["passages"])
    r = client.post("/api/ask", json={"question": LAYOFFS, "until": "2000-01-01"})
    assert r.status_code == 200 and r.json()["abstained"] and "on or before 2000-01-01" in r.json()["reason"]
    assert_error(client.post("/api/search", json={"question": LAYOFFS, "since": "last week"}), 422)


def test_sources(client):
    r = client.get("/api/sources")
    assert r.status_code == 200
    articles = r.json()
    assert sorted(a["source"] for a in articles) == sorted(f"seeds/{p.name}" for p in SEEDS.iterdir())
    assert all(a["chunks"] > 0 and a["title"] for a in articles)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"question": 42},
        {"question": "x?", "top_k": 0},
        {"question": "x?", "mode": "fuzzy"},
        {"question": "x?", "surprise": True},
    ],
)
def test_bad_request_is_422_json(client, payload):
    error = assert_error(client.post("/api/ask", json=payload), 422)
    assert error["type"] == "invalid_request_error"


def test_malformed_json_body(client):
    assert_error(client.post("/api/ask", content=b"{not json", headers={"Content-Type": "application/json"}), 422)


def test_empty_question_is_400_with_message(client):
    error = assert_error(client.post("/api/ask", json={"question": "   "}), 400)
    assert "empty" in error["message"].lower()
    assert_error(client.post("/api/search", json={"question": ""}), 400)
    assert_error(client.post("/v1/chat/completions", json={"model": "newsdesk", "messages": [{"role": "user", "content": ""}]}), 400)
    assert_error(client.post("/v1/chat/completions", json={"model": "newsdesk", "messages": [{"role": "system", "content": "hi"}]}), 400)


def test_unknown_route_is_json_404(client):
    assert_error(client.get("/api/nope"), 404)


def test_empty_index_is_409(tmp_path, embedder):
    empty = Assistant(settings(tmp_path / "empty"), embedder=embedder)
    with Server(create_app(empty)) as srv:
        r = httpx.post(f"{srv.url}/api/ask", json={"question": LAYOFFS}, timeout=60)
        error = assert_error(r, 409)
        assert "rag ingest" in error["message"]
        assert httpx.get(f"{srv.url}/health").json()["articles"] == 0


def test_openai_client_non_streaming(server):
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list()] == ["newsdesk"]
    completion = client.chat.completions.create(
        model="newsdesk",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": LAYOFFS}],
    )
    content = completion.choices[0].message.content
    assert "600" in content and "[1]" in content
    extra = completion.model_extra
    assert extra["citations"] and extra["citations"][0]["source"] == "seeds/000_c3e6291cb7289f16.txt"
    assert extra["newsdesk"]["answer"] == content and set(extra["newsdesk"]) == ASK_KEYS


def test_openai_client_streaming(server):
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    stream = client.chat.completions.create(model="newsdesk", messages=[{"role": "user", "content": LAYOFFS}], stream=True)
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    final = chunks[-1]
    assert final.choices[0].finish_reason == "stop"
    answer = final.model_extra["newsdesk"]
    assert answer["answer"] in content and "600" in content
    assert final.model_extra["citations"] == answer["citations"] and answer["citations"]


def test_streaming_wire_format_ends_with_done(client):
    payload = {"model": "newsdesk", "stream": True, "messages": [{"role": "user", "content": "What is the release date of the Avocado model?"}]}
    with client.stream("POST", "/v1/chat/completions", json=payload) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [line[len("data: "):] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    last = json.loads(events[-2])
    assert last["newsdesk"]["abstained"] and last["citations"] == []
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content") or "" for e in events[:-1])
    assert last["newsdesk"]["answer"] in text


def test_chat_history_is_used_for_follow_ups(client):
    messages = [
        {"role": "user", "content": "Tell me about Meta's AI teams."},
        {"role": "assistant", "content": "Meta restructured them."},
        {"role": "user", "content": [{"type": "text", "text": LAYOFFS}]},
    ]
    body = client.post("/v1/chat/completions", json={"model": "anything", "messages": messages}).json()
    assert body["object"] == "chat.completion" and body["model"] == "newsdesk"
    assert body["newsdesk"]["question"] == LAYOFFS


def test_api_key_required_when_configured(data_dir, embedder):
    keyed = Assistant(settings(data_dir, api_key="s3cret"), embedder=embedder)
    with Server(create_app(keyed)) as srv, httpx.Client(base_url=srv.url, timeout=120) as c:
        for method, path, body in [
            ("POST", "/api/ask", {"question": LAYOFFS}),
            ("POST", "/api/search", {"question": LAYOFFS}),
            ("GET", "/api/sources", None),
            ("GET", "/v1/models", None),
            ("POST", "/v1/chat/completions", {"model": "newsdesk", "messages": [{"role": "user", "content": LAYOFFS}]}),
        ]:
            error = assert_error(c.request(method, path, json=body), 401)
            assert error["type"] == "authentication_error"
            assert_error(c.request(method, path, json=body, headers={"Authorization": "Bearer wrong"}), 401)
        assert c.get("/health").status_code == 200  # open for health checks
        assert c.post("/api/search", json={"question": LAYOFFS}, headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert c.get("/api/sources", headers={"X-API-Key": "s3cret"}).status_code == 200
        r = c.post("/api/ask", json={"question": LAYOFFS}, headers={"Authorization": "Bearer s3cret"})
        assert r.status_code == 200 and "600" in r.json()["answer"]
        oa = openai.OpenAI(base_url=f"{srv.url}/v1", api_key="s3cret", max_retries=0)
        assert [m.id for m in oa.models.list()] == ["newsdesk"]
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{srv.url}/v1", api_key="nope", max_retries=0).models.list()


def test_concurrent_asks(server):
    questions = [q["question"] for q in DEV] + [
        "Who left Meta for Apple?",
        "What did Meta's shares do in November?",
        "Where did Clara Shih come from?",
        "Who is Yann LeCun?",
        "Why did Meta lay off workers from its AI teams?",
    ]
    assert len(set(questions)) == 20

    def ask(question):
        with httpx.Client(timeout=300) as c:
            return question, c.post(f"{server.url}/api/ask", json={"question": question})

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(ask, questions))
    for question, response in results:
        assert response.status_code == 200, response.text
        assert response.json()["question"] == question


def _sse_events(response) -> Iterator[tuple[str, dict]]:
    name = None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            yield name, json.loads(line[len("data: ") :])


def test_ask_stream_sends_the_evidence_before_the_model_writes(data_dir, embedder):
    """`/api/ask/stream`: `evidence` while the model's reply is still held back, then `text` pieces, then `answer`."""
    from tests.openai_server import OpenAIServer, Withheld, cite_the_stake

    reply = Withheld(cite_the_stake)
    with OpenAIServer(reply) as model:
        llm = LLMSettings(provider="openai", base_url=model.url, api_key="test", max_retries=0, timeout=30)
        with Server(create_app(Assistant(Settings(data_dir=data_dir, llm=llm), embedder=embedder))) as api:
            body = {"question": "How much did Meta reportedly pay for its stake in Scale AI?"}
            with httpx.stream("POST", f"{api.url}/api/ask/stream", json=body, timeout=120) as r:
                assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
                events = _sse_events(r)
                name, evidence = next(events)
                assert name == "evidence", (name, evidence)
                assert any("$14 billion" in h["quote"] for h in evidence["highlights"]), evidence
                assert {"n", "title", "source", "quote", "start", "end"} <= set(evidence["highlights"][0])
                reply.release()
                rest = list(events)
    assert not reply.timed_out
    names = [name for name, _ in rest]
    assert names[-1] == "answer" and set(names[:-1]) == {"text"}, names
    text = "".join(data["text"] for name, data in rest if name == "text")
    answer = rest[-1][1]
    assert text.startswith("Meta acquired a 49 percent stake") and not answer["abstained"]
    assert text + answer["rest"] == answer["answer"] and answer["citations"]


def test_ask_stream_reports_a_bad_question_as_http_400(client):
    r = client.post("/api/ask/stream", json={"question": "   "})
    assert r.status_code == 400 and "empty" in r.json()["error"]["message"]
