"""The language-model layer: an OpenAI-compatible server or an in-process GGUF model.

`build_llm(settings)` picks the provider; it returns None for the extractive
provider, which answers without a model. Every failure surfaces as `LLMError`
with a message the user can act on.
"""

from __future__ import annotations

import importlib.util
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, Protocol, TypeVar

import httpx
import openai

from rag.core.config import LLMSettings, Settings
from rag.core.errors import LLMError

log = logging.getLogger(__name__)

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": ...}
Provider = Literal["openai", "local", "extractive"]

LOCAL_MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
OPENAI_URL = "https://api.openai.com/v1"
# A Retry-After longer than this is not worth blocking a user's question on.
MAX_RETRY_AFTER_S = 30.0

T = TypeVar("T")


class LLM(Protocol):
    name: str

    def complete(
        self, messages: list[Message], *, json_schema: dict | None = None, max_tokens: int | None = None
    ) -> str: ...

    def stream(self, messages: list[Message], *, max_tokens: int | None = None) -> Iterator[str]: ...


def default_local_model_path(settings: Settings) -> Path:
    return _default_model(settings.data_dir)


def local_model_path(settings: Settings) -> Path:
    """The GGUF file the local provider loads: LOCAL_MODEL_PATH, else the assembled default."""
    return settings.llm.local_model_path or default_local_model_path(settings)


def _default_model(data_dir: Path) -> Path:
    return data_dir / "models" / LOCAL_MODEL_FILE


def resolve_provider(settings: LLMSettings, *, data_dir: Path | None = None) -> Provider:
    """The provider to use; `auto` prefers a configured server, then a local model.

    `data_dir` locates the default local model (Settings' default when omitted).
    """
    if settings.provider != "auto":
        return settings.provider
    # Empty values count as unset: `.env` templates often carry `OPENAI_API_KEY=`.
    if (settings.api_key and settings.api_key.get_secret_value()) or settings.base_url:
        return "openai"
    model = settings.local_model_path or _default_model(data_dir or Settings.model_fields["data_dir"].default)
    if importlib.util.find_spec("llama_cpp") is not None and model.is_file():
        return "local"
    return "extractive"


def build_llm(settings: Settings) -> LLM | None:
    """The configured model, or None for the extractive provider."""
    provider = resolve_provider(settings.llm, data_dir=settings.data_dir)
    if provider == "openai":
        return OpenAIChat(settings.llm)
    if provider == "local":
        return LocalLlama(settings.llm, local_model_path(settings))
    return None


class _FormatRejected(Exception):
    """The server does not support `response_format` (raised past the retry loop)."""


