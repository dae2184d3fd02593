"""The Chroma client under a `Store`: opening it, turning its failures into the project's errors, and
following other processes' commits to an embedded index (`_follow`, `refresh.py`)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from rag.core.config import Settings
from rag.core.errors import StoreUnavailableError
from rag.index.locks import ReopenGate, WriteLock
from rag.index.refresh import Refresher
from rag.index.sources import hash_prefix
from rag.index.view import View

# Seconds to wait before each reopen-and-retry of an embedded call that met another process's write half-done.
_REOPEN_PAUSES = (0.1, 0.5, 2.0)

T = TypeVar("T")


class Connection:
    """The client and the two collections (`chunks`, `registry`) a Store reads and writes through."""

    def __init__(self, settings: Settings, embedder_id: str):
        self.settings = settings
        self.embedder_id = embedder_id
        self._where = (
            f"the Chroma server at {settings.chroma.host}:{settings.chroma.port}"
            if settings.chroma.host
            else f"the index at {settings.chroma_path}"
        )
        # Re-entrant: a reopen under it (`_follow`) runs Chroma calls that may reopen again (`_guard`).
        self._lock = threading.RLock()
        self._gate = ReopenGate()
        # Embedded: the client in use opens the index under one of two spellings of its path (Chroma
        # shares one client per spelling in a process), so a second can load beside it (`refresh.py`).
        self._spelling = 0
        self._opens = 0
        # Hash prefixes of the articles the client's vector index holds while it is behind the corpus; None: all.
        self._held: frozenset[str] | None = None
        self._refresher = Refresher(self._refresh)
        self._view: View | None = None
        # Corpus versions this Store committed, and the last one it saw (see `_follow`).
        self._own_versions: deque[str] = deque(maxlen=64)
        self._seen_version: str | None = None
        self.write_lock = WriteLock(
            settings.data_dir, settings.write_lock_timeout, self._where, enabled=not settings.chroma.host
        )
        if settings.chroma.host or (settings.chroma_path / "chroma.sqlite3").exists():
            self._open()
        else:
            # Two processes creating one embedded index at once race in Chroma's schema setup.
            with self.write_lock.hold():
                self._open()
        self._check_embedder()

    def _open(self) -> None:
        self._client, self.chunks, self.registry = self._opened(self._spelling, self._guard)
        self._opens += 1
        self._held = None

    def _opened(self, spelling: int, run: Callable[[Callable[[], T]], T]) -> tuple[Any, Any, Any]:
        """(client, chunks, registry) opened afresh; `run` runs each Chroma call."""
        name = self.settings.collection
        client = run(lambda: self._connect(spelling))
        chunks = run(
            lambda: client.get_or_create_collection(
                name, embedding_function=None, metadata={"hnsw:space": "cosine", "embedder": self.embedder_id}
            )
        )
        registry = run(lambda: client.get_or_create_collection(f"{name}-docs", embedding_function=None))
        return client, chunks, registry

    def _follow(self, version: str) -> None:
        """Reopens an embedded index that another process has committed to since we last looked.

        Embedded Chroma keeps each process's vector index in memory; a second process's writes
        reach this one's metadata at once but not its vector index, whose queries then miss the new
        chunks (`rag serve` beside `rag watch` or `rag ingest`). Opening the client again loads the
        index as it is on disk, in the background (`refresh.py`). A Chroma server has one index for all.
        """
        with self._lock:
            seen, self._seen_version = self._seen_version, version
            if self.settings.chroma.host or seen is None or version == seen or version in self._own_versions:
                return
            if self._view is None:  # nothing says what the open client holds: reopen here
                self._reopen()
                return
            if self._held is None:
                self._held = frozenset(hash_prefix(h) for h in self._view.hashes.values())
        self._refresher.request()

    def _refresh(self) -> None:
        """Opens and warms a second client, then puts it in place of the one in use."""
        with self._lock:
            spelling, opens, seen = 1 - self._spelling, self._opens, self._seen_version
            held = frozenset(hash_prefix(h) for h in self._view.hashes.values()) if self._view else frozenset()
        client, chunks, registry = self._opened(spelling, lambda call: call())
        chunks.get(limit=1, include=["embeddings"])  # loads its vector index now, not in a question
        with self._lock, self._gate.alone():
            if self._opens != opens:  # reopened meanwhile (a torn read): that client is newer than this one
                client.close()
                return
            old, self._client, self.chunks, self.registry = self._client, client, chunks, registry
            self._spelling, self._opens = spelling, opens + 1
            # It holds what was committed when it opened; a version seen since may hold more.
            self._held = None if self._seen_version == seen else held
            old.close()

    @property
    def refreshing(self) -> bool:
        """A client that holds the latest commits seen is being loaded (dense search lags until it is in)."""
        return self._refresher.pending

    def wait_for_refresh(self, timeout: float | None = None) -> bool:
        """Until the client in use holds every commit seen so far (tests, benchmarks)."""
        return self._refresher.wait(timeout)

    def _reopen(self) -> None:
        with self._gate.alone():
            self._client.close()
            self._open()

    @property
    def where(self) -> str:
        return self._where

    def _connect(self, spelling: int) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaConfig

        config = ChromaConfig(anonymized_telemetry=False, allow_reset=False)
        if self.settings.chroma.host:
            return chromadb.HttpClient(
                host=self.settings.chroma.host,
                port=self.settings.chroma.port,
                ssl=self.settings.chroma.ssl,
                settings=config,
            )
        self.settings.chroma_path.mkdir(parents=True, exist_ok=True)
        path = str(self.settings.chroma_path) + ("/." if spelling else "")
        return chromadb.PersistentClient(path=path, settings=config)

    def _guard(self, call: Callable[[], T]) -> T:
        """Runs a Chroma call, turning connection failures into StoreUnavailableError.

        Embedded, another process's write can be caught half-way on disk (`rag serve` reading while
        `rag watch` writes: Chroma's "Error finding id"); the index is reopened and the call retried
        a few times before the error is reported.
        """
        from chromadb.errors import InternalError

        error: Exception | None = None
        for pause in (0.0, *_REOPEN_PAUSES):
            if error is not None:
                time.sleep(pause)
                with self._lock:
                    self._reopen()
            try:
                return self._call(call)
            except InternalError as exc:
                # A server has one index for all; an index not yet opened has nothing to reopen.
                if self.settings.chroma.host or not hasattr(self, "chunks"):
                    raise
                error = exc
        raise StoreUnavailableError(
            f"Could not use {self._where} ({error}), even after reopening it {len(_REOPEN_PAUSES)} times. "
            "If another process is writing to it, try again when it is done; if this persists, "
            "the index files are damaged: ingest again into a fresh --data-dir."
        ) from error

    def _call(self, call: Callable[[], T]) -> T:
        try:
            with self._gate.call():
                return call()
        except StoreUnavailableError:
            raise
        except Exception as exc:  # chromadb raises many types (httpx, ValueError, its own)
            if self.settings.chroma.host and _looks_like_connection_error(exc):
                raise StoreUnavailableError(
                    f"Could not reach {self._where} ({type(exc).__name__}: {exc}). "
                    "Is `chroma run` up? Check RAG_CHROMA_HOST / RAG_CHROMA_PORT."
                ) from exc
            raise

    def _check_embedder(self) -> None:
        recorded = (self.chunks.metadata or {}).get("embedder")
        if recorded and recorded != self.embedder_id:
            from rag.core.errors import ConfigError

            raise ConfigError(
                f"Collection '{self.settings.collection}' was built with {recorded}, but the settings "
                f"select {self.embedder_id}. Use another RAG_COLLECTION or re-ingest into a fresh data dir."
            )


def _looks_like_connection_error(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(
        s in text
        for s in ("connect", "timeout", "timed out", "refused", "unreachable", "remoteprotocol", "readerror", "server disconnected")
    )
