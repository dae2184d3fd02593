"""Turn a file into article text (plus title/author hints), or say why not."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from .errors import DocumentError

SUPPORTED = {".txt", ".text", ".md", ".markdown", ".html", ".htm", ".pdf"}


@dataclass
class RawArticle:
    text: str
    title: str | None = None
    author: str | None = None


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
        return _read_html(text)
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


def _read_html(markup: str) -> RawArticle:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    meta_author = soup.find("meta", attrs={"name": "author"})
    author = meta_author.get("content") if meta_author else None
    h1 = soup.find("h1")
    title = h1.get_text(" ", strip=True) if h1 else (soup.title.get_text(" ", strip=True) if soup.title else None)
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "svg", "iframe"]):
        tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    blocks = []
    # One line per block element keeps paragraphs apart; inline tags join with spaces.
    for el in root.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "blockquote", "pre", "td", "figcaption"]):
        if el.find(["p", "li", "h1", "h2", "h3", "blockquote"]):
            continue
        line = el.get_text(" ", strip=True)
        if line:
            blocks.append(("• " if el.name == "li" else "") + line)
    text = "\n\n".join(blocks) if blocks else root.get_text("\n", strip=True)
    return RawArticle(text, title=title or None, author=author or None)


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