class OpenAIChat:
    """Chat completions against any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp, LM Studio)."""

    def __init__(self, settings: LLMSettings, *, backoff_s: float = 0.5):
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        if not key and not settings.base_url:
            raise LLMError("provider=openai needs an API key or a server: set OPENAI_API_KEY or OPENAI_BASE_URL.")
        self.name = f"openai:{settings.model}"
        self._settings = settings
        self._key = key
        self._url = settings.base_url or OPENAI_URL
        self._backoff_s = backoff_s
        # Servers without structured output reject response_format; remember it to save a round trip.
        self._schema_supported = True
        self._client = openai.OpenAI(
            # Local servers ignore the key, but the client insists on one.
            api_key=key or "not-needed",
            # Explicit so the client never falls back to reading the environment itself.
            base_url=self._url,
            timeout=settings.timeout,
            max_retries=0,  # we retry ourselves, to control backoff and the final message
        )

    def complete(
        self, messages: list[Message], *, json_schema: dict | None = None, max_tokens: int | None = None
    ) -> str:
        if json_schema is not None and self._schema_supported:
            try:
                return self._retrying(lambda: self._complete_once(messages, max_tokens, json_schema))
            except _FormatRejected:
                log.info("%s rejected response_format; asking for JSON through the prompt only", self._url)
                self._schema_supported = False
        return self._retrying(lambda: self._complete_once(messages, max_tokens, None))

    def stream(self, messages: list[Message], *, max_tokens: int | None = None) -> Iterator[str]:
        def first_piece() -> tuple[str | None, Iterator[str]]:
            chunks = self._create(messages, max_tokens, stream=True)
            pieces = (c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content)
            try:
                return next(pieces, None), pieces
            except httpx.TransportError as err:
                raise _wrapped(err) from err

        # Failures before the first token are retried; after it the user has seen text, so they end the answer.
        first, rest = self._retrying(first_piece)
        if first is None:
            return
        yield first
        try:
            yield from rest
        except (openai.APIError, httpx.TransportError) as err:
            raise LLMError(
                f"the language model server at {self._url} broke off the answer mid-stream "
                f"({self._scrub(str(err.__cause__ or err))}); ask again."
            ) from err

    def _complete_once(self, messages: list[Message], max_tokens: int | None, json_schema: dict | None) -> str:
        extra = {}
        if json_schema is not None:
            extra["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": json_schema},
            }
        try:
            reply = self._create(messages, max_tokens, **extra)
        except openai.BadRequestError as err:
            text = str(err).lower()
            if json_schema is not None and ("response_format" in text or "json_schema" in text):
                raise _FormatRejected from err
            raise
        return reply.choices[0].message.content or ""

    def _create(self, messages: list[Message], max_tokens: int | None, **kwargs):
        return self._client.chat.completions.create(
            model=self._settings.model,
            messages=messages,
            temperature=self._settings.temperature,
            max_tokens=max_tokens or self._settings.max_tokens,
            **kwargs,
        )

    def _retrying(self, call: Callable[[], T]) -> T:
        retries = self._settings.max_retries
        attempt = 0
        while True:
            attempt += 1
            try:
                return call()
            except openai.APIError as err:
                if attempt > retries or not _transient(err):
                    raise self._error(err, attempt) from err
                delay = _retry_after(err)
                if delay is None:
                    delay = self._backoff_s * 2 ** (attempt - 1) + random.uniform(0, self._backoff_s)
                log.warning("LLM request failed (%s); retry %d/%d in %.1f s", _short(err), attempt, retries, delay)
                time.sleep(delay)

    def _error(self, err: openai.APIError, attempts: int) -> LLMError:
        url, model = self._url, self._settings.model
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        if isinstance(err, openai.APITimeoutError):
            return LLMError(
                f"no reply from the language model server at {url} within {self._settings.timeout:g} s{tries}; "
                "the server may be overloaded, or raise RAG_LLM_TIMEOUT."
            )
        if isinstance(err, openai.APIConnectionError):
            cause = f" ({err.__cause__})" if err.__cause__ else ""
            return LLMError(f"could not reach the language model server at {url}; is it running?{cause}")
        if not isinstance(err, openai.APIStatusError):
            return LLMError(f"the language model server at {url} reported an error: {self._detail(err)}")
        status = err.status_code
        if status in (401, 403):
            return LLMError(f"the server at {url} rejected the API key (HTTP {status}); check OPENAI_API_KEY.")
        if status == 404:
            return LLMError(
                f"model '{model}' was not found at {url} (HTTP 404); check OPENAI_MODEL, "
                "and that OPENAI_BASE_URL ends in the server's /v1 path."
            )
        if status == 429 and err.code == "insufficient_quota":
            return LLMError(f"the account behind the API key has no quota left at {url}; check its billing.")
        if status == 429:
            return LLMError(
                f"the server at {url} is rate-limiting requests (HTTP 429){tries}; wait a minute and ask again."
            )
        detail = self._detail(err)
        if status >= 500:
            return LLMError(f"the language model server at {url} failed with HTTP {status}{tries}: {detail}")
        return LLMError(f"the language model server at {url} refused the request (HTTP {status}): {detail}")

    def _detail(self, err: openai.APIError) -> str:
        return self._scrub(error_detail(err))[:300]

    def _scrub(self, text: str) -> str:
        return scrub(text, self._key)


def scrub(text: str, key: str) -> str:
    """`text` without `key`: servers sometimes echo the request back; a key must never reach a message or a log."""
    return text.replace(key, "***") if key else text


def error_detail(err: openai.APIError) -> str:
    """The server's own words for an error: its JSON error message, else the client's summary."""
    body = err.body if isinstance(err.body, dict) else {}
    return body["message"] if isinstance(body.get("message"), str) else err.message


