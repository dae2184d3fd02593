"""Core benchmark: ingest throughput vs the raw embedder, re-ingest, retrieval latency and quality.

    python bench/bench_core.py [--copies 8] [--dataset tests/data/seed_dev.jsonl] [--html]

`--html` writes each article as a news page instead (JSON-LD / OpenGraph / byline shapes with
menus, cookie banners, related links and comments: tests/news_site.py) and also times the page
extraction (trafilatura) alone: it must not become the bottleneck next to the embedder.

Prints a table; it is a benchmark, not a test (timings depend on the machine).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag import Assistant, Settings  # noqa: E402
from rag.core.config import LLMSettings  # noqa: E402
from rag.core.text import match_text  # noqa: E402
from rag.eval.metrics import percentile, source_rank  # noqa: E402
from rag.ingest.readers import read_html  # noqa: E402
from tests.news_site import page  # noqa: E402

SHAPES = ("jsonld", "opengraph", "byline")


def make_corpus(folder: Path, copies: int, html: bool = False) -> None:
    """The seeds, plus edited copies (a distinct first line each) so the corpus is big enough to time."""
    folder.mkdir(parents=True)
    for s, seed in enumerate(sorted((REPO / "seeds").glob("*.txt"))):
        text = seed.read_text()
        for i in range(copies):
            body = f"Edition {i} of this report.\n\n{text}" if i else text
            name = f"copy{i:03d}_{seed.name}" if i else seed.name
            if html:
                paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
                body = page(paragraphs[0][:90], "Jane Example", f"2025-0{1 + i % 9}-1{s}", "Example News",
                            SHAPES[(s + i) % 3], paragraphs[1:], "https://news.example", name)
                name = name.replace(".txt", ".html")
            (folder / name).write_text(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=8, help="copies of each seed (1 = seeds only)")
    parser.add_argument("--dataset", default=str(REPO / "tests/data/seed_dev.jsonl"))
    parser.add_argument("--queries", type=int, default=200, help="retrieval latency samples")
    parser.add_argument("--html", action="store_true", help="articles as news pages (.html) instead of text")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        make_corpus(corpus, args.copies, args.html)
        pages = sorted(corpus.glob("*.html"))
        t0 = time.perf_counter()
        for path in pages:
            read_html(path.read_bytes())
        extract_s = time.perf_counter() - t0
        settings = Settings(data_dir=Path(tmp) / "data", llm=LLMSettings(provider="extractive"))
        assistant = Assistant(settings)
        assistant.embedder.embed(["warm up"])

        t0 = time.perf_counter()
        first = assistant.ingest([corpus])
        first_s = time.perf_counter() - t0
        chunks = first.chunks_embedded

        # The embedder alone on exactly the texts the pipeline embedded, same batch size.
        texts = []
        for article in assistant.articles():
            got = assistant.store.chunks.get(where={"source": article.source}, include=["documents"])
            texts += [match_text(article.title, d, article.author) for d in got["documents"]]
        batch = settings.embedding.batch_size
        t0 = time.perf_counter()
        for lo in range(0, len(texts), batch):
            assistant.embedder.embed(texts[lo : lo + batch])
        raw_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        again = assistant.ingest([corpus])
        reingest_s = time.perf_counter() - t0
        assert again.chunks_embedded == 0

        dev = [json.loads(line) for line in Path(args.dataset).read_text().splitlines() if line.strip()]
        questions = [q["question"] for q in dev]
        latency = {}
        for mode in ("dense", "bm25", "hybrid"):
            assistant.search(questions[0], mode=mode)  # build caches outside the timing
            samples = []
            for i in range(args.queries):
                t0 = time.perf_counter()
                assistant.search(questions[i % len(questions)], mode=mode)
                samples.append((time.perf_counter() - t0) * 1000)
            latency[mode] = (statistics.median(samples), percentile(samples, 95))
        articles = len(assistant.articles())

        # Quality on the seeds alone: copies would make every hit count several times.
        seeds_only = Assistant(
            Settings(data_dir=Path(tmp) / "seeds-data", llm=LLMSettings(provider="extractive")), embedder=assistant.embedder
        )
        seeds_only.ingest([REPO / "seeds"])
        quality = {}
        for mode in ("dense", "bm25", "hybrid"):
            hits, rr, n = 0, 0.0, 0
            for q in dev:
                if not q["sources"]:
                    continue
                n += 1
                sources = [p.source for p in seeds_only.search(q["question"], top_k=10, mode=mode).passages]
                rank = source_rank(sources, q["sources"])
                hits += bool(rank and rank <= 5)
                rr += 1 / rank if rank else 0.0
            quality[mode] = (hits / n, rr / n)

    print(f"corpus: {articles} articles, {chunks} chunks; quality on the {n} answerable questions of {Path(args.dataset).name}")
    print()
    print(f"{'ingest':<34}{'value':>12}")
    print(f"{'first ingest':<34}{first_s:>10.2f} s")
    print(f"{'pipeline throughput':<34}{chunks / first_s:>8.1f} ch/s")
    print(f"{'embedder alone (same texts)':<34}{len(texts) / raw_s:>8.1f} ch/s")
    print(f"{'pipeline overhead':<34}{100 * (first_s - raw_s) / first_s:>10.1f} %")
    print(f"{'pipeline / embedder throughput':<34}{100 * raw_s / first_s:>10.1f} %")
    if pages:
        print(f"{'page extraction alone':<34}{1000 * extract_s / len(pages):>7.1f} ms/page ({len(pages)} pages)")
    print(f"{'re-ingest, unchanged':<34}{reingest_s:>10.3f} s  ({first_s / reingest_s:.0f}x faster)")
    print()
    print(f"{'mode':<8}{'hit@5':>8}{'MRR@10':>8}{'p50 ms':>9}{'p95 ms':>9}")
    for mode in ("dense", "bm25", "hybrid"):
        hit, mrr = quality[mode]
        p50, p95 = latency[mode]
        print(f"{mode:<8}{hit:>8.3f}{mrr:>8.3f}{p50:>9.1f}{p95:>9.1f}")


if __name__ == "__main__":
    main()
