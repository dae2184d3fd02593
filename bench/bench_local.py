"""Local-model benchmark: the dev set answered by the in-process GGUF model.

    python bench/bench_local.py [--threads 1,2] [--dataset tests/data/seed_dev.jsonl] [--limit N]

Needs llama-cpp-python and the model (`rag model install`). Ingests seeds/ into a
scratch index, then for each thread count answers every question and prints, per
question and overall: answer accuracy (answerable questions: the answer contains an
accepted string, case-insensitive, normalised, on word boundaries), abstention
accuracy (unanswerable questions: the assistant abstained), and the time to the
model's first token and to the finished answer. A benchmark, not a test: timings
depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import re
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag import Assistant, Settings  # noqa: E402
from rag.config import LLMSettings  # noqa: E402
from rag.llm import LOCAL_MODEL_FILE, LocalLlama, _local_errors  # noqa: E402

try:  # the evaluation module's matching rules, when present
    from rag.evaluate import answer_matches  # noqa: E402
except ImportError:  # the same rules (tests/data/FORMAT.md), stand-alone
    _THOUSANDS = re.compile(r"(?<=\d)[,\u00a0\u202f](?=\d{3}(?!\d))")
    _TOKEN = re.compile(r"\d+(?:\.\d+)*|[^\W_]+")

    def _normalize(text: str) -> str:
        text = _THOUSANDS.sub("", unicodedata.normalize("NFKC", text).casefold())
        return " ".join(_TOKEN.findall(text))

    def answer_matches(answer: str, accepted) -> bool:
        haystack = f" {_normalize(answer)} "
        return any(n and f" {n} " in haystack for n in map(_normalize, accepted))


class TimedLocalLlama(LocalLlama):
    """LocalLlama whose `complete` streams internally, to time the first token; the text is the same.

    `batch_threads` sets llama.cpp's prompt-processing threads, which LocalLlama leaves at
    llama-cpp-python's default (every core); None keeps that default.
    """

    def __init__(self, settings, model_path, batch_threads: int | None = None):
        import llama_cpp

        real = llama_cpp.Llama
        if batch_threads is not None:
            llama_cpp.Llama = functools.partial(real, n_threads_batch=batch_threads)
        try:
            super().__init__(settings, model_path)
        finally:
            llama_cpp.Llama = real

    def complete(self, messages, *, json_schema=None, max_tokens=None) -> str:
        extra = {"response_format": {"type": "json_object", "schema": json_schema}} if json_schema else {}
        pieces = []
        started = time.perf_counter()
        self.first_token_s = None
        with self._lock, _local_errors(self._settings.context_window):
            for chunk in self._llama.create_chat_completion(
                messages=messages, stream=True, **self._options(max_tokens), **extra
            ):
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    if self.first_token_s is None:
                        self.first_token_s = time.perf_counter() - started
                    pieces.append(piece)
        self.generate_s = time.perf_counter() - started
        self.pieces = len(pieces)
        return "".join(pieces)


def percentile(values: list[float], q: float) -> float:
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    lo, hi = int(pos), min(int(pos) + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def stats(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"mean {sum(values) / len(values):5.1f}  p50 {percentile(values, 50):5.1f}  p95 {percentile(values, 95):5.1f}"


def run(assistant: Assistant, llm: TimedLocalLlama, items: list[dict]) -> dict:
    rows = []
    for item in items:
        started = time.perf_counter()
        answer = assistant.ask(item["question"])
        total = time.perf_counter() - started
        answerable = bool(item["answers"])
        correct = (not answer.abstained and answer_matches(answer.answer, item["answers"])) if answerable else answer.abstained
        rows.append({
            "id": item["id"], "answerable": answerable, "correct": correct, "abstained": answer.abstained,
            "citations": len(answer.citations), "validity": answer.citation_validity,
            "ttft_s": llm.first_token_s, "total_s": total, "pieces": llm.pieces, "answer": answer.answer,
        })
        r = rows[-1]
        print(f"  {r['id']}  {'ok ' if correct else 'BAD'}  ttft {r['ttft_s'] or 0:5.1f}s  total {total:5.1f}s  "
              f"[{r['citations']} cit]  {answer.answer[:90]!r}", flush=True)
    return summarize(rows)


def summarize(rows: list[dict]) -> dict:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    validity = [r["validity"] for r in rows if not r["abstained"] and r["validity"] is not None]
    return {
        "n": len(rows),
        "answer_accuracy": sum(r["correct"] for r in answerable) / len(answerable) if answerable else None,
        "abstention_accuracy": sum(r["correct"] for r in unanswerable) / len(unanswerable) if unanswerable else None,
        "false_abstentions": sum(r["abstained"] for r in answerable),
        "citation_validity": sum(validity) / len(validity) if validity else None,
        "ttft_s": [r["ttft_s"] for r in rows if r["ttft_s"] is not None],
        "total_s": [r["total_s"] for r in rows],
        "rows": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=str(REPO / "tests/data/seed_dev.jsonl"))
    parser.add_argument("--model", default=os.environ.get("LOCAL_MODEL_PATH") or str(REPO / "data/models" / LOCAL_MODEL_FILE))
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts to compare (default 1,2)")
    parser.add_argument("--batch-threads", default="same",
                        help="prompt-processing threads: 'same' as --threads (default), 'default' "
                        "(llama-cpp-python's: every core, what LocalLlama does today) or a number")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--top-k", type=int, default=None)
    parser.add_argument("--json", metavar="FILE", help="also write the per-question results here")
    args = parser.parse_args()

    model = Path(args.model)
    if not model.is_file():
        print(f"no model at {model}: run `rag model install` (or pass --model)", file=sys.stderr)
        return 2
    items = [json.loads(line) for line in Path(args.dataset).read_text().splitlines() if line.strip()][: args.limit]
    threads = [int(t) for t in args.threads.split(",")]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Settings(data_dir=Path(tmp) / "data", llm=LLMSettings(provider="extractive"))
        if args.top_k:
            base.top_k = args.top_k
        indexer = Assistant(base, llm=None)
        indexer.ingest([REPO / "seeds"])
        for n in threads:
            llm_settings = LLMSettings(provider="local", local_model_path=model, threads=n)
            settings = base.model_copy(update={"llm": llm_settings})
            t0 = time.perf_counter()
            choice = args.batch_threads
            batch = n if choice == "same" else None if choice == "default" else int(choice)
            llm = TimedLocalLlama(llm_settings, model, batch_threads=batch)
            load_s = time.perf_counter() - t0
            assistant = Assistant(settings, embedder=indexer.embedder, store=indexer.store, llm=llm)
            print(f"threads={n} (prompt: {llm._llama.n_threads_batch}): model loaded in {load_s:.1f}s "
                  f"({llm.name}); {len(items)} questions", flush=True)
            results[n] = run(assistant, llm, items)
            del assistant, llm
            gc.collect()

    print(f"\n{'threads':>7}  {'answer acc':>10}  {'abstain acc':>11}  {'false abst':>10}  {'cit valid':>9}   "
          f"time to first token (s)                 total per question (s)")
    for n, r in results.items():
        def pct(v):
            return f"{v:.0%}" if v is not None else "n/a"

        print(f"{n:>7}  {pct(r['answer_accuracy']):>10}  {pct(r['abstention_accuracy']):>11}  {r['false_abstentions']:>10}  "
              f"{pct(r['citation_validity']):>9}   {stats(r['ttft_s']):<40}{stats(r['total_s'])}")
    print(f"\n(cpu cores: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f} at the end)")
    if args.json:
        Path(args.json).write_text(json.dumps({str(k): v for k, v in results.items()}, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
