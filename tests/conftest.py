"""Shared fixtures: isolated settings, one embedder per session, a real Chroma server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
DEV_SET = REPO / "tests" / "data" / "seed_dev.jsonl"

os.environ["ANONYMIZED_TELEMETRY"] = "False"

_ENV_PREFIXES = ("RAG_", "OPENAI_", "CHROMA_")
_ENV_NAMES = {"LLM_PROVIDER", "LOCAL_MODEL_PATH", "API_KEY"}


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No test reads the developer's `.env` or RAG_* variables."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES) or name in _ENV_NAMES:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def embedder():
    from rag.embeddings import MiniLMEmbedding

    return MiniLMEmbedding()


class ChromaServer:
    """`chroma run` on loopback: the same binary users run in server mode."""

    def __init__(self, path: Path):
        self.path = path
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        chroma = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
        log = open(self.path.parent / f"chroma-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [chroma, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("chroma run did not answer its heartbeat in time")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


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
    from rag.config import ChromaSettings, LLMSettings, Settings

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
