"""Settings read only documented names: a poisoned environment or `.env` changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag.answering.llm import resolve_provider
from rag.core.config import Settings, describe
from tests.conftest import SEEDS

POISON = "poison-s3cret-value"
# What shells, CI systems and container platforms set for their own use.
BARE = ["API_KEY", "MODEL", "HOST", "PORT", "PROVIDER", "BASE_URL", "TIMEOUT", "THREADS", "COLLECTION", "DATA_DIR"]
BARE_VALUES = {"PORT": "1", "TIMEOUT": "1", "THREADS": "64"}


def poison_env(monkeypatch, tmp_path) -> None:
    for name in BARE:
        value = BARE_VALUES.get(name, POISON)
        monkeypatch.setenv(name, value)
        monkeypatch.setenv(name.lower(), value)
    (tmp_path / ".env").write_text("".join(f"{n}={BARE_VALUES.get(n, POISON)}\n" for n in BARE if n != "API_KEY"))


def test_bare_names_change_nothing(monkeypatch, tmp_path):
    poison_env(monkeypatch, tmp_path)  # the test runs in tmp_path, so .env is read from there
    settings = Settings()
    clean = Settings.model_construct()  # the defaults, read from nowhere
    assert settings.llm.provider == "auto" and resolve_provider(settings.llm, data_dir=tmp_path) == "extractive"
    assert settings.llm.api_key is None and settings.llm.base_url is None
    assert settings.llm.model == Settings.model_fields["llm"].default_factory().model == "gpt-4o-mini"
    assert settings.llm.timeout == 60.0 and settings.llm.threads == max(1, min(8, os.cpu_count() or 1))
    assert settings.chroma.host is None and settings.chroma.port == 8000
    assert settings.collection == "newsdesk" and str(settings.data_dir) == "data"
    # API_KEY is documented: it is the HTTP API's key, and only that.
    assert settings.api_key.get_secret_value() == POISON
    assert clean.top_k == settings.top_k


def test_documented_names_are_read(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("OPENAI_MODEL=from-dotenv\nRAG_TOP_K=7\n")
    monkeypatch.setenv("LLM_PROVIDER", "extractive")
    monkeypatch.setenv("CHROMA_HOST", "chroma.internal")
    monkeypatch.setenv("RAG_CHROMA_PORT", "8123")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-1234567890abcd")
    settings = Settings()
    assert settings.llm.provider == "extractive" and settings.llm.model == "from-dotenv" and settings.top_k == 7
    assert (settings.chroma.host, settings.chroma.port) == ("chroma.internal", 8123)
    rows = {r.name: r for r in describe(settings, env_file=tmp_path / ".env")}
    assert rows["llm.model"].source == ".env (OPENAI_MODEL)"
    assert rows["top_k"].source == ".env (RAG_TOP_K)"
    assert rows["chroma.host"].source == "environment (CHROMA_HOST)"
    assert rows["llm.api_key"].value == "****abcd" and rows["llm.api_key"].source == "environment (OPENAI_API_KEY)"
    assert rows["reranker"].source == "default"


def test_poisoned_environment_never_reaches_a_model_server(tmp_path, openai_server):
    """A real `rag ask` through the openai provider: the HTTP API's key is never sent as the model key."""
    openai_server.reply = lambda request: "Meta paid $14.3 billion for its stake in Scale AI [1]."
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OPENAI_", "CHROMA_"))}
    env.update({n: BARE_VALUES.get(n, POISON) for n in BARE})
    env.update({"LLM_PROVIDER": "openai", "OPENAI_BASE_URL": openai_server.url, "RAG_LLM_MAX_RETRIES": "0"})
    data = tmp_path / "data"

    def rag(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "rag", "--data-dir", str(data), *args],
            capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
        )

    assert rag("ingest", "-q", str(SEEDS)).returncode == 0
    done = rag("ask", "--json", "How much did Meta pay for its stake in Scale AI?")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["provider"] == "openai:gpt-4o-mini"
    assert openai_server.chat_requests, "the model server was never asked"
    for request in openai_server.requests:
        assert POISON not in json.dumps(request.headers) and POISON not in json.dumps(request.body)
    # Chroma stayed embedded: the index is a folder under the data dir.
    assert (data / "chroma").is_dir()
    shown = rag("config", "--json")
    config = json.loads(shown.stdout)
    assert config["index"].startswith("embedded Chroma") and config["answer_provider"] == "openai"
    assert POISON not in shown.stdout  # the HTTP API key is masked too
    api_key = next(r for r in config["settings"] if r["name"] == "api_key")
    assert api_key["value"] == "****" + POISON[-4:] and api_key["source"] == "environment (API_KEY)"


@pytest.mark.parametrize("name", ["HOST", "PORT"])
def test_rag_config_names_the_source(tmp_path, name):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "OPENAI_", "CHROMA_"))}
    env.update({name: "9", "RAG_CHROMA_PORT": "8123"})
    done = subprocess.run([sys.executable, "-m", "rag", "config"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("chroma.port"))
    assert "8123" in line and "environment (RAG_CHROMA_PORT)" in line
    assert "embedded Chroma" in done.stdout
