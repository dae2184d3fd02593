"""The model clients (rag.answering) through the real `openai` client, over loopback HTTP to tests/openai_server.py."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rag.answering.answerer import build_llm
from rag.answering.llm import default_local_model_path, resolve_provider
from rag.answering.local_llama import LocalLlama
from rag.answering.openai_chat import OpenAIChat
from rag.core.config import LLMSettings, Settings
from rag.core.errors import LLMError
from rag.core.events import EvidenceFound
from tests.streams import split

if TYPE_CHECKING:
    from tests.openai_server import OpenAIServer

# Fixtures `openai_server` and `dead_server_url` come from tests/openai_server.py (loaded by conftest).
KEY = "sk-test-secret-key-1234"
QUESTION = [{"role": "system", "content": "Answer from the passages."}, {"role": "user", "content": "Who won?"}]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No user configuration: no provider variables and no `.env` in the working directory..."""
    for name in list(os.environ):
        # ...nor a proxy between the client and the loopback test server.
        ours = name.startswith(("RAG_", "OPENAI_")) or name in ("LLM_PROVIDER", "LOCAL_MODEL_PATH")
        if ours or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def chat(url: str, **overrides) -> OpenAIChat:
    options = {"base_url": url, "api_key": KEY, "model": "test-model", "timeout": 5.0, "max_retries": 2}
    return OpenAIChat(LLMSettings(**options | overrides), backoff_s=0.01)


# --- completions and streaming ---------------------------------------------------------------


def test_complete_sends_the_conversation_and_returns_the_reply(openai_server: OpenAIServer):
    openai_server.reply = lambda request: f"You asked: {request['messages'][-1]['content']}"
    llm = chat(openai_server.url, temperature=0.0, max_tokens=100)

    assert llm.name == "openai:test-model"
    assert llm.complete(QUESTION) == "You asked: Who won?"
    (request,) = openai_server.chat_requests
    assert request.body["model"] == "test-model"
    assert request.body["messages"] == QUESTION
    assert request.body["max_tokens"] == 100
    assert request.body["temperature"] == 0.0
    assert "response_format" not in request.body
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_max_tokens_per_call_overrides_the_setting(openai_server: OpenAIServer):
    chat(openai_server.url, max_tokens=100).complete(QUESTION, max_tokens=20)
    assert openai_server.chat_requests[0].body["max_tokens"] == 20


def test_local_server_without_key_gets_a_placeholder(openai_server: OpenAIServer):
    chat(openai_server.url, api_key=None).complete(QUESTION)
    assert openai_server.chat_requests[0].headers["authorization"] == "Bearer not-needed"


def test_stream_yields_the_pieces_in_order(openai_server: OpenAIServer):
    pieces = ["The ", "home side ", "won ", "[1]."]
    openai_server.reply = lambda request: pieces

    assert list(chat(openai_server.url).stream(QUESTION)) == pieces
    assert openai_server.chat_requests[0].body["stream"] is True


def test_json_schema_is_sent_as_response_format(openai_server: OpenAIServer):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    openai_server.reply = lambda request: json.dumps({"answer": "the home side"})

    reply = chat(openai_server.url).complete(QUESTION, json_schema=schema)
    assert json.loads(reply) == {"answer": "the home side"}
    assert openai_server.chat_requests[0].body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema},
    }


def test_rejected_response_format_falls_back_to_plain_and_remembers(openai_server: OpenAIServer):
    openai_server.reject_response_format = True
    openai_server.reply = lambda request: '{"answer": "yes"}'
    llm = chat(openai_server.url)

    assert llm.complete(QUESTION, json_schema={"type": "object"}) == '{"answer": "yes"}'
    first, second = openai_server.chat_requests
    assert "response_format" in first.body and "response_format" not in second.body

    llm.complete(QUESTION, json_schema={"type": "object"})
    assert len(openai_server.chat_requests) == 3  # no second rejected attempt


# --- retries and failures --------------------------------------------------------------------


def test_server_errors_are_retried_until_success(openai_server: OpenAIServer):
    openai_server.fail(500, times=2)
    assert chat(openai_server.url, max_retries=3).complete(QUESTION) == "Hello from the test server."
    assert len(openai_server.chat_requests) == 3


