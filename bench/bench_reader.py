"""Where answers are lost: retrieval or reading. Per answerer, on a question set:

    python bench/bench_reader.py --slice ../rtqa-dev [--answerers extractive,local] [--limit N] [--top-k 5] [--no-oracle]
    python bench/bench_reader.py --dataset tests/data/seed_dev.jsonl --corpus seeds [--multi tests/data/seed_multi.jsonl]

(c) `context holds`: the share of answerable questions whose retrieved top-k passages contain an accepted
    answer (lower-cased, punctuation dropped, whole words);
(a) accuracy and abstention with the retrieved context (what users get: top k within the token budget);
(b) the same with the answer-bearing passages alone (oracle context: those of the top 50 that contain
    the answer, at most k, in retrieval order), over the questions that have any.
(a) far below (c) means the reader loses what retrieval found; (b) below 1 is what the reader cannot read
even when handed the answer. An answer is correct when it contains an accepted answer and none of the
question's distractors (RealTime QA's wrong choices). Unanswerable questions (seed dev set) count as
right when the answerer abstains, with any context. A benchmark, not a test; the slice stays outside
the repository (see ../shared/realtimeqa/README.md). With `--multi`, also the questions several articles
bear on (tests/data/FORMAT.md): how many answers are complete (cite two or more of those articles and
mention every differing figure), and the bearing articles cited per answer.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag import Assistant, Settings  # noqa: E402
from rag.answering.answerer import build_answerer  # noqa: E402
from rag.core.config import LLMSettings  # noqa: E402
from rag.eval.metrics import across_articles, answer_matches  # noqa: E402

ORACLE_POOL = 50


@dataclass
class Item:
    id: str
    question: str
    answers: list[str]
    distractors: list[str]

    def right(self, answer) -> bool:
        if not self.answers:
            return answer.abstained
        return not answer.abstained and answer_matches(answer.answer, self.answers) and not answer_matches(answer.answer, self.distractors)


@dataclass
class Tally:
    right: list[bool] = field(default_factory=list)
    abstained: list[bool] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def add(self, item: Item, answer, seconds: float) -> None:
        self.right.append(item.right(answer))
        self.abstained.append(answer.abstained)
        self.seconds.append(seconds)

    def __str__(self) -> str:
        if not self.right:
            return "-"
        n = len(self.right)
        return f"{sum(self.right) / n:.3f} ({sum(self.right)}/{n}), abstained {sum(self.abstained) / n:.2f}"


def load(path: Path, limit: int | None) -> list[Item]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [Item(r["id"], r["question"], r.get("answers", []), r.get("distractors", [])) for r in rows]
    return items[:limit] if limit else items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slice", type=Path, help="a RealTime QA slice (corpus/ and qa.jsonl from prepare.py)")
    parser.add_argument("--dataset", type=Path, help="a question file in the `rag eval` format")
    parser.add_argument("--corpus", type=Path, help="the articles the dataset is about")
    parser.add_argument("--answerers", default="extractive", help="comma-separated: extractive, local, openai")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--multi", type=Path, help="questions several articles bear on (seed_multi.jsonl format)")
    parser.add_argument("--no-oracle", action="store_true", help="skip (b): half the time with a slow answerer")
    args = parser.parse_args()
    if args.slice:
        dataset, corpus, home = args.slice / "qa.jsonl", args.slice / "corpus", args.slice / ".bench" / "newsdesk"
    elif args.dataset and args.corpus:
        dataset, corpus, home = args.dataset, args.corpus, Path(tempfile.mkdtemp()) / "data"
    else:
        sys.exit("give --slice DIR, or --dataset FILE with --corpus DIR")
    items = load(dataset, args.limit)
    assistant = Assistant(Settings(data_dir=home, llm=LLMSettings(provider="extractive")))
    assistant.ingest([corpus])

    # Retrieval once, for every answerer: what users get, and (no token budget) a deep pool for the oracle.
    deep = Assistant(assistant.settings.model_copy(update={"context_tokens": 0}), embedder=assistant.embedder, store=assistant.store)
    retrieved, oracle, holds = {}, {}, []
    for item in items:
        found = assistant.search(item.question, top_k=args.top_k)
        retrieved[item.id] = found
        if item.answers:
            holds.append(any(answer_matches(p.text, item.answers) for p in found.passages))
            pool = deep.search(item.question, top_k=ORACLE_POOL)
            bearing = [p for p in pool.passages if answer_matches(p.text, item.answers)][: args.top_k]
            if bearing:
                renumbered = [p.model_copy(update={"n": i}) for i, p in enumerate(bearing, 1)]
                oracle[item.id] = pool.model_copy(update={"passages": renumbered})
    answerable = [i for i in items if i.answers]
    print(f"{len(items)} questions ({len(answerable)} answerable) from {dataset}; top {args.top_k}")
    print(f"(c) context holds the answer: {sum(holds) / len(holds):.3f} ({sum(holds)}/{len(holds)}); "
          f"an answer-bearing passage in the top {ORACLE_POOL}: {len(oracle)}/{len(answerable)}")

    for name in args.answerers.split(","):
        answerer = build_answerer(assistant.settings.model_copy(update={"llm": LLMSettings(provider=name)}), assistant.embedder)
        real, ideal, unanswerable = Tally(), Tally(), Tally()
        for item in items:
            started = time.perf_counter()
            answer = answerer.ask(item.question, retrieved[item.id])
            (real if item.answers else unanswerable).add(item, answer, time.perf_counter() - started)
            print(f"  {name:<10} {item.id:<24} {'ok' if item.right(answer) else '--'} {answer.answer[:100]!r}", file=sys.stderr, flush=True)
            if item.id in oracle and not args.no_oracle:
                started = time.perf_counter()
                ideal.add(item, answerer.ask(item.question, oracle[item.id]), time.perf_counter() - started)
        print(f"{name}:")
        print(f"  (a) retrieved context: accuracy {real}; median {statistics.median(real.seconds):.1f} s")
        print(f"  (b) oracle context:    accuracy {ideal}")
        if unanswerable.right:
            print(f"  unanswerable: abstained {sum(unanswerable.right)}/{len(unanswerable.right)}")
        if args.multi:
            multi(assistant, answerer, args.multi, name)


def multi(assistant: Assistant, answerer, path: Path, name: str) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    complete, cited = 0, []
    for row in rows:
        answer = answerer.ask(row["question"], assistant.search(row["question"]))
        bearing, mentioned = across_articles(answer, row["sources"], row["mentions"])
        complete += bearing >= 2 and mentioned
        cited.append(bearing)
        print(f"  {name:<10} {row['id']:<14} cites {bearing} mentions {mentioned} {answer.answer[:160]!r}", file=sys.stderr, flush=True)
    print(f"  several articles: complete {complete}/{len(rows)}, bearing articles cited per answer {statistics.mean(cited):.2f}")


if __name__ == "__main__":
    main()
