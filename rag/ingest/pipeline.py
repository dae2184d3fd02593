"""Ingest files and web pages into the index: read (or fetch), clean, chunk, embed, commit.

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from itertools import chain
from pathlib import Path
from urllib.parse import urlsplit

from llama_index.core import Document
from llama_index.core.node_parser import SentenceSplitter

from rag.core import dates, tracing
from rag.core.config import Settings
from rag.core.errors import DocumentError
from rag.core.models import INFO_FIELDS, Article, FileOutcome, IngestReport
from rag.core.text import match_text
from rag.index import sources
from rag.index.embeddings import Embedder
from rag.index.keyword_sync import sync_keywords
from rag.index.migrate import migrate
from rag.index.sources import chunk_id
from rag.index.store import Store
from rag.ingest.clean import clean
from rag.ingest.fetch import Fetcher
from rag.ingest.readers import SUPPORTED, read
from rag.ingest.stories import Stories, encode, signature
from rag.ingest.web import WebArticle, WebReader

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


def discover(
    paths: Iterable[Path], follow_links: bool = False, within: Path | None = None
) -> tuple[list[SourceFile], list[FileOutcome]]:
    """Files to ingest (folders walked recursively, hidden entries skipped), and outcomes for the paths
    that cannot be: missing ones, and symbolic links leading outside the folder given (unless `follow_links`).

    Each file gets its base source name (`sources.base_name`), relative to `within` when it lies under
    that folder (a watched folder's files and subfolders are named as when the folder is ingested);
    `sources.assign` settles the final one.
    """
    found: list[SourceFile] = []
    refused: list[FileOutcome] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            start = path.resolve()
            root = _root(start, within) or start
            seen_dirs = {start}
            for dirpath, dirnames, filenames in os.walk(start, followlinks=follow_links):
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
            root = _root(file, within) or file.parent
            found.append(SourceFile(file, sources.base_name(file, root), root))
        else:
            refused.append(FileOutcome(path=str(path), status="error", reason="no such file or folder"))
    # A file named on its own and inside a folder also named (a watcher's batch) is read once.
    once = {str(f.path): f for f in reversed(found)}
    return [f for f in found if once[str(f.path)] is f], refused


def _root(path: Path, within: Path | None) -> Path | None:
    """`within`, resolved, when `path` (resolved) lies inside it."""
    root = within.resolve() if within else None
    return root if root and path.is_relative_to(root) else None


def _outside(target: Path, root: Path) -> bool:
    return not target.is_relative_to(root)


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
        embedder: Embedder,
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
        urls: Sequence[str] = (),
        respect_robots: bool = True,
        within: Path | None = None,
    ) -> IngestReport:
        """Indexes the files, folders and URLs (pages and feeds); holds the index's write lock throughout (embedded mode)."""
        with self.store.writing(), tracing.span("ingest") as current:
            report = self._run(list(paths), prune, progress, on_file, follow_links, list(urls), respect_robots, within)
            current.set_attributes({"files": len(report.files), "chunks": report.chunks_embedded})
            return report

    def _run(self, paths, prune, progress, on_file, follow_links, urls, respect_robots, within) -> IngestReport:
        from tqdm import tqdm

        started = time.perf_counter()
        files, refused = discover(paths, follow_links, within)
        report = IngestReport(files=list(refused))
        migrate(self.store)
        # Chunks a crashed or interrupted run left behind are removed before we add more.
        self.store.collect_garbage()
        sync_keywords(self.store, progress)
        known = self.store.articles()
        stories = Stories(known)
        sources.assign(files, known)
        _, committed = self.store.committed()
        by_hash = {digest: source for source, digest in committed.items()}
        seen: set[str] = set()
        pending: list[_Pending] = []
        bar = tqdm(total=len(files) + len(urls), unit="file", disable=not progress, file=sys.stderr, dynamic_ncols=True)

        def done(outcome: FileOutcome) -> None:
            report.files.append(outcome)
            if on_file:
                on_file(outcome)
            if outcome.status in ("skipped", "error"):
                bar.write(f"skipped {outcome.path}: {outcome.reason}", file=sys.stderr)
            # A feed becomes as many articles as it lists.
            bar.total = max(bar.total, bar.n + 1)
            bar.update(1)
            bar.set_postfix(chunks=report.chunks_embedded)

        def flush() -> None:
            for outcome in self._write(pending, report):
                committed[outcome.source] = next(p.article.content_hash for p in pending if p.article.source == outcome.source)
                done(outcome)
            pending.clear()

        fetcher = Fetcher(self.settings.fetch, respect_robots) if urls else None
        items = chain(files, WebReader(fetcher, known).read(urls) if fetcher else ())
        try:
            for item in items:
                if isinstance(item, FileOutcome):
                    done(item)
                    continue
                bar.set_description((item.source if isinstance(item, SourceFile) else item.url)[-40:])
                prepared = self._prepare(item, committed, by_hash, seen, stories)
                if isinstance(prepared, FileOutcome):
                    done(prepared)
                    continue
                by_hash[prepared.article.content_hash] = prepared.article.source
                pending.append(prepared)
                if sum(len(p.chunks) for p in pending) >= self.flush_chunks:
                    flush()
            flush()
        finally:
            bar.close()
            if fetcher:
                fetcher.close()
        if prune:
            report.files += self.prune([sf.root for sf in files] + [Path(p).resolve() for p in paths], seen)
        report.seconds = time.perf_counter() - started
        return report

    def _prepare(
        self, item: SourceFile | WebArticle, committed: dict[str, str], by_hash: dict[str, str], seen: set[str], stories: Stories
    ) -> _Pending | FileOutcome:
        """Reads (a file), cleans and chunks one article; or says why it needs no (or cannot have) indexing."""
        with tracing.span("extract", source=item.source if isinstance(item, SourceFile) else item.url) as current:
            prepared = self._read(item, committed, by_hash, seen, stories)
            current.set_attribute("outcome", prepared.status if isinstance(prepared, FileOutcome) else "new")
            return prepared

    def _read(
        self, item: SourceFile | WebArticle, committed: dict[str, str], by_hash: dict[str, str], seen: set[str], stories: Stories
    ) -> _Pending | FileOutcome:
        if isinstance(item, SourceFile):
            outcome = FileOutcome(path=str(item.path), source=item.source, status="error")
            # A file that exists, even an unreadable one, is not "gone": prune keeps its old version.
            seen.add(item.source)
            try:
                raw = read(item.path, int(self.settings.max_file_mb * 1_000_000))
                written = date.fromtimestamp(item.path.stat().st_mtime)
            except (DocumentError, OSError) as exc:
                return outcome.model_copy(update={"status": "skipped", "reason": str(exc)})
            source, path, web = item.source, str(item.path), {}
        else:
            outcome = FileOutcome(path=item.link, source=item.url, status="error")
            raw, written = item.raw, None
            source, path = item.url, item.url
            web = {"fetched_from": item.link, "etag": item.etag, "last_modified": item.last_modified}
        # A date the text states ("Dec 12" under a byline, a dateline) when the page or feed gave none.
        published = raw.published or dates.from_header(raw.text.splitlines(), written)
        article = clean(raw.text, raw.title, raw.author)
        if not article.text.strip():
            return outcome.model_copy(update={"status": "skipped", "reason": "no article text after cleaning"})
        digest = content_hash(article.text)
        previous = committed.get(source)
        if previous == digest:
            return outcome.model_copy(update={"status": "unchanged"})
        twin = by_hash.get(digest)
        if twin and twin != source:
            return outcome.model_copy(update={"status": "duplicate", "reason": f"same text as {twin}, indexed once"})
        with tracing.span("chunk", chars=len(article.text)):
            chunks = self.chunk(article.text)
        shingles = signature(article.text)
        record = Article(
            source=source,
            title=article.title or Path(urlsplit(source).path).stem or source,
            author=article.author,
            path=path,
            content_hash=digest,
            chunks=len(chunks),
            chars=len(article.text),
            ingested_at=datetime.now(timezone.utc),
            published=published,
            url=raw.url,
            site=raw.site,
            story=stories.assign(source, shingles),
            signature=encode(shingles),
            **web,
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
            with tracing.span("embed", chunks=len(part)):
                vectors = self.embedder.get_text_embedding_batch([match_text(a.title, c.text, a.author) for _, c, a in part])
            self.store.write_chunks(
                [i for i, _, _ in part],
                vectors,
                [c.text for _, c, _ in part],
                [
                    {**_chunk_info(a), "doc_hash": a.content_hash, "start": c.start, "end": c.end,
                     "index": int(i.rsplit("-", 1)[1]), "written_at": written_at}
                    for i, c, a in part
                ],
            )
            report.chunks_embedded += len(part)
            log.info("wrote %d chunks (%d this run)", len(part), report.chunks_embedded)
        with tracing.span("commit", articles=len(pending), chunks=len(rows)):
            self.store.commit([p.article for p in pending], [p.text for p in pending])
        log.info("committed %d articles", len(pending))
        for p in pending:
            if p.previous:
                self.store.delete_stale(p.article.source, p.article.content_hash)
        return [
            FileOutcome(path=p.article.path, source=p.article.source, status="updated" if p.previous else "added", chunks=len(p.chunks))
            for p in pending
        ]

    def forget(self, paths: Iterable[Path]) -> list[FileOutcome]:
        """Removes the articles read from these files, or from under these folders, that are gone from disk."""
        with self.store.writing():
            return self._remove_gone([Path(p).resolve() for p in paths], set())

    def prune(self, roots: list[Path], seen: set[str]) -> list[FileOutcome]:
        """Removes articles read from under `roots` whose files are gone (call with the write lock held)."""
        return self._remove_gone(roots, seen)

    def _remove_gone(self, roots: list[Path], seen: set[str]) -> list[FileOutcome]:
        out = []
        for art in self.store.articles():
            path = Path(art.path)
            under = any(path.is_relative_to(r) for r in roots)
            if under and art.source not in seen and not path.exists():
                self.store.remove(art.source)
                out.append(FileOutcome(path=art.path, source=art.source, status="removed"))
        return out

def _chunk_info(article: Article) -> dict:
    """What each chunk record says about its article (Chroma metadata: no None values)."""
    info = article.model_dump(mode="json", include=INFO_FIELDS)
    return {k: v for k, v in info.items() if v is not None}
