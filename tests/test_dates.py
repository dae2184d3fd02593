"""Publication dates: read from article text, resolved against the file's time; recency preference."""

from __future__ import annotations

import os
import time
from datetime import date

import pytest

from rag.core import dates
from rag.core.models import Passage
from rag.retrieval.rerank import prefer_recent

NOV_2026 = date(2026, 11, 25)


@pytest.mark.parametrize(
    "lines, reference, expected",
    [
        (["Writer: Editorial Team", "Dec 12", "3 min read"], NOV_2026, date(2025, 12, 12)),  # not after the file
        (["Dec 12"], date(2026, 12, 20), date(2026, 12, 12)),
        (["Dec 12"], None, None),  # no year and nothing to resolve it against
        (["Published: 12 March 2024"], NOV_2026, date(2024, 3, 12)),
        (["Posted on Jan. 5, 2025 by the desk"], None, date(2025, 1, 5)),
        (["WASHINGTON, Jan. 5, 2025 (Reuters) - The Senate voted..."], None, date(2025, 1, 5)),
        (["Updated: Jan 5, 2025"], NOV_2026, None),  # an update is not the publication
        (["Feb 30"], NOV_2026, None),
        (["The council met on March 3 to discuss the plan."], NOV_2026, None),  # a date inside a sentence is not a dateline
    ],
)
def test_from_header(lines, reference, expected):
    assert dates.from_header(lines, reference) == expected


@pytest.mark.parametrize(
    "question, latest",
    [
        ("What is the latest on the tram line?", True),
        ("What is the most recent news about Meta?", True),
        ("Who currently leads the lab?", True),
        ("How much did Meta pay for Scale AI?", False),
        ("When was the bakery founded?", False),
    ],
)
def test_wants_latest(question, latest):
    assert dates.wants_latest(question) is latest


def _p(n: int, published: date | None) -> Passage:
    return Passage(n=n, chunk_id=f"c{n}", source=f"s{n}", title="t", text="x", start=0, end=1, score=1.0, published=published)


def test_prefer_recent_fuses_relevance_and_recency_within_depth():
    ranked = [_p(1, date(2024, 1, 1)), _p(2, None), _p(3, date(2025, 6, 1)), _p(4, date(2025, 1, 1)), _p(5, date(2026, 1, 1))]
    out = [p.n for p in prefer_recent(ranked, depth=4)]
    assert out[0] == 3  # relevant and newest within the depth
    assert out[-1] == 5  # below the depth: stays behind, however new
    assert sorted(out) == [1, 2, 3, 4, 5]


def test_dec_12_byline_resolved_against_the_files_time(make_settings, embedder, tmp_path):
    from rag.assistant import Assistant

    folder = tmp_path / "news"
    folder.mkdir()
    story = folder / "story.txt"
    story.write_text("Harbour news\n\nWriter: Jane Doe\nDec 12\n3 min read\n\nThe harbour reopened after repairs.\n")
    stamp = time.mktime((2026, 1, 20, 12, 0, 0, 0, 0, -1))
    os.utime(story, (stamp, stamp))
    assistant = Assistant(make_settings(), embedder=embedder)
    assistant.ingest([folder])
    (article,) = assistant.articles()
    assert article.published == date(2025, 12, 12)
    (passage,) = assistant.search("harbour reopened", top_k=1).passages
    assert passage.published == date(2025, 12, 12)
