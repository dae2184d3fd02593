"""Check and repair the [n] markers of an answer against the retrieved passages.

A marker is valid when passage n exists and supports the sentence (or the clause: "A reports X [1],
while B reports Y [2]" is two claims) it ends: enough of the sentence's content words occur in the
passage, or one of the passage's sentences is semantically close to it, and every figure and name
the sentence states occurs in the passage ("$14.3 billion" = "14.3bn"). What the article says about
itself (title, outlet, author, date) counts as the passage's, so "“Title” (May 2, 2025) reports ..."
is an attribution, not an unsupported name. A short intro line that states nothing ("Reports
differ:") stands uncited. An invalid or missing
marker is replaced by the best-supporting passage; a sentence no passage
supports is removed and reported, so no claim reaches the user unsourced.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from rag.core import text as tx
from rag.core import tracing
from rag.core.models import INFO_FIELDS, Citation, Passage

MARKER = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
# A sentence is supported when this share of its content words is in the passage...
LEXICAL_SUPPORT = 0.5
# ...or when a passage sentence is this close in embedding space.
SEMANTIC_SUPPORT = 0.62
# An answer sentence with fewer content words than this ("$14.3 billion", "Meta") says nothing alone:
# it is checked as the answer to the question, i.e. together with the question's words and facts.
TERSE_TERMS = 4
# Markers that open a piece belong to the sentence before it ("... 2024. [1][2] Next ...").
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\d+(?:\s*,\s*\d+)*\])+")


def content_terms(text: str) -> set[str]:
    """The stemmed content words a sentence and its passage are compared on (`text.terms`)."""
    return set(tx.terms(text, drop_frame=True))


@dataclass
class Checked:
    answer: str
    citations: list[Citation]
    markers: int = 0
    valid_markers: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def validity(self) -> float | None:
        return self.valid_markers / self.markers if self.markers else None


@dataclass
class _Read:
    """A passage's words and sentences as the checker compares answer sentences with them: read once per
    check, not once per answer sentence."""

    terms: set[str]
    about: set[str]  # the content words of what the article says about itself (title, outlet, date)
    facts: str  # the figures and names a claim may state: the article's own details, then the passage's
    sentences: list[tuple[int, int]]  # what is embedded
    spans: list[tuple[int, int]]  # what may be quoted: the sentences, or the whole text when it has none
    span_terms: list[set[str]]

    @classmethod
    def of(cls, passage: Passage) -> _Read:
        sentences = tx.split_sentences(passage.text)
        spans = sentences or [(0, len(passage.text))]
        facts = f"{passage.about}\n{passage.text}"
        span_terms = [content_terms(passage.text[s:e]) for s, e in spans]
        return cls(content_terms(passage.text), content_terms(passage.about), facts, sentences, spans, span_terms)


class CitationChecker:
    # Passage sentences whose vectors are kept: a streamed answer is checked once per sentence against
    # the same passages, so each passage sentence is embedded once per question, not once per check.
    CACHED_SENTENCES = 4096

    def __init__(self, embedder=None):
        self.embedder = embedder
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # the API server checks answers from several threads

    def check(self, answer: str, passages: list[Passage], keep_format: bool = True, question: str = "") -> Checked:
        """The answer with only supported sentences and valid markers. `keep_format`: an answer that
        needed no repair keeps the model's own formatting; otherwise the checked sentences are joined
        with spaces (what a sentence-by-sentence stream shows). A terse sentence is checked as the
        answer to `question` ("Meta" to "Who won the 2022 World Cup?" is not supported by a passage
        that names Meta but no World Cup)."""
        with tracing.span("check", chars=len(answer)) as current:
            checked = self._check(answer, passages, keep_format, question)
            current.set_attributes({"citations": len(checked.citations), "repairs": len(checked.warnings)})
            return checked

    def _check(self, answer: str, passages: list[Passage], keep_format: bool, question: str) -> Checked:
        by_n = {p.n: p for p in passages}
        read = {p.n: _Read.of(p) for p in passages}
        pieces = [(_claim(sentence, question), cited) for sentence, cited in _answer_sentences(answer)]
        supports = [{p.n: self._support(piece, p, read[p.n], None, i) for p in passages} for i, (piece, _) in enumerate(pieces)]
        # Embeddings cost most of the check: only paraphrases the words alone cannot place need them.
        if any(not all(n in by_n and sup[n][0] for n in cited) or not cited for sup, (_, cited) in zip(supports, pieces)):
            embeds = self._embed_pieces(pieces, passages, read)
            if embeds is not None:
                supports = [{p.n: self._support(piece, p, read[p.n], embeds, i) for p in passages} for i, (piece, _) in enumerate(pieces)]
        out_sentences: list[str] = []
        quotes: dict[int, tuple[int, int, float]] = {}
        checked = Checked(answer="", citations=[])
        repaired = False
        for support, ((sentence, _claimed), cited) in zip(supports, pieces):
            if not cited and is_intro(sentence):
                out_sentences.append(sentence)
                continue
            valid = [n for n in cited if n in by_n and support[n][0]]
            checked.markers += len(cited)
            checked.valid_markers += len(valid)
            for n in cited:
                if n not in by_n:
                    checked.warnings.append(f"Removed citation [{n}]: there is no passage {n}.")
                elif n not in valid:
                    checked.warnings.append(f"Citation [{n}] does not support: {sentence!r}")
            if valid != cited:
                repaired = True
            if not valid:
                repaired = True
                # The supporting passage that supports it best: strength is one measure across passages.
                best = max((n for n in support if support[n][0]), key=lambda n: support[n][2], default=None)
                if best is None:
                    checked.warnings.append(f"Removed a sentence no passage supports: {sentence!r}")
                    continue
                valid = [best]
                checked.warnings.append(f"Attributed {sentence!r} to passage [{best}].")
            for n in valid:
                span, score = support[n][1], support[n][2]
                if n not in quotes or score > quotes[n][2]:
                    quotes[n] = (*span, score)
            out_sentences.append(sentence + "".join(f" [{n}]" for n in valid))
        # Untouched answers keep the model's own formatting (and match what was streamed), unless a
        # marker stood where no sentence did ("[0]" alone): then only the checked sentences remain.
        stray = {m.group(0).strip() for m in MARKER.finditer(answer)} - {
            m.group(0).strip() for sentence in out_sentences for m in MARKER.finditer(sentence)
        }
        checked.answer = _join(out_sentences) if repaired or stray or not keep_format else answer.strip()
        for n in sorted(quotes, key=lambda n: checked.answer.find(f"[{n}]")):
            p = by_n[n]
            s, e, _ = quotes[n]
            checked.citations.append(
                Citation(
                    n=n, **p.model_dump(include=INFO_FIELDS), start=p.start + s, end=p.start + e, quote=p.text[s:e], chunk_id=p.chunk_id,
                    also_reported_by=p.also_reported_by,
                )
            )
        return checked

    def _embed_pieces(self, pieces, passages, read: dict[int, _Read]) -> dict | None:
        if self.embedder is None or not hasattr(self.embedder, "embed"):
            return None
        answer_texts = [claim for (_, claim), _ in pieces if claim]
        passage_sents = [(p.n, s, e) for p in passages for s, e in read[p.n].sentences]
        sentences = [p.text[s:e] for p in passages for s, e in read[p.n].sentences]
        if not answer_texts and not sentences:
            return None
        with self._lock:
            known = {t: self._vectors[t] for t in sentences if t in self._vectors}
        new = list(dict.fromkeys(t for t in sentences if t not in known))
        batch = answer_texts + new
        vectors = np.asarray(self.embedder.embed(batch), dtype=np.float32) if batch else np.zeros((0, 0), np.float32)
        known.update(zip(new, vectors[len(answer_texts) :]))
        with self._lock:
            for t in new:
                self._vectors[t] = known[t]
            while len(self._vectors) > self.CACHED_SENTENCES:
                self._vectors.popitem(last=False)
        passage = np.stack([known[t] for t in sentences]) if sentences else np.zeros((0, vectors.shape[1]), np.float32)
        return {"answer": vectors[: len(answer_texts)], "passage": passage, "spans": passage_sents}

    def _support(
        self, piece: tuple[str, str], passage: Passage, read: _Read, embeds: dict | None, index: int
    ) -> tuple[bool, tuple[int, int], float]:
        """(supported, best quote span within the passage, strength) for (sentence, claim checked for it).

        Support is judged on the claim; the quote is the passage sentence that states the answer
        sentence itself (for "By Daniel Ebube", the byline, not the sentence sharing the question's words).
        """
        sentence, claim = piece
        terms = content_terms(claim)
        # An attribution's words ("The Coast Times reported on March 3") are the article's own.
        lexical = len(terms & (read.terms | read.about)) / len(terms) if terms else 0.0
        own = content_terms(sentence) or terms
        best_span = read.spans[max(range(len(read.spans)), key=lambda j: len(own & read.span_terms[j]))]
        semantic = 0.0
        if embeds is not None:
            rows = [j for j, (n, _, _) in enumerate(embeds["spans"]) if n == passage.n]
            if rows:
                # Index among non-empty answer sentences.
                sims = embeds["passage"][rows] @ embeds["answer"][index]
                j = int(np.argmax(sims))
                semantic = float(sims[j])
                if semantic >= SEMANTIC_SUPPORT and claim == sentence:
                    best_span = embeds["spans"][rows[j]][1:]
        # Sharing words is not enough: every figure and name of the sentence must be in the passage,
        # so "Meta paid $20 billion" is not supported by a passage that says $14 billion.
        supported = (lexical >= LEXICAL_SUPPORT or semantic >= SEMANTIC_SUPPORT) and _states(claim, own, passage, read)
        # Strength is what passages competing for one sentence are ranked by, so it is one measure for
        # all of them: the best sentence's cosine when embeddings were computed (they are, for every
        # passage, whenever a sentence needed them), else the share of words.
        return supported, best_span, semantic if embeds is not None else lexical


# "Reports differ:", "Two articles report this:": a line that opens what follows and states nothing itself.
INTRO_TERMS = 3


def is_intro(sentence: str) -> bool:
    return sentence.endswith(":") and len(content_terms(sentence)) <= INTRO_TERMS and not tx.figures(sentence) and not tx.names(sentence)


def _states(claim: str, own: set[str], passage: Passage, read: _Read) -> bool:
    """Does the passage state the claim's figures and names? Its article's title, outlet and date count only for a
    sentence that says something more of its own in the passage's words ("“Title” reports X"): "By Daniel Ebube"
    is supported by the passage that shows the byline, not by every passage of that article."""
    if not tx.unsupported_facts(claim, passage.text):
        return True
    rest = own - read.about
    return bool(rest) and len(rest & read.terms) / len(rest) >= LEXICAL_SUPPORT and not tx.unsupported_facts(claim, read.facts)


def _claim(sentence: str, question: str) -> tuple[str, str]:
    """(the sentence, what is checked for it): a terse sentence is checked with its question."""
    if question and len(content_terms(sentence)) < TERSE_TERMS:
        return sentence, f"{question} {sentence}"
    return sentence, sentence


def complete_prefix(text: str) -> str:
    """The part of a growing answer whose sentences are complete: each is followed by the start of
    another (its trailing [n] markers may still be arriving until then)."""
    spans = tx.split_sentences(text)
    for s, e in reversed(spans[1:]):
        if MARKER.sub("", text[s:e]).strip(" .!?"):
            return text[:s]
    return ""


def _answer_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """Sentences of an answer with the markers that follow each (markers stripped from the text).

    Split like the articles (`text.split_sentences`: "Jan. 5", "U.S." and "$14.3" do not end a
    sentence); markers after a sentence's full stop belong to it, not to the next one.
    """
    out: list[tuple[str, list[int]]] = []
    text = answer.strip()
    for s, e in tx.split_sentences(text):
        chunk = text[s:e]
        lead = _LEADING_MARKERS.match(chunk)
        if lead and out:
            out[-1][1].extend(_numbers(lead.group(0)))
            chunk = chunk[lead.end() :]
        # "A reports X [1], while B reports Y [2]": each clause is checked against the passage it cites.
        *clauses, chunk = _clauses(chunk)
        for clause in clauses:
            bare = _bare(clause)
            if bare.strip(" .!?,;:"):
                out.append((bare, _numbers(clause)))
            elif out:  # "[0]0": markers with no words before them go with the sentence before
                out[-1][1].extend(_numbers(clause))
        cited = _numbers(chunk)
        bare = _bare(chunk)
        if bare in (".", "!", "?", ""):
            if out and cited:
                out[-1][1].extend(cited)
            continue
        out.append((bare, cited))
    return [(sentence, list(dict.fromkeys(cited))) for sentence, cited in out]


def _bare(piece: str) -> str:
    """A piece's text without its markers; "claim [1]." leaves " ." behind once the marker goes."""
    return re.sub(r"\s+([.!?,;:])", r"\1", MARKER.sub("", piece).strip())


def _join(sentences: list[str]) -> str:
    """Checked sentences joined by spaces; a clause (", while ...") follows its sentence directly."""
    return "".join(("" if not i or s[:1] in ",;:" else " ") + s for i, s in enumerate(sentences))


def _clauses(sentence: str) -> list[str]:
    """The sentence cut after each marker that more words follow (the last piece keeps the sentence's end)."""
    cuts = [m.end() for m in MARKER.finditer(sentence) if re.search(r"\w", sentence[m.end() :]) and not MARKER.match(sentence[m.end() :])]
    return [sentence[a:b] for a, b in zip([0, *cuts], [*cuts, len(sentence)])]


def _numbers(text: str) -> list[int]:
    return [int(n) for m in MARKER.finditer(text) for n in re.split(r"\s*,\s*", m.group(1))]
