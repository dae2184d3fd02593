"""What a large collection must not pay for whole on every question or feed poll (found by `bench/bench_keyword.py
pipeline --chunks 200000`): a registry, or a search scope, of more articles than Chroma's SQLite reads in one
statement (32,766 bound variables, ~33k articles) is read a page at a time; garbage collection reads the chunks
written since its last pass, and all of them only once a day."""

from __future__ import annotations

import time

from rag.core.config import Settings
from rag.index.store import _NO_VECTOR, CORPUS_ID, GC_FULL_EVERY_S, Store

ARTICLES = 33_000  # past the limit


def test_a_registry_past_sqlites_variable_limit_reads_whole(tmp_path):
    store = Store(Settings(data_dir=tmp_path / "data"), "hash-test")
    ids = [f"a{i:05d}.txt" for i in range(ARTICLES)]
    for lo in range(0, ARTICLES, 5000):  # straight into the registry: an ingest of 33k articles takes an hour
        batch = ids[lo : lo + 5000]
        store.registry.upsert(
            ids=batch,
            embeddings=[_NO_VECTOR] * len(batch),
            documents=[f"text of {i}" for i in batch],
            metadatas=[{"content_hash": f"h-{i}", "committed_at": 1.0} for i in batch],
        )
    store.registry.upsert(ids=[CORPUS_ID], embeddings=[_NO_VECTOR], metadatas=[{"version": "v1", "committed_at": 1.0}])

    version, hashes = store.committed()
    assert version == "v1" and len(hashes) == ARTICLES and hashes[ids[-1]] == f"h-{ids[-1]}"
    texts = store.article_texts(ids)
    assert len(texts) == ARTICLES and texts[ids[0]] == f"text of {ids[0]}"


def test_a_search_scoped_to_more_articles_than_one_statement_holds(tmp_path):
    # "since January" over a year of news: the scope is most of the corpus, kept after the query.
    store = Store(Settings(data_dir=tmp_path / "data"), "hash-test")
    sources = ["a.txt", "b.txt", "c.txt"]
    committed = {s: f"h-{s}" for s in sources}
    store.chunks.upsert(
        ids=[f"{s}#{k}" for s in sources for k in range(3)],
        embeddings=[[1.0, float(k), float(i)] for i in range(3) for k in range(3)],
        documents=[f"chunk {k} of {s}" for s in sources for k in range(3)],
        metadatas=[{"source": s, "doc_hash": committed[s]} for s in sources for k in range(3)],
    )
    scope = ["b.txt", *(f"gone{i:05d}.txt" for i in range(ARTICLES))]
    hits = store.dense([1.0, 0.0, 0.0], 4, sources=scope, committed=committed)
    assert [h["meta"]["source"] for h in hits] == ["b.txt"] * 3
    narrow = store.dense([1.0, 0.0, 0.0], 4, sources=["c.txt"], committed=committed)
    assert {h["meta"]["source"] for h in narrow} == {"c.txt"} and len(narrow) == 3


def _garbage(store: Store, chunk_id: str, written_at: float) -> None:
    """A chunk no committed article owns, as a crashed run leaves it."""
    meta = {"source": f"{chunk_id}.txt", "doc_hash": "never-committed", "written_at": written_at}
    store.chunks.upsert(ids=[chunk_id], embeddings=[[1.0, 0.0]], documents=["left over"], metadatas=[meta])


def test_garbage_collection_reads_what_was_written_since_its_last_pass_and_all_once_a_day(tmp_path):
    store = Store(Settings(data_dir=tmp_path / "data"), "hash-test")
    now = time.time()
    _garbage(store, "before", now - 3600)
    assert store.collect_garbage() == 1  # never passed here: every chunk is read
    _garbage(store, "old", now - 3600)  # e.g. an article's old chunks, after a crash right after its commit
    _garbage(store, "new", now + 1)  # written after the last pass
    assert store.collect_garbage() == 1 and store.chunks.get(ids=["old", "new"])["ids"] == ["old"]
    marks = store._gc_marks()
    store._set_gc_marks({**marks, "full_at": marks["full_at"] - GC_FULL_EVERY_S})  # a day later
    assert store.collect_garbage() == 1 and store.chunks.count() == 0
