"""Presentation only: HTML for answers, citation cards, notices, articles and upload reports.

Nothing here retrieves, prompts or checks citations; it draws what `Assistant`
returned. Every piece of article or user text goes through `html.escape`.
The chat fragments contain no newline, so the Chatbot's markdown renderer
treats each one as a single raw-HTML block and leaves it alone.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from urllib.parse import quote, unquote

from rag.core.models import Answer, Article, ArticleInfo, Citation, FileOutcome, Highlight, Passage, also_published_by
from rag.core.text import is_url

# How much article text a citation card shows around the cited span.
CARD_CONTEXT_CHARS = 260

_MARKER = re.compile(r"\[(\d{1,3})\]")
_NEWLINES = re.compile(r"\s*\n\s*")


def esc(text: str) -> str:
    return html.escape(text or "", quote=True)


def _lines_html(text: str) -> str:
    """Escaped text, newlines as <br> (no raw newline may reach the chat markdown)."""
    return _NEWLINES.sub("<br>", esc(text).strip())


def card_id(turn: int, n: int) -> str:
    return f"nd-t{turn}-c{n}"


def open_href(source: str, start: int | None = None, end: int | None = None) -> str:
    """Link a citation card uses to open its article in the Sources tab (handled by the page script)."""
    href = "#nd-open/" + quote(source, safe="")
    if start is not None and end is not None:
        href += f"/{int(start)}/{int(end)}"
    return href


def parse_open_href(href: str) -> tuple[str, int | None, int | None] | None:
    m = re.fullmatch(r".*#nd-open/([^/]+)(?:/(\d+)/(\d+))?", href or "")
    if not m:
        return None
    start = int(m.group(2)) if m.group(2) else None
    end = int(m.group(3)) if m.group(3) else None
    return unquote(m.group(1)), start, end


# --- answers ---


def _badges(escaped: str, turn: int, titles: dict[int, str]) -> str:
    """[n] markers of cited passages become superscript badges linking to their card."""

    def sub(m: re.Match) -> str:
        n = int(m.group(1))
        if n not in titles:
            return m.group(0)
        return (
            f'<sup class="nd-cite"><a href="#{card_id(turn, n)}" '
            f'title="{esc(titles[n])}">[{n}]</a></sup>'
        )

    return _MARKER.sub(sub, escaped)


def _answer_body(text: str, turn: int, titles: dict[int, str]) -> str:
    """Paragraphs and "- " list items of the answer text, escaped, with citation badges."""
    parts: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if items:
            parts.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items.clear()

    for line in (text or "").split("\n"):
        line = line.strip()
        if not line:
            flush()
            continue
        if line.startswith(("- ", "* ", "• ")):
            items.append(_badges(esc(line[2:].strip()), turn, titles))
        else:
            flush()
            parts.append(f"<p>{_badges(esc(line), turn, titles)}</p>")
    flush()
    return "".join(parts)


def render_partial(text: str, evidence: str = "") -> str:
    """The answer while it streams, under the evidence: escaped text and a cursor; cards come with the final answer."""
    waiting = "Writing the answer…" if evidence else "Searching the articles…"
    body = _answer_body(text, -1, {}) if text.strip() else f"<p>{waiting}</p>"
    return f'{evidence}<div class="nd-answer nd-streaming">{body}<span class="nd-cursor">▍</span></div>'


def render_evidence(highlights: Sequence[Highlight], open_: bool = True) -> str:
    """The best sentence of each top article, verbatim, shown the moment retrieval is done (open while the
    answer is written, folded under the summary once it is final)."""
    if not highlights:
        return ""
    items = "".join(
        f'<li><span class="nd-card-n">{h.n}</span> <mark>{_lines_html(h.quote)}</mark>'
        f'<div class="nd-evidence-about">{esc(h.title)}{_about_line(h)}</div></li>'
        for h in highlights
    )
    label = f"Evidence: {len(highlights)} passage{'s' if len(highlights) > 1 else ''} quoted verbatim from the articles"
    return (
        f'<details class="nd-evidence"{" open" if open_ else ""}><summary>{label}</summary>'
        f'<ul class="nd-evidence-list">{items}</ul></details>'
    )


def find_passage(c: Citation, passages: Sequence[Passage]) -> Passage | None:
    """The retrieved passage the citation's span lies in: passage n first, then any of the same article."""
    inside = [p for p in passages if p.source == c.source and p.start <= c.start and c.end <= p.end]
    for p in inside:
        if p.n == c.n:
            return p
    return inside[0] if inside else next((p for p in passages if p.n == c.n), None)


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def highlight(text: str, spans: Iterable[tuple[int, int]], context: int | None = None, keep_newlines: bool = False) -> str:
    """Escaped `text` with each (start, end) span in <mark>; with `context`, only that much around them.

    Newlines become <br> (chat fragments must not contain any) unless `keep_newlines`.
    """
    piece = esc if keep_newlines else _lines_html_keep
    spans = [(max(0, s), min(len(text), e)) for s, e in spans if e > s and s < len(text)]
    spans = _merge(spans)
    lo, hi = 0, len(text)
    if context is not None and spans:
        lo = max(0, spans[0][0] - context)
        hi = min(len(text), spans[-1][1] + context)
        # Do not cut words in half.
        if lo > 0:
            space = text.find(" ", lo, spans[0][0])
            lo = space + 1 if space != -1 else lo
        if hi < len(text):
            space = text.rfind(" ", spans[-1][1], hi)
            hi = space if space != -1 else hi
    out = ["…" if lo > 0 else ""]
    cursor = lo
    for s, e in spans:
        out.append(piece(text[cursor:s]))
        out.append(f"<mark>{piece(text[s:e])}</mark>")
        cursor = e
    out.append(piece(text[cursor:hi]))
    out.append("…" if hi < len(text) else "")
    return "".join(out)


