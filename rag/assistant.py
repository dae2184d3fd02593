"""`Assistant`: the one Python API the CLI, the UI, the HTTP API and evaluation use."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from llama_index.core.embeddings import BaseEmbedding

from .config import Settings
from .errors import RagError
from .embeddings import TokenCounter, build_embedder, embedder_id
from .ingest import Ingestor
from .models import Article, FileOutcome, IngestReport, SearchResult
from .retrieve import Retriever
from .store import Store


class Assistant:
    def __init__(self, settings: Settings, embedder: BaseEmbedding | None = None, store: Store | None = None):
        self.settings = settings
        self.embedder = embedder or build_embedder(settings)
        self.store = store or Store(settings, embedder_id(self.embedder))
        self.retriever = Retriever(settings, self.store, self.embedder)
        self._ingestor: Ingestor | None = None

    @classmethod
    def from_env(cls) -> Assistant:
        return cls(Settings())

    @property
    def ingestor(self) -> Ingestor:
        if self._ingestor is None:
            counter = TokenCounter() if self.settings.embedding.provider == "local" else _approx_tokens
            self._ingestor = Ingestor(self.settings, self.store, self.embedder, counter)
        return self._ingestor

    def ingest(
        self,
        paths: Iterable[str | Path],
        prune: bool = False,
        progress: bool = False,
        on_file: Callable[[FileOutcome], None] | None = None,
    ) -> IngestReport:
        return self.ingestor.run([Path(p) for p in paths], prune=prune, progress=progress, on_file=on_file)

    def search(
        self, question: str, top_k: int | None = None, sources: Sequence[str] | None = None, mode: str | None = None
    ) -> SearchResult:
        from .answer import check_question

        return self.retriever.search(check_question(question, self.settings), top_k, sources, mode)

    def articles(self) -> list[Article]:
        return self.store.articles()

    def article_text(self, source: str) -> str:
        """The cleaned article text that passage offsets point into."""
        text = self.store.article_text(source)
        if text is None:
            raise RagError(f"No indexed article named '{source}'. `rag sources` lists them.")
        return text

    def remove(self, source: str) -> bool:
        if not any(a.source == source for a in self.articles()):
            return False
        self.store.remove(source)
        return True


def _approx_tokens(text: str) -> list[str]:
    # Remote embedders tokenise differently; ~1.3 tokens per word is close enough for sizing chunks.
    words = text.split()
    return words + words[: len(words) // 3]
