"""The on-disk keyword index (tantivy): updated in place, consistent with the registry, repaired, and fed
from a Chroma server's registry in a second data dir (real Chroma, real tantivy)."""

from __future__ import annotations

import shutil

import pytest

from rag import Assistant
from rag.core.errors import EmptyIndexError
from rag.index.keyword import article_key

NEWSTEAD = "Which company did Jennifer Newstead leave Meta for?"


def _fresh(make_settings, embedder, **overrides) -> Assistant:
    return Assistant(make_settings(**overrides), embedder=embedder, llm=None)


def _bm25_sources(assistant: Assistant, question: str, k: int = 10) -> list[str]:
    return [p.source for p in assistant.search(question, top_k=k, mode="bm25").passages]


def test_an_added_article_is_searchable_without_a_rebuild(make_settings, embedder, seeds_copy, tmp_path):
    assistant = _fresh(make_settings, embedder)
    assistant.ingest([seeds_copy])
    keywords = assistant.store.keywords
    before = keywords.keys()
    assert _bm25_sources(assistant, NEWSTEAD)[0].endswith(".txt")

    extra = tmp_path / "more"
    extra.mkdir()
    (extra / "harbour.txt").write_text("Harbour pilots strike\n\nThe harbour pilots of Vexmouth went on strike on Monday over pay.")
    assistant.ingest([extra])
    after = keywords.keys()
    # In place: the old articles' documents are the same ones (none deleted and re-added), one article more.
    assert {k: v for k, v in after.items() if k in before} == before and len(after) == len(before) + 1
    version, committed = assistant.store.committed()
    assert keywords.missing(version, committed) == {}
    assert _bm25_sources(assistant, "Vexmouth harbour pilots strike")[0] == "more/harbour.txt"


def test_an_updated_article_is_one_version_and_a_removed_one_is_gone(make_settings, embedder, tmp_path):
    assistant = _fresh(make_settings, embedder)
    folder = tmp_path / "desk"
    folder.mkdir()
    doc = folder / "dam.txt"
    doc.write_text("Dam opens\n\nThe Orrin river dam opened on Friday after six years of building.")
    assistant.ingest([folder])
    doc.write_text("Dam delayed\n\nThe Orrin river dam opening was postponed on Friday after cracks were found.")
    assistant.ingest([folder])
    hits = assistant.search("Orrin river dam", top_k=10, mode="bm25").passages
    assert hits and all("postponed" in p.text for p in hits)
    _, committed = assistant.store.committed()
    assert set(assistant.store.keywords.keys()) == {article_key("desk/dam.txt", committed["desk/dam.txt"])}

    assert assistant.remove("desk/dam.txt")
    assert assistant.store.keywords.keys() == {}
    with pytest.raises(EmptyIndexError):
        assistant.search("Orrin river dam", mode="bm25")


def test_an_index_without_a_keyword_index_gets_one_built(make_settings, embedder, seeds_copy):
    """The migration: an index from before the keyword index existed (or whose keyword folder was lost)."""
    settings = make_settings()
    Assistant(settings, embedder=embedder, llm=None).ingest([seeds_copy])
    shutil.rmtree(settings.data_dir / "keyword")
    reader = Assistant(settings, embedder=embedder, llm=None)
    version, committed = reader.store.committed()
    assert set(reader.store.keywords.missing(version, committed)) == set(committed)
    assert _bm25_sources(reader, NEWSTEAD)  # the first question builds it
    assert reader.store.keywords.missing(version, committed) == {}
    chunks = {a.source: a.chunks for a in reader.articles()}
    assert {k.split("\n")[0]: n for k, n in reader.store.keywords.keys().items()} == chunks


def test_a_writer_that_dies_between_the_two_commits_leaves_readers_consistent(make_settings, embedder, seeds_copy, tmp_path, monkeypatch):
    assistant = _fresh(make_settings, embedder)
    assistant.ingest([seeds_copy])
    store = assistant.store
    extra = tmp_path / "late"
    extra.mkdir()
    (extra / "ferry.txt").write_text("Ferry sinks\n\nThe Quillon ferry sank off the cape on Tuesday; all passengers were rescued.")

    def fail_upsert(*args, **kwargs):
        raise OSError("registry write lost")

    monkeypatch.setattr(store.registry, "upsert", fail_upsert)
    with pytest.raises(OSError):
        assistant.ingest([extra])
    monkeypatch.undo()
    # Its terms were committed to the keyword index, but the article never was: no reader returns it.
    assert any(k.startswith("late/ferry.txt\n") for k in store.keywords.keys())
    assert "late/ferry.txt" not in _bm25_sources(assistant, "Quillon ferry sank cape", k=20)
    hits = store.keywords.search(["quillon", "ferri"], 20, None, store.committed()[1])
    assert not [h for h in hits if h.meta["source"] == "late/ferry.txt"]
    # The next run drops the orphan and commits the article once.
    assistant.ingest([extra])
    keys = [k for k in store.keywords.keys() if k.startswith("late/ferry.txt\n")]
    assert keys == [article_key("late/ferry.txt", store.committed()[1]["late/ferry.txt"])]
    assert _bm25_sources(assistant, "Quillon ferry sank cape")[0] == "late/ferry.txt"


@pytest.mark.chroma_server
def test_a_second_data_dir_on_a_chroma_server_follows_another_hosts_commits(chroma_server, embedder, seeds_copy, tmp_path, monkeypatch):
    """Each data dir keeps its own keyword copy of the server's collection, fed from the registry: on a commit
    it reads the records of the articles it lacks, not the whole registry (2.7 s over HTTP at 17k articles)."""
    from rag.core.config import ChromaSettings, LLMSettings, Settings

    def settings(name):
        return Settings(
            data_dir=tmp_path / name, collection="shared-kw", llm=LLMSettings(provider="extractive"),
            chroma=ChromaSettings(host="127.0.0.1", port=chroma_server.port),
        )

    writer = Assistant(settings("host-a"), embedder=embedder, llm=None)
    reader = Assistant(settings("host-b"), embedder=embedder, llm=None)
    writer.ingest([seeds_copy])
    assert _bm25_sources(reader, NEWSTEAD)
    extra = tmp_path / "wire"
    extra.mkdir()
    (extra / "quake.txt").write_text("Quake in Sorvane\n\nA magnitude 6.1 earthquake shook Sorvane province before dawn on Sunday.")
    writer.ingest([extra])
    read, articles = [], reader.store.articles
    monkeypatch.setattr(reader.store, "articles", lambda sources=None: read.append(sources) or articles(sources))
    assert _bm25_sources(reader, "Sorvane earthquake magnitude")[0] == "wire/quake.txt"
    assert read == [["wire/quake.txt"]]
    assert (tmp_path / "host-b" / "keyword").is_dir()
