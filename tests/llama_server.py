"""llama-cpp-python's OpenAI-compatible server (`python -m llama_cpp.server`) on loopback, for the
`real_llm` tests and bench/bench_answers.py: a real model server, not a replay of canned replies."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from rag.answering.llm import LOCAL_MODEL_FILE
from tests.chroma_server import free_port, stop_process

REPO = Path(__file__).resolve().parents[1]
# Read at import: the autouse fixture in conftest clears RAG_* variables before each test runs.
_MODEL_ENV = os.environ.get("RAG_TEST_LOCAL_MODEL")
# The GGUF the model tests use: RAG_TEST_LOCAL_MODEL, else `rag model install`'s place under data/.
LOCAL_GGUF = Path(_MODEL_ENV).expanduser().resolve() if _MODEL_ENV else REPO / "data" / "models" / LOCAL_MODEL_FILE


def missing(model: Path | None) -> str | None:
    """Why the real server cannot run here (one line), or None when it can."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (pip install -e '.[local]' 'llama-cpp-python[server]', README: Local model)"
    if importlib.util.find_spec("sse_starlette") is None or importlib.util.find_spec("starlette_context") is None:
        return "llama-cpp-python's server extra is not installed (pip install 'llama-cpp-python[server]')"
    if model is None or not Path(model).is_file():
        return f"no GGUF model at {model} (rag model install, or LOCAL_MODEL_PATH)"
    return None


class LlamaServer:
    """`python -m llama_cpp.server --model GGUF` on a free loopback port; start() waits for /v1/models."""

    def __init__(self, model: Path, threads: int = 2, context: int = 4096, log: Path | None = None):
        self.model = Path(model)
        self.port = free_port()
        self.threads = threads
        self.context = context
        self.log = log
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 180.0) -> LlamaServer:
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model), "--host", "127.0.0.1",
             "--port", str(self.port), "--n_ctx", str(self.context), "--n_threads", str(self.threads),
             "--model_alias", "local-gguf"],
            stdout=out, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/models", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError("llama_cpp.server did not answer in time")

    def stop(self) -> None:
        stop_process(self.proc)

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
