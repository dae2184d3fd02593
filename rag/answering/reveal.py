"""What of a model's growing reply may be shown, and reading its JSON fields as they are generated."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator

from rag.answering.citations import MARKER, Checked, CitationChecker, complete_prefix
from rag.core import text as tx
from rag.core import tracing
from rag.core.models import Passage
from rag.core.questions import Asked


def counted(pieces: Iterable[str]) -> Iterator[str]:
    """The model's streamed pieces (a token each, from llama.cpp and OpenAI-compatible servers), with when the
    first came and how many, noted on the current span."""
    started, n = time.perf_counter(), 0
    try:
        for piece in pieces:
            if n == 0:
                tracing.note(first_token_ms=round((time.perf_counter() - started) * 1000, 1))
            n += 1
            yield piece
    finally:
        tracing.note(tokens=n)


# The end of a generated string's text cut mid-escape: a lone backslash, "\u12", or the first half of a surrogate pair.
# Escaped backslashes before it ("\\\\") are text, not the start of an escape.
_CUT_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\(?:u[0-9a-fA-F]{0,3}|u[dD][89abAB][0-9a-fA-F]{2})?$")


def holds(asked: Asked, answer: str) -> bool:
    """Does the answer (its [n] markers aside) give what the question asks for?"""
    return asked.held_by([MARKER.sub("", answer)])


class Reveal:
    """What of a growing answer may be shown: its complete sentences once the checker has passed them and
    they hold what the question asks for (a quantity, a date), so a client that joins the pieces has exactly
    the checked answer. A text already checked is not checked again (the stream grows a token at a time)."""

    def __init__(self, checker: CitationChecker, question: str, passages: list[Passage], asked: Asked):
        self.checker, self.question, self.passages, self.asked = checker, question, passages, asked
        self.shown = ""
        self._last: tuple[str, Checked] | None = None

    def check(self, text: str) -> Checked:
        if self._last is None or self._last[0] != text:
            self._last = (text, self.checker.check(text, self.passages, keep_format=False, question=self.question))
        return self._last[1]

    def more(self, text: str, whole: bool = False) -> str:
        """The next piece to show of `text` (`whole`: it is complete), "" for none yet."""
        done = text if whole else complete_prefix(text) if text else ""
        if not done:
            return ""
        checked = self.check(done).answer
        # Checked sentences are joined with spaces, so each piece brings its own separator.
        if len(checked) > len(self.shown) and checked.startswith(self.shown) and holds(self.asked, checked):
            piece, self.shown = checked[len(self.shown) :], checked
            return piece
        return ""


def partial_field(raw: str, field: str) -> str:
    """The text of a JSON string field as far as a model has generated it ("" before it starts)."""
    m = re.search(rf'"{field}"\s*:\s*"', raw)
    if not m:
        return ""
    body, escaped = raw[m.end() :], False
    for i, ch in enumerate(body):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            body = body[:i]
            break
    # Twice: "\ud83d\" is a cut escape after the first half of a pair.
    body = _CUT_ESCAPE.sub(r"\1", _CUT_ESCAPE.sub(r"\1", body))
    try:
        return json.loads(f'"{body}"')
    except json.JSONDecodeError:
        return ""


# An answer this short (a value, a yes or no) is followed by the sentence it comes from.
TERSE_WORDS = 8
_YES_NO = re.compile(r"(?:yes|no)\b", re.IGNORECASE)  # a yes-or-no answer, which stands on a report


def with_quote(answer: str, evidence: str, passages: list[Passage], cited: set[int]) -> str:
    """A terse answer ("$135 billion [1]") then the passage sentence it stands on, cited, as the extractive
    answerer gives the asked span and then its quote: the sentence the model quoted as evidence when it is
    a passage's own text, else the first sentence of a passage it was `cited` to that holds the answer's words
    (small models often give only "[1]" as evidence), else, for a yes or no, the one of those that shares most of
    its terms (half at least). Unchanged when none is found."""
    bare = MARKER.sub("", answer).strip()
    if not bare or len(bare.split()) > TERSE_WORDS:
        return answer
    quote = " ".join(MARKER.sub("", evidence).split())
    holder = next((p for p in passages if len(quote.split()) >= 4 and quote in " ".join(p.text.split())), None)
    if holder is None:
        value = tx.fold(bare.strip("[]().,;:!?\"'“”‘’ "))
        found = [(p, " ".join(p.text[a:b].split())) for p in passages if p.n in cited for a, b in tx.split_sentences(p.text)]
        holder, quote = next(((p, q) for p, q in found if value and value in tx.fold(q)), (None, ""))
        if holder is None and _YES_NO.match(bare):
            # "Yes, Alexandr Wang is leaving Meta." is in no sentence word for word: the sentence sharing most
            # of its terms stands for it ("As Alexandr Wang makes his planned exit from Meta, ..."), half at least.
            # (A claim of its own, "Meta paid $14.3 billion for Scale AI", was checked and stands alone.)
            words = set(tx.terms(bare))
            share = [(len(words & set(tx.terms(q))), -i) for i, (_, q) in enumerate(found)]
            best = max(range(len(found)), key=share.__getitem__, default=None)
            if best is not None and len(words) >= 2 and 2 * share[best][0] >= len(words):
                holder, quote = found[best]
    if holder is None or tx.fold(quote) == tx.fold(bare):
        return answer
    # No full stop is added after a bare value: the stream has shown "600 [1]" already, and the checker
    # would write "600. [1]".
    marked = answer.rstrip() if MARKER.search(answer) else f"{answer.rstrip()} [{holder.n}]"
    return f"{marked} {quote} [{holder.n}]"
