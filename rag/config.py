"""One typed Settings object, read from the environment and `.env`.

Every variable is prefixed `RAG_` (e.g. `RAG_DATA_DIR`); the few names other
tools already use (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_MODEL`,
`CHROMA_HOST`, `LLM_PROVIDER`, `LOCAL_MODEL_PATH`, `API_KEY`) are accepted
too. Build it once (`Settings()`) and pass it down; modules never read the
environment themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


def _config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=prefix, env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True
    )


class ChromaSettings(BaseSettings):
    """Embedded `PersistentClient` under the data dir unless `host` is set."""

    model_config = _config("RAG_CHROMA_")

    host: str | None = Field(None, validation_alias=_env("RAG_CHROMA_HOST", "CHROMA_HOST", "host"))
    port: int = Field(8000, validation_alias=_env("RAG_CHROMA_PORT", "CHROMA_PORT", "port"))
    ssl: bool = False
    # Seconds a Chroma server gets per request before we report it as down.
    timeout: float = 30.0


class EmbeddingSettings(BaseSettings):
    model_config = _config("RAG_EMBEDDING_")

    provider: Literal["local", "openai"] = "local"
    # Only for provider=openai; the local model is fixed (all-MiniLM-L6-v2 int8).
    model: str = "text-embedding-3-small"
    batch_size: int = Field(32, ge=1, le=2048)
    # onnxruntime intra-op threads; 0 lets onnxruntime decide.
    threads: int = Field(0, ge=0)


class LLMSettings(BaseSettings):
    model_config = _config("RAG_LLM_")

    provider: Literal["auto", "openai", "local", "extractive"] = Field(
        "auto", validation_alias=_env("RAG_LLM_PROVIDER", "LLM_PROVIDER", "provider")
    )
    api_key: SecretStr | None = Field(
        None, validation_alias=_env("RAG_LLM_API_KEY", "OPENAI_API_KEY", "api_key")
    )
    base_url: str | None = Field(
        None, validation_alias=_env("RAG_LLM_BASE_URL", "OPENAI_BASE_URL", "base_url")
    )
    model: str = Field("gpt-4o-mini", validation_alias=_env("RAG_LLM_MODEL", "OPENAI_MODEL", "model"))
    temperature: float = 0.0
    max_tokens: int = Field(512, ge=16)
    timeout: float = Field(60.0, gt=0, description="seconds per request")
    max_retries: int = Field(3, ge=0)
    # provider=local: any GGUF; empty means the assembled Qwen2.5 model in the data dir.
    local_model_path: Path | None = Field(
        None, validation_alias=_env("RAG_LLM_LOCAL_MODEL_PATH", "LOCAL_MODEL_PATH", "local_model_path")
    )
    threads: int = Field(1, ge=1)
    context_window: int = Field(4096, ge=512)


class Settings(BaseSettings):
    model_config = _config("RAG_")

    data_dir: Path = Path("data")
    collection: str = Field("newsdesk", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,60}[a-zA-Z0-9]$")
    # Chunk size and overlap in embedder tokens (~230 tokens is ~180-200 words).
    chunk_size: int = Field(230, ge=32, le=250)
    chunk_overlap: int = Field(30, ge=0)
    # Passages handed to the reader, at most (fewer when context_tokens is spent first).
    top_k: int = Field(5, ge=1, le=50)
    # Tokens of evidence the reader gets: the ranked chunks, completed across their edges where the
    # evidence touches one (rag/context.py); 0 = the chunks exactly as indexed.
    context_tokens: int = Field(1500, ge=0, le=32000)
    # Candidates each retriever hands to rank fusion.
    candidates: int = Field(30, ge=1, le=500)
    retrieval_mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    # Second stage over the best `rerank_candidates` fused chunks (see rag/rerank.py).
    reranker: Literal["none", "terms", "window"] = "window"
    rerank_candidates: int = Field(30, ge=1, le=200)
    max_file_mb: float = Field(20.0, gt=0)
    max_question_chars: int = Field(4000, ge=10)
    api_key: SecretStr | None = Field(None, validation_alias=_env("RAG_API_KEY", "API_KEY", "api_key"))

    chroma: ChromaSettings = Field(default_factory=ChromaSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"
