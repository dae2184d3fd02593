"""Answers that read across articles: each article's report attributed and cited, and "Reports differ:"
(newest first) when they give different figures, from the extractive answerer and from a model."""

from __future__ import annotations

import re
from datetime import date

import pytest

from rag.answering.answerer import build_answerer
from rag.core.config import LLMSettings, Settings
from rag.core.models import Passage

QUESTION = "How much will the Oldbridge harbour bridge cost?"
COAST = "The new Oldbridge harbour bridge will cost $120 million, the town council said on Monday."
GAZETTE = "The Oldbridge harbour bridge will now cost $150 million after steel prices rose, the council's engineers said."
AGREES = "Oldbridge's harbour bridge is budgeted to cost $120 million, according to the town council's plans."


def article(n: int, text: str, source: str, site: str, published: date) -> Passage:
    return Passage(n=n, chunk_id=f"c{n}", source=source, title=f"Harbour bridge ({site})", site=site, published=published,
                   text=text, start=0, end=len(text), score=1.0 / n)


COAST_TIMES = article(1, COAST, "coast.txt", "The Coast Times", date(2025, 3, 3))
HARBOUR_GAZETTE = article(2, GAZETTE, "gazette.txt", "Harbour Gazette", date(2025, 4, 10))


def extractive(tmp_path, embedder):
    return build_answerer(Settings(data_dir=tmp_path, llm=LLMSettings(provider="extractive")), embedder)


def test_different_figures_are_reports_that_differ_newest_first(tmp_path, embedder):
    answer = extractive(tmp_path, embedder).ask(QUESTION, [COAST_TIMES, HARBOUR_GAZETTE])
    assert not answer.abstained, answer.reason
    lines = answer.answer.split("\n")
    assert lines[0] == "Reports differ:", answer.answer
    assert lines[1] == f"- Harbour Gazette (April 10, 2025): {GAZETTE} [2]"  # the newer report first
    assert lines[2] == f"- The Coast Times (March 3, 2025): {COAST} [1]"
    assert {c.source for c in answer.citations} == {"coast.txt", "gazette.txt"}
    assert answer.warnings == []  # the checker kept the attributions as written


def test_articles_that_agree_are_each_cited(tmp_path, embedder):
    agrees = article(2, AGREES, "plans.txt", "Oldbridge Post", date(2025, 4, 1))
    answer = extractive(tmp_path, embedder).ask(QUESTION, [COAST_TIMES, agrees])
    assert answer.answer.startswith("Two articles report this:\n- The Coast Times (March 3, 2025): "), answer.answer
    assert "Reports differ" not in answer.answer
    assert {c.source for c in answer.citations} == {"coast.txt", "plans.txt"}


def test_an_article_giving_the_same_value_in_other_words_is_cited_too(tmp_path, embedder):
    """Corroboration: another outlet's sentence naming the answer's value counts as reporting it, though it is
    below the bars of an answer on its own (few of the question's words: "stake" for "what share ... buy")."""
    question = "What share of Karsk Metals did Ostrava Holdings buy?"

    def report(n: int, text: str, source: str) -> Passage:
        return Passage(n=n, chunk_id=f"c{n}", source=source, title="Ostrava Holdings invests in Karsk Metals", site=source,
                       published=date(2025, 5, 5 + n), text=text, start=0, end=len(text), score=1.0 / n)

    first = report(1, "Ostrava Holdings agreed to buy 49% of Karsk Metals, the miner said on Tuesday.", "wire.txt")
    reader = extractive(tmp_path, embedder)
    same = report(2, "Ostrava's 49 percent stake makes it the largest shareholder, a filing showed.", "ledger.txt")
    answer = reader.ask(question, [first, same])
    assert answer.answer.startswith("Two articles report this:\n"), answer.answer
    assert {c.source for c in answer.citations} == {"wire.txt", "ledger.txt"}
    # The same sentence with another figure is not corroboration, and on its own it does not answer.
    other = report(2, "Ostrava's 12 percent stake makes it the largest shareholder, a filing showed.", "ledger.txt")
    assert {c.source for c in reader.ask(question, [first, other]).citations} == {"wire.txt"}


def test_one_article_is_quoted_without_a_heading(tmp_path, embedder):
    answer = extractive(tmp_path, embedder).ask(QUESTION, [HARBOUR_GAZETTE])
    # The asked value first, then the quote it stands in.
    assert answer.answer == "$150 million [2]. " + f"{GAZETTE} [1]".replace("[1]", "[2]")


