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
import logging
import os
import re
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
from . import sources
from .sources import chunk_id
from .store import Store
from .text import match_text

log = logging.getLogger(__name__)


_NON_SPACE = re.compile(r"\S")


@dataclass
class Chunk:
    text: str
    start: int
    end: int


@dataclass
class _Pending:
    """An article read and chunked, waiting for its group to be embedded and committed."""

    article: Article
    text: str
    chunks: list[Chunk]
    previous: str | None


@dataclass
class SourceFile:
    path: Path
    source: str
    root: Path


def discover(paths: Iterable[Path], follow_links: bool = False) -> tuple[list[SourceFile], list[FileOutcome]]:
    """Files to ingest (folders walked recursively, hidden entries skipped), and outcomes for the paths
    that cannot be: missing ones, and symbolic links leading outside the folder given (unless `follow_links`).

    Each file gets its base source name (`sources.base_name`); `sources.assign` settles the final one.
    """
    found: list[SourceFile] = []
    refused: list[FileOutcome] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            root = path.resolve()
            seen_dirs = {root}
            for dirpath, dirnames, filenames in os.walk(root, followlinks=follow_links):
                here = Path(dirpath)
                kept = []
                for d in sorted(d for d in dirnames if not d.startswith(".")):
                    sub = here / d
                    target = sub.resolve()
                    if sub.is_symlink() and not follow_links and _outside(target, root):
                        refused.append(_link_outcome(sub, target, root))
                    elif target not in seen_dirs:  # a link back up the tree is walked once
                        seen_dirs.add(target)
                        kept.append(d)
                dirnames[:] = kept
                for name in sorted(filenames):
                    file = here / name
                    if name.startswith(".") or file.suffix.lower() not in SUPPORTED:
                        continue
                    if file.is_symlink() and not follow_links and _outside(file.resolve(), root):
                        refused.append(_link_outcome(file, file.resolve(), root))
                        continue
                    found.append(SourceFile(file, sources.base_name(file, root), root))
        elif path.is_file():
            file = path.resolve()
            found.append(SourceFile(file, sources.base_name(file, file.parent), file.parent))
        else:
            refused.append(FileOutcome(path=str(path), status="error", reason="no such file or folder"))
    return found, refused


def _outside(target: Path, root: Path) -> bool:
    return target != root and root not in target.parents


