"""A small news site on loopback, for tests: article pages in the shapes news sites use, a feed, and failures.

Pages (all written for these tests):
- `/news/tram-line`: schema.org JSON-LD `NewsArticle`, a cookie banner, a menu, related links, comments;
- `/news/drought`: OpenGraph tags and `<meta name="author">`, a newsletter box, a footer;
- `/news/bakery`: a byline in the text and `<time datetime>`, related articles, comments;
- `/news/festival`: JSON-LD again; not in the feed until a test calls `site.publish("festival")`.
`/feed.xml` (RSS 2.0) links the published articles with `?utm_source=rss`, `/atom.xml` (Atom) plainly; `/feed50.xml` lists
50 short generated articles (`/wire/<n>`). Every page answers conditional requests (ETag,
Last-Modified) with 304. Failures: `/missing` (404), `/slow` (stalls `slow_seconds`), `/huge`
(streams `huge_bytes` with no length), `/image.png`, `/loop-a` <-> `/loop-b` (a redirect loop),
`/moved` (301 to the tram article), `/private/...` (disallowed by robots.txt).
`site.requests` records (path, request headers) of every request.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# Text found on the pages but never in an article: none of it may reach the index.
BOILERPLATE = [
    "Accept all cookies",
    "Weather Desk",
    "Crosswords",
    "Bus fares to rise in April",
    "Great news for students",
    "Subscribe to our newsletter",
    "All rights reserved",
    "Harbour bridge closed",
    "I remember queuing there",
    "More from the Valley",
]

_MENU = """<nav class="menu"><ul><li><a href="/">Front page</a></li><li><a href="/weather">Weather Desk</a></li>
<li><a href="/puzzles">Crosswords</a></li><li><a href="/politics">Politics</a></li></ul></nav>"""
_COOKIES = """<div class="cookie-banner" role="dialog"><p>We use cookies to improve your experience on our site.</p>
<button>Accept all cookies</button></div>"""
_FOOTER = """<footer><p>© 2025 Regional News Group. All rights reserved.</p><a href="/privacy">Privacy</a></footer>"""

ARTICLES = {
    "tram-line": dict(
        title="City council approves the Riverside tram line",
        author="Maria Okafor",
        published="2025-03-14",
        site="Riverside Gazette",
        shape="jsonld",
        paragraphs=[
            "The Riverside city council voted 31 to 12 on Thursday to build a 14-kilometre tram line linking the harbour to the university, ending a decade of debate over the project.",
            "The line will cost 820 million euros and is due to open in 2031, according to the council's transport committee. Construction will start next spring on the harbour section.",
            'Opponents argued that the money would be better spent on buses. "This is a monument, not a transport plan," said councillor Pieter de Vries, who voted against.',
            "Supporters said the tram would carry 60,000 passengers a day and cut car traffic in the city centre by a fifth.",
        ],
    ),
    "drought": dict(
        title="Farmers in the Lower Valley brace for a third dry summer",
        author="Tomas Lindqvist",
        published="2025-04-02",
        site="Valley Courier",
        shape="opengraph",
        paragraphs=[
            "Reservoirs in the Lower Valley stood at 38 percent of capacity at the end of March, the lowest level recorded at that time of year since 1976, the regional water board said on Tuesday.",
            "The board asked farmers to cut irrigation by a quarter from May and said it would review the restriction in July. Orchards and vineyards are expected to be hit hardest.",
            "Growers' association chair Ingrid Solberg said many members had already switched to drip irrigation but could not absorb another cut without state support.",
            "Meteorologists expect a warmer than usual summer, though spring rainfall in the mountains could still ease the shortage.",
        ],
    ),
    "bakery": dict(
        title="Century-old Hill Street bakery closes its doors",
        author="Aiko Tanaka",
        published="2025-05-20",
        site="Hillside Herald",
        shape="byline",
        paragraphs=[
            "The Hill Street bakery, which has sold rye bread and cinnamon buns on the same corner since 1921, closed on Saturday after its owners failed to find a buyer.",
            "Owner Lena Brandt, the fourth generation of her family to run the shop, said rising flour and energy prices had made the business impossible to sustain.",
            "Regular customers queued around the block for a final loaf. The building's landlord said a pharmacy would move in by the autumn.",
        ],
    ),
    "festival": dict(
        title="Harbour jazz festival moves to a three-day format",
        author="Samuel Adeyemi",
        published="2025-06-01",
        site="Riverside Gazette",
        shape="jsonld",
        paragraphs=[
            "The Riverside harbour jazz festival will run over three days instead of two this year, organisers announced on Sunday, with 48 concerts on four stages.",
            "Festival director Clara Moreau said the longer format would ease crowding after last year's event drew 90,000 visitors.",
            "Tickets go on sale on June 15, and the festival opens on August 22.",
        ],
    ),
}


def _related() -> str:
    return """<aside class="related"><h3>More from the Valley</h3><ul>
