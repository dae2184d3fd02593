"""A GGUF model run in-process by llama-cpp-python."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.answering.llm import Message
from rag.core.config import LLMSettings
from rag.core.errors import LLMError


class LocalLlama:
    """A GGUF model run in-process by llama-cpp-python (the optional `[local]` extra)."""

    can_stream = True
    # llama.cpp turns a JSON schema into a grammar: the output follows it by construction, streamed too.
    supports_schema = True
    # A 1.5B model answers better from each passage's best sentences than from whole passages.
    prompt_style = "evidence"
    # llama-cpp-python evaluates only what follows the longest prefix a prompt shares with the last one.
    keeps_prefix = True

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
        draft = None
        if settings.prompt_lookup:
            from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

            draft = LlamaPromptLookupDecoding(num_pred_tokens=settings.prompt_lookup)
        try:
            self._llama = Llama(
                model_path=str(model_path),
                n_ctx=settings.context_window,
                n_threads=settings.threads,
                # Without this, prompt reading (most of the time) takes every core whatever `threads` says.
                n_threads_batch=settings.threads,
                draft_model=draft,
                # Drafted tokens are verified against the logits of every position, which llama.cpp then keeps.
                **({"logits_all": True} if draft else {}),
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

    def prime(self, messages: list[Message]) -> None:
        """Reads `messages` now, so the next prompt that begins with them reads only the rest."""
        with self._lock, _local_errors(self._settings.context_window):
            self._llama.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0)

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
