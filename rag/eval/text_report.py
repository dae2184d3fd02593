"""A run's metrics as terminal tables: one run, or the retrieval modes side by side."""

from __future__ import annotations

from rag.eval.metrics import EvalReport

RATE_METRICS = [
    ("hit_at_1", "retrieval hit@1"),
    ("hit_at_3", "retrieval hit@3"),
    ("hit_at_5", "retrieval hit@5"),
    ("hit_at_10", "retrieval hit@10"),
    ("mrr_at_10", "MRR@10"),
    ("answer_accuracy", "answer accuracy"),
    ("abstention_accuracy", "abstention accuracy"),
    ("false_abstention_rate", "false-abstention rate"),
    ("citation_validity", "citation validity"),
]
LATENCY_METRICS = [
    ("retrieve_ms_p50", "retrieval p50 (ms)"),
    ("retrieve_ms_p95", "retrieval p95 (ms)"),
    ("total_ms_p50", "answer p50 (ms)"),
    ("total_ms_p95", "answer p95 (ms)"),
]


def fmt(key: str, value) -> str:
    if value is None:
        return "—"
    if key.endswith("_ms_p50") or key.endswith("_ms_p95"):
        return f"{value:.0f}"
    return f"{value:.3f}"


def header(report: EvalReport) -> str:
    m = report.metrics
    what = "retrieval only" if m.retrieval_only else f"provider {m.provider}, top_k {m.top_k}"
    return f"{report.n} questions ({m.answerable} answerable, {m.unanswerable} unanswerable) · mode {m.mode} · {what}"


def format_table(report: EvalReport) -> str:
    """The summary table the CLI prints, then the questions that went wrong."""
    lines = [header(report), ""]
    width = max(len(label) for _, label in RATE_METRICS + LATENCY_METRICS)
    for key, label in RATE_METRICS + LATENCY_METRICS:
        value = getattr(report.metrics, key)
        if value is None and (report.metrics.retrieval_only and key not in ("retrieve_ms_p50", "retrieve_ms_p95")):
            continue
        lines.append(f"  {label:<{width}}  {fmt(key, value):>7}")
    if report.metrics.errors:
        lines.append(f"  {'questions that failed':<{width}}  {report.metrics.errors:>7}")
    misses = [r for r in report.per_question if r.correct is False or r.error or (r.answerable and r.hit_rank is None and r.retrieved_sources)]
    if misses:
        lines += ["", "Misses:"]
        for r in misses:
            rank = f"rank {r.hit_rank}" if r.hit_rank else ("no gold source in top 10" if r.answerable else "unanswerable")
            if r.error:
                what = f"error: {r.error}"
            elif r.correct is None:
                what = ""
            elif r.abstained:
                what = "abstained"
            else:
                what = "answered" + ("" if r.answerable else " (should abstain)") + ": " + _short(r.answer or "", 90)
            lines.append(f"  {r.id}  {rank}  {what}".rstrip())
    return "\n".join(lines)


def format_comparison(reports: dict[str, EvalReport]) -> str:
    """Metrics of several runs (e.g. one per retrieval mode) side by side."""
    modes = list(reports)
    first = next(iter(reports.values()))
    width = max(len(label) for _, label in RATE_METRICS + LATENCY_METRICS)
    lines = [header(first).replace(f" · mode {first.metrics.mode}", ""), ""]
    lines.append(f"  {'metric':<{width}}  " + "  ".join(f"{m:>8}" for m in modes))
    for key, label in RATE_METRICS + LATENCY_METRICS:
        values = [getattr(r.metrics, key) for r in reports.values()]
        if all(v is None for v in values):
            continue
        lines.append(f"  {label:<{width}}  " + "  ".join(f"{fmt(key, v):>8}" for v in values))
    return "\n".join(lines)


def _short(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
