"""Chat completions from any OpenAI-compatible server through the `openai` client."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import TypeVar

import httpx
import openai

from rag.answering.llm import Message
from rag.core import remote
from rag.core.config import LLMSettings
from rag.core.errors import LLMError

log = logging.getLogger(__name__)

T = TypeVar("T")


class _FormatRejected(Exception):
    """The server does not support `response_format` (raised past the retry loop)."""


class OpenAIChat:
    """Chat completions against any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp, LM Studio)."""

    can_stream = True
    # A server may ignore or reject `response_format` (it is tried, and remembered when refused), so
    # answers are not built on a schema-constrained stream.
    supports_schema = False
    keeps_prefix = False
    # Served models read whole passages well.
    prompt_style = "passages"

    def __init__(self, settings: LLMSettings, *, backoff_s: float = 0.5):
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        if not key and not settings.base_url:
            raise LLMError("provider=openai needs an API key or a server: set OPENAI_API_KEY or OPENAI_BASE_URL.")
        self.name = f"openai:{settings.model}"
        self._settings = settings
        self._key = key
        self._url = settings.base_url or remote.OPENAI_URL
        self._backoff_s = backoff_s
        # Servers without structured output reject response_format; remember it to save a round trip.
        self._schema_supported = True
        self._client = remote.client(self._url, key, settings.timeout)

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
        return remote.retrying(call, self._settings.max_retries, self._error, self._backoff_s, what="LLM request")

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
        return self._scrub(remote.error_detail(err))[:300]

    def _scrub(self, text: str) -> str:
        return remote.scrub(text, self._key)


def _wrapped(err: httpx.TransportError) -> openai.APIConnectionError:
    """Older openai releases (2.0 and before) let transport errors escape from a stream unwrapped."""
    if isinstance(err, httpx.TimeoutException):
        return openai.APITimeoutError(request=err.request)
    return openai.APIConnectionError(request=err.request)
