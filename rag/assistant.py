"""`Assistant`: the one Python API the CLI, the UI, the HTTP API and evaluation use."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from llama_index.core.embeddings import BaseEmbedding

from datetime import date

from rag.core import dates
from rag.index import sources
from rag.ingest import uploads
from rag.answering.answerer import Answerer, condense
from rag.core.questions import check_question
from rag.core.config import Settings
from rag.core.errors import DocumentError, InvalidQuestionError, RagError
from rag.core.text import is_url
from rag.index.embeddings import build_embedder, build_token_counter, embedder_id
from rag.ingest.pipeline import Ingestor
from rag.answering.llm import LLM, build_llm
from rag.core.models import Answer, Article, FileOutcome, IngestReport, SearchResult
from rag.retrieval.search import Retriever
from rag.index.store import Store


_FROM_SETTINGS = object()
# A date: a `date`, or its ISO text ("2025-03-14"); None for an open end.
Day = date | str | None


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
    def __init__(
        self,
        settings: Settings,
        embedder: BaseEmbedding | None = None,
        store: Store | None = None,
        llm: LLM | None | object = _FROM_SETTINGS,
    ):
        self.settings = settings
        self.embedder = embedder or build_embedder(settings)
        self.store = store or Store(settings, embedder_id(self.embedder))
        self.count_tokens = build_token_counter(settings)
        self.retriever = Retriever(settings, self.store, self.embedder, self.count_tokens)
        self.llm = build_llm(settings) if llm is _FROM_SETTINGS else llm
        self.answerer = Answerer(settings, self.llm, self.embedder)
        self._ingestor: Ingestor | None = None

    @property
    def provider(self) -> str:
        return self.answerer.provider

    @classmethod
    def from_env(cls) -> Assistant:
        return cls(Settings())

    @property
    def ingestor(self) -> Ingestor:
        if self._ingestor is None:
            self._ingestor = Ingestor(self.settings, self.store, self.embedder, self.count_tokens)
        return self._ingestor

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
        return self.ingestor.run(
            [Path(p) for p in paths if not is_url(p)],
            prune=prune,
            progress=progress,
            on_file=on_file,
            follow_links=follow_links,
            urls=[p for p in paths if is_url(p)],
            respect_robots=respect_robots,
            within=within,
        )

    def upload(
        self, files: Iterable[tuple[str, bytes]], on_file: Callable[[FileOutcome], None] | None = None
    ) -> IngestReport:
        """Saves files sent by a client under the uploads folder (`uploads.save`) and indexes them.

        A file that cannot be saved (type, size, empty) is reported as skipped under the name it was sent as.
        """
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
        scope = self._scope(sources, since, until)
        return self.retriever.search(question, top_k, scope, mode, prefer_recent=dates.wants_latest(question))

    def stream(
        self,
        question: str,
        history: Sequence[dict] | None = None,
        sources: Sequence[str] | None = None,
        top_k: int | None = None,
        mode: str | None = None,
        since: Day = None,
        until: Day = None,
    ) -> Iterator[str | Answer]:
        """Answer text as it is generated, then the final `Answer` (always last).

        `history` is OpenAI-style messages ({"role", "content"}) of the conversation so far;
        `since`/`until` (dates, inclusive) keep articles published in that range. A question about
        the latest news prefers newer articles, and the answer says when the newest one it cites appeared.
        """
        started = time.perf_counter()
        question = check_question(question, self.settings.max_question_chars)
        scope = self._scope(sources, since, until)
        if scope is not None and not scope:
            answer = self.answerer.abstain(question, _empty_scope(sources, since, until))
            yield answer.answer
            yield answer
            return
        standalone = condense(question, history, self.llm)
        found = self.retriever.search(standalone, top_k, scope, mode, prefer_recent=dates.wants_latest(standalone))
        for item in self.answerer.stream(standalone, found.passages):
            if isinstance(item, Answer):
                item.question = question
                item.standalone_question = standalone if standalone != question else None
                item.timings.retrieve_ms = found.retrieve_ms
                item.timings.total_ms = (time.perf_counter() - started) * 1000
            yield item

    def ask(
        self,
        question: str,
        history: Sequence[dict] | None = None,
        sources: Sequence[str] | None = None,
        top_k: int | None = None,
        mode: str | None = None,
        since: Day = None,
        until: Day = None,
    ) -> Answer:
        *_, answer = self.stream(question, history, sources, top_k, mode, since, until)
        return answer

    def articles(self) -> list[Article]:
        return self.store.articles()

    def _scope(self, names: Sequence[str] | None, since: Day, until: Day) -> list[str] | None:
        """The articles to search: indexed names for user-given ones (`000_x.txt` finds `seeds/000_x.txt`),
        kept to those published in [since, until]; None for all. An article of unknown date is outside any range."""
        since, until = _day(since, "since"), _day(until, "until")
        if since and until and since > until:
            raise InvalidQuestionError(f"The date range is empty: since {since} is after until {until}.")
        if not names and since is None and until is None:
            return None
        articles = self.articles()
        chosen = sources.resolve(names, (a.source for a in articles)) if names else [a.source for a in articles]
        if since or until:
            published = {a.source: a.published for a in articles}
            chosen = [
                s for s in chosen
                if published.get(s) and (since is None or published[s] >= since) and (until is None or published[s] <= until)
            ]
        return chosen

    def article_text(self, source: str) -> str:
        """The cleaned article text that passage offsets point into."""
        text = self.store.article_text(source)
        if text is None:
            raise RagError(f"No indexed article named '{source}'. `rag sources` lists them.")
        return text

    def remove(self, source: str) -> bool:
        """Drops an article from the index; a file uploaded through the UI is deleted too.

        `source` is the indexed name or its unique ending (`003_x.txt` for `seeds/003_x.txt`).
        """
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
