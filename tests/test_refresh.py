"""A serving process reopens an embedded index that another process committed to in the background
(`rag/index/refresh.py`): its questions go on meanwhile, never through a reload, and see no chunk of an
uncommitted or replaced version; once the new client is in, dense search finds the new articles."""

from __future__ import annotations

import shutil
import threading

from rag import Assistant
from rag.core.config import Settings
from tests.conftest import SEEDS
from tests.test_view import _ingest


def test_questions_go_on_while_another_processs_commit_loads_in_the_background(tmp_path, embedder):
    desk = tmp_path / "desk"
    shutil.copytree(SEEDS, desk)
    (desk / "dam.txt").write_text("Dam opens\n\nThe Orrin river dam opened on Friday after six years of building.")
    data = tmp_path / "data"
    _ingest(desk, data)
    reader = Assistant(Settings(data_dir=data), embedder=embedder, llm=None)
    store = reader.store
    assert reader.search("Orrin river dam", top_k=1).passages[0].source == "desk/dam.txt"

    # Hold the background reopen until the questions below have run against the old client.
    release, started = threading.Event(), threading.Event()
    real = store._refresher._reopen
    store._refresher._reopen = lambda: (started.set(), release.wait(30), real())
    opens = store._opens
    (desk / "dam.txt").write_text("Dam delayed\n\nThe Orrin river dam opening was postponed after cracks were found.")
    (desk / "harbour.txt").write_text("Harbour strike\n\nThe harbour pilots of Vexmouth went on strike on Monday over pay.")
    _ingest(desk, data)  # another process: one article replaced, one added

    top = reader.search("Vexmouth harbour pilots strike", top_k=3).passages  # found by its terms, reranked
    assert started.wait(10) and store.refreshing
    assert top[0].source == "desk/harbour.txt"
    dam = [p for p in reader.search("Orrin river dam", top_k=5).passages if p.source == "desk/dam.txt"]
    assert dam and all("postponed" in p.text for p in dam)  # never the replaced version's chunks
    assert store._opens == opens  # no reopen in a question's path
    # The old client's vector index does not hold the new article yet.
    assert "desk/harbour.txt" not in {p.source for p in reader.search("Vexmouth harbour pilots strike", mode="dense").passages}

    release.set()
    assert store.wait_for_refresh(30)
    assert store._opens == opens + 1 and store._held is None
    dense = reader.search("Vexmouth harbour pilots strike", top_k=1, mode="dense").passages
    assert dense[0].source == "desk/harbour.txt"