<li><a href="/a">Bus fares to rise in April</a></li><li><a href="/b">Harbour bridge closed for repairs</a></li></ul></aside>"""


def _comments() -> str:
    return """<section id="comments" class="comments"><h3>Comments (2)</h3>
<div class="comment"><span class="user">jo_87</span><p>Great news for students! Finally a proper connection to campus.</p></div>
<div class="comment"><span class="user">old_timer</span><p>I remember queuing there every Sunday morning as a child.</p></div></section>"""


def render(slug: str, base: str) -> str:
    return page(base=base, slug=slug, **ARTICLES[slug])


def page(title: str, author: str, published: str, site: str, shape: str, paragraphs: list[str], base: str, slug: str) -> str:
    """An article page in one of the shapes news sites use, wrapped in their usual furniture."""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    canonical = f'<link rel="canonical" href="{base}/news/{slug}">'
    head, top = "", ""
    if shape == "jsonld":
        ld = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": title,
            "datePublished": published + "T08:30:00Z",
            "author": {"@type": "Person", "name": author},
            "publisher": {"@type": "Organization", "name": site},
        }
        head = f'<script type="application/ld+json">{json.dumps(ld)}</script><meta property="og:site_name" content="{site}">'
        extra = _related() + _comments()
    elif shape == "opengraph":
        head = (
            f'<meta property="og:title" content="{title}"><meta property="og:site_name" content="{site}">'
            f'<meta property="og:type" content="article"><meta property="article:published_time" content="{published}T06:00:00+02:00">'
            f'<meta name="author" content="{author}">'
        )
        extra = '<div class="newsletter"><p>Subscribe to our newsletter for the morning briefing.</p></div>' + _related()
    else:
        top = f'<p class="byline">By {author}</p><p><time datetime="{published}">{published}</time></p>'
        head = f'<meta property="og:site_name" content="{site}">'
        extra = _related() + _comments()
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} | {site}</title>
{canonical}{head}</head><body>{_COOKIES}<header><a href="/">{site}</a>{_MENU}</header>
<main><article><h1>{title}</h1>{top}{body}</article>{extra}</main>{_FOOTER}</body></html>"""


def wire(n: int) -> str:
    return f"""<!doctype html><html><head><title>Wire story {n}</title>
<meta property="article:published_time" content="2025-02-{1 + n % 28:02d}"></head><body>{_MENU}<article><h1>Wire story {n}</h1>
<p>Wire report number {n}: the port authority of district {n} registered {n * 37 + 11} container ships in the last quarter, a change of {n % 9 + 1} percent on the year.</p>
<p>Officials in district {n} said the figure reflected new shipping routes opened during the winter and a deeper channel at the main quay.</p>
</article>{_FOOTER}</body></html>"""