def _lines_html_keep(text: str) -> str:
    # Like _lines_html but keeps leading/trailing spaces, which separate the pieces around a <mark>.
    return _NEWLINES.sub("<br>", esc(text))


def _card(turn: int, n: int, cites: list[Citation], passages: Sequence[Passage]) -> str:
    first = cites[0]
    passage = find_passage(first, passages)
    spans: list[tuple[int, int]] = []
    if passage is not None:
        for c in cites:
            s, e = c.start - passage.start, c.end - passage.start
            if passage.start <= c.start and c.end <= passage.end and passage.text[s:e] == c.quote:
                spans.append((s, e))
            elif c.quote and (i := passage.text.find(c.quote)) != -1:
                spans.append((i, i + len(c.quote)))
    if passage is not None and spans:
        quote_html = highlight(passage.text, spans, CARD_CONTEXT_CHARS)
    else:
        quote_html = "".join(f"<mark>{_lines_html(c.quote)}</mark> " for c in cites).strip()
    open_link = open_href(first.source, first.start, first.end)
    return (
        f'<div class="nd-card" id="{card_id(turn, n)}">'
        f'<div class="nd-card-head"><span class="nd-card-n">{n}</span>'
        f'<span class="nd-card-title">{esc(first.title)}</span></div>'
        f"{_about(first)}"
        f'<div class="nd-card-meta"><code class="nd-card-source">{esc(first.source)}</code>'
        f'<a class="nd-open" href="{esc(open_link)}" title="Show the whole article in the Sources tab">open in article ↗</a></div>'
        f'<blockquote class="nd-card-quote">{quote_html}</blockquote>'
        "</div>"
    )


def _about_parts(c: ArticleInfo) -> list[str]:
    return [esc(v) for v in (c.site, c.author, f"{c.published:%b} {c.published.day}, {c.published.year}" if c.published else None) if v]


def _about_line(h: Highlight) -> str:
    parts = _about_parts(h)
    return " · " + " · ".join(parts) if parts else " · undated"


def _about(c: Citation) -> str:
    """Site · author · date · link of the cited article, whichever are known."""
    parts = _about_parts(c)
    if c.url and is_url(c.url):  # never a javascript: link from a saved page's metadata
        parts.append(f'<a class="nd-card-url" href="{esc(c.url)}" target="_blank" rel="noopener noreferrer">{esc(c.url)}</a>')
    return f'<div class="nd-card-about">{" · ".join(parts)}</div>' if parts else ""


