"""Answer types: what kind of named thing a question asks for, and the extractive reader preferring the
sentence that names one (spaCy's real small English pipeline, no fake)."""

from __future__ import annotations

import pytest

from rag.answering.entities import shared_tagger
from rag.answering.extractive import extractive_answer
from rag.core.models import Passage
from rag.core.questions import answer_types


@pytest.mark.parametrize(
    ("question", "labels"),
    [
        ("Which country declared a state of emergency?", {"GPE", "LOC", "FAC"}),
        ("Which of the following companies cut its prices?", {"ORG"}),
        ("In which city did the clinic open?", {"GPE", "LOC", "FAC"}),
        ("Who did the board appoint as chief executive?", {"PERSON", "ORG", "NORP", "GPE"}),
        ("How much did the deal cost?", {"MONEY"}),
        ("What percentage of voters backed it?", {"PERCENT"}),
        ("What share of the company did the fund buy?", {"PERCENT"}),  # as Asked reads it: one pattern
        ("When did the strike end?", {"DATE", "TIME"}),
        ("Which film won the top prize?", {"WORK_OF_ART"}),
        # A description of the person named, a reason, an event: no entity type answers these.
        ("Who is Nat Friedman?", set()),
        ("Why did the talks fail?", set()),
        ("What went wrong with the launch?", set()),
    ],
)
def test_answer_types(question, labels):
    assert answer_types(question) == labels


def test_tagger_finds_places_people_and_money():
    tagger = shared_tagger()
    assert tagger.available
    sentence = "Maria Lopez moved the company to Paris after a $40 million deal with Google."
    (ents,) = tagger.tag([sentence], frozenset({"PERSON", "GPE", "ORG", "MONEY"}))
    labels = {label for label, _ in ents}
    assert {"PERSON", "GPE", "MONEY", "ORG"} <= labels, ents
    assert [text for _, text in ents][:2] == ["Maria Lopez", "Paris"]  # in the order they occur
    (places,) = tagger.tag(["Maria Lopez moved the company to Paris."], frozenset({"GPE"}))
    assert places == (("GPE", "Paris"),)  # only the kinds asked for


def test_figures_are_found_by_pattern_without_loading_the_model():
    from rag.answering.entities import EntityTagger

    tagger = EntityTagger()
    text = "Meta paid more than $14 billion for a 49 percent stake, cut 600 jobs in 2025 and hired three."
    (figures,) = tagger.tag([text], frozenset({"MONEY", "PERCENT", "CARDINAL"}))
    assert figures == (("MONEY", "$14 billion"), ("PERCENT", "49 percent"), ("CARDINAL", "600"), ("CARDINAL", "three"))
    (money,) = tagger.tag(["It cost US$2.5m, or 30% more."], frozenset({"MONEY"}))
    assert money == (("MONEY", "US$2.5m"),)
    (counts,) = tagger.tag(["It cut 2,000 jobs in 2025, then 30 more."], frozenset({"CARDINAL"}))
    assert counts == (("CARDINAL", "2,000"), ("CARDINAL", "30"))  # a year is not a count, a comma ends a number
    assert not tagger.started  # amounts, percentages and counts need no model: a "How much" question loads nothing


def test_a_question_asking_for_a_name_starts_the_model_before_retrieval():
    from rag import Settings
    from rag.answering.answerer import build_answerer
    from rag.answering.entities import EntityTagger
    from rag.core.config import LLMSettings
    from rag.core.questions import Asked

    answerer = build_answerer(Settings(llm=LLMSettings(provider="extractive")))
    answerer.tagger = EntityTagger()
    answerer.expect(Asked.of("How much did Meta pay for its stake?"))
    assert not answerer.tagger.started
    answerer.expect(Asked.of("Which company did Jennifer Newstead join?"))
    assert answerer.tagger.started and answerer.tagger.available


