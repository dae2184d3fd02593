"""Strip page furniture from article text and find its title and author.

The rules are for what news pages put around an article when copied or
scraped ("top of page", "3 min read", "Previous Story" + its headline,
"Comments", avatar initials...). They drop whole lines only, never words
inside a sentence, so article text is never altered.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_BOILERPLATE = re.compile(
    r"""^(
        top\ of\ page | bottom\ of\ page | skip\ to\ (main\ )?content | comments? | \d+\ comments? |
        \d+\ min(ute)?s?\ read | view\ author\ profile |
        share(\ this(\ article|\ story)?)? | advertisement | sponsored | subscribe(\ now)? |
        sign\ up | log\ ?in | read\ more | latest\ from\ .{1,40} | related(\ articles|\ posts|\ stories)? |
        follow\ us.* | [A-Z]{1,3} | (jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\ \d{1,2}(,\ \d{4})?
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# "Previous Story" / "Next Story" are followed by the linked headline, also not ours.
_NAV = re.compile(r"^(previous|next)\ (story|article|post)$", re.IGNORECASE)
# "Updated 3:45 PM EST, Jan 5, 2025" / "Published: 12 March 2024": a short line with a date or time,
# not a paragraph that happens to start with the word.
_STAMP = re.compile(
    r"^(?:last\ )?(?:updated|published|posted)(?:\ on)?:?\ "
    r"(?=.*(?:\d|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|ago\b))[^.!?]{0,70}$",
    re.IGNORECASE | re.VERBOSE,
)
# "By Jane Doe", "By Jane Doe and Ali Khan, Reuters", "Written by: J. R. Smith | AP": names, not a sentence.
_PERSON = r"[A-Z][\w'’.\-]*(?:\ (?:[A-Z][\w'’.\-]*|de|da|van|von|der|al|bin|la|le))*"
_BYLINE = re.compile(
    rf"^(?i:by|writer|author|written\ by)\ *:?\ +(?P<name>{_PERSON}(?:(?:,|\ and|\ &)\ {_PERSON})*)(?:\ *[,|]\ *[A-Z][\w&.\ ]{{1,40}})?$",
    re.VERBOSE,
)
_NAME = re.compile(r"^[A-Z][\w.'’\-]+(?: [A-Z][\w.'’\-]+){1,3}$")


@dataclass
class CleanArticle:
    text: str
    title: str | None
    author: str | None


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u00a0", " ").replace("\u200b", "")
    # Keep printable text, newlines and tabs; control characters are noise from bad exports.
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c)[0] != "C")


def _strip_bullet(line: str) -> str:
    return re.sub(r"^[•·\-*]\s+", "", line).strip()


def _is_heading(line: str) -> bool:
    words = line.split()
    return 1 <= len(words) <= 20 and len(line) <= 160 and not line.rstrip().endswith((".", ",", ";", ":"))


def clean(raw: str, title_hint: str | None = None, author_hint: str | None = None) -> CleanArticle:
    lines = [ln.strip() for ln in _normalise(raw).split("\n")]
    author = author_hint
    kept: list[str] = []
    skip_next_text = False
    in_byline = False
    for line in lines:
        if not line:
            in_byline = False
            kept.append("")
            continue
        # Markdown headings keep their text, not their markup.
        line = re.sub(r"^#{1,6}\s+", "", line)
        bare = _strip_bullet(line)
        if skip_next_text:
            skip_next_text = False
            continue
        if _NAV.match(bare):
            skip_next_text = True
            continue
        byline = _BYLINE.match(bare)
        if byline and len(kept) < 40 and len(bare.split()) <= 16:
            author = author or byline.group("name").strip()
            in_byline = True
            # Kept in the text: "who wrote it?" is answered, and cited, from this line.
            kept.append(line)
            continue
        # Lines under a byline that are a role or repeat the name ("Editorial Team", "Senior Journalist").
        if in_byline and _is_heading(bare) and len(bare.split()) <= 6:
            continue
        in_byline = False
        if _BOILERPLATE.match(bare) or _STAMP.match(bare):
            continue
        kept.append(line)

    paragraphs = _paragraphs(kept)
    title = title_hint or next((p for p in paragraphs[:3] if _is_heading(p)), None)
    # The page title is often repeated as the first heading: keep one copy.
    deduped: list[str] = []
    for p in paragraphs:
        if title and p == title and title in deduped:
            continue
        deduped.append(p)
    author = author or _trailing_author(deduped)
    return CleanArticle("\n\n".join(deduped).strip(), title, author)


def _paragraphs(lines: list[str]) -> list[str]:
    """Blank-line separated blocks; single newlines inside a block are kept."""
    out, cur = [], []
    for line in lines + [""]:
        if line:
            cur.append(line)
        elif cur:
            out.append("\n".join(cur))
            cur = []
    return out


def _trailing_author(paragraphs: list[str]) -> str | None:
    """An author box at the end: a bare name followed by a bio that mentions it."""
    tail = paragraphs[-6:]
    for name, bio in zip(tail, tail[1:]):
        if _NAME.match(name) and name in bio[:120]:
            return name
    return None
