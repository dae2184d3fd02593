"""Stories across outlets: a re-headlined, lightly edited copy joins its original's story group, and
retrieval, citations and answers count the group as one source (real ingest, real Chroma)."""

from __future__ import annotations

import shutil

from rag import Assistant
from rag.core.models import Passage
from rag.ingest.stories import THRESHOLD, Stories, signature
from rag.retrieval.copies import collapse_copies
from rag.retrieval.evidence import Evidence
from tests.conftest import SEEDS

NEWSTEAD = "Which company did Jennifer Newstead leave Meta for?"
ORIGINAL = "000_c3e6291cb7289f16.txt"


def _copy_of(text: str) -> str:
    """A syndicated copy: a new headline and three phrases reworded."""
    body = text.split("\n", 1)[1]
    for old, new in [
        ("As pressure mounted, a wave of high-profile departures followed.", "Departures followed as the pressure grew."),
        ("mounting internal tensions", "growing tension inside the company"),
        ("the race to dominate", "the contest to lead"),
    ]:
        assert old in body
        body = body.replace(old, new, 1)
    return "Meta's AI shake-up: who left, and where they went\n" + body


def _corpus(tmp_path):
    folder = tmp_path / "wires"
    shutil.copytree(SEEDS, folder)
    (folder / "syndicated_copy.txt").write_text(_copy_of((SEEDS / ORIGINAL).read_text()))
    return folder


def test_a_lightly_edited_copy_scores_above_the_threshold_and_other_articles_below():
    original = (SEEDS / ORIGINAL).read_text()
    assert signature(_copy_of(original)).jaccard(signature(original)) >= THRESHOLD + 0.2
    others = [p.read_text() for p in sorted(SEEDS.glob("*.txt")) if p.name != ORIGINAL]
    assert max(signature(o).jaccard(signature(original)) for o in others) < THRESHOLD - 0.3


def test_the_copy_joins_the_group_and_the_top_5_holds_one_of_them(make_settings, embedder, tmp_path):
    assistant = Assistant(make_settings(), embedder=embedder, llm=None)
    assistant.ingest([_corpus(tmp_path)])
    by_source = {a.source: a for a in assistant.articles()}
    original, copy = by_source[f"wires/{ORIGINAL}"], by_source["wires/syndicated_copy.txt"]
    assert copy.story == original.story == original.source  # the first article names the story
    assert len({a.story for a in by_source.values()}) == len(by_source) - 1  # nothing else grouped

    top = assistant.search(NEWSTEAD, top_k=5).passages
    from_group = {p.source for p in top} & {original.source, copy.source}
    assert len(from_group) == 1, [p.source for p in top]
    lead = next(p for p in top if p.source in from_group)
    assert [a.source for a in lead.also_reported_by] == list({original.source, copy.source} - from_group)

    answer = assistant.ask(NEWSTEAD)
    assert "Apple" in answer.answer and not answer.abstained
    cited = [c for c in answer.citations if c.source in from_group]
    assert cited and cited[0].also_reported_by[0].source in {original.source, copy.source} - from_group
    # One source, not two agreeing: the answer cites the group once.
    assert len({c.group for c in answer.citations}) == len({c.source for c in answer.citations})


def test_without_groups_the_copies_fill_the_top_5(make_settings, embedder, tmp_path, monkeypatch):
    """The control: with every article its own story, both copies crowd the top 5 (what the issue saw)."""
    monkeypatch.setattr(Stories, "assign", lambda self, source, sig: source)
    assistant = Assistant(make_settings(), embedder=embedder, llm=None)
    assistant.ingest([_corpus(tmp_path)])
    top = {p.source for p in assistant.search(NEWSTEAD, top_k=5).passages}
    assert {f"wires/{ORIGINAL}", "wires/syndicated_copy.txt"} <= top


def _passage(source: str, text: str, story: str | None) -> Passage:
    return Passage(source=source, title=source, story=story, chunk_id=source, text=text, start=0, end=len(text), score=1.0)


def test_a_copy_that_holds_more_of_the_question_stays():
    evidence = Evidence("When did the Orrin dam open to traffic?")
    a = _passage("a.txt", "The Orrin dam was finished this year.", "a.txt")
    b = _passage("b.txt", "The Orrin dam opened to traffic on Friday.", "a.txt")
    c = _passage("c.txt", "The Orrin dam was finished this year.", "a.txt")
    articles = {"a.txt": "The Orrin dam was finished this year. It cost a lot."}
    kept = collapse_copies(evidence, [a, b, c], lambda sources: {s: articles[s] for s in sources})
    assert [p.source for p in kept] == ["a.txt", "b.txt"]
    assert [x.source for x in kept[0].also_reported_by] == ["c.txt"]


def test_rag_sources_and_the_api_list_the_copies(tmp_path):
    import json
    import os
    import subprocess
    import sys

    from fastapi.testclient import TestClient

    from rag.api import create_app
    from rag.core.config import LLMSettings, Settings
    from tests.conftest import REPO

    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OPENAI_"))}
    env.update(RAG_DATA_DIR=str(tmp_path / "data"), LLM_PROVIDER="extractive")
    rag = [sys.executable, "-m", "rag"]
    done = subprocess.run([*rag, "ingest", "-q", str(_corpus(tmp_path))], env=env, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    listed = subprocess.run([*rag, "sources"], env=env, cwd=REPO, capture_output=True, text=True).stdout.splitlines()
    copy_line = next(line for line in listed if line.startswith("wires/syndicated_copy.txt"))
    assert copy_line.endswith(f"also published by wires/{ORIGINAL}")
    assert sum("also published by" in line for line in listed) == 2
    as_json = subprocess.run([*rag, "sources", "--json"], env=env, cwd=REPO, capture_output=True, text=True)
    assert as_json.returncode == 0, as_json.stderr
    rows = json.loads(as_json.stdout)
    assert "signature" not in rows[0] and {r["source"]: r["also_published_by"] for r in rows}[f"wires/{ORIGINAL}"] == ["wires/syndicated_copy.txt"]

    settings = Settings(data_dir=tmp_path / "data", llm=LLMSettings(provider="extractive"))
    with TestClient(create_app(Assistant(settings, llm=None)), base_url="http://127.0.0.1") as client:
        api_rows = client.get("/api/sources").json()
    assert {r["source"]: r["also_published_by"] for r in api_rows}["wires/syndicated_copy.txt"] == [f"wires/{ORIGINAL}"]
