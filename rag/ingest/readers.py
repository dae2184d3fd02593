"""Turn a file or a fetched page into article text (plus title, author, date hints), or say why not."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

from rag.core import dates
from rag.core.errors import DocumentError

SUPPORTED = {".txt", ".text", ".md", ".markdown", ".html", ".htm", ".pdf"}


@dataclass
class RawArticle:
    text: str
    title: str | None = None
    author: str | None = None
    published: date | None = None
    url: str | None = None
    site: str | None = None


def read(path: Path, max_bytes: int) -> RawArticle:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise DocumentError(f"unsupported file type '{suffix or '(none)'}'; supported: {', '.join(sorted(SUPPORTED))}")
    try:
        size = path.stat().st_size
        if size == 0:
            raise DocumentError("empty file (0 bytes)")
        if size > max_bytes:
            raise DocumentError(
                f"too large ({size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB, set RAG_MAX_FILE_MB to raise it)"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot be read ({exc.strerror or exc})") from exc
    if suffix == ".pdf":
        return _read_pdf(data)
    text = decode(data)
    if suffix in (".html", ".htm"):
        return read_html(text)
    return RawArticle(text)


def decode(data: bytes) -> str:
    """UTF-8 (BOM optional) or BOM-marked UTF-16/32; anything else is refused, not guessed."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise DocumentError(f"starts with a {encoding} byte-order mark but is not valid {encoding}") from exc
    if b"\x00" in data[:8192]:
        raise DocumentError("binary file (contains NUL bytes), not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "convert it first, e.g. `iconv -f latin1 -t utf-8`"
        ) from exc
    control = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\n\r\t\f")
    if control > 0.01 * min(len(text), 8192):
        raise DocumentError("binary file (mostly control characters), not text")
    return text


def read_html(markup: str | bytes, url: str | None = None) -> RawArticle:
    """Main text and metadata of a news page, by trafilatura (dates by htmldate, inside it).

    Menus, cookie banners, related links and comments are left out. The byline usually is too;
    it is put back as a "By ..." line under the title so "who wrote it?" can be answered and cited.
    """
    import logging

    import trafilatura

    # Its complaints about odd markup would reach the user's terminal; the outcome says what matters.
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    # favor_precision: on news pages a lost caption costs less than a menu or a comment in the text.
    doc = trafilatura.bare_extraction(
        markup, url=url, with_metadata=True, include_comments=False, include_tables=True, favor_precision=True
    )
    if doc is None or not (doc.text or "").strip():
        # lxml (under trafilatura) gives up on some pages, e.g. thousands of nested tags: keep their
        # visible text rather than lose the file.
        text = _visible_text(markup if isinstance(markup, str) else decode(markup))
        if not text:
            raise DocumentError("no article text found in the page (trafilatura found no main content)")
        return RawArticle(text)
    lines = [ln.strip() for ln in doc.text.split("\n") if ln.strip()]
    title = (doc.title or "").strip() or None
    author = _author(doc.author)
    if author and author.split()[0] not in " ".join(lines[:3]):
        lines.insert(1 if title and lines[0] == title else 0, f"By {author}")
    return RawArticle(
        "\n\n".join(lines),
        title=title,
        author=author,
        published=dates.iso(doc.date),
        url=doc.url or None,
        site=(doc.sitename or doc.hostname or "").strip() or None,
    )


class _TextParser(HTMLParser):
    """Text of the elements a reader sees (no scripts, styles or templates), one block per line.

    Only block elements end a line: a link or <b> inside a sentence leaves the sentence whole."""

    HIDDEN = {"script", "style", "noscript", "template", "svg", "head"}
    BLOCK = {
        "address", "article", "aside", "blockquote", "caption", "dd", "div", "dl", "dt", "figcaption", "figure",
        "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "li", "main", "nav", "ol", "p", "pre",
        "section", "table", "td", "th", "title", "tr", "ul",
    }
    BREAK = {"br", "hr"}  # void elements: they have no end tag

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in self.HIDDEN
        if tag in self.BLOCK or tag in self.BREAK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        self.hidden -= tag in self.HIDDEN and self.hidden > 0
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def _visible_text(markup: str) -> str:
    parser = _TextParser()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n\n".join(line for line in lines if line)


def _author(value: str | None) -> str | None:
    """trafilatura joins several authors with "; "; we write them as a byline would."""
    names = [n.strip() for n in (value or "").split(";") if n.strip()]
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names) or None


def _read_pdf(data: bytes) -> RawArticle:
    import io
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or None
        author = (reader.metadata.author if reader.metadata else None) or None
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise DocumentError(f"not a readable PDF ({exc})") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text.strip():
        raise DocumentError("PDF has no text layer (a scanned image?); run OCR on it first")
    return RawArticle(text, title=title, author=author)
