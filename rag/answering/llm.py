"""Model clients: what each declares it can do, and which provider the settings choose.

The clients are an OpenAI-compatible server's (`openai_chat`) and the in-process GGUF model
(`local_llama`); `answerer.build_llm(settings)` picks one. Every failure surfaces as `LLMError`
with a message the user can act on.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar, Literal, Protocol

from rag.core.config import LLMSettings, Settings

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": ...}
Provider = Literal["openai", "local", "extractive"]

LOCAL_MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


class LLM(Protocol):
    """A model client. What it can do is declared, never guessed from its name."""

    name: str
    can_stream: ClassVar[bool]
    # `stream(..., json_schema=...)` yields JSON that follows the schema (a grammar, not a request).
    supports_schema: ClassVar[bool]
    # What the model reads best: "evidence" (each passage's best sentences) or "passages" (whole).
    prompt_style: ClassVar[Literal["evidence", "passages"]]
    # The client keeps its last prompt's evaluated state (llama.cpp in process), so a prompt that begins the same
    # way reads only the rest; such a client has `prime(messages)`, which reads a prompt's beginning ahead.
    # A server caches prompts its own way.
    keeps_prefix: ClassVar[bool]

    def complete(
        self, messages: list[Message], *, json_schema: dict | None = None, max_tokens: int | None = None
    ) -> str: ...

    def stream(
        self, messages: list[Message], *, max_tokens: int | None = None, json_schema: dict | None = None
    ) -> Iterator[str]: ...


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
