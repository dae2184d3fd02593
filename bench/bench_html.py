"""HTML ingest benchmark: is page extraction (trafilatura) a bottleneck next to the embedder?

    python bench/bench_html.py [--copies 8]

Wraps each seed article in a news page (JSON-LD / OpenGraph / byline shapes, with menus, cookie
banners, related links and comments: tests/news_site.py), writes the pages as .html files, and
prints extraction alone, the whole ingest, and the embedder alone on exactly the texts the
pipeline embedded. Target: ingest throughput >= 80 % of the embedder's raw throughput.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from rag import Assistant, Settings  # noqa: E402
from rag.config import LLMSettings  # noqa: E402
from rag.readers import read_html  # noqa: E402
from rag.text import match_text  # noqa: E402
from tests.news_site import page  # noqa: E402

SHAPES = ("jsonld", "opengraph", "byline")


def make_pages(folder: Path, copies: int) -> list[Path]:
    folder.mkdir(parents=True)
    out = []
    for s, seed in enumerate(sorted((REPO / "seeds").glob("*.txt"))):
        paragraphs = [p.strip() for p in seed.read_text().split("\n\n") if len(p.strip()) > 40]
        for i in range(copies):
            html = page(
                title=f"{paragraphs[0][:80]} (edition {i})",
                author="Jane Example",
                published=f"2025-0{1 + i % 9}-1{s}",
                site="Example News",
                shape=SHAPES[(s + i) % 3],
                paragraphs=[f"Edition {i} of this report."] + paragraphs[1:],
                base="https://news.example",
                slug=f"{seed.stem}-{i}",
            )
            path = folder / f"{seed.stem}-{i}.html"
            path.write_text(html, encoding="utf-8")
            out.append(path)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=8, help="pages per seed article")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pages = make_pages(Path(tmp) / "pages", args.copies)
        t0 = time.perf_counter()
        for p in pages:
            read_html(p.read_bytes())
        extract_s = time.perf_counter() - t0

        settings = Settings(data_dir=Path(tmp) / "data", llm=LLMSettings(provider="extractive"))
        assistant = Assistant(settings)
        assistant.embedder.embed(["warm up"])
        t0 = time.perf_counter()
        report = assistant.ingest([Path(tmp) / "pages"])
        ingest_s = time.perf_counter() - t0
        chunks = report.chunks_embedded

        texts = []
        for article in assistant.articles():
            got = assistant.store.chunks.get(where={"source": article.source}, include=["documents"])
            texts += [match_text(article.title, d, article.author) for d in got["documents"]]
        batch = settings.embedding.batch_size
        t0 = time.perf_counter()
        for lo in range(0, len(texts), batch):
            assistant.embedder.embed(texts[lo : lo + batch])
        raw_s = time.perf_counter() - t0

    print(f"{len(pages)} pages, {chunks} chunks")
    print(f"{'extraction alone (trafilatura)':<36}{1000 * extract_s / len(pages):>8.1f} ms/page {len(pages) / extract_s:>8.1f} pages/s")
    print(f"{'ingest, whole pipeline':<36}{chunks / ingest_s:>8.1f} ch/s  {len(pages) / ingest_s:>8.1f} pages/s")
    print(f"{'embedder alone (same texts)':<36}{len(texts) / raw_s:>8.1f} ch/s")
    print(f"{'ingest / embedder throughput':<36}{100 * raw_s / ingest_s:>8.1f} %   (target >= 80 %)")


if __name__ == "__main__":
    main()