def _rss(items: list[tuple[str, str, str, str]], base: str) -> str:
    entries = "".join(
        f"<item><title>{t}</title><link>{base}{path}?utm_source=rss&amp;utm_medium=feed</link>"
        f"<pubDate>{date}</pubDate><author>{author}</author><guid>{base}{path}</guid></item>"
        for t, path, date, author in items
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Test news</title>
<link>{base}/</link><description>Articles for tests</description>{entries}</channel></rss>"""


def _rfc822(iso: str) -> str:
    return time.strftime("%a, %d %b %Y 08:30:00 +0000", time.strptime(iso, "%Y-%m-%d"))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients that give up (timeouts, size limits) reset their connections on purpose


class NewsSite:
    def __init__(self):
        self.published = ["tram-line", "drought", "bakery"]
        self.slow_seconds = 3.0
        self.huge_bytes = 3_000_000
        self.requests: list[tuple[str, dict[str, str]]] = []
        # `/wire/` pages: seconds each reply takes, and the most of them ever in flight at once.
        self.wire_delay = 0.0
        self.wire_peak = 0
        self._wire_now = 0
        self._wire_lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> NewsSite:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return self.base + path

    def publish(self, slug: str) -> None:
        self.published.append(slug)

    def hits(self, prefix: str) -> list[tuple[str, dict[str, str]]]:
        return [r for r in self.requests if r[0].startswith(prefix)]

    def feed(self) -> str:
        items = [(ARTICLES[s]["title"], f"/news/{s}", _rfc822(ARTICLES[s]["published"]), ARTICLES[s]["author"]) for s in self.published]
        return _rss(items, self.base)

    def atom(self) -> str:
        entries = "".join(
            f'<entry><title>{ARTICLES[s]["title"]}</title><link href="{self.base}/news/{s}"/>'
            f'<id>{self.base}/news/{s}</id><updated>{ARTICLES[s]["published"]}T08:30:00Z</updated>'
            f'<author><name>{ARTICLES[s]["author"]}</name></author></entry>'
            for s in self.published
        )
        return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
                f"<title>Test news</title><id>{self.base}/</id><updated>2025-06-01T00:00:00Z</updated>{entries}</feed>")

    def _handler(self):
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = urlsplit(self.path).path
                site.requests.append((path, {k.lower(): v for k, v in self.headers.items()}))
                if path == "/robots.txt":
                    return self._send(200, "text/plain", "User-agent: *\nDisallow: /private/\n")
                if path.startswith("/news/") and path[6:] in ARTICLES:
                    return self._page(render(path[6:], site.base))
                if path.startswith("/wire/") and path[6:].isdigit():
                    with site._wire_lock:
                        site._wire_now += 1
                        site.wire_peak = max(site.wire_peak, site._wire_now)
                    try:
                        time.sleep(site.wire_delay)
                        return self._page(wire(int(path[6:])))
                    finally:
                        with site._wire_lock:
                            site._wire_now -= 1
                if path.startswith("/private/"):
                    return self._page(render("bakery", site.base))
                if path == "/feed.xml":
                    return self._page(site.feed(), "application/rss+xml")
                if path == "/atom.xml":
                    return self._page(site.atom(), "application/atom+xml")
                if path == "/feed50.xml":
                    items = [(f"Wire story {n}", f"/wire/{n}", _rfc822(f"2025-02-{1 + n % 28:02d}"), "Wire desk") for n in range(50)]
                    return self._page(_rss(items, site.base), "application/rss+xml")
                if path == "/slow":
                    time.sleep(site.slow_seconds)
                    return self._page(render("tram-line", site.base))
                if path == "/huge":
                    return self._stream_huge()
                if path == "/image.png":
                    return self._send(200, "image/png", "\x89PNG\r\n\x1a\n" + "x" * 100)
                if path in ("/loop-a", "/loop-b"):
                    return self._redirect(302, "/loop-b" if path == "/loop-a" else "/loop-a")
                if path == "/moved":
                    return self._redirect(301, "/news/tram-line")
                return self._send(404, "text/html", "<h1>Not found</h1>")

            def _page(self, markup: str, ctype: str = "text/html; charset=utf-8"):
                etag = '"' + hashlib.sha1(markup.encode()).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._send(200, ctype, markup, {"ETag": etag, "Last-Modified": "Mon, 02 Jun 2025 08:30:00 GMT"})

            def _send(self, status: int, ctype: str, text: str, headers: dict | None = None):
                data = text.encode("utf-8", "surrogateescape")
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _redirect(self, status: int, to: str):
                self.send_response(status)
                self.send_header("Location", to)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _stream_huge(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                block = b"<p>" + b"filler text " * 5000 + b"</p>"
                sent = 0
                try:
                    while sent < site.huge_bytes:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
                        sent += len(block)
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler
