"""Typed results shared by the library, the CLI, the UI and the API."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr


class ArticleInfo(BaseModel):
    """What a reader is shown about the article a passage or citation comes from."""

    source: str = Field(description="the article's name in the index: `<folder>/<path>` or its URL")
    title: str
    author: str | None = None
    published: date | None = None
    url: str | None = None
    site: str | None = None
    story: str | None = Field(None, description="its near-duplicate group: the source of the group's first article")

    @property
    def group(self) -> str:
        """What counts as one independent source: the story group (copies of one text), else the article."""
        return self.story or self.source

    @property
    def label(self) -> str:
        """How an answer names the article: its outlet, else its title (quoted), else its file name."""
        if self.site:
            return self.site
        stem = self.source.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        return f"“{self.title}”" if self.title and self.title != stem else self.source.rsplit("/", 1)[-1]

    @property
    def dated(self) -> str:
        """"December 12, 2025", or "undated": when the article appeared, as an answer says it."""
        return f"{self.published:%B} {self.published.day}, {self.published.year}" if self.published else "undated"

    @property
    def about(self) -> str:
        """Everything an answer may say about the article itself: title, outlet, author, date (also as digits)."""
        return "\n".join(v for v in (self.title, self.site, self.author, self.published and self.published.isoformat(), self.dated) if v)


INFO_FIELDS = {"source", "title", "author", "published", "url", "site", "story"}


def article_info(meta: dict) -> dict:
    """The ArticleInfo fields a chunk's metadata carries (older indexes have only source and title)."""
    return {k: meta[k] for k in INFO_FIELDS if meta.get(k) is not None}


class Passage(ArticleInfo):
    """A retrieved chunk: `text` is `article[start:end]` of the cleaned article."""

    n: int = Field(0, description="1-based rank in the result list; [n] in answers")
    chunk_id: str
    text: str
    start: int
    end: int
    score: float = Field(description="fused relevance score (higher is better)")
    dense_score: float | None = Field(None, description="cosine similarity, when dense retrieval found it")
    bm25_score: float | None = None
    rerank_score: float | None = Field(None, description="second-stage score (see rag/rerank.py), when reranked")
    also_reported_by: list[ArticleInfo] = Field(
        default_factory=list, description="near-duplicate copies (same story group) whose same passage was left out"
    )

    def public(self) -> dict:
        return self.model_dump(mode="json", include={"n", "text", "score", "start", "end", "also_reported_by", *INFO_FIELDS})


class Citation(ArticleInfo):
    """[n] in the answer: the passage it points at and the quoted span."""

    n: int
    start: int = Field(description="char offset of the quote in the cleaned article")
    end: int
    quote: str
    chunk_id: str = ""
    also_reported_by: list[ArticleInfo] = Field(default_factory=list, description="near-duplicate copies of the cited article")

    def public(self) -> dict:
        return self.model_dump(mode="json", include={"n", "start", "end", "quote", "also_reported_by", *INFO_FIELDS})


class Highlight(ArticleInfo):
    """Evidence shown the moment retrieval is done: a retrieved passage's best sentence, verbatim."""

    n: int = Field(description="the passage's [n]")
    quote: str
    start: int = Field(description="char offset of the quote in the cleaned article")
    end: int

    def public(self) -> dict:
        return self.model_dump(mode="json", include={"n", "start", "end", "quote", *INFO_FIELDS})


class Timings(BaseModel):
    retrieve_ms: float = 0.0
    generate_ms: float = 0.0
    total_ms: float = 0.0


class Answer(BaseModel):
    question: str
    answer: str
    abstained: bool
    citations: list[Citation] = Field(default_factory=list)
    passages: list[Passage] = Field(default_factory=list, description="all retrieved contexts")
    provider: str
    timings: Timings = Field(default_factory=Timings)
    standalone_question: str | None = Field(None, description="the question after condensing a follow-up")
    warnings: list[str] = Field(default_factory=list, description="e.g. sentences whose citation had to be repaired")
    reason: str | None = Field(None, description="why the answer abstained (None when it did not)")
    citation_validity: float | None = Field(
        None, description="share of the generated [n] markers that existed and supported their sentence"
    )

    def public(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "reason": self.reason,
            "citations": [c.public() for c in self.citations],
            "passages": [p.public() for p in self.passages],
            "provider": self.provider,
            "timings": self.timings.model_dump(),
        }


class SearchResult(BaseModel):
    question: str
    passages: list[Passage]
    retrieve_ms: float = 0.0
    # The question's `retrieval.evidence.Evidence`, handed on to the answerer (not part of the result's data).
    _evidence: Any = PrivateAttr(None)

    @classmethod
    def of(cls, question: str, passages: list[Passage], evidence: Any, started: float) -> SearchResult:
        result = cls(question=question, passages=passages, retrieve_ms=(time.perf_counter() - started) * 1000)
        result._evidence = evidence
        return result

    @property
    def evidence(self) -> Any:
        return self._evidence

    def public(self) -> dict:
        return {"question": self.question, "passages": [p.public() for p in self.passages]}


class Article(BaseModel):
    """One indexed article as the registry records it."""

    source: str
    title: str
    author: str | None = None
    path: str = Field(description="absolute path the article was read from, or its URL")
    content_hash: str
    chunks: int
    chars: int
    ingested_at: datetime
    published: date | None = Field(None, description="publication date, when the page, feed or text says it")
    url: str | None = Field(None, description="canonical URL of a web article (or the one a saved page names)")
    site: str | None = None
    story: str | None = Field(None, description="near-duplicate group: the source of its first article (see ingest/stories.py)")
    signature: str | None = Field(None, description="MinHash of its word shingles, base64 (see ingest/stories.py)")
    # Web articles: the URL fetched (a feed's link) and the validators for the next conditional request.
    fetched_from: str | None = None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def outlet(self) -> str:
        """How a listing names the article beside others: its site, else its source."""
        return self.site or self.source

    def public(self, also: Sequence[Article] = ()) -> dict:
        """What listings show (the signature is the index's business), with the story's other articles."""
        return {**self.model_dump(mode="json", exclude={"signature"}), "also_published_by": [a.source for a in also]}


def also_published_by(articles: Sequence[Article]) -> dict[str, list[Article]]:
    """For each article of a story group of several (near-duplicate copies): the group's other articles."""
    groups: dict[str, list[Article]] = {}
    for a in articles:
        groups.setdefault(a.story or a.source, []).append(a)
    return {a.source: [b for b in g if b is not a] for g in groups.values() if len(g) > 1 for a in g}


class FileOutcome(BaseModel):
    path: str
    source: str | None = None
    status: Literal["added", "updated", "unchanged", "skipped", "duplicate", "removed", "error"]
    chunks: int = 0
    reason: str | None = None


class IngestReport(BaseModel):
    files: list[FileOutcome] = Field(default_factory=list)
    chunks_embedded: int = 0
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def failed(self) -> bool:
        return any(f.status in ("skipped", "error") for f in self.files)
