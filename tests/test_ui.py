"""The Gradio page: rendering, the API from gradio_client, sessions, and a real headless Chromium.

Everything is real: the seeds are embedded with MiniLM, answers come from the
extractive provider, the app listens on a loopback port, and the browser is
Debian's /usr/bin/chromium driven by Python Playwright (no browser download).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from rag.core.models import Answer, Citation, Passage

from .conftest import REPO, SEEDS, free_port, require

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SEED_TITLES = ("Inside Meta’s AI Turmoil", "Stop Buying the Savior Myth", "Meta's AI Superstars Clash")
META_QUESTION = "How much did Meta reportedly pay for its stake in Scale AI?"
UNANSWERABLE = "Who won the 2022 World Cup?"
TIMEOUT_MS = 120_000


# --- rendering (no server) ---


def _passage(text: str, start: int = 100, n: int = 1, source: str = "a.txt", title: str = "T") -> Passage:
    return Passage(n=n, chunk_id=f"c{n}", source=source, title=title, text=text, start=start, end=start + len(text), score=1.0)


def test_answer_card_highlights_the_cited_span_and_escapes_article_text():
    from ui.render import render_answer

    text = "Intro <script>alert(1)</script> & more. The deal cost $14 billion. Tail sentence."
    p = _passage(text, title="Deals <b>&</b> Co")
    qs = text.index("The deal")
    quote = "The deal cost $14 billion."
    c = Citation(n=1, source="a.txt", title=p.title, start=p.start + qs, end=p.start + qs + len(quote), quote=quote)
    a = Answer(question="q", answer=f"{quote} [1] Also [7].", abstained=False, citations=[c], passages=[p], provider="extractive")
    out = render_answer(a, turn=3)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "Deals &lt;b&gt;&amp;&lt;/b&gt; Co" in out
    assert f"<mark>{quote}</mark>" in out
    assert 'href="#nd-t3-c1"' in out and 'id="nd-t3-c1"' in out
    assert "[7]" in out and 'href="#nd-t3-c7"' not in out  # an uncited marker is left as text
    assert "\n" not in out  # one raw-HTML block for the chat markdown


def test_card_finds_the_quote_when_offsets_do_not_line_up():
    from ui.render import render_answer

    p = _passage("Alpha beta. Gamma delta epsilon. Zeta.", start=0)
    c = Citation(n=1, source="a.txt", title="T", start=500, end=520, quote="Gamma delta epsilon.")
    a = Answer(question="q", answer="Gamma delta epsilon. [1]", abstained=False, citations=[c], passages=[p], provider="x")
    assert "<mark>Gamma delta epsilon.</mark>" in render_answer(a, 1)


def test_abstention_is_a_notice_without_cards():
    from ui.render import render_answer

    a = Answer(question="q", answer="I could not find this in the articles.", abstained=True, provider="x")
    out = render_answer(a, 1)
    assert "nd-notfound" in out and "nd-card" not in out


def test_article_view_highlights_a_span_and_escapes():
    from ui.render import render_article

    text = "<h1>x</h1>\nfirst line\nsecond line"
    out = render_article("Title", "s.html", text, text.index("first"), text.index("first") + 5)
    assert "&lt;h1&gt;" in out and "<mark>first</mark>" in out
    assert "outside this article" in render_article("T", "s", "abc", 5, 9)


def test_loopback_detection():
    from ui.app import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")


def test_python_m_ui_has_a_cli():
    out = subprocess.run([sys.executable, "-m", "ui", "--help"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "--host" in out.stdout and "--port" in out.stdout


# --- the running app ---


@pytest.fixture(scope="module")
def seeded(tmp_path_factory, embedder):
    """An Assistant (extractive answers) over an index of seeds/ in a temporary data dir."""
    from rag.assistant import Assistant
    from rag.core.config import LLMSettings, Settings

    root = tmp_path_factory.mktemp("ui")
    with pytest.MonkeyPatch.context() as mp:
        # The autouse isolation is per test; this module-wide fixture isolates itself.
        for name in list(os.environ):
            if name.startswith(("RAG_", "OPENAI_", "CHROMA_")) or name in {"LLM_PROVIDER", "LOCAL_MODEL_PATH", "API_KEY"}:
                mp.delenv(name)
        mp.chdir(root)
        settings = Settings(data_dir=root / "data", llm=LLMSettings(provider="extractive"))
        assistant = Assistant(settings, embedder=embedder)
        report = assistant.ingest([SEEDS])
    assert report.count("added") == len(list(SEEDS.iterdir()))
    return assistant


@contextmanager
def serving(assistant):
    """The page for `assistant` on a free loopback port, closed after the block."""
    from ui.app import build_app

    demo = build_app(assistant)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            demo.close()
            raise RuntimeError(f"the app did not answer on {url}")
        time.sleep(0.2)
    try:
        yield url
    finally:
        demo.close()


@pytest.fixture(scope="module")
def app_url(seeded):
    """The page for the seeded index (extractive answers)."""
    with serving(seeded) as url:
        yield url


def test_api_ask_from_gradio_client(app_url):
    from gradio_client import Client

    text, details = Client(app_url, verbose=False).predict("Who is Nat Friedman?", api_name="/ask")
    assert "GitHub" in text and "[1]" in text
    assert not details["abstained"]
    assert details["citations"] and details["citations"][0]["title"].startswith(SEED_TITLES)
    assert "Nat Friedman" in details["citations"][0]["quote"]


def test_api_reports_rag_errors_as_messages(app_url):
    from gradio_client import Client

    with pytest.raises(Exception, match="question is empty"):
        Client(app_url, verbose=False).predict("   ", api_name="/ask")


def test_concurrent_sessions_keep_their_own_conversations(app_url):
    """Two clients (two sessions) talk at the same time; each chat holds only its own turns."""
    from gradio_client import Client

    questions = {"a": ["Who is Nat Friedman?", "What did he clash with leadership over?"], "b": [META_QUESTION, "Who is Alexandr Wang?"]}
    results: dict[str, list] = {}
    errors: list[BaseException] = []

    def talk(key: str) -> None:
        try:
            client = Client(app_url, verbose=False)
            chats = []
            for q in questions[key]:
                chat, box = client.predict(q, 5, [], api_name="/chat")
                assert box == ""
                chats.append(chat)
            results[key] = chats
        except BaseException as e:  # surfaced in the main thread
            errors.append(e)

    threads = [threading.Thread(target=talk, args=(k,)) for k in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    assert not errors, errors
    for key, other in (("a", "b"), ("b", "a")):
        final = results[key][-1]
        shown = " ".join(_message_text(m) for m in final)
        assert len(final) == 4, final  # two questions, two answers: nothing from the other session
        for q in questions[key]:
            assert q in shown
        for q in questions[other]:
            assert q not in shown
    assert "GitHub" in _message_text(results["a"][0][-1])
    assert "14" in _message_text(results["b"][0][-1])
    # The follow-up "he" was resolved from this session's own history (Nat Friedman), not the other one's.
    assert "Friedman" in _message_text(results["a"][1][-1])


def test_source_filter_and_top_k_reach_the_assistant(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    chat, _ = client.predict(META_QUESTION, 3, ["000_c3e6291cb7289f16.txt"], api_name="/chat")
    last = _message_text(chat[-1])
    assert "nd-card" in last and "000_c3e6291cb7289f16.txt" in last
    assert "004_aad9188b1999732b.txt" not in last
    chat, _ = client.predict(META_QUESTION, 3, ["003_26436447e704484c.txt"], api_name="/chat")
    assert "nd-notfound" in _message_text(chat[-1])
    # Unknown sources match nothing rather than failing.
    chat, _ = client.predict(META_QUESTION, 3, ["no-such-article.txt"], api_name="/chat")
    assert "nd-notfound" in _message_text(chat[-1]) and "nd-error" not in _message_text(chat[-1])


def test_empty_question_is_a_readable_message_in_the_chat(app_url):
    from gradio_client import Client

    chat, _ = Client(app_url, verbose=False).predict("  ", 5, [], api_name="/chat")
    last = _message_text(chat[-1])
    assert "nd-error" in last and "question is empty" in last and "Traceback" not in last


def _message_text(message: dict) -> str:
    content = message["content"]
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


# --- a real streaming model (tests/openai_server.py on loopback) ---


def _model_assistant(seeded, url: str):
    """The seeded index answered by an OpenAI-compatible server (shares the store, no second ingest)."""
    from rag.answering.answerer import build_llm
    from rag.assistant import Assistant
    from rag.core.config import LLMSettings

    llm_settings = LLMSettings(provider="openai", base_url=url, api_key="test", max_retries=0, timeout=10)
    settings = seeded.settings.model_copy(update={"llm": llm_settings})
    return Assistant(settings, embedder=seeded.embedder, store=seeded.store, llm=build_llm(settings))


def test_model_answers_stream_sentence_by_sentence_into_the_chat(seeded):
    from tests.openai_server import OpenAIServer, cite_the_stake
    from ui.app import _Handlers

    with OpenAIServer(cite_the_stake) as server:
        handlers = _Handlers(_model_assistant(seeded, server.url))
        updates = list(handlers.respond(META_QUESTION, None, 5, []))
    messages = [_message_text(chat[-1]) for chat, _session, _box in updates]
    # The evidence shows first, alone, then stays above the answer as it streams.
    shown = [m.split("</details>")[-1] for m in messages]  # the answer, under the evidence
    evidence = [i for i, m in enumerate(messages) if "nd-evidence" in m]
    assert evidence and evidence[0] < min(i for i, m in enumerate(shown) if "Meta acquired" in m), messages
    assert "Writing the answer" in shown[evidence[0]] and "$14 billion" in messages[evidence[0]]
    assert evidence == list(range(evidence[0], len(messages)))
    partial = [s for s in shown if "nd-streaming" in s and "Meta acquired" in s]
    # The text grows a checked sentence at a time before the final answer: the first sentence shows
    # whole before the second arrives, and no update shows half a sentence.
    assert partial and "$14 billion" in partial[0] and "28-year-old" not in partial[0], shown
    assert all("$14 billion" in s for s in partial)
    final = shown[-1]
    assert "28-year-old" in final
    assert "nd-streaming" not in final and "$14 billion" in final and "<mark>" in final and "nd-card" in final
    session = updates[-1][1]
    assert [t["role"] for t in session["history"].messages()] == ["user", "assistant"]
    assert session["history"].messages()[1]["content"].startswith("Meta acquired")


def test_a_model_that_is_down_gives_a_readable_message(seeded):
    from tests.openai_server import OpenAIServer
    from ui.app import _Handlers

    with OpenAIServer() as server:
        server.fail(500, times=None)
        handlers = _Handlers(_model_assistant(seeded, server.url))
        chat, session, _ = list(handlers.respond(META_QUESTION, None, 5, []))[-1]
    last = _message_text(chat[-1])
    assert "nd-error" in last and "Traceback" not in last and len(last) < 2000
    assert session["history"].messages() == []  # a failed turn is not part of the conversation


# --- headless Chromium ---


def _browser(p):
    return p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@pytest.fixture
def playwright_api():
    require(
        CHROMIUM.exists() and importlib.util.find_spec("playwright") is not None,
        "headless Chromium at /usr/bin/chromium or the Python playwright package is missing "
        "(install: apt-get install chromium; pip install playwright)",
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


_FINISHED = "#nd-chat .nd-answer:not(.nd-streaming), #nd-chat .nd-notfound, #nd-chat .nd-error"


def _ask(page, question: str) -> None:
    """Type a question, press Enter, wait until its streamed answer is final (cards or a notice)."""
    before = page.locator(_FINISHED).count()
    page.fill("#nd-question textarea", question)
    page.press("#nd-question textarea", "Enter")
    page.wait_for_function(
        """([selector, before]) => document.querySelectorAll(selector).length > before &&
                                   !document.querySelector('#nd-chat .nd-streaming')""",
        arg=[_FINISHED, before],
        timeout=TIMEOUT_MS,
    )


@pytest.mark.browser
def test_chat_sources_and_upload_in_chromium(app_url, playwright_api, tmp_path):
    browser = _browser(playwright_api)
    try:
        page = browser.new_page(viewport={"width": 1360, "height": 1000})
        page.goto(app_url)
        page.wait_for_selector("#nd-question textarea", timeout=TIMEOUT_MS)

        # A cited answer: text, a card with the article title, the quote highlighted.
        _ask(page, META_QUESTION)
        answer = page.locator("#nd-chat .nd-answer").last
        assert "14" in answer.inner_text()
        card = answer.locator(".nd-card").first
        title = card.locator(".nd-card-title").inner_text()
        assert title.startswith(SEED_TITLES), title
        mark = card.locator("mark").first
        assert mark.is_visible() and "14" in mark.inner_text()
        assert answer.locator("sup.nd-cite a").count() >= 1
        page.screenshot(path=str(tmp_path / "chat-answer.png"), full_page=True)
        shutil.copyfile(tmp_path / "chat-answer.png", "/tmp/newsdesk-ui.png")

        # An unanswerable question: the distinct not-found notice, no cards.
        _ask(page, UNANSWERABLE)
        notice = page.locator("#nd-chat .nd-notfound").last
        notice.wait_for(state="visible", timeout=TIMEOUT_MS)
        assert "could not find" in notice.inner_text().lower()
        assert notice.locator(".nd-card").count() == 0
        page.screenshot(path=str(tmp_path / "chat-not-found.png"), full_page=True)

        # "open in article" on the card: the Sources tab shows the article with the span highlighted.
        page.locator("#nd-chat .nd-answer .nd-open").first.click()
        page.wait_for_selector("#nd-viewer mark", timeout=TIMEOUT_MS)
        assert "14" in page.inner_text("#nd-viewer mark")
        assert page.locator("#nd-sources-table").is_visible()

        # Upload a small Markdown file; it is indexed and listed.
        upload = tmp_path / "zebra notes.md"
        upload.write_text(
            "# Zebra Crossing Report\n\nThe city painted four new zebra crossings on Elm Street in March. "
            "Residents said the crossings made the school run safer.\n",
            encoding="utf-8",
        )
        page.set_input_files("#nd-upload input[type=file]", str(upload))
        page.wait_for_selector("#nd-upload-report .nd-status-added", timeout=TIMEOUT_MS)
        assert "zebra_notes.md" in page.inner_text("#nd-upload-report") or "zebra notes.md" in page.inner_text("#nd-upload-report")
        page.wait_for_function(
            "() => document.querySelector('#nd-sources-table').innerText.includes('Zebra Crossing Report')",
            timeout=TIMEOUT_MS,
        )
        assert "zebra_notes.md" in page.inner_text("#nd-sources-table")
        page.screenshot(path=str(tmp_path / "sources.png"), full_page=True)
    finally:
        browser.close()


@pytest.mark.browser
def test_two_browser_sessions_do_not_share_history(app_url, playwright_api):
    browser = _browser(playwright_api)
    try:
        one = browser.new_context().new_page()
        two = browser.new_context().new_page()
        for page in (one, two):
            page.goto(app_url)
            page.wait_for_selector("#nd-question textarea", timeout=TIMEOUT_MS)
        one.fill("#nd-question textarea", "Who is Nat Friedman?")
        two.fill("#nd-question textarea", META_QUESTION)
        one.press("#nd-question textarea", "Enter")
        two.press("#nd-question textarea", "Enter")
        for page in (one, two):
            page.wait_for_selector("#nd-chat .nd-card", timeout=TIMEOUT_MS)
        assert "GitHub" in one.inner_text("#nd-chat") and "Scale AI for more than" not in one.inner_text("#nd-chat")
        assert "14" in two.inner_text("#nd-chat") and "Nat Friedman?" not in two.inner_text("#nd-chat")
        # Clearing one conversation leaves the other alone.
        one.click("#nd-clear")
        one.wait_for_function("() => !document.querySelector('#nd-chat .nd-answer')", timeout=TIMEOUT_MS)
        assert two.locator("#nd-chat .nd-card").count() >= 1
    finally:
        browser.close()


@pytest.mark.browser
def test_date_range_and_article_details_in_chromium(playwright_api, tmp_path, embedder):
    from rag.assistant import Assistant
    from rag.core.config import LLMSettings, Settings
    from tests.news_site import NewsSite
    from ui.app import build_app

    question = "Who wrote the article about the Hill Street bakery closing?"
    with NewsSite() as site:
        assistant = Assistant(Settings(data_dir=tmp_path / "data", llm=LLMSettings(provider="extractive")), embedder=embedder)
        assert assistant.ingest([site.url("/feed.xml")]).count("added") == 3
        demo = build_app(assistant)
        port = free_port()
        demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
        browser = _browser(playwright_api)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#nd-question textarea", timeout=TIMEOUT_MS)
            _ask(page, question)
            card = page.locator("#nd-chat .nd-answer").last.locator(".nd-card").first
            about = card.locator(".nd-card-about").inner_text()
            assert "Hillside Herald" in about and "Aiko Tanaka" in about and "May 20, 2025" in about, about
            assert card.locator("a.nd-card-url").get_attribute("href") == site.url("/news/bakery")

            # Only articles from June on: the bakery story (May 20) is out of range, and the notice says so.
            page.fill("#nd-since textarea, #nd-since input", "2025-06-01")
            _ask(page, question)
            notice = page.locator("#nd-chat .nd-notfound").last
            assert "on or after 2025-06-01" in notice.inner_text()
            page.fill("#nd-since textarea, #nd-since input", "2025-05-01")
            page.fill("#nd-until textarea, #nd-until input", "2025-05-31")
            _ask(page, question)
            assert "Aiko Tanaka" in page.locator("#nd-chat .nd-answer").last.inner_text()
            page.screenshot(path=str(tmp_path / "dates.png"), full_page=True)
        finally:
            browser.close()
            demo.close()


@pytest.mark.browser
def test_evidence_shows_in_chromium_before_the_model_writes(seeded, playwright_api):
    """The page shows the top passages' best sentences while the model has not written a word (its reply is
    held back), marked as evidence; the checked answer then streams in under it."""
    from tests.openai_server import OpenAIServer, Withheld, cite_the_stake

    reply = Withheld(cite_the_stake)
    with OpenAIServer(reply) as server, serving(_model_assistant(seeded, server.url)) as url:
        browser = _browser(playwright_api)
        try:
            page = browser.new_page()
            page.goto(url, timeout=TIMEOUT_MS)
            page.fill("#nd-question textarea", META_QUESTION)
            page.press("#nd-question textarea", "Enter")
            evidence = page.locator("#nd-chat .nd-evidence").last
            evidence.wait_for(timeout=TIMEOUT_MS)
            assert "verbatim" in evidence.locator("summary").inner_text()
            assert "$14 billion" in evidence.locator("mark").all_inner_texts().__str__()
            assert page.locator("#nd-chat .nd-streaming").inner_text().startswith("Writing the answer")
            reply.release()
            page.wait_for_selector("#nd-chat .nd-answer:not(.nd-streaming)", timeout=TIMEOUT_MS)
            assert "Meta acquired a 49 percent stake" in page.locator("#nd-chat .nd-answer").last.inner_text()
            assert page.locator("#nd-chat .nd-evidence").count() == 1  # folded above the answer, not repeated
        finally:
            browser.close()
    assert not reply.timed_out
