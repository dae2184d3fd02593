"""Answers through any OpenAI-compatible server: accuracy, abstention, citation validity, latency.

    python bench/bench_answers.py --base-url http://127.0.0.1:8080/v1 [--model NAME]
    python bench/bench_answers.py --serve data/models/<model>.gguf   # starts llama_cpp.server on loopback
    options: [--dataset tests/data/seed_dev.jsonl] [--corpus seeds/] [--limit N]

Ingests the corpus into a scratch index, then answers every question with LLM_PROVIDER=openai
and prints per question and overall: answer accuracy (answerable questions; the rules of
`rag eval`), abstention on unanswerable ones, citation validity before repair (the share of the
model's own [n] that pointed at a passage supporting the sentence), how often a citation was
repaired or a sentence removed, and the time to the first text shown (a checked sentence) and to
the finished answer. A benchmark, not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag import AnswerText, Assistant, Final, Settings  # noqa: E402
from rag.core.config import LLMSettings  # noqa: E402
from rag.eval.dataset import load_dataset  # noqa: E402
from rag.eval.metrics import answer_matches, percentile  # noqa: E402
from tests.llama_server import LlamaServer, missing  # noqa: E402


def run(base_url: str, model: str, dataset: Path, corpus: Path, limit: int | None) -> None:
    items = load_dataset(dataset)[:limit]
    with tempfile.TemporaryDirectory() as tmp:
        llm = LLMSettings(provider="openai", base_url=base_url, model=model, api_key="unused", timeout=600, max_retries=0)
        assistant = Assistant(Settings(data_dir=Path(tmp) / "data", llm=llm))
        assistant.ingest([corpus])
        rows = []
        for item in items:
            started = time.perf_counter()
            first = None
            for event in assistant.stream(item.question):
                if isinstance(event, Final):
                    answer = event.answer
                elif isinstance(event, AnswerText):
                    first = first or time.perf_counter() - started
            total = time.perf_counter() - started
            right = answer_matches(answer.answer, item.answers) if item.answerable else answer.abstained
            repaired = sum(w.startswith(("Attributed", "Removed citation", "Citation")) for w in answer.warnings)
            removed = sum(w.startswith("Removed a sentence") for w in answer.warnings)
            rows.append((item, answer, right, first, total, repaired, removed))
            print(f"{item.id:<14}{'ok' if right else 'MISS':<6}{'abstain' if answer.abstained else '':<8}"
                  f"validity {answer.citation_validity if answer.citation_validity is not None else '-':<6} "
                  f"first {first or 0:5.1f}s total {total:5.1f}s  {answer.answer[:90]!r}", flush=True)

    answerable = [r for r in rows if r[0].answerable]
    unanswerable = [r for r in rows if not r[0].answerable]
    validity = [r[1].citation_validity for r in rows if r[1].citation_validity is not None]
    firsts = [r[3] for r in rows if r[3] is not None]
    totals = [r[4] for r in rows]
    print()
    print(f"model {model} at {base_url}; {len(rows)} questions from {dataset.name}")
    print(f"answer accuracy (answerable)        {sum(r[2] for r in answerable)}/{len(answerable)}")
    print(f"abstained when answerable           {sum(r[1].abstained for r in answerable)}/{len(answerable)}")
    print(f"abstained when unanswerable         {sum(r[2] for r in unanswerable)}/{len(unanswerable)}")
    print(f"citation validity before repair     {statistics.mean(validity):.2f}" if validity else "citation validity before repair     -")
    print(f"answers the checker cited or fixed {sum(r[5] > 0 for r in rows)}/{len(rows)}")
    print(f"answers with a sentence removed     {sum(r[6] > 0 for r in rows)}/{len(rows)}")
    if firsts:
        print(f"first text shown, median / p95      {statistics.median(firsts):.1f} / {percentile(firsts, 95):.1f} s")
    print(f"whole answer, median / p95          {statistics.median(totals):.1f} / {percentile(totals, 95):.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", help="an OpenAI-compatible /v1 endpoint")
    parser.add_argument("--model", default="local-gguf", help="model name to ask for")
    parser.add_argument("--serve", metavar="GGUF", help="start llama_cpp.server with this model on loopback")
    parser.add_argument("--threads", type=int, default=2, help="llama_cpp.server threads (with --serve)")
    parser.add_argument("--dataset", default=str(REPO / "tests/data/seed_dev.jsonl"))
    parser.add_argument("--corpus", default=str(REPO / "seeds"))
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    if args.serve:
        why = missing(Path(args.serve))
        if why:
            sys.exit(f"cannot start the server: {why}")
        with LlamaServer(Path(args.serve), threads=args.threads) as server:
            run(server.url, args.model, Path(args.dataset), Path(args.corpus), args.limit)
    elif args.base_url:
        run(args.base_url, args.model, Path(args.dataset), Path(args.corpus), args.limit)
    else:
        parser.error("give --base-url URL or --serve GGUF")


if __name__ == "__main__":
    main()
