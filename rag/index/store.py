"""The Chroma index: chunk vectors plus a registry of committed articles.

Two collections live side by side:
- `<name>`: one record per chunk (vector, text, source, offsets, doc hash);
- `<name>-docs`: one record per article (title, hash, chunk count...) and a
  `__corpus__` record whose `version` changes on every commit.

An article becomes visible only when its registry record names its content
hash; chunks of any other hash (a crashed run, an old version) are ignored
by readers and deleted by a later ingest. That makes every article's
chunks appear all at once or not at all, in embedded and server mode alike.

Writers: an embedded index has one at a time (`locks.WriteLock`). A Chroma
server may have several, so a chunk another writer has written but not yet
committed must not be collected as garbage: chunks carry the time they were
written, and only uncommitted chunks older than `UNCOMMITTED_GRACE_S` are
collected there (a live writer commits within seconds of writing).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from rag.core.config import Settings
from rag.core.models import Article
from rag.index.connection import Connection
from rag.index.keyword import SCHEME, KeywordIndex
from rag.index.sources import NAMING, hash_of
from rag.index.view import read_view

CORPUS_ID = "__corpus__"
# Chroma wants a vector on every record; registry records are looked up by id.
_NO_VECTOR = [0.0]
# Records per read. Chroma's SQLite binds one variable per record it returns or is asked for, and fails past
# 32,766 ("too many SQL variables"): a registry of ~33k articles (200k chunks) could not be read whole.
_PAGE = 2000
# Uncommitted chunks younger than this may belong to a writer still running (server mode).
UNCOMMITTED_GRACE_S = 600
# Committed doc hashes per filtered read (Chroma `$in`).
_HASHES_PER_READ = 200
# Garbage collection reads only the chunks written since its last pass (less this margin, for writers'
# clocks), and every chunk once a day: a full pass read all 205k chunks' metadata in 36 s on every feed poll
# (garbage is only ever written by a run that crashed; a crash between a commit and the deletion of the
# article's old chunks leaves old ones, which the daily pass finds; readers never see either).
_GC_MARGIN_S = 60.0
GC_FULL_EVERY_S = 24 * 3600.0


def _pages(get, **query) -> Iterator[dict]:
    """A Chroma `get` a page at a time (`_PAGE` records), in the collection's order."""
    offset = 0
    while True:
        page = get(limit=_PAGE, offset=offset, **query)
        if not page["ids"]:
            return
        yield page
        offset += _PAGE


def _every(get, include: list[str], ids: Sequence[str] | None = None, **query) -> dict[str, list]:
    """All that a `get` returns (`ids` and the `include`d fields), read a page or a batch of `ids` at a time."""
    out: dict[str, list] = {"ids": [], **{field: [] for field in include}}
    if ids is None:
        pages = _pages(get, include=include, **query)
    else:
        pages = (get(ids=list(ids[lo : lo + _PAGE]), include=include, **query) for lo in range(0, len(ids), _PAGE))
    for page in pages:
        for field, values in out.items():
            values.extend(page[field])
    return out


