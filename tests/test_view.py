"""A reader's view of the committed articles follows other writers by re-reading only what changed
(`rag/index/view.py`): a unit test of the merge, and real processes on one embedded index."""

from __future__ import annotations

import shutil
import subprocess
import sys

from rag import Assistant
from rag.core.config import Settings
from rag.index import view as view_module
from rag.index.view import MARGIN_S, View, read_view
from tests.conftest import REPO, SEEDS
from tests.test_writers import env_for

CORPUS = "__corpus__"


class Registry:
    """The registry's `get` as Chroma answers it: all records, ids only, or those committed since a time."""

    def __init__(self, records: dict[str, dict]):
        self.records = records
        self.calls: list[str] = []

    def get(self, include, where=None):
        if where is not None:
            since = where["committed_at"]["$gt"]
            self.calls.append("since")
            rows = {i: m for i, m in self.records.items() if m.get("committed_at", -1) > since}
        else:
            self.calls.append("all" if include else "ids")
            rows = self.records
        return {"ids": list(rows), "metadatas": list(rows.values()) if include else None}


def _record(h: str, at: float | None) -> dict:
    return {"content_hash": h} | ({"committed_at": at} if at is not None else {})


def test_the_view_merges_what_was_committed_since_and_drops_what_was_removed():
    registry = Registry({"a": _record("h1", None), "b": _record("h2", 1000.0), CORPUS: {"committed_at": 1000.0}})
    first = read_view(registry.get, CORPUS, "v1", 1000.0, None)
    assert first == View("v1", {"a": "h1", "b": "h2"}, 1000.0) and registry.calls == ["all"]

    registry.calls.clear()
    del registry.records["a"]  # removed
    registry.records["b"] = _record("h2b", 2000.0)  # updated
    registry.records["c"] = _record("h3", 2000.0)  # added
    second = read_view(registry.get, CORPUS, "v2", 2000.0, first)
    assert second.hashes == {"b": "h2b", "c": "h3"} and registry.calls == ["since", "ids"]

    # A record written by a writer whose clock is behind (within the margin) is still seen...
    registry.calls.clear()
    registry.records["d"] = _record("h4", 2000.0 - MARGIN_S / 2)
    third = read_view(registry.get, CORPUS, "v3", 2001.0, second)
    assert third.hashes["d"] == "h4" and registry.calls == ["since", "ids"]
    # ...and one beyond it makes the view read everything again rather than miss it.
    registry.calls.clear()
    registry.records["e"] = _record("h5", 0.0)
    fourth = read_view(registry.get, CORPUS, "v4", 2002.0, third)
    assert fourth.hashes["e"] == "h5" and registry.calls == ["since", "ids", "all"]


def test_an_index_from_before_the_commit_times_is_read_whole():
    registry = Registry({"a": _record("h1", None), CORPUS: {}})
    old = View("v0", {"a": "h0"}, None)
    assert read_view(registry.get, CORPUS, "v1", None, old).hashes == {"a": "h1"}
    assert registry.calls == ["all"]


def _ingest(folder, data_dir) -> None:
    out = subprocess.run([sys.executable, "-m", "rag", "ingest", "-q", str(folder)], env=env_for(data_dir),
                         capture_output=True, text=True, cwd=REPO, timeout=600)
    assert out.returncode == 0, out.stderr


def test_a_serving_process_follows_another_writer_reading_only_the_new_records(tmp_path, embedder, monkeypatch):
    desk = tmp_path / "desk"
    shutil.copytree(SEEDS, desk)
    for name, text in [("dam.txt", "Dam opens\n\nThe Orrin river dam opened on Friday after six years of building."),
                       ("ferry.txt", "Ferry returns\n\nThe Quillon ferry returned to service on Sunday after repairs.")]:
        (desk / name).write_text(text)
    data = tmp_path / "data"
    _ingest(desk, data)
    reader = Assistant(Settings(data_dir=data), embedder=embedder, llm=None)
    _, before = reader.store.committed()
    assert {"desk/dam.txt", "desk/ferry.txt"} < set(before) and len(before) == 7

    read: list[int] = []
    real = view_module._hashes
    monkeypatch.setattr(view_module, "_hashes", lambda got, corpus: read.append(len(got["ids"])) or real(got, corpus))
    monkeypatch.setattr(view_module, "MARGIN_S", 0.0)  # one clock here: re-read only what is newer than the view
    (desk / "dam.txt").write_text("Dam delayed\n\nThe Orrin river dam opening was postponed after cracks were found.")
    (desk / "harbour.txt").write_text("Harbour strike\n\nThe harbour pilots of Vexmouth went on strike on Monday over pay.")
    _ingest(desk, data)  # another process: one article updated, one added

    version, after = reader.store.committed()
    assert set(after) == set(before) | {"desk/harbour.txt"}
    assert after["desk/dam.txt"] != before["desk/dam.txt"] and after["desk/ferry.txt"] == before["desk/ferry.txt"]
    assert read == [3], read  # the two new records and the corpus stamp, not the registry's 9
    top = reader.search("Vexmouth harbour pilots strike", top_k=3).passages
    assert top[0].source == "desk/harbour.txt"
    assert all("postponed" in p.text for p in reader.search("Orrin river dam", top_k=5).passages if p.source == "desk/dam.txt")


def test_the_view_reads_through_a_reopen_of_the_client(tmp_path, embedder, monkeypatch):
    """Another thread may reopen the embedded client while a view is read (a request that met another
    process's half-done write): the view must read the collection as it is then, not the closed one."""
    import rag.index.store as store_module

    desk = tmp_path / "desk"
    shutil.copytree(SEEDS, desk)
    data = tmp_path / "data"
    _ingest(desk, data)
    reader = Assistant(Settings(data_dir=data), embedder=embedder, llm=None)
    _, before = reader.store.committed()
    (desk / "harbour.txt").write_text("Harbour strike\n\nThe harbour pilots of Vexmouth went on strike on Monday over pay.")
    _ingest(desk, data)

    real = store_module.read_view

    def reopened_meanwhile(*args, **kwargs):
        reader.store._reopen()
        return real(*args, **kwargs)

    monkeypatch.setattr(store_module, "read_view", reopened_meanwhile)
    _, after = reader.store.committed()
    assert set(after) == set(before) | {"desk/harbour.txt"}
