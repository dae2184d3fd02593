"""Keyword index under live news: what a serving process pays when articles arrive, and how it grows.

    python bench/bench_keyword.py pipeline [--chunks 100000]        # the product: embedded Chroma + keyword index
    python bench/bench_keyword.py pipeline --chroma-server           # the same on a `chroma run` server (loopback)
    python bench/bench_keyword.py alone [--sizes 100000,1000000]    # the keyword index alone, to a million chunks

`pipeline`: the scale benchmark's synthetic corpus (`bench/corpus.py`, hash embedder, embedded Chroma) is
ingested; a separate serving process (an `Assistant`, as `rag api` has) asks hybrid questions in a loop
while this process (the writer, as `rag watch` is) ingests 20 new articles. With `--chroma-server` both talk
to one `chroma run` server started here (its data under the work dir) and each keeps the keyword index of
its own data dir, fed from the registry on the server: the per-process way the keyword side scales out. Printed: the serving process's
hybrid p50/p95 before and after, the extra wait of its first question after the commit (over the warm
median), its keyword-index memory (private RSS it gained with its first keyword searches, and the mapped
index pages, which the page cache shares between processes) and the index size on disk.

`alone`: chunk documents of the same corpus go straight into a `KeywordIndex` (no Chroma, no embedder), in
commits of 256 chunks as the pipeline makes them; then a reader process measures BM25 p50/p95, the reload
after 20 more articles, and memory, per size; growth per doubling = (m2/m1) ** (1 / log2(n2/n1)).

A benchmark, not a test: figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import corpus  # noqa: E402
import numpy as np  # noqa: E402
from bench_scale import HashEmbedding, du_mb, log  # noqa: E402

from tests.chroma_server import ChromaServer  # noqa: E402

NEW_ARTICLES = 20
CHUNKS_PER_ARTICLE = 6.0  # measured by bench_scale.chunks_per_article for this corpus
SEED = 7


def memory() -> dict[str, float]:
    """RssAnon (private) and RssFile (mapped files, shared through the page cache) of this process, MB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("RssAnon:", "RssFile:")):
            key, value = line.split(":", 1)
            out[key] = int(value.split()[0]) / 1024
    return out


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


# --- reader process (both modes) ------------------------------------------------------------


def reader(spec: dict) -> None:
    """Asks in a loop; after `flag` appears (the writer committed), asks 40 more and writes the timings."""
    work = Path(spec["work"])
    questions = spec["questions"]
    if spec["mode"] == "pipeline":
        assistant = _assistant(work / "reader" if spec["port"] else work, spec["port"])
        assistant.search(questions[0], mode="dense")  # the dense side and the embedder warm, no keyword index yet
        base = memory()

        def ask(q: str) -> tuple[str, float]:
            # The version before the question: one that names the new commit surely ran after it.
            version = assistant.store.version()
            t0 = time.perf_counter()
            assistant.search(q, mode="hybrid")
            return version, (time.perf_counter() - t0) * 1000

        def refreshing() -> bool:
            return assistant.store.refreshing
    else:
        from rag.core.text import bm25_tokenize
        from rag.index.keyword import KeywordIndex

        index = KeywordIndex(work / "kw", 60, "bench")
        base = memory()

        registry: dict = {}

        def ask(q: str) -> tuple[str, float]:
            # The writer's stand-in for Chroma's registry, read outside the timing: only the index is timed.
            version = (work / "version.txt").read_text()
            if registry.get("version") != version:
                registry.update(json.loads((work / "registry.json").read_text()))
            t0 = time.perf_counter()
            index.missing(registry["version"], registry["committed"])
            index.search(bm25_tokenize([q])[0], 30, None, registry["committed"])
            return registry["version"], (time.perf_counter() - t0) * 1000

        def refreshing() -> bool:
            return False

    flag = work / "committed"
    before, after, first_after, caught_up = [], [], None, None
    version0, flagged = None, None
    i = 0
    while len(after) < 40:
        q = questions[i % len(questions)]
        i += 1
        version, ms = ask(q)
        version0 = version0 or version
        if version == version0:
            before.append(ms)
            if len(before) == 60:
                (work / "warm").write_text(json.dumps(memory()))
        elif first_after is None:
            first_after, asked_at = ms, time.perf_counter() - ms / 1000
        else:
            after.append(ms)
        # Embedded, the new client loads in the background: until it is in, dense search lacks the new chunks.
        if first_after is not None and caught_up is None and not refreshing():
            caught_up = (time.perf_counter() - asked_at) * 1000
        flagged = flagged or (flag.exists() and time.time())
        if flagged and time.time() - flagged > 120:
            break  # the commit never reached this reader: reported as missing figures
    mem = memory()
    (work / "reader.json").write_text(json.dumps({
        "before_p50": statistics.median(before[10:]), "before_p95": pct(before[10:], 95),
        "first_after_ms": first_after, "dense_caught_up_ms": caught_up, "after_p50": statistics.median(after) if after else None,
        "after_p95": pct(after, 95), "anon_mb": mem["RssAnon"] - base["RssAnon"], "file_mb": mem["RssFile"] - base["RssFile"],
    }))