def test_what_no_article_says_is_still_refused(tmp_path, embedder):
    answer = extractive(tmp_path, embedder).ask("Who designed the Oldbridge harbour bridge?", [COAST_TIMES, HARBOUR_GAZETTE])
    assert answer.abstained and answer.citations == []


def test_a_model_reads_passages_by_article_and_its_attributed_differ_answer_is_kept(tmp_path, embedder, openai_server):
    """Through the loopback OpenAI-compatible server: the prompt names each article once (title, outlet, date)
    over its passages; the model's "Reports differ:" answer, one clause per article, keeps both citations."""
    reply = ("Reports differ: the Harbour Gazette reported on April 10, 2025 that the bridge will now cost $150 million [2], "
             "while The Coast Times reported on March 3, 2025 that it will cost $120 million [1].")
    openai_server.reply = lambda request: reply
    llm = LLMSettings(provider="openai", base_url=openai_server.url, api_key="test", max_retries=0, timeout=30)
    answer = build_answerer(Settings(data_dir=tmp_path, llm=llm), embedder).ask(QUESTION, [COAST_TIMES, HARBOUR_GAZETTE])
    prompt = openai_server.chat_requests[-1].body["messages"][-1]["content"]
    assert prompt.count("Article: ") == 2
    assert 'Article: "Harbour bridge (The Coast Times)", The Coast Times, published March 3, 2025\n[1] ' + COAST in prompt
    system = openai_server.chat_requests[-1].body["messages"][0]["content"]
    assert "Reports differ:" in system
    # Kept as written (a streamed answer's markers follow the full stop): nothing repaired, nothing removed.
    assert not answer.abstained and answer.warnings == [] and answer.citation_validity == 1.0, answer.warnings
    assert answer.answer.replace("million. [1]", "million [1].") == reply
    assert {c.source for c in answer.citations} == {"coast.txt", "gazette.txt"}


@pytest.mark.parametrize("wrong", ["$180 million [2]", "$150 million [1]"], ids=["unsupported figure", "wrong article"])
def test_a_clause_is_checked_against_the_article_it_cites(tmp_path, embedder, openai_server, wrong):
    """One sentence, two claims: the clause that no cited passage supports is repaired or removed, not waved
    through on the strength of the other clause."""
    reply = f"The Coast Times reported that the bridge will cost $120 million [1], while the Harbour Gazette reported {wrong}."
    openai_server.reply = lambda request: reply
    llm = LLMSettings(provider="openai", base_url=openai_server.url, api_key="test", max_retries=0, timeout=30)
    answer = build_answerer(Settings(data_dir=tmp_path, llm=llm), embedder).ask(QUESTION, [COAST_TIMES, HARBOUR_GAZETTE])
    assert answer.answer != reply and answer.warnings
    if "180" in wrong:
        assert "180" not in answer.answer
    else:
        assert re.search(r"\$150 million\.? \[2\]", answer.answer), answer.answer


def test_a_model_answer_from_one_article_is_followed_by_what_the_others_report(tmp_path, embedder, openai_server):
    """A small model cites one article; the other article's different figure follows, quoted, attributed and
    checked, so the answer does not pass one report off as the story."""
    openai_server.reply = lambda request: "The bridge will cost $120 million [1]."
    llm = LLMSettings(provider="openai", base_url=openai_server.url, api_key="test", max_retries=0, timeout=30)
    answerer = build_answerer(Settings(data_dir=tmp_path, llm=llm), embedder)
    answer = answerer.ask(QUESTION, [COAST_TIMES, HARBOUR_GAZETTE])
    first, rest = answer.answer.split("\n\n")
    assert first == "The bridge will cost $120 million. [1]"  # checked as streamed: the marker after the stop
    assert rest == f"Other articles report differently:\n- Harbour Gazette (April 10, 2025): {GAZETTE} [2]"
    assert {c.source for c in answer.citations} == {"coast.txt", "gazette.txt"}
    # An article that agrees is listed as also reporting it; an answer citing every article gets nothing added.
    agrees = article(2, AGREES, "plans.txt", "Oldbridge Post", date(2025, 4, 1))
    assert answerer.ask(QUESTION, [COAST_TIMES, agrees]).answer.split("\n\n")[1].startswith("Also reported:\n- Oldbridge Post")
    openai_server.reply = lambda request: "It will cost $120 million [1], or $150 million [2]."
    assert "\n\n" not in answerer.ask(QUESTION, [COAST_TIMES, HARBOUR_GAZETTE]).answer
