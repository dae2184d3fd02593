"""Traces and metrics an operator can watch: OpenTelemetry spans (the SDK's in-memory exporter, the console
exporter, OTLP over real HTTP to a loopback receiver) and a real scrape of `/metrics` from `rag api` and
`rag serve` over loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from rag import Assistant, Settings
from rag.answering.openai_chat import OpenAIChat
from rag.core.config import LLMSettings
from tests.chroma_server import free_port
from tests.conftest import REPO, SEEDS
from tests.openai_server import cite_the_stake

STAKE = "How big a stake did Meta take in Scale AI?"


@pytest.fixture(scope="module")
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    assert trace.get_tracer_provider() is provider, "another test set a tracer provider first"
    return exporter


def _by_name(finished) -> dict:
    out: dict = {}
    for s in finished:
        out.setdefault(s.name, []).append(s)
    return out


def _parent(s, named: dict) -> str | None:
    ids = {x.context.span_id: x.name for group in named.values() for x in group}
    return ids.get(s.parent.span_id) if s.parent else None


def test_ingest_and_a_streamed_answer_are_traced(spans, tmp_path, embedder, openai_server):
    openai_server.reply = cite_the_stake
    settings = Settings(
        data_dir=tmp_path / "data",
        llm=LLMSettings(provider="openai", base_url=openai_server.url, model="test-model", timeout=5, max_retries=0),
    )
    assistant = Assistant(settings, embedder=embedder, llm=OpenAIChat(settings.llm, backoff_s=0.01))
    spans.clear()
    assistant.ingest([SEEDS])
    ingest = _by_name(spans.get_finished_spans())
    assert {"ingest", "extract", "chunk", "embed", "commit"} <= set(ingest)
    assert {_parent(s, ingest) for s in ingest["extract"]} == {"ingest"}
    assert _parent(ingest["chunk"][0], ingest) == "extract" and _parent(ingest["commit"][0], ingest) == "ingest"
    assert ingest["ingest"][0].attributes["chunks"] == sum(s.attributes["chunks"] for s in ingest["embed"]) > 0

    spans.clear()
    answer = assistant.ask(STAKE)
    assert not answer.abstained and answer.citations
    named = _by_name(spans.get_finished_spans())
    assert {"ask", "retrieve", "dense", "keyword", "fuse", "rerank", "context", "generate", "check"} <= set(named)
    assert _parent(named["retrieve"][0], named) == "ask" and _parent(named["generate"][0], named) == "ask"
    assert {_parent(named[n][0], named) for n in ("dense", "keyword", "fuse", "rerank", "context")} == {"retrieve"}
    assert all(_parent(s, named) == "generate" for s in named["check"])
    generate = named["generate"][0].attributes
    # The loopback model streams the reply a word at a time: one piece per word and marker.
    assert generate["tokens"] == len(cite_the_stake(openai_server.chat_requests[-1].body))
    # The evidence comes first, before the model is asked: so before its first token.
    assert 0 <= generate["first_item_ms"] < generate["first_token_ms"]
    assert named["ask"][0].attributes["citations"] == len(answer.citations)
    assert len({s.context.trace_id for group in named.values() for s in group}) == 1  # one trace per question


def _env(data_dir, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OPENAI_", "OTEL_"))}
    return {**env, "RAG_DATA_DIR": str(data_dir), "LLM_PROVIDER": "extractive", **extra}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    data = tmp_path_factory.mktemp("observed") / "data"
    done = subprocess.run([sys.executable, "-m", "rag", "ingest", "-q", str(SEEDS)], env=_env(data), cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return data


def test_console_exporter_prints_the_spans_on_stderr(seeded):
    run = subprocess.run(
        [sys.executable, "-m", "rag", "search", "--json", STAKE], env=_env(seeded, OTEL_TRACES_EXPORTER="console"),
        cwd=REPO, capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    assert '"name": "retrieve"' in run.stderr and '"name": "keyword"' in run.stderr
    assert run.stdout.lstrip().startswith("{")  # stdout stays the JSON result


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        _Receiver.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()


def test_otlp_over_http_reaches_a_collector(seeded):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    receiver = ThreadingHTTPServer(("127.0.0.1", free_port()), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{receiver.server_port}"
        env = _env(seeded, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_SERVICE_NAME="newsdesk-test")
        run = subprocess.run([sys.executable, "-m", "rag", "ask", STAKE], env=env, cwd=REPO, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
    finally:
        receiver.shutdown()
    names, services = set(), set()
    for body in _Receiver.bodies:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            services |= {a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"}
            names |= {s.name for scope in resource_spans.scope_spans for s in scope.spans}
    assert {"ask", "retrieve", "generate", "check"} <= names and services == {"newsdesk-test"}


def _scrape(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line and not line.startswith("#")}


def _start(args: list[str], env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "rag", *args, "--port", str(port)], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the server did not start"
        try:
            httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
            return proc
        except httpx.HTTPError:
            time.sleep(0.3)


def test_rag_api_serves_metrics_to_a_real_scrape(seeded):
    port = free_port()
    proc = _start(["api"], _env(seeded), port)
    url = f"http://127.0.0.1:{port}"
    try:
        assert httpx.post(f"{url}/api/ask", json={"question": STAKE}, timeout=120).status_code == 200
        assert httpx.post(f"{url}/api/ask", json={"question": "  "}, timeout=30).status_code == 400
        assert httpx.get(f"{url}/api/documents/no-such-article.txt", timeout=30).status_code in (404, 405)
        m = _scrape(url)
    finally:
        proc.terminate()
        proc.wait(30)
    assert m['newsdesk_http_requests_total{method="POST",route="/api/ask",status="200"}'] == 1
    assert m['newsdesk_http_requests_total{method="POST",route="/api/ask",status="400"}'] == 1
    assert m['newsdesk_http_request_seconds_count{method="POST",route="/api/ask"}'] == 2
    assert m['newsdesk_answers_total{abstained="false",provider="extractive"}'] == 1
    assert m['newsdesk_answer_seconds_count{provider="extractive"}'] == 1
    assert m["newsdesk_articles"] == 5 and m["newsdesk_chunks"] > 5
    assert 0 <= m["newsdesk_keyword_index_age_seconds"] < 3600
    assert not any("no-such-article" in k for k in m)  # routes by template, never by raw path


def test_rag_serve_serves_metrics_too(seeded):
    port = free_port()
    proc = _start(["serve"], _env(seeded), port)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=30).status_code == 200
        m = _scrape(f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        proc.wait(30)
    assert m["newsdesk_articles"] == 5
    assert sum(v for k, v in m.items() if k.startswith('newsdesk_http_requests_total{method="GET",route="/"')) >= 1
