"""The `rag` command as a user runs it: real processes, real index, no network."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import SEEDS

ASK_KEYS = {"question", "answer", "abstained", "reason", "citations", "passages", "provider", "timings"}


def rag(*args: str, data_dir, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "rag", "--data-dir", str(data_dir), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "LLM_PROVIDER": "extractive", **(env or {})},
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    data = tmp_path_factory.mktemp("cli") / "data"
    done = rag("ingest", str(SEEDS), data_dir=data)
    assert done.returncode == 0, done.stderr
    assert "5 added" in done.stdout
    return data


def test_ingest_again_is_unchanged(data_dir):
    done = rag("ingest", "--json", str(SEEDS), data_dir=data_dir)
    report = json.loads(done.stdout)
    assert done.returncode == 0
    assert {f["status"] for f in report["files"]} == {"unchanged"} and report["chunks_embedded"] == 0


def test_search_json_shape(data_dir):
    done = rag("search", "--json", "--top-k", "3", "Who is Nat Friedman?", data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["question"] == "Who is Nat Friedman?"
    assert [p["n"] for p in out["passages"]] == [1, 2, 3]
    assert set(out["passages"][0]) == {
        "n", "source", "title", "author", "published", "url", "site", "story", "also_reported_by", "text", "score", "start", "end"
    }
    assert any("GitHub" in p["text"] for p in out["passages"])


def test_ask_json_shape_and_citations(data_dir):
    done = rag("ask", "--json", "How many workers did Meta lay off from its AI teams?", data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == ASK_KEYS
    assert out["provider"] == "extractive" and not out["abstained"] and out["reason"] is None
    assert "600" in out["answer"]
    assert set(out["citations"][0]) == {
        "n", "source", "title", "author", "published", "url", "site", "story", "also_reported_by", "start", "end", "quote"
    }
    assert set(out["timings"]) == {"retrieve_ms", "generate_ms", "total_ms"}
    for c in out["citations"]:
        assert f"[{c['n']}]" in out["answer"]
        passage = out["passages"][c["n"] - 1]
        assert passage["start"] <= c["start"] and c["end"] <= passage["end"]
        assert c["quote"] in passage["text"]


def test_ask_streams_answer_then_sources(data_dir):
    done = rag("ask", "-", data_dir=data_dir, stdin="Who is Nat Friedman?\n")
    assert done.returncode == 0, done.stderr
    answer, _, sources = done.stdout.partition("Sources:")
    assert "GitHub" in answer and "[" in answer
    assert ".txt" in sources and "“" in sources


def test_unanswerable_question_abstains(data_dir):
    done = rag("ask", "--json", "Who won the 2022 World Cup?", data_dir=data_dir)
    out = json.loads(done.stdout)
    assert out["abstained"] and out["citations"] == []
    # The extractive answerer says why (e.g. "best sentence scores 0.21 < 0.5").
    assert isinstance(out["reason"], str) and len(out["reason"]) > 10


@pytest.mark.parametrize(
    "question, message",
    [("   ", "empty"), ("x" * 100_000, "limit"), ("\x00\x01\x02", "empty")],
    ids=["blank", "100kB", "control-chars"],
)
def test_bad_questions_fail_cleanly(data_dir, question, message):
    done = rag("ask", "-", data_dir=data_dir, stdin=question)
    assert done.returncode != 0
    assert message in done.stderr and "Traceback" not in done.stderr


def test_question_before_ingest(tmp_path):
    done = rag("ask", "What happened?", data_dir=tmp_path / "empty")
    assert done.returncode == 1
    assert "rag ingest" in done.stderr and "Traceback" not in done.stderr


def test_ingest_reports_bad_files_with_exit_code(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.md").write_text("# Harbour news\n\nThe ferry to the island resumed service on Monday.\n")
    (folder / "bad.txt").write_bytes(b"\xff\xfe\x00\x00garbage\x00\x00" * 10)
    (folder / "missing-link.txt").symlink_to(tmp_path / "nowhere")
    done = rag("ingest", str(folder), data_dir=tmp_path / "data")
    assert done.returncode == 1
    assert "bad.txt" in done.stderr and "1 added" in done.stdout
    assert "Traceback" not in done.stderr


def test_chroma_server_down_is_named(tmp_path):
    from tests.conftest import free_port

    port = free_port()
    done = rag("search", "anything", data_dir=tmp_path, env={"RAG_CHROMA_HOST": "127.0.0.1", "RAG_CHROMA_PORT": str(port)})
    assert done.returncode == 1
    assert f"127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr


def test_openai_server_down_is_named(data_dir):
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"
    done = rag("ask", "Who is Nat Friedman?", data_dir=data_dir,
               env={"LLM_PROVIDER": "openai", "OPENAI_BASE_URL": url, "RAG_LLM_MAX_RETRIES": "0"})
    assert done.returncode == 1
    assert url in done.stderr and "Traceback" not in done.stderr


def test_chat_keeps_the_conversation(data_dir):
    script = "Which Scale AI executive joined Meta as Senior Vice President of GenAI Product and Operations?\nWhen did she leave?\n\n"
    done = rag("chat", data_dir=data_dir, stdin=script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Sources:") == 2
    assert "Mayer" in done.stdout and "two months" in done.stdout


def test_serve_starts_the_web_page_on_loopback(data_dir):
    import os
    import time

    import httpx

    from tests.conftest import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag", "--data-dir", str(data_dir), "serve", "--port", str(port)],
        env={**os.environ, "LLM_PROVIDER": "extractive"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                if page.status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("rag serve did not answer")
        assert "gradio" in page.text.lower()
    finally:
        proc.terminate()
        proc.wait(30)


def test_error_comes_after_what_was_printed(tmp_path):
    """stdout is flushed before an error goes to stderr, so a terminal shows them in order."""
    import os

    done = subprocess.run(
        [sys.executable, "-m", "rag", "--data-dir", str(tmp_path / "empty"), "ask", "Who is Nat Friedman?"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, "LLM_PROVIDER": "extractive"},
    )
    assert done.returncode == 1
    assert done.stdout.strip().splitlines()[-1].startswith("error: The index at ")


def test_chat_shows_the_evidence_before_the_model_writes(data_dir, openai_server):
    """`rag chat` prints the evidence while the model's reply is held back, then the streamed answer under it."""
    import os

    from tests.openai_server import Withheld, cite_the_stake

    reply = Withheld(cite_the_stake)
    openai_server.reply = reply
    env = {**os.environ, "LLM_PROVIDER": "openai", "OPENAI_BASE_URL": openai_server.url, "OPENAI_API_KEY": "test",
           "RAG_LLM_MAX_RETRIES": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "rag", "--data-dir", str(data_dir), "chat"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        # The question, then an empty line to quit: nothing more is waited for on stdin.
        proc.stdin.write("How much did Meta reportedly pay for its stake in Scale AI?\n\n")
        proc.stdin.close()
        before = []
        for line in proc.stdout:
            before.append(line)
            if "Evidence (verbatim" in line:
                break
        quoted = proc.stdout.readline()
        reply.release()
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.wait(timeout=120)
    finally:
        proc.kill()
    assert not reply.timed_out, "".join(before)
    assert "Evidence (verbatim" in before[-1] and "“" in quoted and "]" in quoted, before + [quoted]
    assert proc.returncode == 0, err
    answer, _, sources = out.partition("Sources:")
    assert "Meta acquired a 49 percent stake in Scale AI" in answer and "“" in sources
