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
from contextlib import contextmanager

import pytest

from rag.assistant import Assistant
from rag.core.config import LLMSettings, Settings
from rag.core.errors import RagError
from rag.watch import Watcher, parse_every
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
        watch = WatchProcess(data, str(folder), site.url("/feed.xml"), extra=["--every", "1s"])
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
            eventually(lambda: len(reader.articles()) == 1000 + 5, "a burst of 1,000 files into a new folder", timeout=240)

            # A batch's log line comes after its commit, so a reader can see the files first.
            def burst_batches() -> list[str]:
                return [ln for ln in list(watch.lines) if re.search(r"batch of \d+ changes: .*\d+ added", ln)][1:]

            def added(lines: list[str]) -> int:
                return sum(int(re.search(r"(\d+) added", ln).group(1)) for ln in lines)

            eventually(lambda: added(burst_batches()) == 1000, "the burst's log lines (zebra.txt's batch was the first)")
            # Gathered into a few ingests, not a thousand: a batch closes 300 ms after the last change, or after
            # the default 2 s debounce, so only a machine writing files very slowly splits the burst further.
            assert len(burst_batches()) <= 5, burst_batches()
        finally:
            code = watch.stop()
    assert code == 0, watch.text()
    assert watch.lines[-1] == "stopped"
    assert "added news/zebra.txt" in watch.text() and "removed news/zebra.txt" in watch.text()


@contextmanager
def watching(assistant, folder, lines: list[str], **options):
    """A Watcher of `folder` running in a thread until the block ends."""
    stop = threading.Event()
    watcher = Watcher(assistant, [str(folder)], debounce_ms=500, log=lines.append, **options)
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    thread.start()
    try:
        eventually(lambda: any(ln.startswith("watching") for ln in lines), "the first sync")
        yield
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not thread.is_alive()


def story(n: int, club: str = "football") -> str:
    return f"Oldbridge story {n}\n\nThe town of Oldbridge painted bench number {n} for the centenary of its {club} club.\n"


def test_watch_reads_a_folder_moved_in_whole(tmp_path, embedder):
    """Moving a folder in raises one notification, for the folder; its files are read all the same."""
    folder, drafts = tmp_path / "news", tmp_path / "drafts"
    folder.mkdir()
    (drafts / "sub").mkdir(parents=True)
    for n in range(3):
        (drafts / f"story-{n}.txt").write_text(story(n))
    (drafts / "sub" / "story-3.txt").write_text(story(3))
    assistant = Assistant(Settings(data_dir=tmp_path / "data", llm=LLMSettings(provider="extractive")), embedder=embedder)
    lines: list[str] = []
    with watching(assistant, folder, lines):  # the default rescan (1h) cannot be what finds them
        drafts.rename(folder / "drafts")
        expected = {f"news/drafts/story-{n}.txt" for n in range(3)} | {"news/drafts/sub/story-3.txt"}
        eventually(lambda: {a.source for a in assistant.articles()} == expected, "the files of a folder moved in")


def test_watch_rescan_finds_changes_the_os_did_not_report(tmp_path, embedder):
    """A write through a hard link outside the folder raises no notification there; the rescan sees it."""
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "bench.txt").write_text(story(1))
    os.link(folder / "bench.txt", tmp_path / "elsewhere.txt")
    assistant = Assistant(Settings(data_dir=tmp_path / "data", llm=LLMSettings(provider="extractive")), embedder=embedder)
    lines: list[str] = []
    with watching(assistant, folder, lines, rescan=2.0):
        with open(tmp_path / "elsewhere.txt", "r+") as same_inode:
            same_inode.write(story(1, club="rugby"))
            same_inode.truncate()
        eventually(lambda: "rugby" in assistant.article_text("news/bench.txt"), "an edit found by the rescan")
    assert any("rescanned: 1 updated" in ln for ln in lines), lines


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


def test_ctrl_c_during_a_batch_lets_it_finish(tmp_path):
    """The first Ctrl-C lets the batch being written be committed whole, then the watcher exits cleanly."""
    folder = tmp_path / "news"
    folder.mkdir()
    for n in range(300):
        (folder / f"story-{n:03d}.txt").write_text(story(n))
    data = tmp_path / "data"
    watch = WatchProcess(data, str(folder))
    try:
        # The index folder appears as the first sync starts writing; 300 articles take it several seconds.
        eventually(lambda: any(data.glob("**/*.sqlite3")), "the first sync to start", timeout=120)
    finally:
        code = watch.stop()
    assert code == 0, watch.text()
    assert any(ln.startswith("stopping after the current batch") for ln in watch.lines), watch.text()
    assert watch.lines[-1] == "stopped"
    assert not any(ln.startswith("watching") for ln in watch.lines), watch.text()
    reader = Assistant(Settings(data_dir=data, llm=LLMSettings(provider="extractive")))
    assert len(reader.articles()) == 300
