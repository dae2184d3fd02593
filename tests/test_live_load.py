"""Load while the news flows (real `rag watch`, `rag api` and clients; see tests/live_load.py): no request
fails, no answer cites an article version that is not committed, a new article is answerable within 10 s."""

from __future__ import annotations

from tests.live_load import run


def test_questions_while_a_folder_and_a_feed_are_ingested(tmp_path):
    result = run(tmp_path, clients=6, seconds=40, rate=1.0)
    summary = result.summary()
    assert result.errors == [], result.errors[:5]
    assert result.requests >= 40 and result.written >= 35, summary
    # Articles are only added here, so whatever an answer cited must be committed, in that very version:
    # its quote is the committed text at the cited offsets.
    assert result.cited and all(result.committed[s][start:end] == quote for s, start, end, quote in result.cited)
    assert any(s.startswith("incoming/") for s, *_ in result.cited) and any(s.startswith("http://") for s in result.committed)
    assert summary["probed"] >= 3 and summary["answerable_max_s"] <= 10.0, result.answerable_after
