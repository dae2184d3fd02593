"""Web sources: article pages and the RSS/Atom feeds that list them, turned into articles to index.

A page's identity is its canonical URL (the page's own `<link rel="canonical">` when it stays on
the same site, else the fetched URL normalised by courlan, tracking parameters dropped), so the same
story reached from a feed link with `?utm_source=rss` and typed by hand is one article. Articles
already indexed are fetched conditionally with the validators recorded for them (ETag,
Last-Modified): an unchanged page answers 304 and costs nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from rag.core import dates
from rag.core.errors import DocumentError
from rag.core.models import Article, FileOutcome
from rag.ingest.fetch import Fetcher, FetchError, Page, Request
from rag.ingest.readers import RawArticle, read_html


@dataclass
class WebArticle:
    """A fetched page, extracted; `link` is the URL it was fetched by, `url` its canonical URL."""

    link: str
    url: str
    raw: RawArticle
    etag: str | None
    last_modified: str | None


@dataclass
class FeedEntry:
    link: str
    title: str | None = None
    author: str | None = None
    published: object = None


def normalise(url: str) -> str:
    """The URL without its fragment and tracking parameters (courlan), or as given if courlan refuses it."""
    import courlan

    url = url.strip().split("#", 1)[0]
    return courlan.normalize_url(url, strict=True) or url


def canonical(page_url: str, declared: str | None) -> str:
    if declared and urlsplit(declared).netloc.lower() == urlsplit(page_url).netloc.lower():
        return normalise(declared)
    return normalise(page_url)


def parse_feed(body: bytes, base: str) -> list[FeedEntry]:
    import feedparser

    parsed = feedparser.parse(body, response_headers={"content-location": base})
    if parsed.bozo and not parsed.entries:
        raise DocumentError(f"not a readable feed ({parsed.get('bozo_exception', 'unknown error')})")
    entries = []
    for e in parsed.entries:
        if not e.get("link"):
            continue
        stamp = e.get("published_parsed") or e.get("updated_parsed")
        entries.append(
            FeedEntry(
                link=e["link"],
                title=e.get("title"),
                author=e.get("author"),
                published=dates.iso("%04d-%02d-%02d" % tuple(stamp[:3])) if stamp else None,
            )
        )
    return entries


class WebReader:
    """Expands URLs (pages and feeds) into `WebArticle`s to index, or per-URL outcomes."""

    def __init__(self, fetcher: Fetcher, known: Sequence[Article]):
        self.fetcher = fetcher
        self.known: dict[str, Article] = {}
        for a in known:
            for key in (a.url, a.fetched_from):
                if key:
                    self.known[key] = a

    def _request(self, link: str) -> Request:
        article = self.known.get(link)
        return Request(link, article.etag, article.last_modified) if article else Request(link)

    def read(self, urls: Iterable[str]) -> Iterator[WebArticle | FileOutcome]:
        for given in urls:
            link = normalise(given)
            try:
                page = self.fetcher.get(self._request(link))
            except FetchError as exc:
                yield FileOutcome(path=given, status="skipped", reason=str(exc))
                continue
            if page.is_feed:
                yield from self._feed(given, page)
            else:
                yield self._article(page, None)

    def _feed(self, given: str, page: Page) -> Iterator[WebArticle | FileOutcome]:
        try:
            entries = parse_feed(page.body, page.final_url)
        except DocumentError as exc:
            yield FileOutcome(path=given, status="skipped", reason=str(exc))
            return
        by_link = {normalise(e.link): e for e in entries}
        for req, got in self.fetcher.get_all(self._request(link) for link in by_link):
            if isinstance(got, FetchError):
                yield FileOutcome(path=req.url, status="skipped", reason=str(got))
            else:
                yield self._article(got, by_link[req.url])

    def _article(self, page: Page, entry: FeedEntry | None) -> WebArticle | FileOutcome:
        known = self.known.get(page.url)
        if page.not_modified:
            return FileOutcome(path=page.url, source=known.source if known else None, status="unchanged")
        try:
            raw = read_html(page.body, page.final_url)
        except DocumentError as exc:
            return FileOutcome(path=page.url, status="skipped", reason=str(exc))
        if entry:
            # The page's own metadata wins; the feed fills what the page does not say.
            raw.title = raw.title or entry.title
            raw.author = raw.author or entry.author
            raw.published = raw.published or entry.published
        url = known.url if known and known.url else canonical(page.final_url, raw.url)
        raw.url = url
        return WebArticle(page.url, url, raw, page.etag, page.last_modified)