def render_answer(answer: Answer, turn: int, evidence: str = "") -> str:
    """The final answer (under the evidence): text with [n] badges, then one card per cited passage; or the not-found notice."""
    if answer.abstained or not answer.citations:
        return evidence + render_not_found(answer.answer)
    by_n: dict[int, list[Citation]] = {}
    for c in answer.citations:
        by_n.setdefault(c.n, []).append(c)
    titles = {n: cs[0].title for n, cs in by_n.items()}
    cards = "".join(_card(turn, n, cs, answer.passages) for n, cs in sorted(by_n.items()))
    noun = "source" if len(by_n) == 1 else "sources"
    meta = f"{esc(answer.provider)} · {answer.timings.total_ms / 1000:.1f} s"
    return (
        f'{evidence}<div class="nd-answer">{_answer_body(answer.answer, turn, titles)}'
        f'<div class="nd-cards"><div class="nd-cards-label">{len(by_n)} cited {noun}'
        f'<span class="nd-meta">{meta}</span></div>{cards}</div></div>'
    )


def render_not_found(text: str) -> str:
    return (
        '<div class="nd-notfound" role="status"><span class="nd-notfound-icon">∅</span>'
        f'<div><strong>Not in the articles</strong><p>{esc(text)}</p>'
        '<p class="nd-hint">Try other words, or check the source filter in Settings.</p></div></div>'
    )


def render_error(message: str) -> str:
    return f'<div class="nd-error" role="alert"><strong>Could not answer.</strong><p>{_lines_html(message)}</p></div>'


def render_user(question: str) -> str:
    return _lines_html(question)


# --- sources tab ---


def article_rows(articles: Sequence[Article]) -> list[list]:
    also = also_published_by(articles)
    return [
        [a.title, a.source, ", ".join(b.outlet for b in also.get(a.source, ())), a.published.isoformat() if a.published else "", a.chunks]
        for a in sorted(articles, key=lambda a: a.title.lower())
    ]


def article_choices(articles: Sequence[Article]) -> list[tuple[str, str]]:
    return [(f"{a.title} — {a.source}", a.source) for a in sorted(articles, key=lambda a: a.title.lower())]


def render_article(title: str, source: str, text: str, start: int | None = None, end: int | None = None) -> str:
    valid = start is not None and end is not None and 0 <= start < end <= len(text)
    body = highlight(text, [(start, end)], keep_newlines=True) if valid else esc(text)
    note = ""
    if start is not None and end is not None and not valid:
        note = f'<p class="nd-hint">The span {start}–{end} is outside this article ({len(text):,} characters).</p>'
    elif valid:
        note = f'<p class="nd-hint">Highlighted: characters {start:,}–{end:,}.</p>'
    return (
        f'<div class="nd-viewer"><h3>{esc(title)}</h3><div class="nd-card-meta"><code>{esc(source)}</code>'
        f"<span>{len(text):,} characters</span></div>{note}"
        f'<div class="nd-article">{body}</div></div>'
    )


def render_viewer_empty() -> str:
    return '<div class="nd-viewer nd-muted">Choose an article, or open one from a citation card in the chat.</div>'


_STATUS_LABEL = {
    "added": "added",
    "updated": "updated",
    "unchanged": "unchanged",
    "duplicate": "duplicate",
    "skipped": "skipped",
    "error": "skipped",
    "removed": "removed",
}


def render_outcomes(rows: Sequence[tuple[str, FileOutcome]]) -> str:
    """(uploaded file name, outcome) rows as a small table with status badges."""
    if not rows:
        return ""
    body = []
    for name, o in rows:
        label = _STATUS_LABEL.get(o.status, o.status)
        detail = o.reason or (f"{o.chunks} chunk{'s' if o.chunks != 1 else ''}" if o.chunks else "")
        if o.source and o.source != name:
            detail = f"saved as {o.source}" + (f"; {detail}" if detail else "")
        if o.status == "unchanged" and not o.reason:
            detail = "already indexed"
        body.append(
            f'<tr><td><code>{esc(name)}</code></td><td><span class="nd-status nd-status-{esc(label)}">{esc(label)}</span></td>'
            f"<td>{esc(detail)}</td></tr>"
        )
    head = '<table class="nd-outcomes"><thead><tr><th>File</th><th>Result</th><th>Details</th></tr></thead><tbody>'
    return head + "".join(body) + "</tbody></table>"

