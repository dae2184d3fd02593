"""Reranking and the reader's context, on articles written for the tests (real embedder, real Chroma)."""

from __future__ import annotations

import pytest

from rag import Assistant
from rag.ingest.pipeline import Ingestor

FILLER = [
    "The town council met again on Monday evening to discuss the budget for the coming year.",
    "Residents asked questions about road repairs, school buses and the opening hours of the library.",
    "A local bakery celebrated its fiftieth anniversary with free bread for every visitor.",
    "Rain is expected for most of the week, with lighter winds arriving on Friday afternoon.",
    "The football club announced that its youth academy will accept twenty new players.",
    "Several shops on the main street reported a busy weekend thanks to the summer market.",
    "The museum plans an exhibition of old photographs of the harbour in the autumn.",
    "Volunteers cleaned the beach on Saturday and collected more than two hundred bags of litter.",
]
# Longer than the chunk overlap (30 tokens), so no chunk repeats it past a boundary.
APPROVAL = (
    "On Tuesday evening, after two years of public hearings, objections from fishermen and a long review by the "
    "regional environment agency, the harbour board finally approved the Zephyr ferry terminal on the northern pier."
)
COST = "The Zephyr terminal will cost 41 million kroner and open in the spring of 2027."


def straddling_article(ingestor: Ingestor) -> str:
    """A news text whose two Zephyr sentences fall in two different chunks (no overlap holds both)."""
    for lead in range(4, 80):
        sentences = [FILLER[i % len(FILLER)].replace("The", f"Item {i}: the", 1) for i in range(lead)]
        text = "Harbour news\n\n" + " ".join(sentences + [APPROVAL, COST] + FILLER * 3)
        chunks = ingestor.chunk(text)
        holding = [(APPROVAL in c.text, COST in c.text) for c in chunks]
        if any(a for a, _ in holding) and any(c for _, c in holding) and (True, True) not in holding:
            return text
    raise AssertionError("no filler length splits the two sentences")


@pytest.fixture
def harbour(make_settings, embedder, tmp_path):
    assistant = Assistant(make_settings(), embedder=embedder)
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "harbour.txt").write_text(straddling_article(assistant.ingestor))
    assert not assistant.ingest([folder]).failed
    return assistant


def test_answer_straddling_two_chunks_reaches_the_reader_whole(harbour):
    result = harbour.search("What did the harbour board approve on Tuesday and how much will it cost?")
    best = result.passages[0]
    # One passage holds both halves: the window widened across the chunk boundary...
    assert APPROVAL in best.text and COST in best.text
    # ...and is still an exact span of the article, so a citation quotes it exactly.
    assert harbour.article_text(best.source)[best.start : best.end] == best.text
    spent = sum(len(harbour.count_tokens(p.text)) for p in result.passages)
    assert spent <= harbour.settings.context_tokens


def test_context_budget_bounds_what_the_reader_gets(make_settings, embedder, seeds_copy):
    assistant = Assistant(make_settings(context_tokens=300, top_k=20), embedder=embedder)
    assistant.ingest([seeds_copy])
    passages = assistant.search("How much did Meta pay for its stake in Scale AI?").passages
    assert 1 <= len(passages) < 20
    assert sum(len(assistant.count_tokens(p.text)) for p in passages) <= 300
    for p in passages:
        assert assistant.article_text(p.source)[p.start : p.end] == p.text


def test_whole_chunks_without_a_budget(make_settings, embedder, seeds_copy):
    assistant = Assistant(make_settings(context_tokens=0, top_k=5), embedder=embedder)
    assistant.ingest([seeds_copy])
    passages = assistant.search("How much did Meta pay for its stake in Scale AI?").passages
    chunk_texts = set(assistant.store.chunks.get(include=["documents"])["documents"])
    assert len(passages) == 5 and all(p.text in chunk_texts for p in passages)


# Repeats the question's words, never two of them in one place.
DISTRACTOR = """Valdor mining group profile

The Valdor mining group is one of the largest employers in the region. The mining group runs four pits in the hills.
Shares rose sharply last week. Analysts agree that demand for copper will stay strong.
The firm hopes to buy new trucks. Its parent company is listed in Oslo. The group sponsors the football league.
Valdor was founded in 1911, and Valdor miners still march in the town parade every May."""

