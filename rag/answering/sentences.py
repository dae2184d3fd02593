"""A passage's sentences as the extractive answerer reads them, and how its quotes are put together.

`read_units` splits a passage into sentences, list items, list intros, headings and cut-off fragments, each
with the heading or list intro it sits under; `point` adds what continues a unit's point (its list's
items, the sentence a pronoun refers back to, a following "However ..."); `compose` quotes them,
each sentence followed by its [n].
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rag.core import text as tx
from rag.core.models import Passage
from rag.core.questions import BYLINE

# A text's sentences as (start, end) spans (`text.split_sentences`, or the question's cached reading of it).
Spans = Callable[[str], Sequence[tuple[int, int]]]

MAX_WORDS = 80  # the answer's quoted words, about
MAX_LIST_ITEMS = 4

# --- sentences that lean on their neighbours ---

# A sentence opening with a pronoun or demonstrative needs the one before it to make sense...
REFERS_BACK = re.compile(
    r"^[\"“‘']?(?:this|that|these|those|it|its|it's|it’s|he|she|they|his|her|their|them|such)\b", re.IGNORECASE
)
# ...and one opening like this carries on the point of the sentence before it.
CARRIES_ON = re.compile(
    REFERS_BACK.pattern + r"|^(?:however|but|also|still|yet|instead|moreover|furthermore|additionally|"
    r"in addition|as a result|even so|nevertheless|nonetheless)\b",
    re.IGNORECASE,
)


# --- candidates ---


@dataclass
class Unit:
    text: str
    passage: Passage
    rank: int  # index of the passage in the list
    index: int  # position among the passage's units
    start: int  # offsets in passage.text
    end: int
    kind: str  # "sentence", "item" (list item), "intro" (ends with ':'), "heading", "fragment"
    context: str = ""  # section heading or list intro the unit sits under
    paragraph: int = 0
    terms: set[str] = field(default_factory=set)
    context_terms: set[str] = field(default_factory=set)
    near_terms: set[str] = field(default_factory=set)  # the sentences either side, same paragraph

    @property
    def words(self) -> int:
        return len(self.text.split())

    @property
    def key(self) -> tuple[str, int]:
        return (self.passage.source, self.passage.start + self.start)


def read_units(passage: Passage, rank: int, spans: Spans | None = None) -> list[Unit]:
    """The passage's sentences, classified, each with the heading / list intro it sits under (`spans`: how
    a text splits into sentences, when already known)."""
    text = passage.text
    first = len(text) - len(text.lstrip())
    last = len(text.rstrip())
    units: list[Unit] = []
    heading = intro = ""
    paragraph = 0
    prev_end = 0
    for s, e in (spans or tx.split_sentences)(text):
        line_start = text.rfind("\n", 0, s) + 1
        new_line = line_start >= prev_end
        if new_line:
            paragraph += 1  # paragraphs, headings and list items are lines
        marker = text[line_start:s].strip()
        is_item = new_line and bool(marker) and bool(tx.BULLET.match(marker + " "))
        line_end = text.find("\n", e)
        whole_line = new_line and text[e : len(text) if line_end == -1 else line_end].strip() == ""
        sentence = text[s:e]
        if s == first and sentence[:1].islower():
            kind = "fragment"  # the chunk starts inside a sentence
        elif sentence.endswith(":"):
            kind = "intro"
        elif is_item:
            kind = "item" if len(sentence.split()) >= 2 else "fragment"
        elif whole_line and not sentence.endswith(tx.TERMINAL):
            # A short unpunctuated line is a heading (or a byline); a long one a table row or a cut sentence.
            kind = "heading" if len(sentence.split()) <= 15 and (e < last or s == first) else "fragment"
        elif e == last and not sentence.endswith(tx.TERMINAL):
            kind = "fragment"  # the chunk ends inside a sentence
        else:
            kind = "sentence"
        if kind == "item":
            context = " ".join(x for x in (intro, heading) if x)
        else:
            context = heading
        unit = Unit(sentence, passage, rank, len(units), s, e, kind, context, paragraph)
        if kind == "heading":
            heading, intro = sentence, ""
        elif kind == "intro":
            intro = sentence
        elif kind == "sentence":
            intro = ""
        # A sentence opening with "It", "This", "She"... is about what the one before it names.
        if kind == "sentence" and units and units[-1].paragraph == paragraph and REFERS_BACK.match(sentence):
            unit.context = f"{units[-1].text} {unit.context}".strip()
        units.append(unit)
        prev_end = e
    for u in units:
        u.terms = set(tx.terms(u.text))
        u.context_terms = set(tx.terms(u.context)) - u.terms
    for i, u in enumerate(units):
        if u.kind == "sentence":
            near = [v for v in units[max(0, i - 1) : i + 2] if v is not u and v.paragraph == u.paragraph]
            u.near_terms = set().union(set(), *(v.terms for v in near)) - u.terms - u.context_terms
    return units


def candidate(u: Unit) -> bool:
    """Can the unit be quoted as an answer? Not headings, table rows, cut-off fragments, bylines or
    very short lines; a list intro ("Zuckerberg has emphasized:") can, it brings its items."""
    if u.kind in ("heading", "fragment"):
        return False
    if u.kind == "intro":
        return u.words >= 2
    if u.words < 4 or len(u.terms) < 2 or u.text.rstrip("\"”’')").endswith("?"):
        return False  # a question the article asks is not an answer
    return not BYLINE.match(u.text)


# --- composition ---


def point(u: Unit, by_passage: dict[int, list[Unit]]) -> list[Unit]:
    """The unit plus what continues its point: the list an intro opens, the items after an item,
    the sentence a pronoun refers back to, a following sentence that carries on ("It", "This", "However")."""
    siblings = by_passage[u.rank]
    out = [u]
    words = u.words
    if u.kind in ("intro", "item"):
        if u.kind == "item" and u.index > 0 and siblings[u.index - 1].kind == "intro":
            out.insert(0, siblings[u.index - 1])  # the first item: show the line that opens the list
            words += out[0].words
        items = 1 if u.kind == "item" else 0
        for v in siblings[u.index + 1 :]:
            if v.kind != "item" or items >= MAX_LIST_ITEMS or words + v.words > MAX_WORDS:
                break
            out.append(v)
            words += v.words
            items += 1
        return out
    if REFERS_BACK.match(u.text) and u.index > 0:
        prev = siblings[u.index - 1]
        if prev.kind == "sentence" and prev.paragraph == u.paragraph and words + prev.words <= MAX_WORDS:
            return [prev, u]
    if u.index + 1 < len(siblings):
        nxt = siblings[u.index + 1]
        if nxt.kind == "sentence" and nxt.paragraph == u.paragraph and CARRIES_ON.match(nxt.text):
            if words + nxt.words <= MAX_WORDS:
                out.append(nxt)
    return out


def compose(groups: list[list[Unit]]) -> str:
    """The quoted sentences in order, each followed by its [n]; list items one to a line."""
    out = ""
    after_item = False
    for u in (u for g in groups for u in g):
        piece = f"{u.text} [{u.passage.n}]"
        if u.kind == "item":
            out += "\n- " + piece
        elif out and (after_item or u.kind == "intro"):
            out += "\n" + piece
        else:
            out += (" " if out else "") + piece
        after_item = u.kind == "item"
    return out.strip()
