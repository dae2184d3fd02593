"""Real-news benchmark: newsdesk beside a plain llama-index pipeline on a RealTime QA slice.

    python bench/bench_news.py SLICE_DIR [--top-k 5] [--no-baseline] [--no-answers] [--json OUT]

SLICE_DIR is made by `../shared/realtimeqa/prepare.py` (corpus/*.txt + qa.jsonl; Jan-Jun 2025
only; never commit it). Both indexes are kept under SLICE_DIR/.bench (re-runs embed nothing).

Printed, in one run and with the same MiniLM embedder for both pipelines:
- answer-bearing@k (k = 1, 3, 5, 10): a passage among the top k contains the correct choice
  (lower-cased, punctuation dropped, whole words), with the passage tokens handed to the reader;
- article hit@k and MRR@10 (first passage from one of the question's own answer-bearing articles),
  and MRR@10 of the first answer-bearing passage;
- retrieval p50/p95 (query embedding included);
- for newsdesk, answer accuracy (contains the correct choice and none of the distractors) and
  abstention of the configured answerer (the no-key default is the extractive one).
The baseline is llama-index's `VectorStoreIndex` at its defaults (SentenceSplitter, 1024-token
chunks, in-memory vector store) - what a user would pick first. It needs nothing beyond
llama-index-core, already a core dependency, so there is no `bench` extra.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag import Assistant, Settings  # noqa: E402
from rag.eval.metrics import answer_matches  # noqa: E402
from rag.index.embeddings import TokenCounter  # noqa: E402
from rag.retrieval.search import build_reranker  # noqa: E402

KS = (1, 3, 5, 10)


@dataclass
class Question:
    id: str
    question: str
    answer: str
    sources: list[str]
    distractors: list[str]


@dataclass
class Hit:
    """One retrieved passage as the benchmark sees it."""

    source: str
    text: str


@dataclass
class Row:
    """Per-pipeline figures, accumulated over the questions."""

    name: str
    bearing_rank: list[int | None] = field(default_factory=list)
    article_rank: list[int | None] = field(default_factory=list)
    tokens_at: dict[int, list[int]] = field(default_factory=lambda: {k: [] for k in KS})
    latency_ms: list[float] = field(default_factory=list)
    correct: list[bool] = field(default_factory=list)
    abstained: list[bool] = field(default_factory=list)

    def add(self, q: Question, hits: Sequence[Hit], ms: float, count: Callable[[str], int]) -> None:
        gold = {Path(s).name for s in q.sources}
        self.bearing_rank.append(_first(hits, lambda h: answer_matches(h.text, [q.answer])))
        self.article_rank.append(_first(hits, lambda h: Path(h.source).name in gold))
        sizes = [count(h.text) for h in hits]
        for k in KS:
            self.tokens_at[k].append(sum(sizes[:k]))
        self.latency_ms.append(ms)

    def summary(self) -> dict:
        n = len(self.latency_ms)
        out: dict = {"pipeline": self.name, "questions": n}
        for k in KS:
            out[f"answer_bearing@{k}"] = _rate(self.bearing_rank, k)
            out[f"tokens@{k}"] = round(float(np.mean(self.tokens_at[k]))) if n else None
        for k in KS:
            out[f"article_hit@{k}"] = _rate(self.article_rank, k)
        out["mrr@10_article"] = _mrr(self.article_rank)
        out["mrr@10_answer_bearing"] = _mrr(self.bearing_rank)
        out["retrieve_ms_p50"] = round(float(np.percentile(self.latency_ms, 50)), 1) if n else None
        out["retrieve_ms_p95"] = round(float(np.percentile(self.latency_ms, 95)), 1) if n else None
        if self.correct:
            out["answer_accuracy"] = round(float(np.mean(self.correct)), 3)
            out["abstention"] = round(float(np.mean(self.abstained)), 3)
        return out


def _first(hits: Sequence[Hit], good: Callable[[Hit], bool]) -> int | None:
    return next((i for i, h in enumerate(hits[:10], 1) if good(h)), None)


def _rate(ranks: list[int | None], k: int) -> float | None:
    return round(sum(1 for r in ranks if r is not None and r <= k) / len(ranks), 3) if ranks else None


def _mrr(ranks: list[int | None]) -> float | None:
    return round(sum(1.0 / r for r in ranks if r) / len(ranks), 3) if ranks else None


def load_questions(path: Path, limit: int | None) -> list[Question]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = [
        Question(r["id"], r["question"], r["answers"][0], r.get("sources", []), r.get("distractors", []))
        for r in rows
        if r.get("answers")
    ]
    return out[:limit] if limit else out


def is_correct(answer: str, q: Question) -> bool:
    return answer_matches(answer, [q.answer]) and not answer_matches(answer, q.distractors)


def run_newsdesk(assistant: Assistant, questions: list[Question], top_k: int, answers: bool, count) -> Row:
    row = Row("newsdesk")
    for q in questions:
        found = assistant.search(q.question, top_k=10)
        row.add(q, [Hit(p.source, p.text) for p in found.passages], found.retrieve_ms, count)
        if answers:
            answer = assistant.ask(q.question, top_k=top_k)
            row.correct.append(not answer.abstained and is_correct(answer.answer, q))
            row.abstained.append(answer.abstained)
    return row


def baseline_index(corpus: Path, home: Path, embedder):
    """llama-index `VectorStoreIndex` at its defaults over the same files; persisted per corpus listing."""
    from llama_index.core import Settings as LISettings
    from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex, load_index_from_storage

    from rag.index.embeddings import as_llama_index

    LISettings.embed_model = as_llama_index(embedder)
    LISettings.llm = None
    files = sorted(p.name for p in corpus.glob("*.txt"))
    folder = home / ("llamaindex-" + hashlib.sha1("\n".join(files).encode()).hexdigest()[:12])
    if folder.is_dir():
        return load_index_from_storage(StorageContext.from_defaults(persist_dir=str(folder)))
    docs = SimpleDirectoryReader(str(corpus), required_exts=[".txt"]).load_data(show_progress=False)
    index = VectorStoreIndex.from_documents(docs, show_progress=True)
    index.storage_context.persist(persist_dir=str(folder))
    return index


def run_baseline(index, questions: list[Question], count) -> Row:
    row = Row("llama-index VectorStoreIndex (defaults)")
    retriever = index.as_retriever(similarity_top_k=10)
    for q in questions:
        started = time.perf_counter()
        nodes = retriever.retrieve(q.question)
        ms = (time.perf_counter() - started) * 1000
        row.add(q, [Hit(n.node.metadata.get("file_name", ""), n.node.get_content()) for n in nodes], ms, count)
    return row


def format_table(rows: list[dict]) -> str:
    keys = [k for k in rows[0] if k != "pipeline"]
    width = max(len(k) for k in keys) + 2
    lines = ["".ljust(width) + "".join(r["pipeline"][:30].rjust(32) for r in rows)]
    for k in keys:
        lines.append(k.ljust(width) + "".join(str(r.get(k, "")).rjust(32) for r in rows))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("slice_dir", type=Path, help="folder with corpus/ and qa.jsonl from prepare.py")
    parser.add_argument("--top-k", type=int, default=5, help="passages per answer (newsdesk)")
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--no-baseline", action="store_true", help="skip the llama-index baseline")
    parser.add_argument("--no-answers", action="store_true", help="retrieval figures only")
    parser.add_argument(
        "--rerankers",
        default="none,terms,window",
        help="also report retrieval with these rerankers (add `server` with RAG_RERANK_URL set for a cross-encoder)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    corpus, qa = args.slice_dir / "corpus", args.slice_dir / "qa.jsonl"
    if not corpus.is_dir() or not qa.is_file():
        sys.exit(f"{args.slice_dir} has no corpus/ and qa.jsonl; make it with ../shared/realtimeqa/prepare.py")
    home = args.slice_dir / ".bench"
    # The answerer and every other setting come from the environment, as for a user (no key: extractive).
    settings = Settings(data_dir=home / "newsdesk")
    assistant = Assistant(settings)
    started = time.perf_counter()
    report = assistant.ingest([corpus], progress=sys.stderr.isatty())
    print(f"newsdesk ingest: {report.chunks_embedded} chunks embedded in {time.perf_counter() - started:.0f}s "
          f"({len(assistant.articles())} articles)", file=sys.stderr)

    questions = load_questions(qa, args.limit)
    tokens = TokenCounter()

    def count(text: str) -> int:
        return len(tokens(text))

    assistant.search("warm up the caches", top_k=1)
    rows = []
    default = settings.reranker
    # Every reranker's retrieval figures; answers with the configured one (RAG_RERANKER, default first).
    for name in [default, *(r for r in args.rerankers.split(",") if r and r != default)]:
        assistant.retriever.reranker = build_reranker(settings.model_copy(update={"reranker": name}), assistant.store, assistant.embedder)
        row = run_newsdesk(assistant, questions, args.top_k, name == default and not args.no_answers, count).summary()
        row["pipeline"] = f"newsdesk, rerank {name}" + (f" ({assistant.provider})" if name == default and not args.no_answers else "")
        rows.append(row)
    if not args.no_baseline:
        index = baseline_index(corpus, home, assistant.embedder)
        rows.append(run_baseline(index, questions, count).summary())
    print(format_table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
