"""The openai provider end to end: real `openai` client, OpenAI-compatible server on loopback."""

from __future__ import annotations

import re

import pytest

from rag import Assistant, Settings
from rag.answering.answerer import NOT_FOUND_TEXT
from rag.answering.openai_chat import OpenAIChat
from rag.answering.prompts import ABSTAIN_TOKEN
from rag.core.config import LLMSettings
from rag.core.errors import LLMError
from tests.conftest import SEEDS
from tests.openai_server import prompt_passages
from tests.streams import split


def first_sentence_reply(request: dict) -> str:
    """A stand-in model that quotes the first sentence of passage [1] and cites it."""
    text = prompt_passages(request)[1]
    sentence = re.split(r"(?<=[.!?])\s", text.replace("\n", " "))[0]
    return f"{sentence} [1]"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory, embedder):
    data = tmp_path_factory.mktemp("openai-index")
    Assistant(Settings(data_dir=data, llm=LLMSettings(provider="extractive")), embedder=embedder, llm=None).ingest([SEEDS])
    return data


@pytest.fixture
def assistant(index_dir, embedder, openai_server):
    def make(**llm) -> Assistant:
        settings = Settings(
            data_dir=index_dir,
            llm=LLMSettings(**{"provider": "openai", "base_url": openai_server.url, "model": "test-model", "timeout": 2, "max_retries": 2, **llm}),
        )
        return Assistant(settings, embedder=embedder, llm=OpenAIChat(settings.llm, backoff_s=0.01))

    return make


def test_answer_cites_real_passages(assistant, openai_server):
    openai_server.reply = first_sentence_reply
    answer = assistant().ask("What happened to the workers in Meta's AI teams?")
    assert not answer.abstained and answer.provider == "openai:test-model"
    assert answer.citations and answer.citations[0].n == 1
    cited = answer.passages[0]
    quote = answer.citations[0]
    assert quote.source == cited.source and cited.start <= quote.start < quote.end <= cited.end
    assert quote.quote in cited.text
    request = openai_server.chat_requests[-1].body
    assert request["model"] == "test-model"
    assert request["messages"][0]["role"] == "system" and ABSTAIN_TOKEN in request["messages"][0]["content"]
    assert "Question: What happened to the workers in Meta's AI teams?" in request["messages"][-1]["content"]
    assert len(prompt_passages(request)) == len(answer.passages) == 5


def test_stream_yields_pieces_then_answer(assistant, openai_server):
    pieces = ["Meta paid ", "more than $14 billion ", "for its Scale AI stake [2]."]

    def reply(request):
        n = next(n for n, t in prompt_passages(request).items() if "$14" in t)
        return [p.replace("[2]", f"[{n}]") for p in pieces]

    openai_server.reply = reply
    texts, answer = split(assistant().stream("How much did Meta pay for its stake in Scale AI?"))
    # Pieces are whole checked sentences: one sentence here, however many tokens it came in.
    assert all(isinstance(t, str) for t in texts) and len(texts) == 1
    assert "".join(texts) == answer.answer
    assert not answer.abstained and "14 billion" in answer.answer
    assert openai_server.chat_requests[-1].body["stream"] is True


def test_stream_shows_only_checked_sentences(assistant, openai_server):
    """A sentence the checker removes never reaches a client that joins the streamed pieces."""

    def reply(request):
        n = next(n for n, t in prompt_passages(request).items() if "$14" in t)
        return ["Argentina won the 2022 World Cup ", "on penalties [1]. ", f"Meta paid more than $14 billion [{n}]. ",
                "Meta paid $20 ", f"billion in cash [{n}]. ", "That is all."]

    openai_server.reply = reply
    texts, answer = split(assistant().stream("How much did Meta pay for its stake in Scale AI?"))
    streamed = "".join(texts)
    assert streamed == answer.answer
    assert "Argentina" not in streamed and "$20" not in streamed and "14 billion" in streamed
    assert len(texts) >= 1 and not answer.abstained


def test_nonexistent_citation_is_never_shown(assistant, openai_server):
    def reply(request):
        sentence = first_sentence_reply(request)[: -len(" [1]")]
        return f"{sentence} [9]"

    openai_server.reply = reply
    answer = assistant().ask("Who is Nat Friedman?")
    assert "[9]" not in answer.answer
    assert all(1 <= c.n <= len(answer.passages) for c in answer.citations)
    assert any("[9]" in w for w in answer.warnings)
    assert answer.citation_validity == 0.0
    # Repaired: the sentence quotes passage [1], so it is attributed to [1], not dropped.
    assert not answer.abstained and [c.n for c in answer.citations] == [1]


