"""Run a question set through `Assistant.ask` (or `.search`, retrieval only) and score it.

Every question is asked as the CLI, the page and the API ask it: no history, no source filter. What
each metric means, and how retrieval is scored 10 deep while answers read `top_k`: README, "Evaluation".
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from rag.core.config import MODES
from rag.core.errors import InvalidQuestionError, RagError
from rag.eval.dataset import EvalItem, _coerce_items
from rag.eval.html_report import render_html
from rag.eval.metrics import EvalReport, QuestionResult, answer_matches, metrics_of, source_rank

if TYPE_CHECKING:
    from rag.assistant import Assistant

MIN_DEPTH = 10


def evaluate(
    assistant: Assistant,
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
    provider = "retrieval-only" if retrieval_only else assistant.provider
    return EvalReport(n=len(results), metrics=metrics_of(results, items, mode, provider, retrieval_only, answer_k), per_question=results)


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
