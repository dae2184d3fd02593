"""Load while the news flows: `rag watch` follows a folder (articles written into it at a steady rate) and a
feed on the loopback news site while clients ask through `rag api`, all real processes on one embedded index.

Used by `tests/test_live_load.py` (a short run) and `bench/bench_live.py` (the figures). Every answer is
checked: the request succeeded, and each citation points at an article version the index has committed.
A probe asks about each new article once it is listed, and records how long after that it is answerable.
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from tests.chroma_server import free_port
from tests.conftest import REPO, SEEDS
from tests.news_site import NewsSite

SEED_QUESTIONS = [
    "How big a stake did Meta take in Scale AI?",
    "Which company did Jennifer Newstead leave Meta for?",
    "How many workers did Meta lay off from its AI teams?",
    "What went wrong with Llama 4?",
    "Is Alexandr Wang leaving Meta?",
]
_PLACES = "Arden Bexley Corrin Dunmore Elsby Farrow Glenmoor Hallam Ivel Jarrow Kelso Lydd Marrick Nairn Orwell Pelham".split()


def new_article(i: int) -> tuple[str, str, str]:
    """(file name, text, a question only it answers): a made-up harbour report with its own codename."""
    code = f"{random.Random(i).choice(_PLACES)}-{i:04d}"
    text = (f"Ferry {code} sails from pier {i % 40 + 1}\n\nThe passenger ferry {code} left pier {i % 40 + 1} of the "
            f"harbour on Tuesday carrying {100 + i} passengers, the port authority said. Its captain said the crossing "
            f"to the islands took {30 + i % 50} minutes in calm weather.\n")
    return f"ferry-{i:04d}.txt", text, f"How many passengers did the ferry {code} carry?"


@dataclass
class Result:
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    cited: list[tuple[str, int, int, str]] = field(default_factory=list)  # (source, start, end, quote)
    answerable_after: dict[str, float] = field(default_factory=dict)  # new article -> seconds after it was listed
    written: int = 0
    committed: dict[str, str] = field(default_factory=dict)  # source -> cleaned text, at the end
    lock: threading.Lock = field(default_factory=threading.Lock)

    def p(self, q: float) -> float:
        return float(np.percentile(self.latencies, q)) if self.latencies else float("nan")

    def summary(self) -> dict:
        waits = list(self.answerable_after.values())
        return {
            "requests": self.requests, "errors": len(self.errors), "p50_s": self.p(50), "p95_s": self.p(95),
            "articles_written": self.written, "probed": len(waits),
            "answerable_max_s": max(waits) if waits else None, "answerable_median_s": statistics.median(waits) if waits else None,
        }


def _env(data: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OPENAI_", "OTEL_"))}
    return {**env, "RAG_DATA_DIR": str(data), "LLM_PROVIDER": "extractive", **extra}


def run(work: Path, clients: int, seconds: float, rate: float = 1.0, env: dict[str, str] | None = None,
        timeout_s: float = 120.0, log=lambda line: None) -> Result:
    """Runs the load for `seconds` with `clients` asking in parallel and `rate` new articles a second."""
    data, folder = work / "data", work / "incoming"
    folder.mkdir(parents=True)
    env = _env(data, env or {})
    seeded = subprocess.run([sys.executable, "-m", "rag", "ingest", "-q", str(SEEDS)], env=env, cwd=REPO, capture_output=True, text=True)
    if seeded.returncode:
        raise RuntimeError(seeded.stderr)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    result = Result()
    procs: list[subprocess.Popen] = []
    with NewsSite() as site:
        try:
            watch = subprocess.Popen([sys.executable, "-m", "rag", "watch", str(folder), site.url("/feed.xml"), "--every", "2s",
                                      "--debounce-ms", "300"], env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            procs.append(watch)
            watch_lines: list[str] = []
            threading.Thread(target=lambda: watch_lines.extend(line.rstrip() for line in watch.stdout), daemon=True).start()
            # The server's log (tracebacks of failed requests) stays in the work folder.
            api = subprocess.Popen([sys.executable, "-m", "rag", "api", "--port", str(port)], env=env, cwd=REPO,
                                   stdout=subprocess.DEVNULL, stderr=(work / "api.log").open("w"), text=True)
            procs.append(api)
            _wait_up(url, api, watch_lines)
            log(f"api and watch up; {clients} clients for {seconds:.0f} s, {rate:g} article/s")
            _drive(url, folder, site, clients, seconds, rate, timeout_s, result, log)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
            for proc in procs:
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
    from rag import Assistant, Settings
    from rag.core.config import LLMSettings

    store = Assistant(Settings(data_dir=data, llm=LLMSettings(provider="extractive")), llm=None).store
    result.committed = store.article_texts([a.source for a in store.articles()])
    return result


def _wait_up(url: str, api: subprocess.Popen, watch_lines: list[str]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if api.poll() is not None:
            raise RuntimeError("rag api exited; see api.log")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200 and any(ln.startswith("watching") for ln in watch_lines):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("rag api / rag watch did not start: " + "\n".join(watch_lines[-5:]))


def _drive(url, folder, site, clients, seconds, rate, timeout_s, result: Result, log) -> None:
    stop = threading.Event()
    written: list[tuple[str, str]] = []  # (source, question) of the new articles, in order

    def ask(client: httpx.Client, question: str) -> dict | None:
        started = time.perf_counter()
        try:
            r = client.post(f"{url}/api/ask", json={"question": question}, timeout=timeout_s)
        except httpx.HTTPError as exc:
            body, error = None, f"{type(exc).__name__}: {exc}"
        else:
            body, error = (r.json(), None) if r.status_code == 200 else (None, f"HTTP {r.status_code}: {r.text[:200]}")
        with result.lock:
            result.requests += 1
            result.latencies.append(time.perf_counter() - started)
            if error:
                result.errors.append(error)
            else:
                result.cited += [(c["source"], c["start"], c["end"], c["quote"]) for c in body["citations"]]
        return body

    def client_loop(k: int) -> None:
        rng = random.Random(k)
        with httpx.Client() as client:
            while not stop.is_set():
                pool = SEED_QUESTIONS + [q for _, q in written[-20:]]
                ask(client, rng.choice(pool))

    def writer() -> None:
        i = 0
        next_at = time.monotonic()
        while not stop.is_set():
            name, text, question = new_article(i)
            (folder / name).write_text(text)
            written.append((f"incoming/{name}", question))
            result.written += 1
            if i == 5:
                site.publish("festival")  # the feed grows too
            i += 1
            next_at += 1.0 / rate
            stop.wait(max(0.0, next_at - time.monotonic()))

    def probe() -> None:
        """Each new article: when `/api/sources` first lists it (committed), then until an answer cites it."""
        done = 0
        with httpx.Client() as client:
            while not stop.is_set() or done < len(written):
                if done >= len(written):
                    time.sleep(0.2)
                    continue
                source, question = written[done]
                # Behind the writer: the newest article next, so every probe measures a fresh commit.
                done = max(done + 1, len(written) - 1)
                listed_at = _when_listed(client, url, source, stop)
                if listed_at is None:
                    return
                result.answerable_after[source] = float("inf")  # unless an answer cites it within 30 s
                while time.monotonic() - listed_at < 30:
                    body = ask(client, question)
                    if body and any(c["source"] == source for c in body["citations"]):
                        result.answerable_after[source] = time.monotonic() - listed_at
                        break

    threads = [threading.Thread(target=client_loop, args=(k,)) for k in range(clients)]
    threads += [threading.Thread(target=writer), threading.Thread(target=probe)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(timeout_s + 60)
    log(f"{result.requests} requests, {len(result.errors)} errors, {result.written} articles written")


def _when_listed(client: httpx.Client, url: str, source: str, stop: threading.Event) -> float | None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if any(a["source"] == source for a in client.get(f"{url}/api/sources", timeout=30).json()):
                return time.monotonic()
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return None
