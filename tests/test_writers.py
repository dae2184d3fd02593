"""Several writers on one index lose nothing and index nothing twice (real processes, real Chroma)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from rag import Assistant
from rag.core.config import LLMSettings, Settings
from rag.core.errors import StoreUnavailableError
from rag.index.locks import WriteLock
from tests.conftest import REPO, SEEDS


def make_corpus(folder, tag: str, copies: int = 2):
    folder.mkdir(parents=True)
    for seed in sorted(SEEDS.glob("*.txt")):
        for i in range(copies):
            (folder / f"{tag}{i}_{seed.name}").write_text(f"{tag} edition {i}.\n\n{seed.read_text()}")


def env_for(data_dir, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OPENAI_", "CHROMA_"))}
    return {**env, "LLM_PROVIDER": "extractive", "RAG_DATA_DIR": str(data_dir), **extra}


def start_ingest(folder, env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "rag", "ingest", "-q", "--json", str(folder)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )


def check(env) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", "import json, sys; from tests.index_check import check; print(json.dumps(check(sys.argv[1])))",
         env["RAG_DATA_DIR"]],
        env=env, capture_output=True, text=True, cwd=REPO, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def assert_each_article_once(state: dict, expected: set[str]) -> None:
    assert {s.rsplit("/", 1)[-1] for s in state["articles"]} == expected
    assert len(state["articles"]) == len(expected)
    assert state["complete"] and state["keywords_agree"], state
    assert state["chunks_total"] == state["chunks_committed"], state  # nothing twice, no leftovers


def test_two_processes_on_one_embedded_index(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    make_corpus(a, "a")
    make_corpus(b, "b")
    env = env_for(tmp_path / "data")
    procs = [start_ingest(a, env), start_ingest(b, env)]
    results = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0, err
        assert json.loads(out)["files"], out
    expected = {f.name for f in a.iterdir()} | {f.name for f in b.iterdir()}
    assert_each_article_once(check(env), expected)


def test_second_writer_gives_up_naming_the_holder(tmp_path):
    data = tmp_path / "data"
    env = env_for(data, RAG_WRITE_LOCK_TIMEOUT="1")
    seeded = subprocess.run([sys.executable, "-m", "rag", "ingest", "-q", str(SEEDS)], env=env, capture_output=True, text=True)
    assert seeded.returncode == 0, seeded.stderr
    lock = WriteLock(data, timeout=5, where="test")
    with lock.hold():
        started = time.monotonic()
        busy = subprocess.run([sys.executable, "-m", "rag", "remove", "003_26436447e704484c.txt"], env=env, capture_output=True, text=True)
        assert busy.returncode == 1
        assert f"pid {os.getpid()}" in busy.stderr and "RAG_CHROMA_HOST" in busy.stderr
        assert time.monotonic() - started >= 1.0  # it waited for the lock first
        # Readers never block on the write lock.
        search = subprocess.run([sys.executable, "-m", "rag", "search", "--json", "Scale AI stake"], env=env, capture_output=True, text=True)
        assert search.returncode == 0, search.stderr
        assert json.loads(search.stdout)["passages"]
    # Nothing was lost: the removal never happened.
    assert len(check(env)["articles"]) == 5


def test_lock_is_shared_by_threads_of_one_process(tmp_path):
    """The web page ingests uploads on worker threads: two of them must not write at once."""
    import threading

    lock = WriteLock(tmp_path, timeout=0.2, where="test")
    held, release = threading.Event(), threading.Event()

    def holder():
        with lock.hold():
            held.set()
            release.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    held.wait(5)
    from rag.core.errors import IndexBusyError

    with pytest.raises(IndexBusyError):
        with lock.hold():
            pass
    release.set()
    t.join()
    with lock.hold(), lock.hold():  # re-entrant within a thread
        pass


@pytest.mark.chroma_server
def test_two_processes_on_one_chroma_server(tmp_path, chroma_server):
    a, b = tmp_path / "a", tmp_path / "b"
    make_corpus(a, "a", copies=3)
    make_corpus(b, "b", copies=3)
    # Overlapping work too: both also ingest the same third folder.
    shared = tmp_path / "shared"
    make_corpus(shared, "s", copies=1)
    env = env_for(tmp_path / "data", RAG_CHROMA_HOST="127.0.0.1", RAG_CHROMA_PORT=str(chroma_server.port),
                  RAG_COLLECTION="writers", RAG_EMBEDDING_BATCH_SIZE="4")
    procs = [
        subprocess.Popen([sys.executable, "-m", "rag", "ingest", "-q", str(a), str(shared)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO),
        subprocess.Popen([sys.executable, "-m", "rag", "ingest", "-q", str(b), str(shared)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO),
    ]
    for p in procs:
        _, err = p.communicate(timeout=900)
        assert p.returncode == 0, err
    expected = {f.name for d in (a, b, shared) for f in d.iterdir()}
    state = check(env)
    assert_each_article_once(state, expected)
    # A third run finds everything in place: nothing is re-embedded, nothing was left half-done.
    again = subprocess.run([sys.executable, "-m", "rag", "ingest", "-q", "--json", str(a), str(b), str(shared)],
                           env=env, capture_output=True, text=True, cwd=REPO)
    report = json.loads(again.stdout)
    assert report["chunks_embedded"] == 0 and {f["status"] for f in report["files"]} <= {"unchanged", "duplicate"}


def _settings(make_settings):
    return make_settings(llm=LLMSettings(provider="extractive"))


def test_garbage_collection_spares_another_writers_chunks(make_settings, embedder, seeds_copy):
    """Uncommitted chunks of a writer still running survive another writer's ingest on a server."""
    assistant = Assistant(_settings(make_settings), embedder=embedder)
    assistant.ingest([seeds_copy])
    vector = embedder.get_text_embedding("in flight")
    now, old = time.time(), time.time() - 3600
    meta = {"source": "elsewhere.txt", "title": "t", "doc_hash": "f" * 64, "start": 0, "end": 9, "index": 0}
    assistant.store.write_chunks(["young", "old"], [vector, vector], ["in flight", "left over"],
                                 [{**meta, "written_at": now}, {**meta, "written_at": old}])
    # "old" is dated before this data dir's last pass, which reads only what was written since: the daily full
    # pass is the one that meets it (`test_store_scale.py`), as it does here once the marks are gone.
    assistant.store._gc_path().unlink()
    (seeds_copy / "new.txt").write_text("A new article about the harbour.\n\nThe harbour reopened on Monday.")
    assistant.ingest([seeds_copy])
    left = set(assistant.store.chunks.get(ids=["young", "old"], include=[])["ids"])
    # Server: a live writer's work in progress is left alone, old leftovers go. Embedded: the write
    # lock means no other writer can be in flight, so every leftover goes.
    assert left == ({"young"} if make_settings.mode == "server" else set())


