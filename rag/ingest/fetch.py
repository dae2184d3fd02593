"""Fetching pages and feeds over HTTP, politely and within limits.

httpx does the HTTP: timeouts, redirects (at most `max_redirects`), a user agent that says who we
are. On top: robots.txt is read once per site and obeyed (unless told not to; an unreadable one
forbids the site, as RFC 9309 asks), a size limit enforced while the body streams in, at most
`per_host` requests in flight to one host, and conditional requests (ETag / Last-Modified) so an
unchanged page costs one small 304 reply. Every failure is a `FetchError` whose message is the
per-URL outcome a user reads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from rag.core import tracing
from rag.core.config import FetchSettings
from rag.core.errors import DocumentError
from rag.core.text import is_url

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml")
PAGE_TYPES = ("text/html", "application/xhtml+xml")
# The name robots.txt rules address us by.
ROBOTS_AGENT = "newsdesk"


class FetchError(DocumentError):
    """A URL that could not be fetched; the message says why."""


@dataclass
class Page:
    url: str
    final_url: str
    content_type: str = ""
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False

    @property
    def is_feed(self) -> bool:
        if self.content_type in FEED_TYPES[:3]:
            return True
        head = self.body[:1024].lstrip().lower()
        return self.content_type in FEED_TYPES[3:] and any(t in head for t in (b"<rss", b"<feed", b"<rdf:rdf"))


@dataclass
class Request:
    url: str
    etag: str | None = None
    last_modified: str | None = None


class Fetcher:
    def __init__(self, settings: FetchSettings, respect_robots: bool = True):
        self.settings = settings
        self.respect_robots = respect_robots
        self.client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout),
            follow_redirects=True,
            max_redirects=settings.max_redirects,
            headers={
                "User-Agent": settings.user_agent,
                "Accept": "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,application/xml;q=0.9,*/*;q=0.1",
            },
        )
        self._robots: dict[str, RobotFileParser | str] = {}
        self._robots_lock = threading.Lock()
        self._hosts: dict[str, threading.BoundedSemaphore] = {}
        self._hosts_lock = threading.Lock()

    def close(self) -> None:
        self.client.close()

    def get(self, request: Request) -> Page:
        """The page at `request.url`, or `not_modified` when its validators still hold; FetchError otherwise."""
        with tracing.span("fetch", url=request.url) as current:
            page = self._get(request)
            current.set_attributes({"bytes": len(page.body), "not_modified": page.not_modified})
            return page

    def _get(self, request: Request) -> Page:
        url = request.url
        if not is_url(url):
            raise FetchError("only http:// and https:// URLs can be fetched")
        if self.respect_robots:
            self._check_robots(url)
        headers = {}
        if request.etag:
            headers["If-None-Match"] = request.etag
        if request.last_modified:
            headers["If-Modified-Since"] = request.last_modified
        limit = int(self.settings.max_mb * 1_000_000)
        with self._host_slot(url):
            try:
                with self.client.stream("GET", url, headers=headers) as resp:
                    final = str(resp.url)
                    if resp.status_code == 304:
                        return Page(url, final, etag=request.etag, last_modified=request.last_modified, not_modified=True)
                    if resp.status_code >= 400:
                        raise FetchError(f"HTTP {resp.status_code} {resp.reason_phrase}".strip())
                    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                    if ctype not in PAGE_TYPES + FEED_TYPES:
                        raise FetchError(f"not a web page or feed ({ctype or 'no content type'})")
                    declared = resp.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > limit:
                        raise FetchError(_too_large(int(declared), limit))
                    body = bytearray()
                    for part in resp.iter_bytes():
                        body += part
                        if len(body) > limit:
                            raise FetchError(_too_large(len(body), limit, at_least=True))
                    return Page(
                        url, final, ctype, bytes(body), resp.headers.get("etag"), resp.headers.get("last-modified")
                    )
            except httpx.TooManyRedirects as exc:
                raise FetchError(f"more than {self.settings.max_redirects} redirects (a redirect loop?)") from exc
            except httpx.TimeoutException as exc:
                raise FetchError(f"timed out (no reply within {self.settings.timeout:g}s; RAG_FETCH_TIMEOUT)") from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"could not be fetched ({type(exc).__name__}: {exc})") from exc

    def get_all(self, requests: Iterable[Request]) -> Iterator[tuple[Request, Page | FetchError]]:
        """Fetches concurrently (`workers` in all, `per_host` per host); results come in request order."""

        def one(req: Request) -> tuple[Request, Page | FetchError]:
            try:
                return req, self.get(req)
            except FetchError as exc:
                return req, exc

        with ThreadPoolExecutor(max_workers=self.settings.workers, thread_name_prefix="fetch") as pool:
            yield from pool.map(one, requests)

    def _host_slot(self, url: str) -> threading.BoundedSemaphore:
        host = urlsplit(url).netloc.lower()
        with self._hosts_lock:
            return self._hosts.setdefault(host, threading.BoundedSemaphore(self.settings.per_host))

    def _check_robots(self, url: str) -> None:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._robots_lock:
            rules = self._robots.get(origin)
            if rules is None:
                rules = self._robots[origin] = self._read_robots(origin)
        if isinstance(rules, str):
            raise FetchError(f"{rules}; use --ignore-robots to fetch it anyway")
        if not rules.can_fetch(ROBOTS_AGENT, url):
            raise FetchError(f"disallowed by {origin}/robots.txt (use --ignore-robots to fetch it anyway)")

    def _read_robots(self, origin: str) -> RobotFileParser | str:
        """The site's rules, or why the site may not be fetched (its robots.txt failed with 5xx or no reply)."""
        parser = RobotFileParser(f"{origin}/robots.txt")
        try:
            with self._host_slot(origin):
                resp = self.client.get(f"{origin}/robots.txt")
        except httpx.HTTPError as exc:
            return f"{origin} could not be reached for its robots.txt ({type(exc).__name__}: {exc})"
        if resp.status_code >= 500:
            return f"{origin}/robots.txt answered HTTP {resp.status_code}"
        # 4xx: no rules, everything allowed.
        parser.parse(resp.text.splitlines() if resp.status_code < 400 else [])
        return parser


def _too_large(size: int, limit: int, at_least: bool = False) -> str:
    return f"too large ({'over ' if at_least else ''}{size / 1e6:.1f} MB; the limit is {limit / 1e6:.1f} MB, RAG_FETCH_MAX_MB)"