def test_persistent_server_error_ends_in_llm_error_after_max_retries(openai_server: OpenAIServer):
    openai_server.fail(500, times=None, message="CUDA out of memory")
    with pytest.raises(LLMError) as caught:
        chat(openai_server.url, max_retries=2).complete(QUESTION)
    message = str(caught.value)
    assert "HTTP 500" in message and "3 attempts" in message and "CUDA out of memory" in message
    assert openai_server.url in message
    assert len(openai_server.chat_requests) == 3


def test_rate_limit_honours_retry_after(openai_server: OpenAIServer):
    openai_server.fail(429, headers={"Retry-After": "1"})
    started = time.monotonic()
    assert chat(openai_server.url).complete(QUESTION) == "Hello from the test server."
    assert time.monotonic() - started >= 0.95  # the backoff alone would be ~0.01 s
    assert len(openai_server.chat_requests) == 2


def test_persistent_rate_limit_says_so(openai_server: OpenAIServer):
    openai_server.fail(429, times=None, headers={"Retry-After": "0"})
    with pytest.raises(LLMError, match="rate-limiting"):
        chat(openai_server.url, max_retries=1).complete(QUESTION)
    assert len(openai_server.chat_requests) == 2


def test_rejected_key_is_not_retried_and_never_shown(openai_server: OpenAIServer):
    openai_server.fail(401, message=f"Incorrect API key provided: {KEY}", code="invalid_api_key")
    with pytest.raises(LLMError) as caught:
        chat(openai_server.url).complete(QUESTION)
    assert "rejected the API key" in str(caught.value) and "OPENAI_API_KEY" in str(caught.value)
    assert KEY not in str(caught.value)
    assert len(openai_server.chat_requests) == 1


def test_key_echoed_in_a_server_error_is_masked(openai_server: OpenAIServer):
    openai_server.fail(500, times=None, message=f"upstream refused key {KEY}")
    with pytest.raises(LLMError) as caught:
        chat(openai_server.url, max_retries=0).complete(QUESTION)
    assert KEY not in str(caught.value) and "***" in str(caught.value)


def test_unknown_model_is_named(openai_server: OpenAIServer):
    openai_server.models = ["qwen2.5:7b"]
    with pytest.raises(LLMError, match="model 'llama9' was not found") as caught:
        chat(openai_server.url, model="llama9").complete(QUESTION)
    assert "OPENAI_MODEL" in str(caught.value)


def test_hanging_server_times_out_promptly(openai_server: OpenAIServer):
    openai_server.hang(times=None)
    started = time.monotonic()
    with pytest.raises(LLMError, match=r"no reply .* within 0\.3 s"):
        chat(openai_server.url, timeout=0.3, max_retries=1).complete(QUESTION)
    assert time.monotonic() - started < 0.3 * 2 + 1.0
    assert len(openai_server.chat_requests) == 2


def test_unreachable_server_names_the_url(dead_server_url: str):
    url = dead_server_url
    with pytest.raises(LLMError, match="could not reach the language model server at") as caught:
        chat(url, max_retries=1).complete(QUESTION)
    assert url in str(caught.value) and "is it running?" in str(caught.value)


def test_stream_failure_before_the_first_token_is_retried(openai_server: OpenAIServer):
    openai_server.fail(503)
    openai_server.drop_stream(after=0)
    openai_server.reply = lambda request: ["a", "b"]
    assert list(chat(openai_server.url).stream(QUESTION)) == ["a", "b"]
    assert len(openai_server.chat_requests) == 3


def test_stream_broken_after_the_first_token_raises(openai_server: OpenAIServer):
    openai_server.drop_stream(after=1, times=None)
    openai_server.reply = lambda request: ["first ", "second"]
    received = []
    with pytest.raises(LLMError, match="broke off"):
        for piece in chat(openai_server.url).stream(QUESTION):
            received.append(piece)
    assert received == ["first "]
    assert len(openai_server.chat_requests) == 1  # the user already saw text; no silent restart


