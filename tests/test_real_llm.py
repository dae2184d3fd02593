"""The `openai` provider against a real OpenAI-compatible server running a real model (opt-in).

llama-cpp-python's own server (`python -m llama_cpp.server`) with the local GGUF model, on loopback.
Marked `real_llm`; skipped with its one-line reason when llama-cpp-python, its server extra or the
model is missing (point RAG_TEST_LOCAL_MODEL at the GGUF, or `rag model install` into data/).
Each answer takes ~30 s on 2 cores.
"""

from __future__ import annotations

import re

import pytest

from rag.core.config import LLMSettings, Settings
from tests.conftest import SEEDS
from tests.llama_server import LOCAL_GGUF, LlamaServer, missing

pytestmark = pytest.mark.real_llm
WHY = missing(LOCAL_GGUF)
QUESTION = "How much did Meta pay for its stake in Scale AI?"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if WHY:
        pytest.skip(f"real_llm: {WHY}")
    with LlamaServer(LOCAL_GGUF, log=tmp_path_factory.mktemp("llama") / "server.log") as s:
        yield s


@pytest.fixture(scope="module")
def assistant(server, tmp_path_factory, embedder):
    from rag.assistant import Assistant

    llm = LLMSettings(provider="openai", base_url=server.url, model="local-gguf", api_key="unused", timeout=600, max_retries=0)
    settings = Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("real-llm") / "data", llm=llm)
    assistant = Assistant(settings, embedder=embedder)
    assistant.ingest([SEEDS])
    return assistant


def test_server_streams_tokens(assistant):
    pieces = list(assistant.llm.stream([{"role": "user", "content": "Count from one to five in words."}]))
    assert len(pieces) > 3 and "three" in "".join(pieces).lower()


def test_streamed_answer_is_cited_and_checked(assistant):
    from tests.streams import split

    pieces, final = split(assistant.stream(QUESTION))
    assert not final.abstained, final.reason
    assert "14.3" in final.answer
    assert "".join(pieces) == final.answer  # what streamed is exactly the checked answer
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", final.answer)}
    assert markers and markers <= {c.n for c in final.citations} <= {p.n for p in final.passages}
    assert final.citation_validity is not None


def test_unanswerable_question_abstains(assistant):
    answer = assistant.ask("Who won the 2022 FIFA World Cup final?")
    assert answer.abstained and not answer.citations


def test_a_wrong_figure_from_the_model_is_never_shown_as_supported(assistant):
    passages = assistant.search(QUESTION).passages
    assert any("14.3 billion" in p.text for p in passages)
    # The real model, asked to misstate the figure, through the same client.
    wrong = assistant.llm.complete([
        {
            "role": "system",
            "content": "Copy the user's sentence, but write $20 billion instead of the amount it gives. Keep [1]. Reply with the sentence only.",
        },
        {"role": "user", "content": "Meta paid $14.3 billion for its stake in Scale AI [1]."},
    ])
    assert "20 billion" in wrong, wrong
    checked = assistant.answerer.checker.check(wrong, passages)
    assert "20 billion" not in checked.answer
