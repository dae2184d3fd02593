"""Shared fixtures: isolated settings, one embedder per session, a real Chroma server."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

from tests.chroma_server import ChromaServer, free_port  # noqa: F401  (free_port is re-exported for the tests)

# The loopback OpenAI-compatible server's fixtures, for every test module; declared here, before any
# module imports it, so pytest rewrites its asserts.
pytest_plugins = ["tests.openai_server"]

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
DEV_SET = REPO / "tests" / "data" / "seed_dev.jsonl"

os.environ["ANONYMIZED_TELEMETRY"] = "False"

# Property-based tests: a fixed, repeatable search in CI; a fresh one locally.
settings.register_profile("ci", derandomize=True, max_examples=100, deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

_ENV_PREFIXES = ("RAG_", "OPENAI_", "CHROMA_")
_ENV_NAMES = {"LLM_PROVIDER", "LOCAL_MODEL_PATH", "API_KEY"}


def require(available: bool, what: str) -> None:
    """A missing browser or server skips a test locally (with the reason) and fails it in CI (CI=true)."""
    if available:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"missing in CI: {what}")
    pytest.skip(f"SKIPPED: {what}")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No test reads the developer's `.env` or RAG_* variables."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES) or name in _ENV_NAMES:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def embedder():
    from rag.index.embeddings import MiniLMEmbedding

    return MiniLMEmbedding()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "db")
    server.start()
    yield server
    server.stop()


_collections = iter(range(10_000))


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.chroma_server)])
def make_settings(request, tmp_path):
    """Settings factory for both Chroma modes; each call gets a fresh data dir and collection."""
    from rag.core.config import ChromaSettings, LLMSettings, Settings

    def make(**overrides) -> Settings:
        chroma = ChromaSettings()
        if request.param == "server":
            server = request.getfixturevalue("chroma_server")
            chroma = ChromaSettings(host="127.0.0.1", port=server.port)
        base = {
            "data_dir": tmp_path / f"data{next(_collections)}",
            "collection": f"test-{next(_collections)}",
            "chroma": chroma,
            "llm": LLMSettings(provider="extractive"),
        }
        return Settings(**{**base, **overrides})

    make.mode = request.param
    return make


@pytest.fixture
def seeds_copy(tmp_path) -> Path:
    dest = tmp_path / "articles"
    shutil.copytree(SEEDS, dest)
    return dest