def run_reader(spec: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "_reader", json.dumps(spec)])


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 1800) -> None:
    deadline = time.time() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise SystemExit(f"reader exited with {proc.returncode}")
        if time.time() > deadline:
            raise SystemExit(f"timed out waiting for {path}")
        time.sleep(0.2)


def _report(label: str, res: dict) -> None:
    extra = res["first_after_ms"] - res["before_p50"] if res["first_after_ms"] is not None else float("nan")
    res["extra_wait_ms"] = extra
    log(f"{label}: p50/p95 {res['before_p50']:.1f}/{res['before_p95']:.1f} ms before, "
        f"{res['after_p50']:.1f}/{res['after_p95']:.1f} ms after; first question after the commit "
        f"{res['first_after_ms']:.1f} ms (extra wait {extra:.1f} ms); keyword memory {res['anon_mb']:.1f} MB private "
        f"+ {res['file_mb']:.1f} MB mapped"
        + (f"; dense search held the new chunks {res['dense_caught_up_ms']:.0f} ms after that question began"
           if res.get("dense_caught_up_ms") is not None else ""))


# --- pipeline mode -----------------------------------------------------------------------------


def _assistant(work: Path, port: int | None = None):
    """The writer's or the reader's Assistant; `port`: on the Chroma server there, not embedded."""
    from rag import Assistant, Settings
    from rag.core.config import ChromaSettings, EmbeddingSettings, LLMSettings

    chroma = ChromaSettings(host="127.0.0.1", port=port) if port else ChromaSettings()
    settings = Settings(data_dir=work / "data", collection="scale", embedding=EmbeddingSettings(provider="local"),
                        llm=LLMSettings(provider="extractive"), chroma=chroma)
    return Assistant(settings, embedder=HashEmbedding(), llm=None)


def pipeline(chunks: int, work: Path, port: int | None = None) -> dict:
    """Ingests the corpus once per work dir (a kept `--work` is reused); each run then adds 20 articles never seen.
    `port`: a Chroma server's, whose data is kept in the work dir too."""
    n_articles = math.ceil(chunks / CHUNKS_PER_ARTICLE)
    writer = _assistant(work, port)
    done = work / "ingested.json"
    if done.exists():
        res = json.loads(done.read_text())
        queries = res["queries"]
    else:
        queries = corpus.write_corpus(work / "corpus", n_articles, SEED, n_queries=200)
        t0 = time.perf_counter()
        report = writer.ingest([work / "corpus"], progress=False)
        res = {"chunks": report.chunks_embedded, "ingest_s": time.perf_counter() - t0,
               "keyword_mb": du_mb(writer.store.keywords.folder), "runs": 0,
               "queries": queries}
        log(f"pipeline: ingested {res['chunks']} chunks in {res['ingest_s']:.0f} s; keyword index {res['keyword_mb']:.0f} MB on disk")
    first_new = n_articles + NEW_ARTICLES * res["runs"]
    res["runs"] += 1
    done.write_text(json.dumps(res))
    res = {k: v for k, v in res.items() if k != "queries"}
    new = work / f"new-{res['runs']}"
    for i in range(first_new, first_new + NEW_ARTICLES):
        text, _ = corpus.article(SEED, i)
        (new / corpus.article_path(i)).parent.mkdir(parents=True, exist_ok=True)
        (new / corpus.article_path(i)).write_text(text)
    spec = {"mode": "pipeline", "work": str(work), "port": port, "questions": [q["question"] for q in queries]}
    return measure_reader(spec, lambda: writer.ingest([new], progress=False), res, f"pipeline {res['chunks']} chunks")


def measure_reader(spec: dict, add_new, res: dict, label: str) -> dict:
    """Starts the reader; once it is warm, `add_new()` commits the new articles (timed); then its figures."""
    work = Path(spec["work"])
    proc = run_reader(spec)
    wait_for(work / "warm", proc)
    t0 = time.perf_counter()
    add_new()
    res["add_20_s"] = time.perf_counter() - t0
    (work / "committed").write_text("1")
    proc.wait()
    res.update(json.loads((work / "reader.json").read_text()))
    _report(label, res)
    return res


# --- keyword index alone ---------------------------------------------------------------------


