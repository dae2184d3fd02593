"""`rag watch` as users run it: a real process following a folder and a feed on loopback, read by another."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from rag.assistant import Assistant
from rag.config import LLMSettings, Settings
from rag.errors import RagError
from rag.watch import parse_every
from tests.conftest import SEEDS
from tests.news_site import NewsSite


def eventually(check, what: str, timeout: float = 60.0):
    """Polls `check` until it returns a true value; fails naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    pytest.fail(f"not within {timeout:.0f}s: {what}")


class WatchProcess:
    def __init__(self, data, *targets: str, extra=()):
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rag", "--data-dir", str(data), "watch", *targets, *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "LLM_PROVIDER": "extractive"},
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def text(self) -> str:
        return "\n".join(self.lines)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=60)


def test_watch_follows_a_folder_and_a_feed(tmp_path, embedder):
    folder = tmp_path / "news"
    folder.mkdir()
    shutil.copy(SEEDS / "000_c3e6291cb7289f16.txt", folder)
    data = tmp_path / "data"
    with NewsSite() as site:
        watch = WatchProcess(data, str(folder), site.url("/feed.xml"), extra=["--every", "1s", "--debounce-ms", "500"])
        try:
            eventually(lambda: "watching" in watch.text(), "the first sync", timeout=180)
            reader = Assistant(Settings(data_dir=data, llm=LLMSettings(provider="extractive")), embedder=embedder)
            assert len(reader.articles()) == 4  # the seed file and the feed's three articles

            story = folder / "zebra.txt"
            story.write_text("Zebra crossings painted purple\n\nThe town of Oldbridge painted its zebra crossings "
                             "purple on Monday to celebrate the centenary of its football club.\n")
            question = "Why did Oldbridge paint its zebra crossings?"
            eventually(lambda: reader.search(question).passages[0].source == "news/zebra.txt", "a new file is answerable")
            story.write_text("Zebra crossings painted green\n\nThe town of Oldbridge painted its zebra crossings "
                             "green on Monday to celebrate the centenary of its rugby club.\n")
            eventually(lambda: "rugby" in reader.search(question).passages[0].text, "an edited file is re-indexed")
            story.unlink()
            eventually(lambda: all(p.source != "news/zebra.txt" for p in reader.search(question).passages),
                       "a deleted file leaves the answers")

            site.publish("festival")
            eventually(lambda: site.url("/news/festival") in {a.source for a in reader.articles()}, "a new feed entry")

            burst = folder / "burst"
            burst.mkdir()
            for n in range(1000):
                (burst / f"wire-{n:04d}.txt").write_text(f"Wire note {n}\n\nHarbour crane number {n} was inspected on Friday.\n")
            eventually(lambda: len(reader.articles()) == 1000 + 5, "a burst of 1,000 files", timeout=240)

            # The batch's log line comes after its commit, so a reader can see the files first.
            def logged_added() -> int:
                return sum(int(n) for ln in list(watch.lines) for n in re.findall(r"batch of \d+ changes: (\d+) added", ln))

            eventually(lambda: logged_added() >= 1 + 1000, "the burst's log line (zebra.txt's batch was the first)")
            batches = [ln for ln in watch.lines if "batch of" in ln and " added" in ln]
            assert any("1000 changes: 1000 added" in ln for ln in batches), batches
        finally:
            code = watch.stop()
    assert code == 0, watch.text()
    assert watch.lines[-1] == "stopped"
    assert "added news/zebra.txt" in watch.text() and "removed news/zebra.txt" in watch.text()


def test_watch_refuses_what_it_cannot_watch(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "rag", "--data-dir", str(tmp_path / "d"), "watch", str(tmp_path / "nope")],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode != 0 and "no such file or folder" in done.stderr


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("15m", 900), ("1h", 3600), ("2", 2), ("1.5 min", 90)])
def test_parse_every(text, seconds):
    assert parse_every(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-5m", "0"])
def test_parse_every_refuses_nonsense(text):
    with pytest.raises(RagError, match="duration"):
        parse_every(text)