def test_bm25_reads_a_consistent_view_while_garbage_is_deleted(make_settings, embedder, seeds_copy, monkeypatch):
    import rag.index.store

    assistant = Assistant(_settings(make_settings), embedder=embedder)
    store = assistant.store
    # Another writer's uncommitted chunks, stored before the articles' (so they come first in a scan).
    vector = embedder.get_text_embedding("garbage")
    ids = [f"garbage-{i}" for i in range(40)]
    meta = {"source": "gone.txt", "title": "t", "doc_hash": "e" * 64, "start": 0, "end": 7, "index": 0, "written_at": 0}
    store.write_chunks(ids, [vector] * 40, ["garbage"] * 40, [meta] * 40)
    monkeypatch.setattr(store, "collect_garbage", lambda: 0)  # that writer is still running
    assistant.ingest([seeds_copy])
    monkeypatch.setattr(rag.index.store, "_PAGE", 5)
    expected = set(store.chunks.get(where={"source": {"$ne": "gone.txt"}}, include=[])["ids"])
    seen = []
    for n, (cid, _, _) in enumerate(store.iter_committed_chunks()):
        seen.append(cid)
        if n == 3:  # ...and deletes its leftovers while the pages are read
            store.chunks.delete(ids=ids)
    assert set(seen) == expected and len(seen) == len(expected)
    assert not assistant.search("garbage", top_k=50, mode="bm25").passages
    version, committed = store.committed()
    assert not store.keywords.missing(version, committed) and sum(a.chunks for a in store.articles()) == len(expected)


def test_write_lock_only_for_an_embedded_index(make_settings, embedder):
    store = Assistant(_settings(make_settings), embedder=embedder, llm=None).store
    assert store.write_lock.enabled is (make_settings.mode == "embedded")


class _TornRead:
    """A chunks collection whose reads fail as Chroma's do on another process's half-written files."""

    def get(self, *args, **kwargs):
        from chromadb.errors import InternalError

        raise InternalError("Error executing plan: Internal error: Error finding id")


def test_a_torn_read_reopens_the_embedded_index(tmp_path, embedder, seeds_copy, monkeypatch):
    assistant = Assistant(Settings(data_dir=tmp_path / "data", llm=LLMSettings(provider="extractive")), embedder=embedder)
    assistant.ingest([seeds_copy])
    store = assistant.store
    ids = [cid for cid, _, _ in store.iter_committed_chunks()][:3]
    store.chunks = _TornRead()
    # Reopening loads the index as it is on disk, where the other process's write has landed.
    assert set(store.vectors(ids)) == set(ids)
    assert not isinstance(store.chunks, _TornRead)

    reopen = store._open
    monkeypatch.setattr(store, "_open", lambda: (reopen(), setattr(store, "chunks", _TornRead())))
    monkeypatch.setattr("rag.index.connection._REOPEN_PAUSES", (0.0, 0.0))
    store.chunks = _TornRead()
    with pytest.raises(StoreUnavailableError, match=r"reopening it 2 times.*fresh --data-dir"):
        store.vectors(ids)