def _transient(err: openai.APIError) -> bool:
    if isinstance(err, openai.APIConnectionError):  # includes timeouts
        return True
    if not isinstance(err, openai.APIStatusError):
        return False
    if err.status_code == 429:
        return err.code != "insufficient_quota"  # retrying an empty account never helps
    return err.status_code == 408 or err.status_code >= 500


def _retry_after(err: openai.APIError) -> float | None:
    if not isinstance(err, openai.APIStatusError):
        return None
    try:
        return min(max(float(err.response.headers.get("retry-after", "")), 0.0), MAX_RETRY_AFTER_S)
    except ValueError:  # absent, or an HTTP date (rare; backoff is close enough)
        return None


def _wrapped(err: httpx.TransportError) -> openai.APIConnectionError:
    """Older openai releases (2.0 and before) let transport errors escape from a stream unwrapped."""
    if isinstance(err, httpx.TimeoutException):
        return openai.APITimeoutError(request=err.request)
    return openai.APIConnectionError(request=err.request)


def _short(err: openai.APIError) -> str:
    return f"HTTP {err.status_code}" if isinstance(err, openai.APIStatusError) else type(err).__name__


class LocalLlama:
    """A GGUF model run in-process by llama-cpp-python (the optional `[local]` extra)."""

    def __init__(self, settings: LLMSettings, model_path: Path):
        try:
            from llama_cpp import Llama
        except (ImportError, OSError, RuntimeError) as err:  # absent, or its native library failed to load
            raise LLMError(
                f"the local model needs llama-cpp-python ({err}); install it with `pip install -e .[local]`, "
                "or set OPENAI_BASE_URL / OPENAI_API_KEY to use a server instead."
            ) from err
        if not model_path.is_file():
            raise LLMError(
                f"no local model file at {model_path}; run `rag model install`, "
                "or set LOCAL_MODEL_PATH to a GGUF file."
            )
        self.name = f"local:{model_path.stem}"
        self._settings = settings
        # One context is not safe to use from two threads (the API server answers concurrently).
        self._lock = threading.Lock()
        try:
            self._llama = Llama(
                model_path=str(model_path),
                n_ctx=settings.context_window,
                n_threads=settings.threads,
                # Without this, prompt reading (most of the time) takes every core whatever `threads` says.
                n_threads_batch=settings.threads,
                verbose=False,
            )
        except (ValueError, RuntimeError) as err:
            raise LLMError(
                f"could not load the local model {model_path} ({err}); the file may be incomplete: "
                "run `rag model install` again."
            ) from err

    def complete(
        self, messages: list[Message], *, json_schema: dict | None = None, max_tokens: int | None = None
    ) -> str:
        extra = {}
        if json_schema is not None:
            # llama.cpp turns the schema into a grammar, so the output is valid JSON by construction.
            extra["response_format"] = {"type": "json_object", "schema": json_schema}
        with self._lock, _local_errors(self._settings.context_window):
            out = self._llama.create_chat_completion(messages=messages, **self._options(max_tokens), **extra)
        return out["choices"][0]["message"]["content"] or ""

    def stream(
        self, messages: list[Message], *, max_tokens: int | None = None, json_schema: dict | None = None
    ) -> Iterator[str]:
        """The reply as it is generated; with `json_schema`, JSON that follows it (a grammar, as in `complete`)."""
        extra = {"response_format": {"type": "json_object", "schema": json_schema}} if json_schema else {}
        with self._lock, _local_errors(self._settings.context_window):
            chunks = self._llama.create_chat_completion(messages=messages, stream=True, **self._options(max_tokens), **extra)
            try:
                for chunk in chunks:
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            finally:
                # A caller that stops reading (the JSON answer is complete) stops generation here.
                getattr(chunks, "close", lambda: None)()

    def _options(self, max_tokens: int | None) -> dict:
        return {"max_tokens": max_tokens or self._settings.max_tokens, "temperature": self._settings.temperature}


@contextmanager
def _local_errors(context_window: int) -> Iterator[None]:
    """Turns llama.cpp's errors (e.g. a prompt longer than the context) into LLMError."""
    try:
        yield
    except (ValueError, RuntimeError) as err:
        raise LLMError(
            f"the local model failed: {err}. If the prompt is too long for its {context_window}-token "
            "context, raise RAG_LLM_CONTEXT_WINDOW or lower RAG_TOP_K."
        ) from err