def _chunks_of(i: int) -> list[tuple[str, str, dict]]:
    """The article's chunk records, split as the pipeline's chunks are sized (~170 words)."""
    text, _ = corpus.article(SEED, i)
    source = corpus.article_path(i)
    title = text.split("\n", 1)[0]
    words = text.split()
    step = max(1, math.ceil(len(words) / CHUNKS_PER_ARTICLE))
    digest = f"{i:064x}"
    return [(f"{source}-{digest[:16]}-{j}", " ".join(words[lo : lo + step]),
             {"source": source, "title": title, "doc_hash": digest, "start": 0, "end": 0, "index": j})
            for j, lo in enumerate(range(0, len(words), step))]


def alone(size: int, work: Path) -> dict:
    from rag.index.keyword import KeywordIndex

    index = KeywordIndex(work / "kw", 60, "bench")
    committed: dict[str, str] = {}
    n_articles = math.ceil(size / CHUNKS_PER_ARTICLE)

    def add(articles: range) -> int:
        n = 0
        with index.writing():
            batch: list[tuple[str, str, dict]] = []
            for i in articles:
                batch += _chunks_of(i)
                if len(batch) >= 256 or i == articles[-1]:
                    ids, texts, metas = zip(*batch)
                    index.add(ids, texts, metas)
                    index.commit(f"v{i}")
                    committed.update({m["source"]: m["doc_hash"] for m in metas})
                    n += len(batch)
                    batch = []
        (work / "registry.json").write_text(json.dumps({"version": f"v{articles[-1]}", "committed": committed}))
        (work / "version.txt").write_text(f"v{articles[-1]}")
        return n

    t0 = time.perf_counter()
    chunks = add(range(n_articles))
    res = {"chunks": chunks, "ingest_s": time.perf_counter() - t0, "disk_mb": du_mb(work / "kw")}
    res["chunks_per_s"] = chunks / res["ingest_s"]
    log(f"alone {chunks}: {res['chunks_per_s']:.0f} chunks/s (tokenise + index + commit), {res['disk_mb']:.0f} MB on disk")
    rng = random.Random(SEED)
    questions = []
    for i in rng.sample(range(n_articles), 200):
        _, facts = corpus.article(SEED, i)
        questions.append(rng.choice(corpus.queries_for(facts, rng))[1])
    spec = {"mode": "alone", "work": str(work), "questions": questions}
    return measure_reader(spec, lambda: add(range(n_articles, n_articles + NEW_ARTICLES)), res, f"alone {chunks} chunks")


def growth(rows: list[dict], key: str) -> str:
    a, b = rows[0], rows[-1]
    if len(rows) < 2 or not a[key] or not b[key]:
        return "n/a"
    return f"{(b[key] / a[key]) ** (1 / math.log2(b['chunks'] / a['chunks'])):.2f}"


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "_reader":
        reader(json.loads(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["pipeline", "alone"])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--work", type=Path, help="pipeline: keep the index here and reuse it on later runs")
    parser.add_argument("--chroma-server", action="store_true", help="pipeline: on a `chroma run` server, not embedded")
    args = parser.parse_args()
    if args.what == "pipeline":
        with tempfile.TemporaryDirectory(prefix="bench-kw-") as tmp:
            work = args.work or Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            (work / "committed").unlink(missing_ok=True)
            (work / "warm").unlink(missing_ok=True)
            server = ChromaServer(work / "chroma-server") if args.chroma_server else None
            try:
                if server:
                    server.start()
                rows = [pipeline(args.chunks, work, server.port if server else None)]
            finally:
                if server:
                    server.stop()
    else:
        rows = []
        for size in [int(s) for s in args.sizes.split(",")]:
            with tempfile.TemporaryDirectory(prefix="bench-kw-") as tmp:
                rows.append(alone(size, Path(tmp)))
    print(f"\n{'chunks':>8}{'ingest s':>9}{'add 20 s':>9}{'p50/p95 ms':>13}{'after':>13}{'extra wait':>11}{'private MB':>11}{'mapped MB':>10}")
    for r in rows:
        print(f"{r['chunks']:>8}{r['ingest_s']:>9.0f}{r['add_20_s']:>9.2f}{r['before_p50']:>7.1f}/{r['before_p95']:<5.1f}"
              f"{r['after_p50']:>7.1f}/{r['after_p95']:<5.1f}{r['extra_wait_ms']:>11.1f}{r['anon_mb']:>11.1f}{r['file_mb']:>10.1f}")
    if len(rows) > 1:
        print("growth per doubling: " + ", ".join(f"{k} {growth(rows, k)}" for k in ("ingest_s", "before_p95", "anon_mb", "file_mb")))


if __name__ == "__main__":
    main()
