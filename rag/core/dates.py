"""Publication dates: read from article text, resolved against a reference time, and asked about.

Pages and feeds carry machine-readable dates (trafilatura/htmldate and feedparser read those);
this module covers what plain text carries: a dateline ("WASHINGTON, Jan. 5 (Reuters) -"), a
stamp ("Published: 12 March 2024"), a bare "Dec 12" under a byline (its year is the latest one
that does not put the date after the file was written), and what questions ask ("latest",
"since", "last week").
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

_MONTHS = {
    m: i
    for i, names in enumerate(
        [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
         ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
         ("dec", "december")],
        start=1,
    )
    for m in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_PATTERNS = [
    re.compile(r"\b(?P<year>(?:19|20)\d\d)-(?P<month>\d\d)-(?P<day>\d\d)\b"),
    re.compile(rf"\b{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?\b", re.IGNORECASE),
    re.compile(rf"\b{_DAY}\s+{_MONTH}(?:,?\s+{_YEAR})?\b", re.IGNORECASE),
]
# "WASHINGTON, Jan. 5 (Reuters) -" / "LONDON (AP) — ": a dateline opens the first paragraph.
_DATELINE = re.compile(r"^[A-Z][A-Z .'\-]{2,40},\s+(?P<date>[^()—–\-]{3,30}?)\s*(?:\([^)]{1,30}\)\s*)?[—–\-]\s")
_STAMP = re.compile(r"^(?:first\s+)?(?:published|posted|dated?)(?:\s+on)?\s*:?\s*(?P<date>.{3,40})$", re.IGNORECASE)
# A line that is only a date ("Dec 12", "12 March 2024"): parse() decides whether it is one.
_BARE = re.compile(r"^(?:[A-Za-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?|\d{1,2}(?:st|nd|rd|th)?\s+[A-Za-z]{3,9}\.?)(?:,?\s+\d{4})?$")


def parse(text: str, reference: date | None = None) -> date | None:
    """The first date written in `text`; one without a year takes the latest year that does not put
    it after `reference` (the file's time), and is unknown without a reference."""
    for pattern in _PATTERNS:
        m = pattern.search(text)
        if not m:
            continue
        month = m.group("month")
        month = int(month) if month.isdigit() else _MONTHS[month.lower().rstrip(".")]
        day, year = int(m.group("day")), m.group("year")
        try:
            if year:
                return date(int(year), month, day)
            if reference is None:
                return None
            found = date(reference.year, month, day)
            return found if found <= reference + timedelta(days=1) else date(reference.year - 1, month, day)
        except ValueError:
            continue
    return None


def from_header(lines: list[str], reference: date | None) -> date | None:
    """The publication date in an article's opening lines: a stamp, a bare date line or a dateline.

    "Updated ..." lines say when a page last changed, not when it was published, and are not read.
    """
    for line in lines[:40]:
        line = line.strip().lstrip("•·-* ").strip()
        if not line or line.lower().startswith(("updated", "last updated")):
            continue
        m = _STAMP.match(line) or _DATELINE.match(line)
        if m:
            found = parse(m.group("date"), reference)
            if found:
                return found
        elif _BARE.match(line):
            return parse(line, reference)
    return None


def iso(value: str | date | datetime | None) -> date | None:
    """A date from an ISO string ("2025-03-14", "2025-03-14T09:30:00Z") or date/datetime; None if unreadable."""
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


# --- what a question asks about time -----------------------------------------

_LATEST = re.compile(
    r"\b(latest|most\s+recent(?:ly)?|newest|recent(?:ly)?|current(?:ly)?|now|so\s+far|to\s+date|up\s+to\s+date|news\s+on)\b",
    re.IGNORECASE,
)


def wants_latest(question: str) -> bool:
    """Does the question ask for the newest state of a story ("what is the latest on X?")."""
    return bool(_LATEST.search(question))
