"""Reopening an embedded index off the query path.

An embedded Chroma client keeps its vector index in memory, so a serving process must open the index
again to see another process's commits (`Store._follow`). Done in the question's path, that reload
(~0.5-0.7 s at 100k chunks, growing with the index) is a stall after every feed poll. Instead a second
client is opened and warmed in a background thread while questions go on through the first one; the
new client then replaces it in one step. Meanwhile a question sees the new articles through the
keyword index (current at once) and the registry, and the old client's vector index answers for the
articles it holds (`held`): what it lacks is left out, never mixed in from another version.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Refresher:
    """Runs `reopen` in one background thread at a time; a request made while one runs makes it run
    once more after (the corpus moved on while the new client was loading)."""

    def __init__(self, reopen: Callable[[], None]):
        self._reopen = reopen
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False

    def request(self) -> None:
        with self._lock:
            if self._thread is not None:
                self._again = True
                return
            self._thread = threading.Thread(target=self._run, name="chroma-refresh", daemon=True)
            self._thread.start()

    @property
    def pending(self) -> bool:
        """A reopen is running or asked for again (its result not yet in use)."""
        with self._lock:
            return self._thread is not None

    def wait(self, timeout: float | None = None) -> bool:
        """Until no reopen runs (benchmarks and tests); False if `timeout` passed first."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.pending

    def _run(self) -> None:
        _lower_priority()
        while True:
            try:
                self._reopen()
            except Exception:  # the old client stays in use; the next foreign commit asks again
                log.warning("background reopen of the index failed", exc_info=True)
            with self._lock:
                if not self._again:
                    self._thread = None
                    return
                self._again = False


def _lower_priority() -> None:
    """Niceness 10 for this thread (Linux schedules threads as tasks): the load yields the cores to questions."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # not Linux, or not permitted: the load just competes
        pass
