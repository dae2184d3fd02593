"""How well each sentence of the passages answers the question, and which value of the asked kind they name.

`rank_sentences` scores every candidate sentence (lexical coverage of the question's idf-weighted terms,
embedding similarity, small bonuses; `extractive.py` says how); `by_type` marks the values of the asked kind
the best sentences name; `consensus` lets the value most reports name lead. The answer bars that decide
whether the best of them answers at all are `extractive.py`'s.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rag.answering.citations import SEMANTIC_SUPPORT
from rag.answering.sentences import Spans, Unit, candidate, read_units
from rag.core import text as tx
from rag.core.models import Passage
from rag.core.questions import Asked

# --- weights ---
# Chosen on principle, then checked (not fitted) on the dev set and ~100 extra questions; results were
# flat for LEX_WEIGHT 0.5-0.6.

LEX_WEIGHT = 0.5  # score = LEX_WEIGHT * coverage + (1 - LEX_WEIGHT) * similarity + bonuses: equal say
RANK_BONUS = 0.04  # passage [1] gets it all, the last passage nothing: a tie-breaker, not a signal
PHRASE_BONUS = 0.1  # times the share of the question's adjacent term pairs the sentence repeats in order
CONTEXT_WEIGHT = 0.5  # a question term found only in the heading / list intro / antecedent counts half
NEAR_WEIGHT = 0.25  # ...and only in the sentence before or after, a quarter
# The answer bar on coverage (`extractive.py` applies it with the others): an answer holds at least this
# idf-weighted share of the question's terms (the rare, specific terms weigh most, so a question about
# "headcount" is not answered by sentences about "Meta"). Flat for 0.3-0.5.
MIN_COVERAGE = 0.4
# A sentence naming a value of the asked kind (a place for "Which country...", an organisation for "Which
# company...": `questions.answer_types`) that the question does not name scores this much higher when ranking
# (the answer bars read the plain score): a tie-breaker, half the phrase bonus. 0.1 and 0 were measured too
# (README "Answer types"): the ranking signal moves a question or two either way; what helps is the typed bar
# (`Scored.paraphrases`). The best TYPED_POOL sentences are tagged.
TYPE_BONUS = 0.05
TYPED_POOL = 15

@dataclass
class Scored:
    unit: Unit
    score: float
    coverage: float
    similarity: float
    span: str = ""  # the value of the asked kind the sentence answers with (`_by_type`, `_consensus`)
    spans: tuple[str, ...] = ()  # every value of the asked kind it names that the question does not

    @property
    def rank_score(self) -> float:
        return self.score + (TYPE_BONUS if self.span else 0.0)

    def paraphrases(self, ranking: Ranking) -> bool:
        """It names a value of the asked kind and says what the question says in other words (as close as the
        checker asks of a paraphrase): it answers though it repeats few of the question's words, as news quiz
        questions carry context ("this week", "according to a new report") the answer sentence does not."""
        return bool(self.span) and ranking.has_embeddings and self.similarity >= SEMANTIC_SUPPORT


def _embed(embedder, texts: list[str]) -> np.ndarray | None:
    if embedder is None or not texts:
        return None
    if hasattr(embedder, "embed"):
        vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
    else:  # any llama-index BaseEmbedding
        vectors = np.asarray(embedder.get_text_embedding_batch(texts), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.clip(norms, 1e-12, None)


def _match(term: str, vocab: set[str]) -> float:
    if term in vocab:
        return 1.0
    # Stems that differ only in a suffix ("emphas" / "emphasis", "commerci" / "commercialis").
    if len(term) >= 5 and any(len(v) >= 5 and (v.startswith(term) or term.startswith(v)) for v in vocab):
        return 0.8
    return 0.0


def coverage(qterms: list[str], idf: dict[str, float], units: list[Unit]) -> float:
    """idf-weighted share of the question terms in the units: full weight in their own text, part weight
    in the heading / list intro / antecedent they depend on, less in the sentences beside them."""
    total = sum(idf[t] for t in qterms)
    if not total:
        return 0.0
    own = set().union(*(u.terms for u in units))
    context = set().union(*(u.context_terms for u in units))
    near = set().union(*(u.near_terms for u in units))
    got = sum(
        idf[t] * max(_match(t, own), CONTEXT_WEIGHT * _match(t, context), NEAR_WEIGHT * _match(t, near))
        for t in qterms
    )
    return got / total


def _pairs(seq: list[str]) -> set[tuple[str, str]]:
    return {(x, y) for x, y in zip(seq, seq[1:]) if x != y}


def _embed_text(u: Unit) -> str:
    # A list item means little without its intro ("Zuckerberg has emphasized:").
    return f"{u.context} {u.text}".strip() if u.kind == "item" and u.context else u.text


@dataclass
class Ranking:
    question_terms: list[str]
    idf: dict[str, float]
    scored: list[Scored]  # best first
    by_passage: dict[int, list[Unit]]  # every unit of each passage, candidates or not, in order
    has_embeddings: bool


def rank_sentences(question: str, passages: list[Passage], embedder, spans: Spans | None = None) -> Ranking:
    """Every candidate sentence of the passages, scored against the question, best first. `spans`: a text's
    sentence spans, when the caller has split the passages already (`Evidence.spans`)."""
    qterms = list(dict.fromkeys(tx.terms(question, drop_frame=True)))
    units: list[Unit] = []
    seen: set[tuple[str, int]] = set()
    by_passage: dict[int, list[Unit]] = {}
    for rank, p in enumerate(passages):
        by_passage[rank] = read_units(p, rank, spans)
        for u in by_passage[rank]:
            # Overlapping chunks repeat sentences; keep the better-ranked copy.
            if candidate(u) and u.key not in seen:
                seen.add(u.key)
                units.append(u)
    if not units or not qterms:
        return Ranking(qterms, {}, [], by_passage, False)

    # idf over the candidate sentences, BM25's form (always positive).
    n = len(units)
    df = {t: sum(1 for u in units if t in u.terms) for t in qterms}
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in qterms}
    # A sentence sharing almost none of the question's terms cannot pass MIN_COVERAGE even with its
    # neighbours (they count a quarter as context); not embedding it saves most of the time.
    coverages = [coverage(qterms, idf, [u]) for u in units]
    keep = [i for i, c in enumerate(coverages) if c >= MIN_COVERAGE * NEAR_WEIGHT]
    units, coverages = [units[i] for i in keep], [coverages[i] for i in keep]
    vectors = _embed(embedder, [question] + [_embed_text(u) for u in units]) if units else None
    sims = vectors[1:] @ vectors[0] if vectors is not None else None
    qpairs = _pairs(qterms)
    scored = []
    for i, u in enumerate(units):
        cov = coverages[i]
        sim = float(sims[i]) if sims is not None else cov
        bonus = RANK_BONUS * (1 - u.rank / (len(passages) - 1)) if len(passages) > 1 else RANK_BONUS
        if qpairs:
            # Question words side by side in the same order ("winning strategy", "chief AI scientist").
            bonus += PHRASE_BONUS * len(qpairs & _pairs(tx.terms(_embed_text(u)))) / len(qpairs)
        scored.append(Scored(u, LEX_WEIGHT * cov + (1 - LEX_WEIGHT) * sim + bonus, cov, sim))
    scored.sort(key=lambda x: (-x.score, x.unit.rank, x.unit.start))
    return Ranking(qterms, idf, scored, by_passage, sims is not None)


def by_type(question: str, ranking: Ranking, asked: Asked, tagger) -> None:
    """Marks the best sentences that name a value of the asked kind the question does not, and re-ranks."""
    if not asked.types or tagger is None or not ranking.scored:
        return
    pool = ranking.scored[:TYPED_POOL]
    asked_terms = set(ranking.question_terms)
    texts = [p[0].passage.text.lower() for p in ranking.by_passage.values() if p]
    for cand, ents in zip(pool, tagger.tag([c.unit.text for c in pool], asked.types)):
        # "Mercor and Surge" does not answer "Who founded Mercor?", nor "this week" "When ... this week?".
        cand.spans = tuple(text for _, text in ents if not asked_terms & set(tx.terms(text)))
        # Of several, the one most of the passages name: an answer recurs across reports, a passing mention less.
        cand.span = max(cand.spans, key=lambda v: sum(tx.mentions(t, v.lower()) for t in texts), default="")
    ranking.scored.sort(key=lambda x: (-x.rank_score, x.unit.rank, x.unit.start))


def _key(value: str) -> str:
    return re.sub(r"^the\s+|(?:['’]s)$", "", tx.fold(value).strip())


def _names(value: str, key: str) -> bool:
    """Does the value name `key`, word for word ("Vladimir Putin" names "putin"; "Teslas" not "tesla")?"""
    return re.search(r"(?<!\w)" + re.escape(key) + r"(?!\w)", _key(value)) is not None


def consensus(ranking: Ranking, answers: Callable[[Scored], bool]) -> None:
    """Of the values of the asked kind that sentences which `answers` on their own name, the one the relevant
    sentences name most leads: each story group votes for a value with its best sentence naming it (the
    sentence's score), a shorter name ("Putin") gathering the votes of the longer ones that hold it ("Vladimir
    Putin"); a syndicated copy is one voice. Its best answering sentence moves first: one sentence naming an
    odd value ("the agency NHTSA") does not outvote several reports naming another ("Tesla")."""
    named = [c for c in ranking.scored if c.spans]
    strong = [c for c in named if answers(c)]
    support: dict[str, float] = {}
    for key in {_key(v) for c in strong for v in c.spans} - {""}:
        best: dict[str, float] = {}
        for c in named:
            if any(_names(v, key) for v in c.spans):
                best[c.unit.passage.group] = max(best.get(c.unit.passage.group, 0.0), c.score)
        support[key] = sum(best.values())
    if not support:
        return
    winner = max(sorted(support), key=support.__getitem__)
    lead = next(c for c in strong if any(_names(v, winner) for v in c.spans))
    lead.span = next(v for v in lead.spans if _names(v, winner))
    ranking.scored.remove(lead)
    ranking.scored.insert(0, lead)
