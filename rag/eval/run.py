"""Evaluate the assistant on a question set: retrieval, answers, abstention, citations, latency.

A question set is JSONL (one object a line, see tests/data/FORMAT.md) or CSV with
the same columns:

* ``id``: stable identifier (defaults to ``line-N`` when missing)
* ``question``: the question as a user would type it
* ``answers``: acceptable answer strings; an empty list means the articles do not
  hold the answer and the assistant should abstain. In CSV a JSON array
  (``["14 billion", "14.3 billion"]``) or ``|``-separated (``14 billion|14.3 billion``).
* ``sources``: source file names that support the answer (same encodings in CSV).

Every question goes through ``Assistant.ask``, the call the CLI, the UI and the HTTP
API make, with no history and no source filter. ``retrieval_only`` uses
``Assistant.search`` instead and skips generation.

Retrieval depth: hit@10 and MRR@10 need ten ranked passages, but the answer is
generated from the usual ``top_k`` (``settings.top_k``, default 5), as users see it.
The rank of the first passage from a gold source is taken from ``answer.passages``;
only when none of them is from a gold source and ``top_k`` < 10 is the same
question searched again with ``top_k=max(10, top_k)`` (same mode) to find a rank
between ``top_k``+1 and 10. Retrieval ranking is a stable prefix (rank fusion
runs over ``settings.candidates`` >= 10 candidates), so this equals one 10-deep
retrieval. ``retrieval_only`` searches ``max(10, top_k)`` deep directly.

Metrics (``None`` where a metric has no question to be computed on):

* ``hit_at_1/3/5/10``, ``mrr_at_10``: over answerable questions that list sources;
  a hit at k when any gold source is among the top-k passages' sources.
* ``answer_accuracy``: answerable questions answered (not abstained) with text that
  contains an accepted string (see ``answer_matches``).
* ``abstention_accuracy``: unanswerable questions on which the assistant abstained.
* ``false_abstention_rate``: answerable questions on which it abstained.
* ``citation_validity``: mean of ``answer.citation_validity`` over the answers that
  report it (share of the [n] markers that existed and supported their sentence).
* ``retrieve_ms_p50/p95`` (``timings.retrieve_ms``), ``total_ms_p50/p95``
  (``timings.total_ms``, the whole answer); percentiles by linear interpolation.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from rag.core.config import MODES
from rag.core.errors import InvalidQuestionError, RagError

MIN_DEPTH = 10
HIT_KS = (1, 3, 5, 10)


class DatasetError(RagError):
    """The question set cannot be read (the message names the file and line)."""


# --------------------------------------------------------------------------- dataset


class EvalItem(BaseModel):
    id: str
    question: str
    answers: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def _string_list(value: Any, field: str, where: str, csv_cell: bool = False) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if csv_cell:
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise DatasetError(f"{where}: column '{field}' looks like a JSON array but is not valid JSON ({exc.msg}).") from None
            else:
                return [part.strip() for part in text.split("|") if part.strip()]
        else:
            return [text]
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
        raise DatasetError(f"{where}: '{field}' must be a list of strings, got {json.dumps(value)[:80]}.")
    return [str(v).strip() for v in value if str(v).strip()]


def _item(record: Any, where: str, fallback_id: str, csv_cells: bool = False) -> EvalItem:
    if not isinstance(record, dict):
        raise DatasetError(f"{where}: expected a JSON object with 'question', 'answers' and 'sources'.")
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise DatasetError(f"{where}: 'question' is missing or empty.")
    raw_id = record.get("id")
    qid = str(raw_id).strip() if raw_id not in (None, "") else fallback_id
    return EvalItem(
        id=qid,
        question=question.strip(),
        answers=_string_list(record.get("answers"), "answers", where, csv_cells),
        sources=_string_list(record.get("sources"), "sources", where, csv_cells),
    )


def _read_jsonl(text: str, name: str) -> list[EvalItem]:
    items = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{name} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno}).") from None
        items.append(_item(record, where, f"line-{number}"))
    return items


def _read_json_array(text: str, name: str) -> list[EvalItem]:
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{name} line {exc.lineno}: not valid JSON ({exc.msg}).") from None
    if not isinstance(records, list):
        raise DatasetError(f"{name}: expected a JSON array of question objects (or JSONL, one object a line).")
    return [_item(r, f"{name} item {i}", f"item-{i}") for i, r in enumerate(records, 1)]


def _read_csv(text: str, name: str) -> list[EvalItem]:
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "question" not in fields:
        raise DatasetError(f"{name} line 1: the CSV header must name a 'question' column (and 'id', 'answers', 'sources').")
    items = []
    line = reader.line_num  # the header's last line
    try:
        for row in reader:
            start, line = line + 1, reader.line_num
            where = f"{name} line {start}"
            if None in row:
                raise DatasetError(f"{where}: more cells than header columns (quote cells that contain commas).")
            record = {(k or "").strip().lower(): v for k, v in row.items()}
            if not any((v or "").strip() for v in record.values()):
                continue
            items.append(_item(record, where, f"line-{start}", csv_cells=True))
    except csv.Error as exc:
        raise DatasetError(f"{name} line {reader.line_num}: {exc}.") from None
    return items


def load_dataset(path: str | Path) -> list[EvalItem]:
    """Questions from a .jsonl / .json / .csv file; `DatasetError` names the bad line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(f"No question set at {path}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"Cannot read {path}: {exc}") from None
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        items = _read_csv(text, path.name)
    elif suffix == ".json" and text.lstrip().startswith("["):
        items = _read_json_array(text, path.name)
    else:
        items = _read_jsonl(text, path.name)
    return _checked(items, str(path))


def _checked(items: list[EvalItem], name: str) -> list[EvalItem]:
    if not items:
        raise DatasetError(f"{name} holds no questions.")
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise DatasetError(f"{name}: the id '{item.id}' appears twice; ids must be unique.")
        seen.add(item.id)
    return items


def _coerce_items(data: str | Path | Iterable[EvalItem | dict]) -> list[EvalItem]:
    if isinstance(data, (str, Path)):
        return load_dataset(data)
    items = []
    for i, record in enumerate(data, 1):
        items.append(record if isinstance(record, EvalItem) else _item(record, f"item {i}", f"item-{i}"))
    return _checked(items, "the question list")


# --------------------------------------------------------------------------- answer matching

_THOUSANDS = re.compile(r"(?<=\d)[,\u00a0\u202f](?=\d{3}(?!\d))")
# A token is a number (decimals kept: "14.3" is not "14" and "3") or a run of letters/digits.
_TOKEN = re.compile(r"\d+(?:\.\d+)*|[^\W_]+")


def normalize(text: str) -> str:
    """Lower-cased words separated by single spaces; punctuation and extra whitespace dropped.

    Thousands separators go ("6,000" -> "6000") and decimal points stay ("14.3"), so
    numbers keep their value; "open-source" becomes "open source".
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _THOUSANDS.sub("", text)
    return " ".join(_TOKEN.findall(text))


def answer_matches(answer: str, accepted: Iterable[str]) -> bool:
    """Does `answer` contain one of the accepted strings, as whole words, after `normalize`?"""
    haystack = f" {normalize(answer)} "
    for option in accepted:
        needle = normalize(option)
        if needle and f" {needle} " in haystack:
            return True
    return False


# --------------------------------------------------------------------------- report


class QuestionResult(BaseModel):
    id: str
    question: str
    answerable: bool
    answer: str | None = None
    abstained: bool | None = None
    correct: bool | None = Field(None, description="answerable: answered and matched; unanswerable: abstained; None when not generated")
    hit_rank: int | None = Field(None, description="1-based rank of the first passage from a gold source, within the top 10")
    citations_valid: float | None = None
    retrieve_ms: float | None = None
    total_ms: float | None = None
    retrieved_sources: list[str] = Field(default_factory=list)
    error: str | None = None


class Metrics(BaseModel):
    mode: str
    provider: str
    retrieval_only: bool = False
    top_k: int = Field(description="passages the answer was generated from")
    answerable: int
    unanswerable: int
    errors: int = 0
    hit_at_1: float | None = None
    hit_at_3: float | None = None
    hit_at_5: float | None = None
    hit_at_10: float | None = None
    mrr_at_10: float | None = None
    answer_accuracy: float | None = None
    abstention_accuracy: float | None = None
    false_abstention_rate: float | None = None
    citation_validity: float | None = None
    retrieve_ms_p50: float | None = None
    retrieve_ms_p95: float | None = None
    total_ms_p50: float | None = None
    total_ms_p95: float | None = None


class EvalReport(BaseModel):
    n: int
    metrics: Metrics
    per_question: list[QuestionResult]


def percentile(values: Sequence[float], q: float) -> float | None:
    """numpy's percentile (linear interpolation); None for no values."""
    return float(np.percentile(values, q)) if len(values) else None


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def source_rank(sources: Sequence[str], gold: Sequence[str]) -> int | None:
    """1-based rank of the first retrieved source that is a gold one; a dataset may name a source by
    its ending (`000_x.txt` for `seeds/000_x.txt`)."""
    for i, source in enumerate(sources, 1):
        if any(source == g or source.endswith("/" + g) for g in gold):
            return i
    return None


def evaluate(
    assistant,
    dataset: str | Path | Iterable[EvalItem | dict],
    retrieval_only: bool = False,
    mode: str | None = None,
    progress: bool = False,
    top_k: int | None = None,
) -> EvalReport:
    """Run every question through `assistant.ask` (or `.search`) and score it."""
    from tqdm import tqdm

    items = _coerce_items(dataset)
    settings = assistant.settings
    mode = mode or settings.retrieval_mode
    if mode not in MODES:
        raise RagError(f"Unknown retrieval mode '{mode}'; choose one of {', '.join(MODES)}.")
    answer_k = top_k or settings.top_k
    depth = max(MIN_DEPTH, answer_k)

    results: list[QuestionResult] = []
    bar = tqdm(items, desc=f"eval {mode}", unit="q", file=sys.stderr, disable=not progress, leave=False)
    for item in bar:
        result = QuestionResult(id=item.id, question=item.question, answerable=item.answerable)
        try:
            if retrieval_only:
                found = assistant.search(item.question, top_k=depth, mode=mode)
                ranked = [p.source for p in found.passages]
                result.retrieve_ms = found.retrieve_ms
            else:
                answer = assistant.ask(item.question, top_k=answer_k, mode=mode)
                ranked = [p.source for p in answer.passages]
                result.answer = answer.answer
                result.abstained = answer.abstained
                result.citations_valid = answer.citation_validity
                result.retrieve_ms = answer.timings.retrieve_ms
                result.total_ms = answer.timings.total_ms
                if item.answerable:
                    result.correct = not answer.abstained and answer_matches(answer.answer, item.answers)
                else:
                    result.correct = answer.abstained
                if item.sources and source_rank(ranked, item.sources) is None and len(ranked) < depth:
                    ranked = [p.source for p in assistant.search(item.question, top_k=depth, mode=mode).passages]
        except InvalidQuestionError as exc:
            # e.g. longer than RAG_MAX_QUESTION_CHARS: the question fails, the run goes on.
            result.error = str(exc)
            result.correct = None if retrieval_only else False
            ranked = []
        result.retrieved_sources = ranked[:depth]
        result.hit_rank = source_rank(ranked[:depth], item.sources) if item.answerable and item.sources else None
        results.append(result)
    bar.close()
    return EvalReport(n=len(results), metrics=_metrics(results, items, mode, assistant, retrieval_only, answer_k), per_question=results)


def _metrics(results, items, mode, assistant, retrieval_only, answer_k) -> Metrics:
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    scored = [r for r, item in zip(results, items) if item.answerable and item.sources]

    def rate(rows, predicate):
        return _mean(1.0 if predicate(r) else 0.0 for r in rows) if rows else None

    m: dict[str, Any] = {
        "mode": mode,
        "provider": "retrieval-only" if retrieval_only else assistant.provider,
        "retrieval_only": retrieval_only,
        "top_k": answer_k,
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "errors": sum(1 for r in results if r.error),
    }
    for k in HIT_KS:
        m[f"hit_at_{k}"] = rate(scored, lambda r, k=k: r.hit_rank is not None and r.hit_rank <= k)
    m["mrr_at_10"] = _mean((1.0 / r.hit_rank) if r.hit_rank and r.hit_rank <= 10 else 0.0 for r in scored) if scored else None
    if not retrieval_only:
        m["answer_accuracy"] = rate(answerable, lambda r: bool(r.correct))
        m["abstention_accuracy"] = rate(unanswerable, lambda r: bool(r.abstained))
        m["false_abstention_rate"] = rate(answerable, lambda r: bool(r.abstained))
        m["citation_validity"] = _mean(r.citations_valid for r in results if r.citations_valid is not None)
        totals = [r.total_ms for r in results if r.total_ms is not None]
        m["total_ms_p50"], m["total_ms_p95"] = percentile(totals, 50), percentile(totals, 95)
    retrieves = [r.retrieve_ms for r in results if r.retrieve_ms is not None]
    m["retrieve_ms_p50"], m["retrieve_ms_p95"] = percentile(retrieves, 50), percentile(retrieves, 95)
    return Metrics(**m)


# --------------------------------------------------------------------------- output

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


def _fmt(key: str, value) -> str:
    if value is None:
        return "—"
    if key.endswith("_ms_p50") or key.endswith("_ms_p95"):
        return f"{value:.0f}"
    return f"{value:.3f}"


def _header(report: EvalReport) -> str:
    m = report.metrics
    what = "retrieval only" if m.retrieval_only else f"provider {m.provider}, top_k {m.top_k}"
    return f"{report.n} questions ({m.answerable} answerable, {m.unanswerable} unanswerable) · mode {m.mode} · {what}"


def format_table(report: EvalReport) -> str:
    """The summary table the CLI prints, then the questions that went wrong."""
    lines = [_header(report), ""]
    width = max(len(label) for _, label in RATE_METRICS + LATENCY_METRICS)
    for key, label in RATE_METRICS + LATENCY_METRICS:
        value = getattr(report.metrics, key)
        if value is None and (report.metrics.retrieval_only and key not in ("retrieve_ms_p50", "retrieve_ms_p95")):
            continue
        lines.append(f"  {label:<{width}}  {_fmt(key, value):>7}")
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
    lines = [_header(first).replace(f" · mode {first.metrics.mode}", ""), ""]
    lines.append(f"  {'metric':<{width}}  " + "  ".join(f"{m:>8}" for m in modes))
    for key, label in RATE_METRICS + LATENCY_METRICS:
        values = [getattr(r.metrics, key) for r in reports.values()]
        if all(v is None for v in values):
            continue
        lines.append(f"  {label:<{width}}  " + "  ".join(f"{_fmt(key, v):>8}" for v in values))
    return "\n".join(lines)


def _short(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def write_outputs(report: EvalReport, out_dir: str | Path) -> list[Path]:
    """report.json, per_question.csv and report.html (inline SVG charts) in `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "per_question.csv", out / "report.html"]
    paths[0].write_text(json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    columns = ["id", "question", "answerable", "answer", "abstained", "correct", "hit_rank", "citations_valid", "retrieve_ms", "total_ms", "error"]
    with paths[1].open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for r in report.per_question:
            row = r.model_dump(include=set(columns))
            writer.writerow(["" if row[c] is None else row[c] for c in columns])
    paths[2].write_text(render_html(report), encoding="utf-8")
    return paths


# --------------------------------------------------------------------------- HTML / SVG

_CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1000px;color:#222;padding:0 1rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}th{background:#f4f4f4}
.ok{color:#1a7f37}.bad{color:#c62828}.num{text-align:right;font-variant-numeric:tabular-nums}svg text{font:12px system-ui,sans-serif}"""


def _svg_bars(rows: list[tuple[str, float | None]]) -> str:
    """Horizontal bars for values in [0, 1]."""
    label_w, bar_w, row_h = 170, 420, 26
    height = row_h * len(rows) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 70}" height="{height}" role="img" aria-label="metrics">']
    for i, (label, value) in enumerate(rows):
        y = 5 + i * row_h
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{html.escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{row_h - 8}" fill="#eee"/>')
        if value is None:
            parts.append(f'<text x="{label_w + 6}" y="{y + 16}" fill="#888">n/a</text>')
            continue
        w = max(0.0, min(1.0, value)) * bar_w
        colour = "#c62828" if label.startswith("false") else "#2f6fdf"
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}"/>')
        parts.append(f'<text x="{label_w + bar_w + 8}" y="{y + 16}">{value:.3f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _svg_histogram(values: list[float], label: str, bins: int = 12) -> str:
    if not values:
        return "<p>No latencies recorded.</p>"
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / span * bins))] += 1
    width, height, pad_l, pad_b = 640, 220, 40, 40
    plot_w, plot_h = width - pad_l - 10, height - pad_b - 20
    top = max(counts)
    bar = plot_w / bins
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="{html.escape(label)}">']
    parts.append(f'<line x1="{pad_l}" y1="{20 + plot_h}" x2="{pad_l + plot_w}" y2="{20 + plot_h}" stroke="#888"/>')
    for i, c in enumerate(counts):
        h = plot_h * c / top
        x = pad_l + i * bar
        parts.append(f'<rect x="{x + 1:.1f}" y="{20 + plot_h - h:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" fill="#2f6fdf"><title>{c}</title></rect>')
        if c:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{20 + plot_h - h - 4:.1f}" text-anchor="middle">{c}</text>')
    for i in (0, bins // 2, bins):
        x = pad_l + i * bar
        parts.append(f'<text x="{x:.1f}" y="{20 + plot_h + 16}" text-anchor="middle">{lo + span * i / bins:.0f}</text>')
    parts.append(f'<text x="{pad_l + plot_w / 2}" y="{height - 4}" text-anchor="middle">{html.escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: EvalReport) -> str:
    m = report.metrics
    esc = html.escape
    bars = _svg_bars([(label, getattr(m, key)) for key, label in RATE_METRICS if not (m.retrieval_only and getattr(m, key) is None)])
    if m.retrieval_only:
        lat, lat_label = [r.retrieve_ms for r in report.per_question if r.retrieve_ms is not None], "retrieval latency (ms)"
    else:
        lat, lat_label = [r.total_ms for r in report.per_question if r.total_ms is not None], "answer latency, whole ask (ms)"
    lat_rows = "".join(
        f"<tr><td>{esc(label)}</td><td class=num>{_fmt(key, getattr(m, key))}</td></tr>" for key, label in LATENCY_METRICS if getattr(m, key) is not None
    )

    def mark(v):
        return "" if v is None else ('<span class=ok>✓</span>' if v else '<span class=bad>✗</span>')

    rows = "".join(
        "<tr>"
        f"<td>{esc(r.id)}</td><td>{esc(r.question)}</td><td>{esc(r.error or r.answer or '')}</td>"
        f"<td>{'' if r.abstained is None else ('yes' if r.abstained else 'no')}</td><td>{mark(r.correct)}</td>"
        f"<td class=num>{r.hit_rank or ('—' if r.answerable else '')}</td>"
        f"<td class=num>{'' if r.citations_valid is None else f'{r.citations_valid:.2f}'}</td>"
        f"<td class=num>{'' if r.total_ms is None else f'{r.total_ms:.0f}'}</td></tr>"
        for r in report.per_question
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>newsdesk evaluation</title><style>{_CSS}</style></head>
<body>
<h1>newsdesk evaluation</h1>
<p>{esc(_header(report))}</p>
<h2>Metrics</h2>
{bars}
<h2>Latency</h2>
<table style="width:auto">{lat_rows}</table>
{_svg_histogram(lat, lat_label)}
<h2>Per question</h2>
<table><tr><th>id</th><th>question</th><th>answer</th><th>abstained</th><th>correct</th><th>hit rank</th><th>citations valid</th><th>ms</th></tr>
{rows}</table>
</body></html>
"""