def _link_outcome(link: Path, target: Path, root: Path) -> FileOutcome:
    return FileOutcome(
        path=str(link),
        status="skipped",
        reason=f"symbolic link to {target}, outside {root} (use --follow-links to include it)",
    )


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Ingestor:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        embedder: BaseEmbedding,
        count_tokens: Callable[[str], list],
        flush_chunks: int = 256,
    ):
        self.settings = settings
        # Articles are committed in groups of about this many chunks (bounded memory, few writes).
        self.flush_chunks = flush_chunks
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
        """Sentence-aware chunks, each with its exact offsets into `text`, in order, covering it."""
        nodes = self.splitter.get_nodes_from_documents([Document(text=text)])
        chunks: list[Chunk] = []
        prev_start, cursor = -1, 0
        for node in nodes:
            body = node.get_content()
            # A chunk starts inside the previous one (the overlap) or after the whitespace that follows
            # it. llama-index finds offsets with str.find from 0, which repeated text fools; the latest
            # place the chunk fits in that range keeps chunks moving forward and leaves no gap.
            following = _NON_SPACE.search(text, cursor)
            hi = following.start() if following else len(text)
            start = text.rfind(body, prev_start + 1, hi + len(body))
            if start < 0:
                start = text.find(body, prev_start + 1)
            if start < 0:
                continue
            chunks.append(Chunk(body, start, start + len(body)))
            prev_start, cursor = start, max(cursor, start + len(body))
        return chunks

    def run(
        self,
        paths: Iterable[Path],
        prune: bool = False,
        progress: bool = True,
        on_file: Callable[[FileOutcome], None] | None = None,
        follow_links: bool = False,
    ) -> IngestReport:
        """Indexes the files and folders; holds the index's write lock throughout (embedded mode)."""
        with self.store.writing():
            return self._run(paths, prune, progress, on_file, follow_links)

    def _run(self, paths, prune, progress, on_file, follow_links) -> IngestReport:
        from tqdm import tqdm

        started = time.perf_counter()
        files, refused = discover(paths, follow_links)
        report = IngestReport(files=list(refused))
        sources.migrate(self.store)
        # Chunks a crashed or interrupted run left behind are removed before we add more.
        self.store.collect_garbage()
        sources.assign(files, self.store.articles())
        _, committed = self.store.committed()
        by_hash = {digest: source for source, digest in committed.items()}
        seen: set[str] = set()
        pending: list[_Pending] = []
        bar = tqdm(total=len(files), unit="file", disable=not progress, file=sys.stderr, dynamic_ncols=True)

        def done(outcome: FileOutcome) -> None:
            report.files.append(outcome)
            if on_file:
                on_file(outcome)
            if outcome.status in ("skipped", "error"):
                bar.write(f"skipped {outcome.path}: {outcome.reason}", file=sys.stderr)
            bar.update(1)
            bar.set_postfix(chunks=report.chunks_embedded)

        def flush() -> None:
            for outcome in self._write(pending, report):
                committed[outcome.source] = next(p.article.content_hash for p in pending if p.article.source == outcome.source)
                done(outcome)
            pending.clear()

        try:
            for sf in files:
                bar.set_description(sf.source[-40:])
                item = self._prepare(sf, committed, by_hash, seen)
                if isinstance(item, FileOutcome):
                    done(item)
                    continue
                by_hash[item.article.content_hash] = sf.source
                pending.append(item)
                if sum(len(p.chunks) for p in pending) >= self.flush_chunks:
                    flush()
            flush()
        finally:
            bar.close()
        if prune:
            report.files += self.prune([sf.root for sf in files] + [Path(p).resolve() for p in paths], seen)
        report.seconds = time.perf_counter() - started
        return report

    def _prepare(
        self, sf: SourceFile, committed: dict[str, str], by_hash: dict[str, str], seen: set[str]
    ) -> _Pending | FileOutcome:
        """Reads, cleans and chunks one file; or says why it needs no (or cannot have) indexing."""
        outcome = FileOutcome(path=str(sf.path), source=sf.source, status="error")
        # A file that exists, even an unreadable one, is not "gone": prune keeps its old version.
        seen.add(sf.source)
        try:
            raw = read(sf.path, int(self.settings.max_file_mb * 1_000_000))
        except DocumentError as exc:
            return outcome.model_copy(update={"status": "skipped", "reason": str(exc)})
        article = clean(raw.text, raw.title, raw.author)
        if not article.text.strip():
            return outcome.model_copy(update={"status": "skipped", "reason": "no article text after cleaning"})
        digest = content_hash(article.text)
        previous = committed.get(sf.source)
        if previous == digest:
            return outcome.model_copy(update={"status": "unchanged"})
        twin = by_hash.get(digest)
        if twin and twin != sf.source:
            return outcome.model_copy(update={"status": "duplicate", "reason": f"same text as {twin}, indexed once"})
        chunks = self.chunk(article.text)
        record = Article(
            source=sf.source,
            title=article.title or Path(sf.source).stem,
            author=article.author,
            path=str(sf.path),
            content_hash=digest,
            chunks=len(chunks),
            chars=len(article.text),
            ingested_at=datetime.now(timezone.utc),
        )
        return _Pending(record, article.text, chunks, previous)

    def _write(self, pending: list[_Pending], report: IngestReport) -> list[FileOutcome]:
        """Embeds and writes the chunks of several articles, then commits them together.

        Grouping saves Chroma's fixed cost per write (most of the pipeline's own time with small
        articles); each article still becomes visible only with its registry record, after all
        its chunks are written.
        """
        if not pending:
            return []
        rows = [
            (chunk_id(p.article.source, p.article.content_hash, i), c, p.article)
            for p in pending
            for i, c in enumerate(p.chunks)
        ]
        batch = self.settings.embedding.batch_size
        # When the chunks were written: another writer's garbage collection leaves young ones alone.
        written_at = time.time()
        for lo in range(0, len(rows), batch):
            part = rows[lo : lo + batch]
            vectors = self.embedder.get_text_embedding_batch([match_text(a.title, c.text, a.author) for _, c, a in part])
            self.store.write_chunks(
                [i for i, _, _ in part],
                vectors,
                [c.text for _, c, _ in part],
                [
                    {"source": a.source, "title": a.title, **({"author": a.author} if a.author else {}),
                     "doc_hash": a.content_hash, "start": c.start, "end": c.end,
                     "index": int(i.rsplit("-", 1)[1]), "written_at": written_at}
                    for i, c, a in part
                ],
            )
            report.chunks_embedded += len(part)
            log.info("wrote %d chunks (%d this run)", len(part), report.chunks_embedded)
        self.store.commit([p.article for p in pending], [p.text for p in pending])
        log.info("committed %d articles", len(pending))
        for p in pending:
            if p.previous:
                self.store.delete_stale(p.article.source, p.article.content_hash)
        return [
            FileOutcome(path=p.article.path, source=p.article.source, status="updated" if p.previous else "added", chunks=len(p.chunks))
            for p in pending
        ]

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