TARGET = """Weekend round-up

The regional orchestra played to a full hall on Saturday, and the new bridge over the river opened to cyclists.
Farmers said the harvest was late because of the cold spring, but prices held steady at the autumn market.
Last week the Valdor mining group agreed to buy Karsk Metals, a small company with a nickel plant in the north.
A new bakery opened near the station, and the library extended its opening hours for students in the exam season.
The weather service expects a dry week with light winds and cool nights across the whole region."""

QUESTION = "Which company did the Valdor mining group agree to buy last week?"


def _unreranked(make_settings, embedder, folder, articles: dict[str, str]) -> Assistant:
    """The articles ingested, searched in rank fusion's order (reranker none); the top 2, whole chunks."""
    folder.mkdir()
    for name, text in articles.items():
        (folder / name).write_text(text)
    plain = Assistant(make_settings(context_tokens=0, top_k=2, reranker="none"), embedder=embedder)
    assert not plain.ingest([folder]).failed
    return plain


def _reranked(plain: Assistant, name: str) -> Assistant:
    return Assistant(plain.settings.model_copy(update={"reranker": name}), embedder=plain.embedder, store=plain.store)


def test_reranking_puts_the_focused_passage_first(make_settings, embedder, tmp_path):
    plain = _unreranked(make_settings, embedder, tmp_path / "mining", {"profile.txt": DISTRACTOR, "roundup.txt": TARGET})
    # Both first-stage retrievers prefer the article that repeats the question's words...
    for mode in ("dense", "bm25", "hybrid"):
        assert plain.search(QUESTION, mode=mode).passages[0].source.endswith("profile.txt"), mode
    # ...the reranker prefers the one where they meet in one sentence, which holds the answer.
    for name in ("terms", "window"):
        top = _reranked(plain, name).search(QUESTION).passages[0]
        assert top.source.endswith("roundup.txt") and "Karsk Metals" in top.text, name
        assert top.rerank_score is not None


PLANS = """Karsk mine plans

The Karsk copper mine will reopen once repairs to the flooded shaft are finished, the operator said.
Miners expect the Karsk mine to reopen after inspectors approve the new pumps and the shaft is dry.
The town hopes the reopening will bring back the jobs lost since the flood."""

REOPENED = """Regional briefs

A school in Lindby got a new roof. Ferry fares on the northern route rise next month.
The Karsk mine reopened on March 4, three months after the flood, and 200 miners returned to work."""


def test_a_question_asking_for_a_date_prefers_the_passage_whose_window_gives_one(make_settings, embedder, tmp_path):
    """The reranker's term window, for a question asking for a quantity or a date, is the best window that
    holds one: a passage repeating the question without a date does not outrank the one that answers it."""
    plain = _unreranked(make_settings, embedder, tmp_path / "karsk", {"plans.txt": PLANS, "briefs.txt": REOPENED})
    reranked = _reranked(plain, "terms")
    assert plain.search("When did the Karsk mine reopen?", mode="bm25").passages[0].source.endswith("plans.txt")
    assert reranked.search("When did the Karsk mine reopen?").passages[0].source.endswith("briefs.txt")


def test_the_evidence_about_a_question_is_read_once(tmp_path, embedder, monkeypatch):
    """Reranker, context builder and the model's evidence prompt share one `Evidence`: no passage text is
    split into sentences twice for one question (each did it itself before), and the answer's check of
    what is asked reads the same object."""
    from rag import Settings
    from rag.core import text as tx
    from rag.retrieval import evidence as ev
    from tests.conftest import SEEDS
    from tests.streams import split

    class EvidenceReader:
        name = "scripted"
        can_stream = supports_schema = True
        prompt_style = "evidence"
        keeps_prefix = False

        def stream(self, messages, **kwargs):
            yield '{"evidence": "", "found": false, "answer": "", "citations": []}'

    assistant = Assistant(Settings(data_dir=tmp_path / "data"), embedder=embedder, llm=EvidenceReader())
    assistant.ingest([SEEDS])
    seen: list[str] = []
    split_sentences = tx.split_sentences
    monkeypatch.setattr(ev.tx, "split_sentences", lambda text: seen.append(text) or split_sentences(text))
    # Unanswerable: the model abstains, and so does the extractive reader behind it, reading the same splits.
    # (An answer's citation check still splits the passages it checks itself.)
    _, answer = split(assistant.stream("What is Meta's headcount as of this year?"))
    assert answer.abstained and len(answer.passages) == 5
    assert seen and len(seen) == len(set(seen)), "a passage split twice for one question"