def test_unsupported_answer_becomes_abstention(assistant, openai_server):
    openai_server.reply = lambda request: "Argentina won the 2022 World Cup final against France on penalties [1]."
    answer = assistant().ask("Who won the 2022 World Cup?")
    assert answer.abstained and answer.answer == NOT_FOUND_TEXT and not answer.citations


def test_model_abstention_is_not_streamed(assistant, openai_server):
    openai_server.reply = lambda request: ["NOT_", "FOUND"]
    texts, answer = split(assistant().stream("What is Meta's headcount as of this year?"))
    assert texts == []
    assert answer.abstained and answer.answer == NOT_FOUND_TEXT


def test_a_model_that_misses_a_plainly_stated_answer_is_answered_by_the_quoted_passages(assistant, openai_server):
    """The model says it found nothing though the passages say it: their sentences answer, quoted, and the answer
    says so; with an unanswerable question (above) both agree there is nothing."""
    openai_server.reply = lambda request: ["NOT_", "FOUND"]
    texts, answer = split(assistant().stream("How old is Alexandr Wang?"))
    assert not answer.abstained and answer.provider == "extractive" and "28-year-old" in answer.answer
    assert texts == [] and len({c.source for c in answer.citations}) >= 2  # the final event carries it whole
    assert any("openai:test-model gave no answer" in w for w in answer.warnings)


def test_server_errors_surface_as_llm_error(assistant, openai_server):
    openai_server.fail(500, times=None)
    with pytest.raises(LLMError, match="500|server error"):
        assistant().ask("Who is Nat Friedman?")
    assert len(openai_server.chat_requests) == 3  # first try + 2 retries


def test_hanging_server_times_out(assistant, openai_server):
    openai_server.hang(seconds=30, times=None)
    with pytest.raises(LLMError, match="within|timed out|timeout"):
        assistant(max_retries=0).ask("Who is Nat Friedman?")


def test_follow_up_is_condensed_before_retrieval(assistant, openai_server):
    def reply(request):
        last = request["messages"][-1]["content"]
        if "Standalone question:" in last:
            return "Why did Ruben Mayer leave Meta?"
        return first_sentence_reply(request)

    openai_server.reply = reply
    history = [
        {"role": "user", "content": "Which Scale AI executive joined Meta as Senior Vice President of GenAI Product?"},
        {"role": "assistant", "content": "Ruben Mayer [1]."},
    ]
    answer = assistant().ask("and why did she leave?", history=history)
    assert answer.standalone_question == "Why did Ruben Mayer leave Meta?"
    condense = openai_server.chat_requests[0].body["messages"][-1]["content"]
    assert "Ruben Mayer" in condense and "and why did she leave?" in condense
    assert any("Mayer" in p.text for p in answer.passages)


def test_wrong_figure_is_never_shown_as_supported(assistant, openai_server):
    """A model that changes the number: the sentence shares most words with the passage, yet is removed."""

    def reply(request):
        right = first_sentence_reply(request)
        return "Meta paid $20 billion for its stake in Scale AI [1]. " + right

    openai_server.reply = reply
    answer = assistant().ask("How much did Meta pay for its stake in Scale AI?")
    assert "20 billion" not in answer.answer
    assert any("$20 billion" in w for w in answer.warnings)
    assert not answer.abstained and answer.citations  # the true sentence stays


def test_right_figure_in_other_units_is_supported(assistant, openai_server):
    openai_server.reply = lambda request: "Meta acquired a 49 percent stake in Scale AI for more than 14bn dollars [1]."
    answer = assistant().ask("How much did Meta pay for its stake in Scale AI?", sources=["000_c3e6291cb7289f16.txt"])
    top = answer.passages[0]
    assert "$14 billion" in top.text  # the passage it cites states the figure as "$14 billion"
    assert not answer.abstained and "14bn" in answer.answer


def test_a_byline_alone_answers_only_who_wrote_the_article(assistant, openai_server):
    """A model that answers with the passage's byline: verbatim, so the checker supports it, but it says who
    wrote the article and nothing else (seen from the real model on a "what changes ...?" question)."""
    openai_server.reply = lambda request: "By Daniel Ebube [1]"
    scope = {"sources": ["003_26436447e704484c.txt"]}  # the article whose first line is that byline
    answer = assistant().ask("What changes is Meta making to its AI strategy?", **scope)
    assert answer.abstained and answer.answer == NOT_FOUND_TEXT and "who wrote" in answer.reason
    written = assistant().ask("Who wrote the article about Meta's AI strategy?", **scope)
    assert not written.abstained and re.fullmatch(r"By Daniel Ebube \[\d\]", written.answer)
    assert written.citations[0].quote == "By Daniel Ebube"
