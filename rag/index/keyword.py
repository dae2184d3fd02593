"""The keyword side: an on-disk BM25 index (tantivy) of the chunk records, kept in step with Chroma by `Store`.

One tantivy document per chunk: its BM25 terms (`bm25_tokenize` of `match_text`, the tokens and stems
the rest of the code reads), its text and metadata (stored, returned with a hit) and `key`, the article
version it belongs to (source + content hash): the unit that is committed and deleted. One more
document records the corpus version whose committed articles the index holds in full.

Writers: one at a time (tantivy's own lock, waited for with a filelock; `Store.writing` takes it).
`Store` adds a chunk's document when it writes the chunk and commits it before the registry commits the
article, so a committed article's terms are on disk first; old versions are deleted after. Readers filter
hits by the committed snapshot, as the dense side does, so a query never mixes two versions of an
article, and reload (memory-mapped segments: cheap) only when the corpus version moves. Articles the
index lacks (an index built before it existed, a crash between the two commits, another host writing
to a Chroma server) are found by `missing` and added from their chunk records by `keyword_sync.sync_keywords`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from filelock import FileLock, Timeout

from rag.core.errors import IndexBusyError
from rag.core.text import bm25_tokenize, match_text

# Part of the folder name: bump when tokenising or the schema changes, and the index is built afresh.
SCHEME = "tantivy-v2"
_VERSION_KEY = "\x00corpus-version"
# The writer's indexing memory; tantivy flushes a segment when it is full.
_WRITER_HEAP = 64_000_000
# At most this many keys per aggregation bucket list (far above any corpus here).
_MAX_KEYS = 10_000_000


_STORED = ("chunk_id", "text", "meta")


def _stored(doc, name: str) -> str:
    return doc.get_first(name).decode("utf-8")


class KeywordHit(NamedTuple):
    chunk_id: str
    text: str
    meta: dict
    score: float


def article_key(source: str, doc_hash: str) -> str:
    return f"{source}\n{doc_hash}"


def _schema():
    import tantivy

    b = tantivy.SchemaBuilder()
    # Pre-tokenised by bm25_tokenize and joined by spaces; term frequencies for BM25, no positions.
    b.add_text_field("terms", tokenizer_name="whitespace", index_option="freq")
    b.add_text_field("key", tokenizer_name="raw", stored=True, fast=True)
    b.add_text_field("source", tokenizer_name="raw")
    # Returned with a hit, never searched: stored only (a text field would index each whole value as a term).
    for name in _STORED:
        b.add_bytes_field(name, stored=True, indexed=False)
    return b.build()


class KeywordIndex:
    def __init__(self, folder: Path, timeout: float, where: str):
        self.folder = folder
        self.timeout = timeout
        self.where = where
        # thread_local: two threads of one process (uploads on a Chroma server) also wait for each other.
        self._lock = FileLock(folder.parent / f"{folder.name}.lock", thread_local=True)
        self._writer = None
        self._index = None
        self._schema = None
        # The corpus version this process last found held in full (no need to look again).
        self._held_version: str | None = None
        self._open_lock = threading.Lock()

    def _ix(self):
        if self._index is None:
            with self._open_lock:
                if self._index is None:
                    import tantivy

                    self.folder.mkdir(parents=True, exist_ok=True)
                    self._schema = _schema()
                    index = tantivy.Index(self._schema, path=str(self.folder), reuse=True)
                    # Reloaded when the corpus version moves (`missing`), not by a watcher thread.
                    index.config_reader("Manual", 0)
                    self._index = index
        return self._index

    # --- readers -----------------------------------------------------------

    def missing(self, version: str, committed: dict[str, str]) -> dict[str, str]:
        """The committed articles ({source: hash}) whose terms the index lacks; {} when it holds them all."""
        if version == self._held_version:
            return {}
        index = self._ix()
        index.reload()
        searcher = index.searcher()
        if self._recorded_version(searcher) != version:
            held = self._keys(searcher)
            lacking = {s: h for s, h in committed.items() if article_key(s, h) not in held}
            if lacking:
                return lacking
        self._held_version = version
        return {}

    def age(self) -> float | None:
        """Seconds since the index last committed (None: never)."""
        try:
            return max(0.0, time.time() - (self.folder / "meta.json").stat().st_mtime)
        except OSError:
            return None

    def keys(self) -> dict[str, int]:
        """{article key: documents} of what the index holds (deleted documents excluded)."""
        index = self._ix()
        index.reload()
        return self._keys(index.searcher())

    def _keys(self, searcher) -> dict[str, int]:
        import tantivy

        got = searcher.aggregate(tantivy.Query.all_query(), {"k": {"terms": {"field": "key", "size": _MAX_KEYS}}})
        return {b["key"]: b["doc_count"] for b in got["k"]["buckets"] if b["key"] != _VERSION_KEY}

    def _recorded_version(self, searcher) -> str | None:
        import tantivy

        hits = searcher.search(tantivy.Query.term_query(self._schema, "key", _VERSION_KEY), 1, count=False).hits
        return _stored(searcher.doc(hits[0][1]), "meta") if hits else None

    def search(self, tokens: Sequence[str], n: int, sources: Sequence[str] | None, committed: dict[str, str]) -> list[KeywordHit]:
        """The best `n` committed chunks for the query's BM25 tokens, best first."""
        import tantivy

        terms = list(dict.fromkeys(tokens))
        if not terms or n <= 0:
            return []
        index = self._ix()
        query = tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, tantivy.Query.term_query(self._schema, "terms", t)) for t in terms]
        )
        if sources:
            limit = tantivy.Query.term_set_query(self._schema, "source", list(sources))
            query = tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, limit)])
        searcher = index.searcher()
        want = n + 8
        while True:
            hits = searcher.search(query, want, count=False).hits
            out = []
            for score, address in hits:
                doc = searcher.doc(address)
                meta = json.loads(_stored(doc, "meta"))
                # Uncommitted (an ingest in flight) or superseded versions are skipped, as on the dense side.
                if committed.get(meta["source"]) == meta["doc_hash"]:
                    out.append(KeywordHit(_stored(doc, "chunk_id"), _stored(doc, "text"), meta, float(score)))
            if len(out) >= n or len(hits) < want:
                return out[:n]
            want *= 2

    # --- writers -------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Holds the index's one writer for the block (re-entrant within a thread); commits at the end."""
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        first = not self._lock.is_locked
        try:
            self._lock.acquire(timeout=self.timeout)
        except Timeout:
            raise IndexBusyError(
                f"Another process is writing to the keyword index of {self.where} ({self.folder}); waited "
                f"{self.timeout:g} s (RAG_WRITE_LOCK_TIMEOUT). Try again when it is done."
            ) from None
        try:
            if first:
                self._writer = self._ix().writer(heap_size=_WRITER_HEAP, num_threads=1)
            ok = False
            try:
                yield
                ok = True
            finally:
                if first:
                    writer, self._writer = self._writer, None
                    # A failed block's additions are dropped; what it deleted is deleted again by the next run.
                    writer.commit() if ok else writer.rollback()
                    writer.wait_merging_threads()
                    self._index.reload()
        finally:
            self._lock.release()

    def _w(self):
        if self._writer is None:
            raise RuntimeError("KeywordIndex writes need `with index.writing():`")
        return self._writer

    def add(self, ids: Sequence[str], texts: Sequence[str], metas: Sequence[dict]) -> None:
        """Documents for these chunk records (visible to readers once committed and their article is)."""
        import tantivy

        writer = self._w()
        tokens = bm25_tokenize([match_text(m["title"], t, m.get("author")) for t, m in zip(texts, metas)])
        for cid, text, meta, terms in zip(ids, texts, metas, tokens):
            writer.add_document(
                tantivy.Document(
                    terms=" ".join(terms),
                    key=article_key(meta["source"], meta["doc_hash"]),
                    source=meta["source"],
                    chunk_id=cid.encode(),
                    text=text.encode(),
                    meta=json.dumps(meta).encode(),
                )
            )

    def commit(self, version: str | None) -> None:
        """Commits what was written; `version`: the corpus version whose committed articles are now all held
        (None: unknown, so readers compare their snapshot with what is held)."""
        import tantivy

        writer = self._w()
        writer.delete_documents_by_term("key", _VERSION_KEY)
        if version is not None:
            writer.add_document(tantivy.Document(key=_VERSION_KEY, meta=version.encode()))
        writer.commit()
        self._index.reload()  # this process's own searches see it at once

    def delete_article(self, source: str, keep_hash: str | None = None) -> None:
        """Deletes every version of an article's documents, or all but `keep_hash`'s."""
        import tantivy

        writer = self._w()
        if keep_hash is None:
            writer.delete_documents_by_term("source", source)
            return
        query = tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, tantivy.Query.term_query(self._schema, "source", source)),
                (tantivy.Occur.MustNot, tantivy.Query.term_query(self._schema, "key", article_key(source, keep_hash))),
            ]
        )
        writer.delete_documents_by_query(query)

    def delete_keys(self, keys: Sequence[str]) -> None:
        writer = self._w()
        for key in keys:
            writer.delete_documents_by_term("key", key)
