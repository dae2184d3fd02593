"""One writer at a time on an embedded index.

Chroma's embedded `PersistentClient` is not safe for two writer processes (the web page's upload
and a cron job's `rag ingest`, say). Every write takes an inter-process lock (filelock) on the
data directory; a second writer waits up to `RAG_WRITE_LOCK_TIMEOUT` seconds, then gives up with
a message naming the holder's pid. Readers never take it. A Chroma server serialises writes
itself, so server mode takes no lock.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from rag.core.errors import IndexBusyError


class WriteLock:
    def __init__(self, data_dir: Path, timeout: float, where: str, enabled: bool = True):
        self.enabled = enabled
        self.timeout = timeout
        self.where = where
        self.pid_file = data_dir / "write.lock.pid"
        # thread_local: two threads of one process (the web page's uploads) also wait for each other.
        self._lock = FileLock(data_dir / "write.lock", thread_local=True) if enabled else None

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Held for the block; re-entrant within a thread."""
        if self._lock is None:
            yield
            return
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        first = not self._lock.is_locked
        try:
            self._lock.acquire(timeout=self.timeout)
        except Timeout:
            raise IndexBusyError(
                f"Another process (pid {self.holder() or 'unknown'}) is writing to {self.where}; waited "
                f"{self.timeout:g} s (RAG_WRITE_LOCK_TIMEOUT). Try again when it is done, or run a Chroma server "
                "(`chroma run --path DIR`) and set RAG_CHROMA_HOST so several processes can write at once."
            ) from None
        try:
            if first:
                self.pid_file.write_text(str(os.getpid()))
            yield
        finally:
            self._lock.release()

    def holder(self) -> str | None:
        try:
            return self.pid_file.read_text().strip() or None
        except OSError:
            return None


class ReopenGate:
    """Lets Chroma calls run side by side, and a reopen of the client run alone.

    Closing an embedded client that another thread is calling through breaks that call (chromadb:
    "'RustBindingsAPI' object has no attribute 'bindings'"), as happens when `rag api` serves
    questions while `rag watch` commits. A reopen waits for the calls in flight and holds new ones
    back; the reopening thread's own calls (opening the new client) pass.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._active = 0
        self._owner: int | None = None

    @contextmanager
    def call(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            while self._owner is not None and self._owner != me:
                self._cond.wait()
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    @contextmanager
    def alone(self) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:  # a reopen within a reopen
                yield
                return
            while self._owner is not None:
                self._cond.wait()
            self._owner = me
            while self._active:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._owner = None
                self._cond.notify_all()
