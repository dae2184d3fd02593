"""Ingest files into the index: read, clean, chunk, embed, commit.

Idempotent: an article is identified by its source name and its content
hash, so re-running on an unchanged folder embeds nothing; an edited file
replaces its chunks; `prune` removes articles whose files disappeared.
Each article is committed only after all its chunks are written (see
`store.py`), so an interrupted run leaves no half-indexed article and the
next run completes it.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from llama_index.core import Document
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.node_parser import SentenceSplitter

from .clean import clean
from .config import Settings
from .errors import DocumentError
from .models import Article, FileOutcome, IngestReport
from .readers import SUPPORTED, read
from .store import Store


@dataclass
class Chunk:
    text: str
    start: int
    end: int


@dataclass
class SourceFile:
    path: Path
    source: str
    root: Path


def discover(paths: Iterable[Path]) -> tuple[list[SourceFile], list[FileOutcome]]:
    """Files to ingest (folders walked recursively, hidden entries skipped) and named paths that are missing."""
    found: list[SourceFile] = []
    missing: list[FileOutcome] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            root = path.resolve()
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    file = Path(dirpath) / name
                    if not name.startswith(".") and file.suffix.lower() in SUPPORTED:
                        found.append(SourceFile(file, file.relative_to(root).as_posix(), root))
        elif path.is_file():
            found.append(SourceFile(path.resolve(), path.name, path.resolve().parent))
        else:
            missing.append(FileOutcome(path=str(path), status="error", reason="no such file or folder"))
    return found, missing


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chunk_id(source: str, digest: str, index: int) -> str:
    return f"{hashlib.sha1(source.encode()).hexdigest()[:16]}-{digest[:16]}-{index:05d}"


def embed_text(title: str, text: str) -> str:
    # The title gives a chunk the article's topic even when the chunk never names it.
    return f"{title}\n\n{text}" if title and not text.startswith(title) else text


class Ingestor:
    def __init__(self, settings: Settings, store: Store, embedder: BaseEmbedding, count_tokens: Callable[[str], list]):
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.splitter = SentenceSplitter(
            chunk_size=settings.chunk_size,
            chunk_overlap=min(settings.chunk_overlap, settings.chunk_size // 2),
            tokenizer=count_tokens,
            include_metadata=False,
            include_prev_next_rel=False,
        )

    def chunk(self, text: str) -> list[Chunk]:
        """Sentence-aware chunks, each with its exact offsets into `text`."""
        nodes = self.splitter.get_nodes_from_documents([Document(text=text)])
        chunks, cursor = [], 0
        for node in nodes:
            body = node.get_content()
            start = node.start_char_idx
            # llama-index finds offsets with str.find from 0; repeated text needs a search from our cursor.
            if start is None or text[start : start + len(body)] != body or start < cursor - len(body):
                start = text.find(body, max(0, cursor - len(body)))
                if start < 0:
                    start = text.find(body)
            if start < 0:
                continue
            chunks.append(Chunk(body, start, start + len(body)))
            cursor = start + len(body)
        return chunks

    def run(
        self,
        paths: Iterable[Path],
        prune: bool = False,
        progress: bool = True,
        on_file: Callable[[FileOutcome], None] | None = None,
    ) -> IngestReport:
        from tqdm import tqdm

        started = time.perf_counter()
        files, missing = discover(paths)
        report = IngestReport(files=list(missing))
        # Chunks a crashed or interrupted run left behind are removed before we add more.
        self.store.collect_garbage()
        _, committed = self.store.committed()
        seen: set[str] = set()
        bar = tqdm(total=len(files), unit="file", disable=not progress, file=sys.stderr, dynamic_ncols=True)
        try:
            for sf in files:
                bar.set_description(sf.source[-40:])
                outcome = self._ingest_file(sf, committed, seen, report)
                report.files.append(outcome)
                if on_file:
                    on_file(outcome)
                if outcome.status in ("skipped", "error"):
                    bar.write(f"skipped {sf.path}: {outcome.reason}", file=sys.stderr)
                bar.update(1)
                bar.set_postfix(chunks=report.chunks_embedded)
        finally:
            bar.close()
        if prune:
            report.files += self.prune([sf.root for sf in files] + [Path(p).resolve() for p in paths], seen)
        report.seconds = time.perf_counter() - started
        return report

    def _ingest_file(self, sf: SourceFile, committed: dict[str, str], seen: set[str], report: IngestReport) -> FileOutcome:
        outcome = FileOutcome(path=str(sf.path), source=sf.source, status="error")
        try:
            raw = read(sf.path, int(self.settings.max_file_mb * 1_000_000))
        except DocumentError as exc:
            seen.add(sf.source)  # a file that exists but is unreadable is not "gone": keep its old version
            return outcome.model_copy(update={"status": "skipped", "reason": str(exc)})
        article = clean(raw.text, raw.title, raw.author)
        if not article.text.strip():
            seen.add(sf.source)
            return outcome.model_copy(update={"status": "skipped", "reason": "no article text after cleaning"})
        digest = content_hash(article.text)
        seen.add(sf.source)
        previous = committed.get(sf.source)
        if previous == digest:
            return outcome.model_copy(update={"status": "unchanged"})
        twin = self.store.find_by_hash(digest)
        if twin and twin.source != sf.source:
            return outcome.model_copy(update={"status": "duplicate", "reason": f"same text as {twin.source}, indexed once"})

        chunks = self.chunk(article.text)
        title = article.title or Path(sf.source).stem
        meta = {"source": sf.source, "title": title, "doc_hash": digest}
        ids = [chunk_id(sf.source, digest, i) for i in range(len(chunks))]
        batch = self.settings.embedding.batch_size
        for lo in range(0, len(chunks), batch):
            part = chunks[lo : lo + batch]
            vectors = self.embedder.get_text_embedding_batch([embed_text(title, c.text) for c in part])
            self.store.write_chunks(
                ids[lo : lo + batch],
                vectors,
                [c.text for c in part],
                [{**meta, "start": c.start, "end": c.end, "index": lo + i} for i, c in enumerate(part)],
            )
            report.chunks_embedded += len(part)
        self.store.commit(
            Article(
                source=sf.source,
                title=title,
                author=article.author,
                path=str(sf.path),
                content_hash=digest,
                chunks=len(chunks),
                chars=len(article.text),
                ingested_at=datetime.now(timezone.utc),
            ),
            article.text,
        )
        self.store.delete_stale(sf.source, digest)
        committed[sf.source] = digest
        return outcome.model_copy(update={"status": "updated" if previous else "added", "chunks": len(chunks)})

    def prune(self, roots: list[Path], seen: set[str]) -> list[FileOutcome]:
        """Removes articles read from under `roots` whose files are gone."""
        out = []
        for art in self.store.articles():
            path = Path(art.path)
            under = any(path == r or r in path.parents for r in roots)
            if under and art.source not in seen and not path.exists():
                self.store.remove(art.source)
                out.append(FileOutcome(path=art.path, source=art.source, status="removed"))
        return out
