"""Source names that cannot collide, and paths that stay where they belong (real Chroma, real files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag import Assistant
from rag.core.errors import DocumentError
from rag.index.sources import NAMING
from rag.index.store import CORPUS_ID
from rag.ingest.uploads import safe_name, save
from tests.conftest import REPO, SEEDS


def story(topic: str) -> str:
    return f"The {topic} story\n\nResidents followed the {topic} news closely this week. Officials said more would follow."


@pytest.fixture
def assistant(make_settings, embedder):
    return Assistant(make_settings(), embedder=embedder)


def test_same_relative_name_in_two_folders_both_indexed(assistant, tmp_path):
    for folder, topic in (("a", "harbour"), ("b", "railway")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.txt").write_text(story(topic))
    report = assistant.ingest([tmp_path / "a", tmp_path / "b"])
    assert report.count("added") == 2
    assert sorted(a.source for a in assistant.articles()) == ["a/x.txt", "b/x.txt"]
    # Stable: the same files keep their names, and nothing is embedded again.
    again = assistant.ingest([tmp_path / "b", tmp_path / "a"])
    assert again.count("unchanged") == 2 and again.chunks_embedded == 0


def test_folders_with_the_same_name_are_told_apart(assistant, tmp_path):
    for parent, topic in (("one", "harbour"), ("two", "railway")):
        (tmp_path / parent / "news").mkdir(parents=True)
        (tmp_path / parent / "news" / "x.txt").write_text(story(topic))
    assistant.ingest([tmp_path / "one" / "news"])
    assistant.ingest([tmp_path / "two" / "news"])
    assert sorted(a.source for a in assistant.articles()) == ["news/x.txt", "two/news/x.txt"]
    # A file given alone gets the name its folder gives it.
    assert assistant.ingest([tmp_path / "two" / "news" / "x.txt"]).count("unchanged") == 1


def test_upload_named_like_a_seed_keeps_both(assistant, tmp_path, seeds_copy):
    assistant.ingest([seeds_copy])
    report = assistant.upload([("000_c3e6291cb7289f16.txt", story("upload").encode())])
    assert [f.status for f in report.files] == ["added"]
    names = {a.source for a in assistant.articles()}
    assert {"articles/000_c3e6291cb7289f16.txt", "uploads/000_c3e6291cb7289f16.txt"} <= names
    assert len(names) == 6
    # A bare name that now means two articles is refused, not guessed.
    with pytest.raises(Exception, match="names 2 articles"):
        assistant.remove("000_c3e6291cb7289f16.txt")
    assert assistant.remove("uploads/000_c3e6291cb7289f16.txt")
    assert not (assistant.settings.uploads_dir / "000_c3e6291cb7289f16.txt").exists()


def _to_old_naming(store) -> None:
    """Rewrites an index the way the code before source names v2 wrote it: bare relative names, no naming stamp."""
    from rag.index.sources import chunk_id

    for article in store.articles():
        old = article.source.split("/", 1)[1]
        got = store.chunk_records(article.source)
        metas = [{**m, "source": old} for m in got["metadatas"]]
        store.chunks.add(ids=[chunk_id(old, m["doc_hash"], m["index"]) for m in metas], embeddings=got["embeddings"],
                         documents=got["documents"], metadatas=metas)
        store.chunks.delete(where={"source": article.source})
        record = store.registry.get(ids=[article.source], include=["metadatas", "documents", "embeddings"])
        store.registry.add(ids=[old], metadatas=record["metadatas"], documents=record["documents"], embeddings=record["embeddings"])
        store.registry.delete(ids=[article.source])
    corpus = store.registry.get(ids=[CORPUS_ID], include=["metadatas"])["metadatas"][0]
    store.registry.delete(ids=[CORPUS_ID])
    store.registry.add(ids=[CORPUS_ID], embeddings=[[0.0]], documents=[""],
                       metadatas=[{k: v for k, v in corpus.items() if k != "naming"}])


def test_an_old_index_is_migrated_in_place(assistant, seeds_copy):
    assistant.ingest([seeds_copy])
    store = assistant.store
    vectors_before = sorted(tuple(round(x, 5) for x in v[:4]) for v in store.chunks.get(include=["embeddings"])["embeddings"])
    _to_old_naming(store)
    assert store.naming() is None and "000_c3e6291cb7289f16.txt" in {a.source for a in store.articles()}
    fresh = Assistant(assistant.settings, embedder=assistant.embedder)
    report = fresh.ingest([seeds_copy])
    assert report.count("unchanged") == 5 and report.chunks_embedded == 0  # renamed, not re-embedded
    assert fresh.store.naming() == NAMING
    assert sorted(a.source for a in fresh.articles()) == sorted(f"articles/{p.name}" for p in SEEDS.glob("*.txt"))
    vectors_after = sorted(tuple(round(x, 5) for x in v[:4]) for v in fresh.store.chunks.get(include=["embeddings"])["embeddings"])
    assert vectors_after == vectors_before
    assert fresh.store.chunk_count() == sum(a.chunks for a in fresh.articles())
    top = fresh.search("How much did Meta pay for its stake in Scale AI?").passages[0]
    assert top.source.startswith("articles/") and fresh.article_text(top.source)[top.start : top.end] == top.text


def test_link_outside_the_folder_is_skipped(tmp_path):
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "real.txt").write_text(story("harbour"))
    (folder / "passwd.txt").symlink_to("/etc/passwd")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "far.txt").write_text(story("railway"))
    (folder / "linked-dir").symlink_to(outside, target_is_directory=True)
    (folder / "inside.txt").symlink_to(folder / "real.txt")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RAG_")}, "LLM_PROVIDER": "extractive"}

    def ingest(*extra):
        done = subprocess.run([sys.executable, "-m", "rag", "--data-dir", str(tmp_path / "data"), "ingest", "-q", "--json", *extra, str(folder)],
                              capture_output=True, text=True, env=env, cwd=REPO)
        return done, json.loads(done.stdout)

    done, report = ingest()
    by_name = {f["path"].rsplit("/", 1)[-1]: f for f in report["files"]}
    assert by_name["passwd.txt"]["status"] == "skipped" and "outside" in by_name["passwd.txt"]["reason"]
    assert "--follow-links" in by_name["passwd.txt"]["reason"]
    assert by_name["linked-dir"]["status"] == "skipped" and "outside" in by_name["linked-dir"]["reason"]
    # A link within the folder is read like a file: the same text twice, indexed once.
    assert sorted(by_name[n]["status"] for n in ("real.txt", "inside.txt")) == ["added", "duplicate"]
    assert done.returncode == 1  # something was skipped
    assert "root:" not in json.dumps(report)
    done, report = ingest("--follow-links")
    added = {f["path"].rsplit("/", 1)[-1] for f in report["files"] if f["status"] == "added"}
    assert "far.txt" in added


HOSTILE = [
    "../../etc/passwd.txt",
    "/etc/cron.d/evil.txt",
    "..\\..\\windows\\win.ini.txt",
    "nul\x00byte.txt",
    "x" * 5000 + ".txt",
    "Seed.TXT",
    "seed.txt",
]


def test_hostile_upload_names_stay_under_uploads(assistant, tmp_path):
    report = assistant.upload([(name, story(f"topic {i}").encode()) for i, name in enumerate(HOSTILE)])
    home = assistant.settings.uploads_dir.resolve()
    files = sorted(home.iterdir())
    assert len(files) == len(HOSTILE) and all(f.parent == home for f in files)
    assert all(len(f.name) <= 130 for f in files)
    # "Seed.TXT" and "seed.txt" differ only in case: both kept, under names that differ ignoring case too.
    assert len({f.name.lower() for f in files}) == len(files)
    assert report.count("added") == len(HOSTILE)
    assert all(a.source.startswith("uploads/") for a in assistant.articles())
    assert not (tmp_path / "etc").exists()


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("story.md", "story.md"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\me\\Report 2024 (final).PDF", "Report_2024_final.pdf"),
        (".hidden.html", "hidden.html"),
        ("über café.txt", "ber_caf.txt"),
        ("....md", "article.md"),
        ("a\x00b.txt", "ab.txt"),
    ],
)
def test_upload_names_are_sanitized(raw, safe):
    assert safe_name(raw) == safe


@pytest.mark.parametrize("raw", ["evil.exe", "notes", "archive.tar.gz", "page.php"])
def test_upload_names_with_other_extensions_are_rejected(raw):
    with pytest.raises(DocumentError, match="unsupported file type"):
        safe_name(raw)


def test_upload_never_overwrites_a_different_file(tmp_path):
    folder = tmp_path / "uploads"
    first = save(folder, "a.md", b"old", 1000)
    assert save(folder, "a.md", b"old", 1000).path == first.path == (folder / "a.md").resolve()
    assert save(folder, "A.md", b"new", 1000).path.name == "A-2.md"
    assert (folder / "a.md").read_bytes() == b"old"
    with pytest.raises(DocumentError, match="limit"):
        save(folder, "big.md", b"x" * 2000, 1000)
    with pytest.raises(DocumentError, match="empty"):
        save(folder, "empty.md", b"", 1000)