class Store(Connection):
    def __init__(self, settings: Settings, embedder_id: str):
        super().__init__(settings, embedder_id)
        self.keywords = KeywordIndex(self._keyword_folder(), settings.write_lock_timeout, self._where)

    def _local_name(self) -> str:
        """This data dir's name for the collection: one per server and collection on a Chroma server."""
        chroma = self.settings.chroma
        return f"{chroma.host}_{chroma.port}.{self.settings.collection}" if chroma.host else self.settings.collection

    def _keyword_folder(self) -> Path:
        """Embedded: beside the index. On a Chroma server: this data dir's own copy of the server's
        collection, fed from its registry (`sync_keywords`), one per server and collection."""
        return self.settings.data_dir / "keyword" / f"{self._local_name()}.{SCHEME}"

    # --- readers -----------------------------------------------------------

    def version(self) -> str:
        return self._stamp()[0]

    def _stamp(self) -> tuple[str, float | None]:
        """(corpus version, when it was committed: None for an index written before that was recorded)."""
        got = self._registry_get(ids=[CORPUS_ID], include=["metadatas"])
        if not got["ids"]:
            return "", None
        meta = got["metadatas"][0]
        return meta["version"], meta.get("committed_at")

    def committed(self) -> tuple[str, dict[str, str]]:
        """(corpus version, {source: content hash}) of the committed articles, cached per version and
        brought up to date from the records committed since (`view.py`)."""
        version, stamped = self._stamp()
        self._follow(version)
        with self._lock:
            previous = self._view
        if previous is None or previous.version != version:
            view = read_view(lambda **query: _every(self._registry_get, **query), CORPUS_ID, version, stamped, previous)
            with self._lock:
                self._view = previous = view
        return previous.version, previous.hashes

    def articles(self, sources: Sequence[str] | None = None) -> list[Article]:
        """The registry's articles; `sources`: only those (a reader that lacks a few need not read them all)."""
        got = _every(self._registry_get, ["metadatas"], ids=sources)
        out = [
            Article(source=i, **{k: v for k, v in m.items() if k != "author" or v})
            for i, m in zip(got["ids"], got["metadatas"])
            if i != CORPUS_ID
        ]
        return sorted(out, key=lambda a: a.source)

    # The collections looked up inside each call: a reopen (ours or another thread's) replaces them.
    def _registry_get(self, **query) -> dict:
        return self._guard(lambda: self.registry.get(**query))

    def _chunks_get(self, **query) -> dict:
        return self._guard(lambda: self.chunks.get(**query))

    def chunk_count(self) -> int:
        return self._guard(lambda: self.chunks.count())  # looked up inside the call: a reopen may replace it

    def dense(
        self,
        vector: Sequence[float],
        n: int,
        sources: Sequence[str] | None = None,
        committed: dict[str, str] | None = None,
        total: int | None = None,
    ) -> list[dict]:
        """Nearest committed chunks (of the `committed` snapshot): dicts with id, text, metadata and cosine similarity.

        `total` is the collection's chunk count when the caller already has it (counting is linear in Chroma).
        """
        if committed is None:
            _, committed = self.committed()
        if total is None:
            total = self.chunk_count()
        if not total:
            return []
        # A scope too large for one statement (`_PAGE`: "since January" over a year of news) is kept after the
        # query instead: it holds most of the corpus then, so few hits fall outside it.
        scope = set(sources) if sources and len(sources) > _PAGE else None
        where = {"source": {"$in": list(sources)}} if sources and scope is None else None
        want = min(n + 8, total)
        while True:
            res = self._guard(
                lambda: self.chunks.query(
                    query_embeddings=[list(vector)],
                    n_results=want,
                    where=where,
                    include=["documents", "metadatas", "distances"],
                )
            )
            hits = [
                {"id": i, "text": d, "meta": m, "similarity": 1.0 - dist}
                for i, d, m, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0], res["distances"][0])
                # A record deleted while the query ran comes back without metadata.
                if m is not None and d is not None and committed.get(m["source"]) == m["doc_hash"]
                and (scope is None or m["source"] in scope)
            ]
            # Uncommitted chunks (an ingest in flight) or ones outside the scope can crowd the top; ask for more.
            if len(hits) >= n or want >= total or len(res["ids"][0]) < want:
                return hits[:n]
            want = min(want * 2, total)

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these chunks (missing ids, and those the client does not hold yet, are left out)."""
        with self._lock:
            held = self._held
        if held is not None:
            ids = [i for i in ids if hash_of(i) in held]
        if not ids:
            return {}
        got = self._chunks_get(ids=list(ids), include=["embeddings"])
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"])}

    def iter_committed_chunks(self, committed: dict[str, str] | None = None) -> Iterator[tuple[str, str, dict]]:
        """(id, text, metadata) of every committed chunk, read in bounded pages.

        Reads are filtered by the committed doc hashes, so deletes running meanwhile (old
        versions, garbage) cannot shift the pages: within one corpus version the set read is fixed.
        """
        if committed is None:
            _, committed = self.committed()
        hashes = sorted(set(committed.values()))
        for lo in range(0, len(hashes), _HASHES_PER_READ):
            where = {"doc_hash": {"$in": hashes[lo : lo + _HASHES_PER_READ]}}
            for page in _pages(self._chunks_get, where=where, include=["documents", "metadatas"]):
                for i, d, m in zip(page["ids"], page["documents"], page["metadatas"]):
                    if committed.get(m["source"]) == m["doc_hash"]:
                        yield i, d, m

    # --- writers (embedded: one process at a time, see `writing`) ---------

    @contextmanager
    def writing(self) -> Iterator[None]:
        """A write: the embedded index's inter-process lock (none for a server), then the keyword index's writer."""
        with self.write_lock.hold(), self.keywords.writing():
            yield

    def write_chunks(self, ids: list[str], vectors: list[list[float]], texts: list[str], metas: list[dict]) -> None:
        with self.keywords.writing():
            self._guard(lambda: self.chunks.upsert(ids=ids, embeddings=vectors, documents=texts, metadatas=metas))
            self.keywords.add(ids, texts, metas)

    def article_text(self, source: str) -> str | None:
        return self.article_texts([source]).get(source)

    def article_texts(self, sources: Sequence[str]) -> dict[str, str]:
        """{source: cleaned text} of the committed articles among `sources`."""
        if not sources:
            return {}
        got = _every(self._registry_get, ["documents"], ids=sources)
        return dict(zip(got["ids"], got["documents"]))

    def commit(self, articles: list[Article], texts: list[str]) -> None:
        """Makes the articles' chunks visible: registry records (with the cleaned texts) and a new corpus version, in one write."""
        metas = [{k: v for k, v in a.model_dump(exclude={"source"}, mode="json").items() if v is not None} for a in articles]
        self._bump([a.source for a in articles], metas, texts)

    def rename(self, articles: list[Article], old_sources: list[str], texts: list[str]) -> None:
        """Registry records under new names (their chunks already written) replace the old ones."""
        self.commit(articles, texts)
        if old_sources:
            self._guard(lambda: self.registry.delete(ids=old_sources))
            self._bump([], [], [])

    def naming(self) -> str | None:
        """The source-naming scheme recorded with the corpus (see `sources.NAMING`)."""
        got = self._registry_get(ids=[CORPUS_ID], include=["metadatas"])
        return got["metadatas"][0].get("naming") if got["ids"] else None

    def chunk_records(self, source: str) -> dict:
        """Every chunk record of an article, vectors included."""
        return self._chunks_get(where={"source": source}, include=["embeddings", "documents", "metadatas"])

    def delete_chunks(self, source: str) -> None:
        with self.keywords.writing():
            self._guard(lambda: self.chunks.delete(where={"source": source}))
            self.keywords.delete_article(source)

    def _bump(self, ids: list[str], metas: list[dict], texts: list[str]) -> None:
        version = uuid.uuid4().hex
        self._own_versions.append(version)
        now = time.time()
        metas = [{**m, "committed_at": now} for m in metas]  # readers re-read what changed since their view
        stamp = {"version": version, "updated_at": datetime.fromtimestamp(now, timezone.utc).isoformat(), "naming": NAMING, "committed_at": now}
        # The keyword index commits first: a committed article's terms are on disk before readers see it.
        # It holds every article of `version` only if it held every article before this write.
        before = self.committed()
        held = not self.keywords.missing(*before)
        with self.keywords.writing():
            self.keywords.commit(version if held else None)
        self._guard(
            lambda: self.registry.upsert(
                ids=[*ids, CORPUS_ID],
                embeddings=[_NO_VECTOR] * (len(ids) + 1),
                metadatas=[*metas, stamp],
                documents=[*texts, ""],
            )
        )

    def delete_stale(self, source: str, keep_hash: str) -> None:
        with self.keywords.writing():
            self._guard(lambda: self.chunks.delete(where={"$and": [{"source": source}, {"doc_hash": {"$ne": keep_hash}}]}))
            self.keywords.delete_article(source, keep_hash)

    def remove(self, source: str) -> None:
        """Un-commits an article first (readers stop seeing it), then drops its chunks."""
        with self.writing():
            self._guard(lambda: self.registry.delete(ids=[source]))
            self._bump([], [], [])
            self.delete_chunks(source)

    def collect_garbage(self) -> int:
        """Deletes chunks no committed article owns (left by a crash or an old version): those written since
        the last pass, and all of them once every `GC_FULL_EVERY_S`.

        Embedded, the caller holds the write lock, so no other writer has chunks in flight. On a
        server, uncommitted chunks younger than UNCOMMITTED_GRACE_S may be another writer's work
        in progress and are left alone.
        """
        started = time.time()
        marks = self._gc_marks()
        full = started - marks.get("full_at", 0.0) >= GC_FULL_EVERY_S
        grace = UNCOMMITTED_GRACE_S if self.settings.chroma.host else 0.0
        since = {} if full else {"where": {"written_at": {"$gt": marks["scanned_at"] - grace - _GC_MARGIN_S}}}
        _, committed = self.committed()
        cutoff = started - grace if grace else float("inf")
        stale: list[str] = []
        for page in _pages(self._chunks_get, include=["metadatas"], **since):
            stale += [
                i
                for i, m in zip(page["ids"], page["metadatas"])
                if committed.get(m["source"]) != m["doc_hash"] and m.get("written_at", 0) < cutoff
            ]
        for start in range(0, len(stale), _PAGE):
            batch = stale[start : start + _PAGE]
            self._guard(lambda: self.chunks.delete(ids=batch))
        self._set_gc_marks({"scanned_at": started, "full_at": started if full else marks["full_at"]})
        return len(stale)

    def _gc_path(self) -> Path:
        return self.settings.data_dir / "state" / f"{self._local_name()}.gc.json"

    def _gc_marks(self) -> dict[str, float]:
        """When garbage collection last passed (`scanned_at`) and last read every chunk (`full_at`); {} if never."""
        try:
            marks = json.loads(self._gc_path().read_text())
            return {k: float(marks[k]) for k in ("scanned_at", "full_at")}
        except (OSError, ValueError, KeyError, TypeError):
            return {}  # never passed here, or a damaged file: a full pass rewrites it

    def _set_gc_marks(self, marks: dict[str, float]) -> None:
        path = self._gc_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(marks))
        os.replace(tmp, path)
