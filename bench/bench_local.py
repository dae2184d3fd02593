"""Local-model benchmark: the dev set answered by the in-process GGUF model.

    python bench/bench_local.py [--prompts passages,evidence] [--threads 2] [--dataset tests/data/seed_dev.jsonl] [--limit N]

Needs llama-cpp-python and the model (`rag model install`). Ingests seeds/ into a
scratch index, then for each prompt style (RAG_LLM_PROMPT: the passages whole, or each
one's best sentences) answers every question and prints, per question and overall:
answer accuracy (answerable questions: the answer contains an accepted string,
case-insensitive, normalised, on word boundaries), abstention accuracy (unanswerable
questions: the assistant abstained), and the time to the first answer text shown (a
checked sentence, streamed) and to the finished answer. A benchmark, not a test:
timings depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag import AnswerText, Assistant, EvidenceFound, Final, Settings  # noqa: E402
from rag.answering.llm import LOCAL_MODEL_FILE  # noqa: E402
from rag.answering.local_llama import LocalLlama  # noqa: E402
from rag.core.config import LLMSettings  # noqa: E402
from rag.eval.metrics import answer_matches, percentile  # noqa: E402


def stats(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"mean {sum(values) / len(values):5.1f}  p50 {percentile(values, 50):5.1f}  p95 {percentile(values, 95):5.1f}"


def run(assistant: Assistant, items: list[dict]) -> dict:
    rows = []
    for item in items:
        started = time.perf_counter()
        first = evidence = None
        for event in assistant.stream(item["question"]):
            if isinstance(event, Final):
                answer = event.answer
            elif isinstance(event, EvidenceFound):
                evidence = time.perf_counter() - started
            elif isinstance(event, AnswerText):
                first = first or time.perf_counter() - started
        total = time.perf_counter() - started
        answerable = bool(item["answers"])
        correct = (not answer.abstained and answer_matches(answer.answer, item["answers"])) if answerable else answer.abstained
        rows.append({
            "id": item["id"], "answerable": answerable, "correct": correct, "abstained": answer.abstained,
            "citations": len(answer.citations), "validity": answer.citation_validity,
            "ttft_s": first, "total_s": total, "evidence_s": evidence, "answer": answer.answer,
        })
        r = rows[-1]
        print(f"  {r['id']}  {'ok ' if correct else 'BAD'}  first text {r['ttft_s'] or 0:5.1f}s  total {total:5.1f}s  "
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
        "evidence_s": [r["evidence_s"] for r in rows if r["evidence_s"] is not None],
        "total_s": [r["total_s"] for r in rows],
        "rows": rows,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=str(REPO / "tests/data/seed_dev.jsonl"))
    parser.add_argument("--model", default=os.environ.get("LOCAL_MODEL_PATH") or str(REPO / "data/models" / LOCAL_MODEL_FILE))
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads (RAG_LLM_THREADS)")
    parser.add_argument("--prompts", default="passages,evidence", help="prompt styles to compare (RAG_LLM_PROMPT)")
    parser.add_argument("--lookups", default="0", help="prompt-lookup draft sizes to compare (RAG_LLM_PROMPT_LOOKUP; 0: off)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--top-k", type=int, default=None)
    parser.add_argument("--json", metavar="FILE", help="also write the per-question results here")
    args = parser.parse_args()

    model = Path(args.model)
    if not model.is_file():
        print(f"no model at {model}: run `rag model install` (or pass --model)", file=sys.stderr)
        return 2
    items = [json.loads(line) for line in Path(args.dataset).read_text().splitlines() if line.strip()][: args.limit]
    prompts = args.prompts.split(",")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Settings(data_dir=Path(tmp) / "data", llm=LLMSettings(provider="extractive"))
        if args.top_k:
            base.top_k = args.top_k
        indexer = Assistant(base, llm=None)
        indexer.ingest([REPO / "seeds"])
        for lookup in (int(n) for n in args.lookups.split(",")):
            t0 = time.perf_counter()
            model_settings = LLMSettings(provider="local", local_model_path=model, threads=args.threads, prompt_lookup=lookup)
            llm = LocalLlama(model_settings, model)
            print(f"model loaded in {time.perf_counter() - t0:.1f}s ({llm.name}, {args.threads} threads, prompt lookup {lookup}); "
                  f"{len(items)} questions")
            for prompt in prompts:
                settings = base.model_copy(update={"llm": model_settings.model_copy(update={"prompt": prompt})})
                assistant = Assistant(settings, embedder=indexer.embedder, store=indexer.store, llm=llm)
                # As `rag chat`, `rag serve` and `rag api` do at start: the answerer is built (and reads the fixed
                # instructions ahead) before the first question, which a user asks seconds later.
                t0 = time.perf_counter()
                if assistant.answerer.priming is not None:
                    assistant.answerer.priming.join()
                print(f"prompt={prompt} lookup={lookup} (fixed instructions read ahead in {time.perf_counter() - t0:.1f}s)", flush=True)
                results[f"{prompt}/{lookup}"] = run(assistant, items)
                gc.collect()
            del llm
            gc.collect()

    print(f"\n{'prompt/lookup':>13}  {'answer acc':>10}  {'abstain acc':>11}  {'false abst':>10}  {'cit valid':>9}   "
          f"evidence shown (s)                      first answer text (s)                   total per question (s)")
    for n, r in results.items():
        def pct(v):
            return f"{v:.0%}" if v is not None else "n/a"

        print(f"{n:>13}  {pct(r['answer_accuracy']):>10}  {pct(r['abstention_accuracy']):>11}  {r['false_abstentions']:>10}  "
              f"{pct(r['citation_validity']):>9}   {stats(r['evidence_s']):<40}{stats(r['ttft_s']):<40}{stats(r['total_s'])}")
    print(f"\n(cpu cores: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f} at the end)")
    if args.json:
        Path(args.json).write_text(json.dumps({str(k): v for k, v in results.items()}, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