def test_stream_of_a_hanging_server_times_out(openai_server: OpenAIServer):
    openai_server.hang(times=None)
    with pytest.raises(LLMError, match="no reply"):
        list(chat(openai_server.url, timeout=0.3, max_retries=0).stream(QUESTION))


def test_openai_provider_without_key_or_url_is_a_config_problem():
    with pytest.raises(LLMError, match="OPENAI_API_KEY or OPENAI_BASE_URL"):
        OpenAIChat(LLMSettings(provider="openai"))


# --- provider resolution ---------------------------------------------------------------------


@pytest.fixture
def fake_llama_cpp(monkeypatch, tmp_path):
    """An importable `llama_cpp` whose Llama records its calls and answers with canned text."""
    package = tmp_path / "fake_site"
    package.mkdir()
    (package / "llama_cpp.py").write_text(
        "calls = []\n"
        "class Llama:\n"
        "    def __init__(self, **kwargs):\n"
        "        calls.append(('init', kwargs))\n"
        "    def create_chat_completion(self, **kwargs):\n"
        "        calls.append(('chat', kwargs))\n"
        "        if kwargs.get('stream'):\n"
        "            return iter([{'choices': [{'delta': {'role': 'assistant'}}]},\n"
        "                         {'choices': [{'delta': {'content': 'lo'}}]},\n"
        "                         {'choices': [{'delta': {'content': 'cal'}}]}])\n"
        "        return {'choices': [{'message': {'content': '{\"answer\": \"local\"}'}}]}\n"
    )
    monkeypatch.syspath_prepend(str(package))
    # Recorded whether or not the real one was imported, so the fake leaves with the test: left in
    # sys.modules, it answered the real-model tests later in the run ({"answer": "local"}, no `found`).
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    del sys.modules["llama_cpp"]
    import llama_cpp

    return llama_cpp


@pytest.fixture
def no_llama_cpp(monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail


def model_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"GGUF")
    return path


def test_explicit_provider_wins():
    assert resolve_provider(LLMSettings(provider="extractive", api_key="sk-x")) == "extractive"
    assert resolve_provider(LLMSettings(provider="local")) == "local"


