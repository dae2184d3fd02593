"""One way to talk to an OpenAI-compatible server: the client factory and the retry policy that chat,
embeddings and the reranker server share.

The client's own retries are off (`max_retries=0`): `retrying` retries transient failures (connection
errors, timeouts, 408, 429 unless the account is out of quota, 5xx) with exponential backoff and
jitter, honours a short Retry-After, and hands the last error to the caller to word for its user.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

import openai

log = logging.getLogger(__name__)

OPENAI_URL = "https://api.openai.com/v1"
# A Retry-After longer than this is not worth blocking a user's question on.
MAX_RETRY_AFTER_S = 30.0

T = TypeVar("T")


def client(base_url: str | None, key: str, timeout: float) -> openai.OpenAI:
    return openai.OpenAI(
        # Local servers ignore the key, but the client insists on one.
        api_key=key or "not-needed",
        # Explicit so the client never falls back to reading the environment itself.
        base_url=base_url or OPENAI_URL,
        timeout=timeout,
        max_retries=0,  # `retrying` does it, to control backoff and the final message
    )


def retrying(
    call: Callable[[], T],
    retries: int,
    on_error: Callable[[openai.APIError, int], Exception],
    backoff_s: float = 0.5,
    what: str = "request",
) -> T:
    """`call()`, tried again on transient failures up to `retries` times; the last failure becomes
    `on_error(err, attempts)` (the caller's own exception type and wording)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except openai.APIError as err:
            if attempt > retries or not transient(err):
                raise on_error(err, attempt) from err
            delay = _retry_after(err)
            if delay is None:
                delay = backoff_s * 2 ** (attempt - 1) + random.uniform(0, backoff_s)
            log.warning("%s failed (%s); retry %d/%d in %.1f s", what, _short(err), attempt, retries, delay)
            time.sleep(delay)


def transient(err: openai.APIError) -> bool:
    if isinstance(err, openai.APIConnectionError):  # includes timeouts
        return True
    if not isinstance(err, openai.APIStatusError):
        return False
    if err.status_code == 429:
        return err.code != "insufficient_quota"  # retrying an empty account never helps
    return err.status_code == 408 or err.status_code >= 500


def scrub(text: str, key: str) -> str:
    """`text` without `key`: servers sometimes echo the request back; a key must never reach a message or a log."""
    return text.replace(key, "***") if key else text


def error_detail(err: openai.APIError) -> str:
    """The server's own words for an error: its JSON error message, else the client's summary."""
    body = err.body if isinstance(err.body, dict) else {}
    return body["message"] if isinstance(body.get("message"), str) else err.message


def _retry_after(err: openai.APIError) -> float | None:
    if not isinstance(err, openai.APIStatusError):
        return None
    try:
        return min(max(float(err.response.headers.get("retry-after", "")), 0.0), MAX_RETRY_AFTER_S)
    except ValueError:  # absent, or an HTTP date (rare; backoff is close enough)
        return None


def _short(err: openai.APIError) -> str:
    return f"HTTP {err.status_code}" if isinstance(err, openai.APIStatusError) else type(err).__name__
