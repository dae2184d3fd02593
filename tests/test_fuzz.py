"""Property-based tests (hypothesis) for every part that takes outside text.

Example counts are printed by `--hypothesis-show-statistics` (pytest's addopts); in CI (`CI=true`)
the `ci` profile derandomises them so a run is repeatable.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rag.answering.citations import MARKER, CitationChecker
from rag.core.config import Settings
from rag.core.errors import DocumentError, InvalidQuestionError
from rag.core.models import Passage
from rag.core.questions import check_question
from rag.ingest.clean import clean
from rag.ingest.pipeline import Ingestor
from rag.ingest.readers import read
from tests.conftest import SEEDS

SLOW = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], deadline=None)

# Text that looks like news and text that looks like nothing: words, punctuation, markup, odd Unicode.
NEWSY = st.text(
    alphabet=st.sampled_from(list("abcdefgh XYZ.,;:!?'\"“”’()[]—-\n\n\t0123456789$%#*•<>/&é漢🙂\u200b\u00a0\r")),
    max_size=3000,
)


@SLOW
@given(data=st.binary(max_size=4000) | NEWSY.map(lambda s: s.encode("utf-8", "surrogatepass")),
       suffix=st.sampled_from([".txt", ".md", ".html", ".htm", ".pdf"]))
@example(data=b"\xff\xfe\x00", suffix=".txt")
@example(data=b"%PDF-1.4 broken", suffix=".pdf")
@example(data="<html><body><script>x</script></body></html>".encode(), suffix=".html")
def test_readers_and_cleaner_never_crash(data, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"f{suffix}"
        path.write_bytes(data)
        try:
            raw = read(path, 1_000_000)
        except DocumentError as exc:
            assert str(exc)  # a clear skip, with a reason
            return
        article = clean(raw.text, raw.title, raw.author)
        assert isinstance(article.text, str)
        assert article.title is None or isinstance(article.title, str)


@pytest.fixture(scope="module")
def ingestor():
    from rag.index.embeddings import TokenCounter

    return Ingestor(Settings(chunk_size=64, chunk_overlap=16), store=None, embedder=None, count_tokens=TokenCounter())


@SLOW
@given(text=NEWSY)
@example(text="Same sentence. " * 200)
@example(text="a" * 5000)
def test_chunks_are_exact_spans_in_order(ingestor, text):
    article = clean(text).text
    chunks = ingestor.chunk(article)
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)
    for c in chunks:
        assert article[c.start : c.end] == c.text
    # Every word of the article is in some chunk.
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(article) if not ch.isspace())


@pytest.fixture(scope="module")
def passages():
    article = (SEEDS / "000_c3e6291cb7289f16.txt").read_text()
    cuts = [(0, 700), (700, 1500), (1500, 2300)]
    return article, [
        Passage(n=i + 1, chunk_id=f"c{i}", source="seeds/000.txt", title="T", text=article[s:e], start=s, end=e, score=1.0)
        for i, (s, e) in enumerate(cuts)
    ]


MARKERS = st.sampled_from(["[0]", "[1]", "[2]", "[3]", "[999]", "[1][2]", "[[1]]", "[1, 2]", "[ 2 ]", "[-1]", "[]", "[1,99]"])
ANSWERS = st.lists(st.one_of(NEWSY.map(lambda s: s[:300]), MARKERS, st.sampled_from([
    "Meta acquired a 49 percent stake in Scale AI for more than $14 billion",
    "Wang is said to believe the CEO’s micromanagement has become “suffocating.”",
    ". ", "\n", "Jan. 5", "U.S.", "!",
])), max_size=12).map("".join)


@settings(SLOW, max_examples=60)
@given(answer=ANSWERS)
@example(answer="x" * 50_000 + " [1]")
@example(answer="Meta paid $14 billion. [1][2] Next sentence [999].")
@example(answer="[[1]] [0] [1, 2]")
def test_only_valid_citations_survive(embedder, passages, answer):
    article, ps = passages
    checked = CitationChecker(embedder).check(answer, ps)
    valid = {p.n for p in ps}
    shown = {int(n) for m in MARKER.finditer(checked.answer) for n in re.split(r"\s*,\s*", m.group(1))}
    assert shown <= valid
    for c in checked.citations:
        assert c.n in valid and article[c.start : c.end] == c.quote
        assert f"[{c.n}]" in checked.answer


@settings(max_examples=200)
@given(question=st.text(max_size=6000))
@example(question="\x00\x01\x02")
@example(question=" \u200b\n\t ")
def test_question_check(question):
    cfg = Settings(max_question_chars=4000)
    try:
        cleaned = check_question(question, cfg.max_question_chars)
    except InvalidQuestionError as exc:
        assert str(exc)
        return
    assert cleaned and cleaned == cleaned.strip() and len(cleaned) <= 4000
    assert all(c.isprintable() for c in cleaned)


def test_answer_sentences_keep_abbreviations_and_trailing_markers():
    from rag.answering.citations import _answer_sentences

    pieces = _answer_sentences("Wang joined on Jan. 5 from the U.S. office [1]. It paid $14.3 billion. [1][2] Next came layoffs [3].")
    assert pieces == [
        ("Wang joined on Jan. 5 from the U.S. office.", [1]),
        ("It paid $14.3 billion.", [1, 2]),
        ("Next came layoffs.", [3]),
    ]


class _Vectors:
    """A stand-in embedder for one unit test: fixed vectors for fixed sentences."""

    def __init__(self, table: dict[str, list[float]]):
        self.table = table

    def embed(self, texts):
        import numpy as np

        return np.array([self.table[t] for t in texts], dtype=np.float32)


def _numbered(*texts: str) -> list[Passage]:
    return [
        Passage(n=n, chunk_id=f"c{n}", source=f"s{n}", title="t", text=t, start=0, end=len(t), score=1.0)
        for n, t in enumerate(texts, 1)
    ]


def test_competing_passages_are_ranked_on_one_scale():
    from rag.answering.citations import CitationChecker

    sentence = "The new line opens in 2031."
    # [1] shares every word but says something else; [2] says the same in other words.
    wordy = "The new line opens in 2031 only if the old line closes."
    close = "Trams will start running on the route in 2031."
    passages = _numbered(wordy, close)
    checker = CitationChecker(_Vectors({sentence: [1.0, 0.0], wordy: [0.6, 0.8], close: [0.95, 0.312]}))
    checked = checker.check(sentence, passages)  # no marker: the checker attributes it
    # Words alone would pick [1] (all its words are there); by the one measure both have, [2] is closer.
    assert [c.n for c in checked.citations] == [2], checked.warnings


def test_passage_sentences_are_embedded_once_across_checks():
    """A streamed answer is checked once per sentence against the same passages: their sentences are
    embedded on the first check only, and later checks give the same result."""
    from rag.answering.citations import CitationChecker

    sentence = "The new line opens in 2031."
    wordy = "The new line opens in 2031 only if the old line closes."
    close = "Trams will start running on the route in 2031."
    embedder = _Vectors({sentence: [1.0, 0.0], wordy: [0.6, 0.8], close: [0.95, 0.312]})
    calls = []
    embed = embedder.embed
    embedder.embed = lambda texts: calls.append(list(texts)) or embed(texts)
    checker = CitationChecker(embedder)
    first = checker.check(sentence, _numbered(wordy, close))
    again = checker.check(sentence, _numbered(wordy, close))
    assert calls == [[sentence, wordy, close], [sentence]]
    assert [c.n for c in again.citations] == [c.n for c in first.citations] == [2]


@given(st.text(max_size=60))
@example("\\")  # a backslash: its JSON escape "\\\\" must not be taken for a cut escape (found by this test)
@example("a\\u00e9\U0001f600")
def test_partial_json_field_is_a_prefix_of_the_whole(value):
    import json

    from rag.answering.reveal import partial_field

    raw = json.dumps({"evidence": "e", "found": True, "answer": value, "citations": [1]})
    assert partial_field(raw, "answer") == value
    start = raw.index('"answer"')
    for cut in range(start, len(raw)):
        assert value.startswith(partial_field(raw[:cut], "answer"))


def test_attribution_picks_a_passage_that_supports_the_sentence():
    """A terse answer ("$14.3 billion") citing the wrong passage goes to the one that states it, even
    when another passage is closer in embedding space but lacks the figure."""
    from rag.answering.citations import CitationChecker

    sentence = "$14.3 billion"
    near = "Meta invested billions in its AI push."
    right = "Meta paid $14.3 billion for 49% of Scale AI."
    passages = _numbered(near, right)
    checker = CitationChecker(_Vectors({sentence: [1.0, 0.0], near: [0.9, 0.436], right: [0.5, 0.866]}))
    checked = checker.check(f"{sentence} [1]", passages)
    assert [c.n for c in checked.citations] == [2] and "14.3 billion [2]" in checked.answer, checked.warnings


def test_a_terse_answer_is_checked_as_the_answer_to_its_question():
    from rag.answering.citations import CitationChecker

    passages = _numbered("Meta paid $14.3 billion for a 49% stake in Scale AI in June.")
    checker = CitationChecker()
    # "Meta" is in the passage, but the passage says nothing of who won a World Cup.
    assert not checker.check("Meta [1]", passages, question="Who won the 2022 World Cup?").citations
    kept = checker.check("$14.3 billion [1]", passages, question="How much did Meta pay for its stake in Scale AI?")
    assert kept.answer == "$14.3 billion [1]" and [c.n for c in kept.citations] == [1]
    # Without the question a bare name is all it has to go on.
    assert checker.check("Meta [1]", passages).citations
