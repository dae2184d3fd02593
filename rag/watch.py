"""`rag watch`: keep the index in sync with folders and feeds while it runs.

Folders are watched with watchfiles (OS notifications, debounced, so a burst of a thousand files
arrives as one batch); each batch is one ingest of the files added or edited and one removal of
the files deleted. A folder that appears (made, or moved in) is read whole: files written into it
before the OS watches it raise no notification. Notifications can still be lost (a full event
queue, a network filesystem), so folders are also re-synced every `rescan` seconds; content hashes
make that cheap (unchanged files are not embedded again). Feeds are re-polled every `every`
seconds; only new or changed articles are fetched (conditional requests) and embedded. Each batch
takes the index's write lock only while it writes, so `rag serve` can run beside it. An article is
committed whole or not at all (see `store.py`), so stopping with Ctrl-C at any moment leaves no half
article behind.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rag.core.errors import RagError
from rag.core.models import FileOutcome, IngestReport
from rag.core.text import is_url

if TYPE_CHECKING:
    from rag.assistant import Assistant

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr|d)?\s*$", re.IGNORECASE)
_UNIT = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400}


def parse_every(text: str) -> float:
    """Seconds in "90s", "15m", "1h", "2d" or a bare number of seconds."""
    m = _DURATION.match(str(text))
    if not m or float(m.group(1)) <= 0:
        raise RagError(f"'{text}' is not a duration; write e.g. 30s, 15m or 1h.")
    return float(m.group(1)) * _UNIT[(m.group(2) or "s").lower()]


class Watcher:
    def __init__(
        self,
        assistant: Assistant,
        targets: Sequence[str],
        every: float = 900.0,
        debounce_ms: int = 2000,
        rescan: float = 3600.0,
        log: Callable[[str], None] = print,
        respect_robots: bool = True,
        follow_links: bool = False,
    ):
        self.assistant = assistant
        self.feeds = [t for t in targets if is_url(t)]
        self.paths = [Path(t).expanduser().resolve() for t in targets if not is_url(t)]
        missing = [str(p) for p in self.paths if not p.exists()]
        if missing:
            raise RagError(f"cannot watch {', '.join(missing)}: no such file or folder")
        if not self.paths and not self.feeds:
            raise RagError("nothing to watch: give folders, files or feed URLs")
        self.every = every
        self.debounce_ms = debounce_ms
        self.rescan = rescan
        self.log = log
        self.respect_robots = respect_robots
        self.follow_links = follow_links

    def run(self, stop: threading.Event | None = None) -> None:
        """Syncs everything once, then follows changes until `stop` is set (checked between batches) or Ctrl-C."""
        import watchfiles

        stop = stop or threading.Event()
        self._sync("synced")
        if stop.is_set():
            return
        self._poll()
        due = time.monotonic() + self.every
        resync = time.monotonic() + self.rescan
        self.log(f"watching {', '.join(map(str, self.paths + self.feeds))} (Ctrl-C to stop)")
        if not self.paths:
            while not stop.wait(max(0.0, due - time.monotonic())):
                self._poll()
                due = time.monotonic() + self.every
            return
        for changes in watchfiles.watch(
            *self.paths,
            watch_filter=self._wanted,
            # A batch closes after `step` ms without a change (or `debounce` ms in all): a burst is one batch.
            debounce=self.debounce_ms,
            step=300,
            stop_event=stop,
            rust_timeout=1000,
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            if stop.is_set():
                break
            if changes:
                self.apply({Path(p) for _, p in changes})
            if stop.is_set():
                break
            if self.feeds and time.monotonic() >= due:
                self._poll()
                due = time.monotonic() + self.every
            if time.monotonic() >= resync:
                self._sync("rescanned:")
                resync = time.monotonic() + self.rescan

    def apply(self, changed: Iterable[Path]) -> None:
        """One batch: files and folders that exist are (re)ingested, under the watched folder they belong to;
        the rest removed."""
        changed = set(changed)
        batch = IngestReport()
        present = sorted(p for p in changed if p.is_file() or p.is_dir())
        for root in self.paths:
            mine = [p for p in present if p.is_relative_to(root)]
            if mine:
                present = [p for p in present if p not in mine]
                within = root if root.is_dir() else None
                report = self.assistant.ingest(mine, within=within, follow_links=self.follow_links)
                batch.files += report.files
                batch.chunks_embedded += report.chunks_embedded
        gone = [p for p in changed if not p.exists()]
        if gone:
            batch.files += self.assistant.forget(gone)
        self._report(batch, f"batch of {len(changed)} changes:")

    def _wanted(self, change, path: str) -> bool:
        """Article files, new folders, and any deletion (a deleted folder takes its articles with it); nothing hidden."""
        import watchfiles

        p = Path(path)
        root = next((r for r in self.paths if p.is_relative_to(r)), None)
        inside = p.relative_to(root).parts if root else p.parts
        if any(part.startswith(".") for part in inside):
            return False
        if change == watchfiles.Change.added and p.is_dir():
            return True
        return change == watchfiles.Change.deleted or self.assistant.readable(p)

    def _sync(self, summary: str) -> None:
        """Everything watched, read whole: new and edited files ingested, vanished ones removed."""
        self._report(self.assistant.ingest(self.paths, prune=True, follow_links=self.follow_links), summary)

    def _poll(self) -> None:
        if self.feeds:
            self._report(self.assistant.ingest(self.feeds, respect_robots=self.respect_robots), "polled feeds:")

    def _report(self, report: IngestReport, summary: str) -> None:
        self._show(f for f in report.files if f.status != "unchanged")
        if summary:
            counts = ", ".join(f"{report.count(s)} {s}" for s in ("added", "updated", "unchanged", "removed", "skipped") if report.count(s))
            self.log(f"{_now()} {summary} {counts or 'nothing'}")

    def _show(self, outcomes: Iterable[FileOutcome]) -> None:
        for f in outcomes:
            detail = f" ({f.chunks} chunks)" if f.chunks else (f": {f.reason}" if f.reason else "")
            self.log(f"{_now()} {f.status} {f.source or f.path}{detail}")


def _now() -> str:
    return datetime.now().strftime("%H:%M:%S")
