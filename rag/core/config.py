"""One typed Settings object, read from the environment and `.env`.

Only documented names are read: every variable prefixed `RAG_` (e.g. `RAG_DATA_DIR`,
`RAG_LLM_MODEL`) and the few names other tools already use, listed in `.env.example`:
`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_MODEL`, `LLM_PROVIDER`, `CHROMA_HOST`,
`CHROMA_PORT`, `LOCAL_MODEL_PATH`, and `API_KEY` (the HTTP API's key, nothing else).
Bare names a shell or container platform sets for its own use (`MODEL`, `HOST`, `PORT`,
`PROVIDER`, `BASE_URL`) change nothing. Build it once (`Settings()`) and pass it down;
modules never read the environment themselves. `rag config` shows where each value came from.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from rag.core.errors import ConfigError

# In place of a component given by the caller: the one the settings choose (`Assistant(llm=...)`).
FROM_SETTINGS = object()


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


def _config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=prefix, env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True
    )


# Retrieval modes, in the order `rag eval --compare` shows them.
RetrievalMode = Literal["dense", "bm25", "hybrid"]
MODES: tuple[str, ...] = get_args(RetrievalMode)


class ChromaSettings(BaseSettings):
    """Embedded `PersistentClient` under the data dir unless `host` is set."""

    model_config = _config("RAG_CHROMA_")

    host: str | None = Field(None, validation_alias=_env("RAG_CHROMA_HOST", "CHROMA_HOST"))
    port: int = Field(8000, validation_alias=_env("RAG_CHROMA_PORT", "CHROMA_PORT"))
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
        "auto", validation_alias=_env("RAG_LLM_PROVIDER", "LLM_PROVIDER")
    )
    api_key: SecretStr | None = Field(
        None, validation_alias=_env("RAG_LLM_API_KEY", "OPENAI_API_KEY")
    )
    base_url: str | None = Field(
        None, validation_alias=_env("RAG_LLM_BASE_URL", "OPENAI_BASE_URL")
    )
    model: str = Field("gpt-4o-mini", validation_alias=_env("RAG_LLM_MODEL", "OPENAI_MODEL"))
    temperature: float = 0.0
    max_tokens: int = Field(512, ge=16)
    timeout: float = Field(60.0, gt=0, description="seconds per request")
    max_retries: int = Field(3, ge=0)
    # provider=local: any GGUF; empty means the assembled Qwen2.5 model in the data dir.
    local_model_path: Path | None = Field(
        None, validation_alias=_env("RAG_LLM_LOCAL_MODEL_PATH", "LOCAL_MODEL_PATH")
    )
    # Reading the prompt is most of a local answer's wait, and it scales with cores: all of them (up to 8).
    threads: int = Field(default_factory=lambda: max(1, min(8, os.cpu_count() or 1)), ge=1)
    context_window: int = Field(4096, ge=512)
    # What the model reads: "evidence" (each passage's best sentences, a few hundred tokens: fast on a
    # CPU) or "passages" (the passages whole); "auto": evidence for the in-process model, passages for a
    # server. Measured on the dev set: README, "Local model".
    prompt: Literal["auto", "evidence", "passages"] = "auto"
    # provider=local: tokens drafted by prompt lookup (llama-cpp-python's LlamaPromptLookupDecoding) for the
    # verbatim quote a JSON answer starts with; 0 turns it off. Measured: README, "Local model".
    prompt_lookup: int = Field(0, ge=0)


class RerankSettings(BaseSettings):
    """`RAG_RERANKER=server`: a cross-encoder served by an engine that speaks the `/rerank` API (vLLM,
    llama.cpp's `llama-server --reranking`, Infinity, Cohere, Jina); see rag/retrieval/rerank_server.py."""

    model_config = _config("RAG_RERANK_")

    # The server's base URL, ending in its /v1 path (the client POSTs to {url}/rerank).
    url: str | None = None
    model: str = "BAAI/bge-reranker-v2-m3"
    api_key: SecretStr | None = None
    timeout: float = Field(10.0, gt=0, description="seconds per request")
    max_retries: int = Field(2, ge=0)

    def server_url(self) -> str:
        """The URL to reach; without one, a ConfigError that says what to set."""
        if not self.url:
            raise ConfigError(
                "RAG_RERANKER=server needs RAG_RERANK_URL: the /v1 base URL of a reranking server "
                "(e.g. vLLM serving BAAI/bge-reranker-v2-m3, or llama.cpp's llama-server --reranking)."
            )
        return self.url.rstrip("/")


class FetchSettings(BaseSettings):
    """How `rag ingest URL` and `rag watch FEED` fetch pages (see rag/fetch.py)."""

    model_config = _config("RAG_FETCH_")

    # Seconds to connect and between bytes received.
    timeout: float = Field(20.0, gt=0)
    max_mb: float = Field(10.0, gt=0)
    max_redirects: int = Field(5, ge=0, le=30)
    # Requests in flight at once in all, and to one host.
    workers: int = Field(8, ge=1, le=64)
    per_host: int = Field(2, ge=1, le=16)
    user_agent: str = "newsdesk/0.1 (news question answering; +https://pypi.org/project/newsdesk/)"


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
    retrieval_mode: RetrievalMode = "hybrid"
    # Second stage over the best `rerank_candidates` fused chunks (see rag/rerank.py); "server" is a
    # cross-encoder behind a /rerank endpoint (`rerank` below).
    reranker: Literal["none", "terms", "window", "server"] = "window"
    rerank_candidates: int = Field(30, ge=1, le=200)
    # Named entities for the extractive reader's answer types (rag/answering/entities.py); "none" reads without.
    entity_tagger: Literal["spacy", "none"] = "spacy"
    max_file_mb: float = Field(20.0, gt=0)
    max_question_chars: int = Field(4000, ge=10)
    # The HTTP API's key (`rag api`); never sent anywhere, never used for a model server.
    api_key: SecretStr | None = Field(None, validation_alias=_env("RAG_API_KEY", "API_KEY"))
    # Seconds a second writer waits for the embedded index's write lock before giving up.
    write_lock_timeout: float = Field(60.0, ge=0)
    # Web page login: "user:password[,user2:password2]", or "none" to serve beyond loopback without one.
    ui_auth: SecretStr | None = None
    # Host names the API and the page answer to (comma-separated); default: loopback names when bound to loopback.
    trusted_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Origins allowed to call the API from a browser (comma-separated); default: none (CORS closed).
    api_cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Largest request body the API reads: JSON routes, and file uploads to /api/documents.
    api_max_body_bytes: int = Field(1_048_576, ge=1024)
    api_max_upload_bytes: int = Field(50_000_000, ge=1024)

    @field_validator("trusted_hosts", "api_cors_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value

    chroma: ChromaSettings = Field(default_factory=ChromaSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    rerank: RerankSettings = Field(default_factory=RerankSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"


class SettingSource(BaseModel):
    """One effective setting, for `rag config`: its value (secrets masked) and where it came from."""

    name: str
    value: str | int | float | bool | None
    source: str = Field(description="default, .env (NAME), environment (NAME) or argument")


def _env_names(model: type[BaseSettings], field: str) -> list[str]:
    info = model.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(a) for a in alias.choices]
    return [f"{model.model_config.get('env_prefix', '')}{field}".upper()]


def _shown(value: Any) -> str | int | float | bool | None:
    if isinstance(value, SecretStr):
        secret = value.get_secret_value()
        return "****" + secret[-4:] if len(secret) >= 12 else "****"
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def describe(settings: Settings, environ: dict[str, str] | None = None, env_file: Path = Path(".env")) -> list[SettingSource]:
    """Every effective setting with where its value came from; secrets masked."""
    from dotenv import dotenv_values

    environ = {k.upper(): v for k, v in (os.environ if environ is None else environ).items() if v}
    dotenv = {k.upper(): v for k, v in dotenv_values(env_file).items() if v} if env_file.is_file() else {}
    rows = []
    groups = [("", settings)] + [(f"{name}.", getattr(settings, name)) for name in ("chroma", "embedding", "llm", "rerank", "fetch")]
    for prefix, obj in groups:
        for field, info in type(obj).model_fields.items():
            if isinstance(getattr(obj, field), BaseSettings):
                continue
            names = _env_names(type(obj), field)
            value = getattr(obj, field)
            source = next((f"environment ({n})" for n in names if n in environ), None)
            source = source or next((f".env ({n})" for n in names if n in dotenv), None)
            if source is None:
                source = "default" if value == info.get_default(call_default_factory=True) else "argument"
            rows.append(SettingSource(name=prefix + field, value=_shown(value), source=source))
    return rows