ARTICLE = (
    "The UK's first supervised drug consumption room opened this week after years of argument over the policy.\n"
    "The drug consumption room in Glasgow, Scotland, opened its doors to clients on Monday, staff said.\n"
    "Ministers had long resisted the idea, citing the law on controlled substances.\n"
    "Charities welcomed the decision and called for more funding for addiction services.\n"
    "Police said they would not prosecute clients using the facility for possession.\n"
    "Critics warned that the scheme could draw dealers to the surrounding streets.\n"
)


def _passages(text: str = ARTICLE) -> list[Passage]:
    """One passage: the whole article."""
    return [Passage(n=1, chunk_id="c1", source="a.txt", title="News desk", text=text, start=0, end=len(text), score=1.0)]


def test_the_asked_value_leads_the_answer(embedder):
    question = "In which city did the UK's first drug consumption room open?"
    plain = extractive_answer(question, _passages(), embedder)
    typed = extractive_answer(question, _passages(), embedder, tagger=shared_tagger())
    quote = "The drug consumption room in Glasgow, Scotland, opened its doors to clients on Monday, staff said. [1]"
    assert not plain.abstained and plain.answer.startswith(quote), plain.answer
    # With types, the city named comes first, then the quote it stands in.
    assert not typed.abstained, typed.reason
    assert typed.answer == f"Glasgow [1]. {quote}", typed.answer


def test_a_name_of_the_asked_kind_does_not_answer_an_unrelated_question(embedder):
    # Glasgow is a city, but the passage says nothing about a stadium: still no answer.
    result = extractive_answer("Which city will host the new national football stadium?", _passages(), embedder, tagger=shared_tagger())
    assert result.abstained, result.answer


def test_the_citation_checker_keeps_the_lead(embedder):
    from rag import Settings
    from rag.answering.answerer import build_answerer
    from rag.core.config import LLMSettings

    answerer = build_answerer(Settings(llm=LLMSettings(provider="extractive")), embedder)
    answer = answerer.ask("In which city did the UK's first drug consumption room open?", _passages())
    assert answer.answer.startswith("Glasgow [1]. The drug consumption room in Glasgow"), answer.answer
    assert [c.n for c in answer.citations] == [1] and not answer.warnings


RETAIL = (
    "Coffee giant Starbucks is ending its open-door policy, so only paying customers may now use its restrooms.\n"
    "Guests will have to buy something before they sit in its cafes, the company said on Monday.\n"
    "The rule reverses a 2018 decision made after two Black men were arrested at a Philadelphia store.\n"
    "Its competitors such as Dunkin and Tim Hortons have not announced similar changes, analysts noted.\n"
)


def test_a_close_paraphrase_naming_the_asked_value_answers_a_wordy_question(embedder):
    # Quiz-style: the question's framing ("lets anyone", "without making a purchase") is not in the sentence,
    # so the word bars alone abstain; the sentence names a chain and says the same in other words.
    question = "Which chain is ending a policy that lets anyone use its restrooms without making a purchase?"
    plain = extractive_answer(question, _passages(RETAIL), embedder)
    typed = extractive_answer(question, _passages(RETAIL), embedder, tagger=shared_tagger())
    assert plain.abstained, plain.answer
    assert not typed.abstained, typed.reason
    assert typed.value == "Starbucks" and typed.answer.startswith("Starbucks [1]. "), typed.answer


def test_a_value_the_question_names_is_not_its_answer(embedder):
    # The tagger reads "Dunkin" as a person: a name the question holds is what it is about, not its answer.
    from rag.answering.ranking import by_type, rank_sentences
    from rag.core.questions import Asked

    question = "Who competes with Dunkin on coffee?"
    ranking = rank_sentences(question, _passages(RETAIL), embedder)
    by_type(question, ranking, Asked.of(question), shared_tagger())
    rival = next(c for c in ranking.scored if "Dunkin" in c.unit.text)
    assert rival.span == "Tim Hortons", rival.span
