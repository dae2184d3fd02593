"""Traces (OpenTelemetry): where a slow answer or ingest spent its time.

Spans: ingest (fetch, extract, chunk, embed, commit), ask (retrieve: dense, keyword, fuse, rerank,
context; generate, with the first token's time and the tokens generated; check). Off unless the standard
variables say where to send them (`configure`, called by every command and server at start):

- `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`): OTLP to a collector, over
  `OTEL_EXPORTER_OTLP_PROTOCOL` = `http/protobuf` (the default) or `grpc`; the exporter reads its other
  `OTEL_EXPORTER_OTLP_*` settings (headers, timeout) itself;
- `OTEL_TRACES_EXPORTER` = `otlp`, `console` (spans printed on stderr, for a quick look) or `none`,
  comma-separated; `OTEL_SERVICE_NAME` / `OTEL_RESOURCE_ATTRIBUTES` name the service (default newsdesk).

Without them the API's no-op tracer is used and a span costs next to nothing.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from opentelemetry import trace

from rag.core.errors import ConfigError

T = TypeVar("T")
_tracer = trace.get_tracer("newsdesk")
_configured = False


def configure() -> bool:
    """Installs an SDK tracer provider with the exporters the OTEL_* variables choose; False when tracing is off."""
    global _configured
    env = os.environ
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    chosen = env.get("OTEL_TRACES_EXPORTER") or ("otlp" if endpoint else "")
    names = [n.strip().lower() for n in chosen.split(",") if n.strip()]
    if _configured or not names or names == ["none"]:
        return _configured
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

    resource = Resource.create({} if env.get("OTEL_SERVICE_NAME") else {"service.name": "newsdesk"})
    provider = TracerProvider(resource=resource)
    for name in names:
        if name == "console":
            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
        elif name == "otlp":
            provider.add_span_processor(BatchSpanProcessor(_otlp_exporter()))
        elif name != "none":
            raise ConfigError(f"OTEL_TRACES_EXPORTER={name} is not supported here: use otlp, console or none.")
    trace.set_tracer_provider(provider)
    _configured = True
    return True


def _otlp_exporter():
    env = os.environ
    protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf"
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    elif protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    else:
        raise ConfigError(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol} is not supported: use http/protobuf or grpc.")
    return OTLPSpanExporter()


@contextmanager
def span(name: str, **attributes) -> Iterator[trace.Span]:
    """A span around a block of plain code (not one that yields: see `start` and `steps`)."""
    with _tracer.start_as_current_span(name, attributes=_clean(attributes)) as current:
        yield current


def start(name: str, parent: trace.Span | None = None, **attributes) -> trace.Span:
    """A span that is not made current: for work that a generator does between its yields."""
    context = trace.set_span_in_context(parent) if parent is not None else None
    return _tracer.start_span(name, context=context, attributes=_clean(attributes))


def within(current: trace.Span):
    """Makes `current` the parent of the spans started in the block (it is not ended)."""
    return trace.use_span(current, end_on_exit=False)


def steps(items: Iterable[T], current: trace.Span) -> Iterator[T]:
    """Runs each step of a generator inside `current`, and records when the first item came."""
    started = time.perf_counter()
    it = iter(items)
    first = True
    while True:
        with within(current):
            try:
                item = next(it)
            except StopIteration:
                return
        if first:
            current.set_attribute("first_item_ms", round((time.perf_counter() - started) * 1000, 1))
            first = False
        yield item


def note(**attributes) -> None:
    """Sets attributes on the current span (the tokens a model generated, say)."""
    trace.get_current_span().set_attributes(_clean(attributes))


def _clean(attributes: dict) -> dict:
    return {k: v for k, v in attributes.items() if v is not None}
