"""Prometheus metrics (`prometheus-client`), served at `/metrics` by `rag api` and `rag serve`.

Requests by route (count and latency histogram, from `MetricsMiddleware`), answers (latency,
abstentions, citation repairs, by answerer), ingest outcomes by status, and at scrape time the index's
articles and chunks and the keyword index's age (seconds since its last commit: a growing figure
while feeds are polled means the writer is stuck). Routes are labelled by their template
(`/api/documents/{source:path}`), never by the raw path, so the series stay few.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from rag.core.models import Answer, IngestReport

REQUESTS = Counter("newsdesk_http_requests_total", "HTTP requests served", ["route", "method", "status"])
REQUEST_SECONDS = Histogram(
    "newsdesk_http_request_seconds", "HTTP request latency, to the last byte of the response", ["route", "method"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)
ANSWER_SECONDS = Histogram(
    "newsdesk_answer_seconds", "Time to a finished answer (retrieval, generation, check)", ["provider"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120),
)
ANSWERS = Counter("newsdesk_answers_total", "Answers given", ["provider", "abstained"])
REPAIRS = Counter("newsdesk_citation_repairs_total", "Answer sentences whose citation was repaired or removed", ["provider"])
INGESTED = Counter("newsdesk_ingest_files_total", "Ingest outcomes per file or article", ["status"])


def answered(answer: Answer) -> None:
    ANSWER_SECONDS.labels(answer.provider).observe(answer.timings.total_ms / 1000)
    ANSWERS.labels(answer.provider, str(answer.abstained).lower()).inc()
    if answer.warnings:
        REPAIRS.labels(answer.provider).inc(len(answer.warnings))


def ingested(report: IngestReport) -> None:
    for outcome in report.files:
        INGESTED.labels(outcome.status).inc()


class IndexCollector:
    """The index's size and the keyword index's age, read when Prometheus scrapes."""

    def __init__(self, stats: Callable[[], dict[str, float]]):
        self.stats = stats

    def collect(self):
        stats = self.stats()
        for name, help_text in (
            ("articles", "Committed articles"),
            ("chunks", "Chunk records in the index"),
            ("keyword_index_age_seconds", "Seconds since the keyword index last committed"),
        ):
            if stats.get(name) is not None:
                yield GaugeMetricFamily(f"newsdesk_{name}", help_text, value=stats[name])


_collector: IndexCollector | None = None


def watch_index(stats: Callable[[], dict[str, float]]) -> None:
    """Reports these index figures at each scrape (one source per process: the last server started)."""
    global _collector
    if _collector is not None:
        REGISTRY.unregister(_collector)
    _collector = IndexCollector(stats)
    REGISTRY.register(_collector)


class MetricsMiddleware:
    """ASGI: serves `GET /metrics` and counts every other request by route template, method and status."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] == "/metrics" and scope["method"] == "GET":
            body = generate_latest(REGISTRY)
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", CONTENT_TYPE_LATEST.encode())]})
            return await send({"type": "http.response.body", "body": body})
        started = time.perf_counter()
        status = {"code": 500}

        async def sending(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", None) or "other"
            REQUESTS.labels(label, scope["method"], str(status["code"])).inc()
            REQUEST_SECONDS.labels(label, scope["method"]).observe(time.perf_counter() - started)
