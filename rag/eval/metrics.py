"""Scoring one run: answer matching, per-question results, the summary metrics, percentiles."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from rag.core.models import Answer

HIT_KS = (1, 3, 5, 10)


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


def across_articles(answer: Answer, sources: Sequence[str], mentions: Sequence[Sequence[str]]) -> tuple[int, bool]:
    """For a question several articles bear on: how many of those `sources` the answer cites, and whether it
    mentions one of each group of `mentions` (every differing figure, each in its accepted forms)."""
    cited = {c.source for c in answer.citations}
    bearing = sum(any(source_rank([c], [s]) for c in cited) for s in sources)
    return bearing, not answer.abstained and all(answer_matches(answer.answer, group) for group in mentions)


def source_rank(sources: Sequence[str], gold: Sequence[str]) -> int | None:
    """1-based rank of the first retrieved source that is a gold one; a dataset may name a source by
    its ending (`000_x.txt` for `seeds/000_x.txt`)."""
    for i, source in enumerate(sources, 1):
        if any(source == g or source.endswith("/" + g) for g in gold):
            return i
    return None


def metrics_of(
    results: list[QuestionResult], items: Sequence, mode: str, provider: str, retrieval_only: bool, answer_k: int
) -> Metrics:
    """The summary of a run; `items` are the questions, in the order of `results`."""
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    scored = [r for r, item in zip(results, items) if item.answerable and item.sources]

    def rate(rows, predicate):
        return _mean(1.0 if predicate(r) else 0.0 for r in rows) if rows else None

    m: dict[str, Any] = {
        "mode": mode,
        "provider": provider,
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