@pytest.mark.parametrize("config", [{"api_key": "sk-x"}, {"base_url": "http://localhost:11434/v1"}])
def test_auto_prefers_a_configured_server(config, fake_llama_cpp, tmp_path):
    model_file(tmp_path / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
    assert resolve_provider(LLMSettings(**config), data_dir=tmp_path) == "openai"


def test_auto_reads_the_usual_environment_variables(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:8000/v1")
    assert resolve_provider(LLMSettings()) == "openai"


def test_auto_treats_an_empty_key_as_unset(tmp_path):
    assert resolve_provider(LLMSettings(api_key=""), data_dir=tmp_path) == "extractive"


def test_auto_uses_the_default_local_model_when_present(fake_llama_cpp, tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert resolve_provider(settings.llm, data_dir=tmp_path) == "extractive"
    model_file(default_local_model_path(settings))
    assert default_local_model_path(settings) == tmp_path / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    assert resolve_provider(settings.llm, data_dir=tmp_path) == "local"


def test_auto_uses_local_model_path(fake_llama_cpp, tmp_path):
    gguf = model_file(tmp_path / "elsewhere" / "phi.gguf")
    assert resolve_provider(LLMSettings(local_model_path=gguf), data_dir=tmp_path / "empty") == "local"


def test_auto_without_llama_cpp_is_extractive(no_llama_cpp, tmp_path):
    gguf = model_file(tmp_path / "phi.gguf")
    assert resolve_provider(LLMSettings(local_model_path=gguf)) == "extractive"


def test_auto_from_a_bare_environment_is_extractive():
    assert build_llm(Settings()) is None


# --- build_llm and the local model -----------------------------------------------------------


def test_build_llm_for_a_server(openai_server: OpenAIServer, tmp_path):
    llm = build_llm(Settings(data_dir=tmp_path, llm=LLMSettings(base_url=openai_server.url, model="m")))
    assert isinstance(llm, OpenAIChat) and llm.name == "openai:m"
    assert llm.complete(QUESTION) == "Hello from the test server."


def test_local_llama_completes_and_streams(fake_llama_cpp, tmp_path):
    settings = Settings(data_dir=tmp_path, llm=LLMSettings(threads=2, context_window=2048, max_tokens=64))
    gguf = model_file(default_local_model_path(settings))
    llm = build_llm(settings)

    assert isinstance(llm, LocalLlama) and llm.name == "local:qwen2.5-coder-1.5b-instruct-q4_k_m"
    schema = {"type": "object"}
    assert llm.complete(QUESTION, json_schema=schema) == '{"answer": "local"}'
    assert list(llm.stream(QUESTION, max_tokens=8)) == ["lo", "cal"]

    (_, init), (_, plain), (_, streamed) = fake_llama_cpp.calls
    assert init == {"model_path": str(gguf), "n_ctx": 2048, "n_threads": 2, "n_threads_batch": 2, "draft_model": None, "verbose": False}
    assert plain["response_format"] == {"type": "json_object", "schema": schema}
    assert plain["max_tokens"] == 64 and plain["messages"] == QUESTION
    assert streamed["stream"] is True and streamed["max_tokens"] == 8


def test_the_fake_llama_cpp_leaves_with_its_test():
    """Runs after the fake's tests (file order): whatever `import llama_cpp` gives now is not the fake."""
    module = sys.modules.get("llama_cpp")
    assert module is None or "fake_site" not in str(getattr(module, "__file__", ""))


def test_local_llama_without_the_package_says_how_to_install(no_llama_cpp, tmp_path):
    with pytest.raises(LLMError, match=r"pip install -e \.\[local\]"):
        LocalLlama(LLMSettings(), model_file(tmp_path / "m.gguf"))


def test_local_llama_without_the_model_says_how_to_get_it(fake_llama_cpp, tmp_path):
    with pytest.raises(LLMError, match="rag model install") as caught:
        LocalLlama(LLMSettings(), tmp_path / "missing.gguf")
    assert "LOCAL_MODEL_PATH" in str(caught.value)


def one_passage(text: str, title: str):
    """The whole of a one-passage article, as retrieval hands it to the answerer."""
    from rag.core.models import Passage

    return Passage(n=1, chunk_id="c1", source="a.txt", title=title, text=text, start=0, end=len(text), score=1.0)


def test_local_json_answer_is_shown_once_its_field_closes(tmp_path):
    """A one-sentence answer is complete when the `answer` string closes: it is shown then, checked,
    not after the model has also written `citations`."""
    from rag.answering.answerer import build_answerer

    text = "Meta paid $14.3 billion for its stake in Scale AI."
    passage = one_passage(text, "Deal")
    pieces = ['{"evidence": "[1]", ', '"found": true, ', '"answer": "Meta paid $14.3 billion for Scale AI [1]', '"', ', "citations": [1]}']
    generated = []

    class Scripted:
        name = "scripted"
        can_stream = supports_schema = True
        prompt_style = "evidence"
        keeps_prefix = False

        def stream(self, messages, **kwargs):
            for piece in pieces:
                generated.append(piece)
                yield piece

    out = build_answerer(Settings(data_dir=tmp_path), llm=Scripted()).stream("How much did Meta pay for Scale AI?", [passage])
    evidence = next(out)
    assert isinstance(evidence, EvidenceFound) and not generated  # shown before the model is asked anything
    assert [h.quote for h in evidence.highlights] == [text]
    first = next(out).text
    assert first.startswith("Meta paid $14.3 billion for Scale AI") and first.endswith("[1]")
    assert generated[-1] == '"'  # `citations` not generated yet
    rest, final = split(out)
    assert final.answer == first and rest == []
    # The checker places citations itself: generation stopped once the answer was complete.
    assert generated[-1] == '"'  # `citations` never generated


class _ScriptedJSON:
    """A streaming JSON model that always replies `answer`."""

    name = "scripted"
    can_stream = supports_schema = True
    prompt_style = "evidence"
    keeps_prefix = False

    def __init__(self, answer: str, evidence: str = "[1]"):
        self.answer, self.evidence = answer, evidence

    def stream(self, messages, **kwargs):
        yield from ['{"evidence": "', self.evidence, '", "found": true, "answer": "', self.answer, '", "citations": [1]}']


@pytest.mark.parametrize(
    "answer, shown",
    [
        ("Meta laid off staff in its AI unit [1]", False),
        ("Meta laid off 600 staff in its AI unit [1]", True),
        ("600 [1]", True),  # terse: the number alone answers "how many staff"
    ],
)
def test_a_model_answer_without_the_quantity_asked_for_is_no_answer(tmp_path, answer, shown):
    """"How many ...?" answered by a supported sentence with no number: nothing of it is shown; the passage
    that states the number answers instead, quoted and said to be (the model's answer did not hold up)."""
    from rag.answering.answerer import build_answerer

    passage = one_passage("Meta laid off 600 staff in its AI unit on Wednesday.", "Cuts")
    answerer = build_answerer(Settings(data_dir=tmp_path), llm=_ScriptedJSON(answer))
    pieces, final = split(answerer.stream("How many staff did Meta lay off?", [passage]))
    assert not final.abstained and "600" in final.answer and "".join(pieces) == final.answer
    if shown:
        assert final.provider == "scripted"
    else:
        assert not any("laid off staff" in p for p in pieces) and final.provider == "extractive"
        assert final.answer.startswith("600 [1].") and "Meta laid off 600 staff in its AI unit on Wednesday. [1]" in final.answer
        assert any("the question asks for a quantity and the answer gives none" in w for w in final.warnings)


_CUTS = "Meta laid off 600 staff in its AI unit on Wednesday. The unit keeps 3,000 people."


@pytest.mark.parametrize(
    "question, answer, evidence, expected",
    [
        # The sentence the model quoted as its evidence follows the terse answer.
        ("How many staff did Meta lay off?", "600 [1]", "Meta laid off 600 staff in its AI unit on Wednesday.",
         "600 [1] Meta laid off 600 staff in its AI unit on Wednesday. [1]"),
        # Evidence given as "[1]" only (as small models do): the cited passage's sentence that holds the answer.
        ("How many people does the unit keep?", "3,000 [1]", "[1]", "3,000 [1] The unit keeps 3,000 people. [1]"),
        # An answer without a marker: the sentence of the passage the checker attributed it to.
        ("How many people does the unit keep?", "3,000", "[1]", "3,000 [1] The unit keeps 3,000 people. [1]"),
        # A yes or no in words no sentence holds as such: the cited passage's sentence sharing most of its terms.
        ("Did Meta lay off staff in its AI unit?", "Yes, Meta laid off AI staff. [1]", "[1]",
         "Yes, Meta laid off AI staff. [1] Meta laid off 600 staff in its AI unit on Wednesday. [1]"),
        # An answer that is a sentence already stands alone.
        ("How many staff did Meta lay off?", "Meta laid off 600 staff in its AI unit [1]", "[1]",
         "Meta laid off 600 staff in its AI unit [1]"),
    ],
)
def test_a_terse_model_answer_is_followed_by_the_sentence_it_comes_from(tmp_path, question, answer, evidence, expected):
    from rag.answering.answerer import build_answerer

    answerer = build_answerer(Settings(data_dir=tmp_path), llm=_ScriptedJSON(answer, evidence))
    pieces, final = split(answerer.stream(question, [one_passage(_CUTS, "Cuts")]))
    assert final.answer == expected and expected.startswith("".join(pieces)) and final.provider == "scripted"


def test_no_answer_when_neither_the_model_nor_the_passages_give_the_quantity(tmp_path):
    from rag.answering.answerer import build_answerer

    passage = one_passage("Meta laid off staff in its AI unit on Wednesday.", "Cuts")
    answerer = build_answerer(Settings(data_dir=tmp_path), llm=_ScriptedJSON("Meta laid off staff in its AI unit [1]"))
    pieces, final = split(answerer.stream("How many staff did Meta lay off?", [passage]))
    assert pieces == [] and final.abstained and final.reason == "the question asks for a quantity and the answer gives none"


def test_evidence_prompt_keeps_lists_with_their_intro_and_titles_once():
    """The evidence prompt gives each passage its best two sentences; a heading among them does not count as
    one, a list intro brings its items (the answer to "What has X emphasized?" is the list), and an article's
    title is said once."""
    from rag.answering.prompts import format_passages
    from rag.core.models import Passage
    from rag.retrieval.evidence import Evidence

    text = (
        "Shares fell in November.\n\n"
        "Leadership's Response to the Divide\n\n"
        "Zuckerberg acknowledged the company's dual mission.\n\n"
        "Zuckerberg has emphasized:\n\n"
        "• AI must remain a long-term priority\n\n"
        "• Open-source philosophy will continue\n\n"
        "Insiders say the debate is far from settled.\n"
    )
    other = "Meta laid off 600 staff. The cuts hit the AI unit."
    passages = [
        Passage(n=1, chunk_id="c1", source="a.txt", title="Clash", text=text, start=0, end=len(text), score=1.0),
        Passage(n=2, chunk_id="c2", source="a.txt", title="Clash", text=other, start=900, end=900 + len(other), score=0.5),
    ]
    prompt = format_passages(passages, Evidence("What has Zuckerberg emphasized in response to the divide?"))
    first, second = prompt.split("\n\n[2] ")
    assert first.startswith('[1] (from "Clash")\n')
    assert "Zuckerberg has emphasized:" in first
    assert "AI must remain a long-term priority" in first and "Open-source philosophy will continue" in first
    assert "Shares fell" not in first and "Insiders say" not in first  # the window, not the passage
    assert second.startswith("(same article as [1])\n")


def test_a_streamed_answer_is_checked_once_per_complete_prefix(tmp_path):
    """The stream grows a token at a time; the checker runs when a sentence completes and once at the end,
    not on every token (each check scans every passage)."""
    from rag.answering.answerer import build_answerer

    text = "Meta paid $14.3 billion for its stake in Scale AI. It bought 49% of the company."
    passage = one_passage(text, "Deal")

    class Scripted:
        name = "scripted"
        can_stream, supports_schema = True, False
        prompt_style = "passages"
        keeps_prefix = False

        def stream(self, messages, **kwargs):
            yield "Meta paid $14.3 billion for Scale AI [1]. "
            yield from "It bought 49% of the company [1]."  # one character at a time

    answerer = build_answerer(Settings(data_dir=tmp_path), llm=Scripted())
    checks = []
    check = answerer.checker.check
    answerer.checker.check = lambda *a, **k: checks.append(a[0]) or check(*a, **k)
    pieces, final = split(answerer.stream("How much did Meta pay for Scale AI?", [passage]))
    assert "".join(pieces) == final.answer and "49%" in final.answer and not final.abstained
    assert checks == ["Meta paid $14.3 billion for Scale AI [1]. ", "Meta paid $14.3 billion for Scale AI [1]. It bought 49% of the company [1]."]


def test_the_answer_path_follows_declared_capabilities_not_the_name(tmp_path):
    """A client that cannot stream is asked for the whole reply, which is checked like a streamed one;
    its name ("local:...") changes nothing."""
    from rag.answering.answerer import build_answerer

    text = "Meta paid $14.3 billion for its stake in Scale AI."
    passage = one_passage(text, "Deal")
    calls = []

    class Whole:
        name = "local:looks-local"
        can_stream = supports_schema = False
        prompt_style = "passages"
        keeps_prefix = False

        def complete(self, messages, **kwargs):
            calls.append(kwargs)
            return "Meta paid $14.3 billion for Scale AI [1]."

        def stream(self, messages, **kwargs):
            raise AssertionError("a client that cannot stream is never streamed")

    pieces, final = split(build_answerer(Settings(data_dir=tmp_path), llm=Whole()).stream("How much did Meta pay?", [passage]))
    assert calls == [{}]  # no json_schema: the client does not support one
    assert not final.abstained and "14.3 billion" in final.answer and final.citations[0].n == 1
    assert "".join(pieces) == final.answer
