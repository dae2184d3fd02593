"""The offline answer provider: quote the passage sentences that answer the question.

No language model. The retrieved passages are split into sentences and list
items (headings, table rows, bylines and cut-off fragments are dropped); each
is scored by

* lexical coverage: the idf-weighted share of the question's content terms
  (lower-cased, stemmed, stopwords and question-frame words like "reportedly"
  removed) that the sentence holds, idf counted over the candidate sentences,
  so terms every passage shares ("Meta", "AI") weigh little and a specific
  term the passages never mention weighs most; terms in the sentence's
  heading, list intro or antecedent count in part;
* embedding similarity between question and sentence (one batch call);
* small bonuses for the question's words side by side in the same order, and
  for the passage's retrieval rank.

The best sentence, with what continues its point (the antecedent of a
sentence opening "She ...", a following "However ..." sentence, the items of
a list) and, when it scores nearly as well, a second independent sentence,
form the answer: quoted verbatim, each followed by its [n].

It abstains when the evidence is weak: the best score or the weighted term
coverage is low, a name or number from the question ("Avocado", "2022") is
not in the passages, or the question asks for a quantity ("How many ...",
"What is X's share price?"), a date ("When ...") or a name ("Who ...",
"Which chain ...": a name the question does not already hold) and no
well-scoring sentence has one. Sentences that ask ("...?") are never quoted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from rag.answering import across
from rag.answering.citations import SEMANTIC_SUPPORT
from rag.answering.sentences import MAX_WORDS, Spans, Unit, candidate, compose, point, read_units
from rag.core import text as tx
from rag.core.models import Passage
from rag.core.questions import BYLINE, Asked

# --- weights and thresholds ---
# Chosen on principle, then checked (not fitted) on the dev set and ~100 extra questions; results were
# flat for LEX_WEIGHT 0.5-0.6, MIN_COMBINED 0.45-0.55, MIN_COVERAGE 0.3-0.5.

LEX_WEIGHT = 0.5  # score = LEX_WEIGHT * coverage + (1 - LEX_WEIGHT) * similarity + bonuses: equal say
RANK_BONUS = 0.04  # passage [1] gets it all, the last passage nothing: a tie-breaker, not a signal
PHRASE_BONUS = 0.1  # times the share of the question's adjacent term pairs the sentence repeats in order
CONTEXT_WEIGHT = 0.5  # a question term found only in the heading / list intro / antecedent counts half
NEAR_WEIGHT = 0.25  # ...and only in the sentence before or after, a quarter
# Abstain unless the best sentence scores at least this: both signals at least middling...
MIN_COMBINED = 0.5
# ...its answer holds at least this idf-weighted share of the question's terms (the rare, specific
# terms weigh most, so a question about "headcount" is not answered by sentences about "Meta")...
MIN_COVERAGE = 0.4
# ...and MiniLM's cosine is above this (below it the sentence is about something else).
MIN_SIMILARITY = 0.2
SECOND_WITHIN = 0.9  # a second, independent sentence joins when it scores this close to the best
# Another article's best sentence joins (attributed, one line per article) when it would pass every test
# above on its own; so many articles at most.
MAX_ARTICLES = 3
MAX_SENTENCES = 3  # sentences from one point, or in all (list items aside)
# A sentence naming a value of the asked kind (a place for "Which country...", an organisation for "Which
# company...": `questions.answer_types`) that the question does not name scores this much higher when ranking
# (the answer bars read the plain score): a tie-breaker, half the phrase bonus. 0.1 and 0 were measured too
# (README "Answer types"): the ranking signal moves a question or two either way; what helps is the typed bar
# below. The best TYPED_POOL sentences are tagged.
TYPE_BONUS = 0.05
TYPED_POOL = 15

def _question_names(question: str) -> list[str]:
    """Capitalised words and numbers the evidence should mention ("Avocado", "2022")."""
    # Parts of a compound count on their own ("YouTube-famous": YouTube).
    words = re.findall(r"[A-Za-z0-9][\w’'&.]*", question)
    if sum(w[0].isupper() for w in words) > len(words) / 2:
        words = [w for w in words if not w.isalpha()]  # Title Case Or SHOUTED: capitals say nothing
    out = []
    for i, w in enumerate(words):
        w = re.sub(r"(?:['’]s|[.'’-])+$", "", w)
        if not w:
            continue
        if any(c.isdigit() for c in w):
            out.append(w.lower())
        elif i > 0 and w[0].isupper() and w.lower() not in tx.STOP and w.lower() not in tx.FRAME:
            out.append(w.lower())
    return out


# --- scoring ---


@dataclass
class ExtractiveResult:
    answer: str  # every sentence followed by its [n]; "" when abstained
    abstained: bool
    # (quoted sentence, passage n, start, end): start/end are offsets in the cleaned article
    sentences: list[tuple[str, int, int, int]] = field(default_factory=list)
    score: float = 0.0  # combined score of the best sentence
    coverage: float = 0.0  # weighted share of the question's terms in the answer's main sentence(s)
    similarity: float = 0.0  # embedding cosine of question and best sentence
    reason: str = ""  # why it abstained
    value: str = ""  # the value of the asked kind the answer leads with ("Glasgow [1]. <quote> [1]"), if any


@dataclass
class Scored:
    unit: Unit
    score: float
    coverage: float
    similarity: float
    span: str = ""  # the value of the asked kind the sentence names (`_by_type`)

    @property
    def rank_score(self) -> float:
        return self.score + (TYPE_BONUS if self.span else 0.0)

    def paraphrases(self, ranking: _Ranking) -> bool:
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


def _coverage(qterms: list[str], idf: dict[str, float], units: list[Unit]) -> float:
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
class _Ranking:
    question_terms: list[str]
    idf: dict[str, float]
    scored: list[Scored]  # best first
    by_passage: dict[int, list[Unit]]  # every unit of each passage, candidates or not, in order
    has_embeddings: bool


def rank_sentences(question: str, passages: list[Passage], embedder, spans: Spans | None = None) -> _Ranking:
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
        return _Ranking(qterms, {}, [], by_passage, False)

    # idf over the candidate sentences, BM25's form (always positive).
    n = len(units)
    df = {t: sum(1 for u in units if t in u.terms) for t in qterms}
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in qterms}
    # A sentence sharing almost none of the question's terms cannot pass MIN_COVERAGE even with its
    # neighbours (they count a quarter as context); not embedding it saves most of the time.
    coverages = [_coverage(qterms, idf, [u]) for u in units]
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
    return _Ranking(qterms, idf, scored, by_passage, sims is not None)


def _abstain(reason: str, score: float = 0.0, coverage: float = 0.0, similarity: float = 0.0) -> ExtractiveResult:
    return ExtractiveResult("", True, [], score, coverage, similarity, reason)


def _by_type(question: str, ranking: _Ranking, asked: Asked, tagger) -> None:
    """Marks the best sentences that name a value of the asked kind the question does not, and re-ranks."""
    if not asked.types or tagger is None or not ranking.scored:
        return
    pool = ranking.scored[:TYPED_POOL]
    asked_terms = set(ranking.question_terms)
    texts = [p[0].passage.text.lower() for p in ranking.by_passage.values() if p]
    for cand, ents in zip(pool, tagger.tag([c.unit.text for c in pool], asked.types)):
        # "Mercor and Surge" does not answer "Who founded Mercor?", nor "this week" "When ... this week?".
        spans = [text for _, text in ents if not asked_terms & set(tx.terms(text))]
        # Of several, the one most of the passages name: an answer recurs across reports, a passing mention less.
        cand.span = max(spans, key=lambda v: sum(tx.mentions(t, v.lower()) for t in texts), default="")
    ranking.scored.sort(key=lambda x: (-x.rank_score, x.unit.rank, x.unit.start))


def extractive_answer(
    question: str, passages: list[Passage], embedder, asked: Asked | None = None, tagger=None, spans: Spans | None = None
) -> ExtractiveResult:
    """Quote the passage sentences that answer `question`, or abstain.

    `embedder` has `.embed(list[str]) -> ndarray` (MiniLMEmbedding) or is any
    llama-index embedding; None scores by term coverage alone. `asked`: what the
    question asks for, when the caller has read it already. `tagger`: an
    `entities.EntityTagger`, to prefer sentences naming a value of the asked kind. `spans`: as `rank_sentences`.
    """
    if not passages or not question.strip():
        return _abstain("no passages or an empty question")
    ranking = rank_sentences(question, passages, embedder, spans)
    if not ranking.question_terms:
        return _abstain("the question has no content words")
    if not ranking.scored:
        return _abstain("no passage sentence shares enough of the question's terms")

    asked = asked or Asked.of(question)
    if asked.author:
        return _byline_answer(question, passages, ranking)
    _by_type(question, ranking, asked, tagger)

    def fits(group: list[Unit]) -> bool:
        return asked.held_by([u.text for u in group])

    best, groups = None, []
    for cand in ranking.scored:
        group = point(cand.unit, ranking.by_passage)
        if fits(group):
            best, groups = cand, [group]
            break
    if best is None:
        wanted = asked.what
        return _abstain(f"the question asks for {wanted} and no sentence has one")

    # A second, independent sentence of the same article when it scores nearly as well (another article's
    # is attributed to it: `_other_articles`).
    for cand in ranking.scored:
        if cand.rank_score < SECOND_WITHIN * best.rank_score:
            break
        if cand.unit.passage.source != best.unit.passage.source:
            continue
        group = point(cand.unit, ranking.by_passage)
        keys = {u.key for g in groups for u in g}
        words = sum(u.words for g in groups for u in g) + sum(u.words for u in group)
        count = sum(len(g) for g in groups) + len(group)
        if cand is best or not fits(group) or keys & {u.key for u in group} or words > MAX_WORDS or count > MAX_SENTENCES:
            continue
        groups.append(group)
        break

    coverage = _coverage(ranking.question_terms, ranking.idf, groups[0])
    chosen = [u for g in groups for u in g]
    missing = _missing(question, chosen)
    reason = ""
    typed = best.paraphrases(ranking)
    if best.score < MIN_COMBINED and not typed:
        reason = f"best sentence scores {best.score:.2f} < {MIN_COMBINED}"
    elif ranking.has_embeddings and best.similarity < MIN_SIMILARITY:
        reason = f"best sentence similarity {best.similarity:.2f} < {MIN_SIMILARITY}"
    elif coverage < MIN_COVERAGE and not typed:
        reason = f"the answer holds {coverage:.0%} of the question's terms (weighted) < {MIN_COVERAGE:.0%}"
    elif missing:
        reason = "the passages do not mention " + ", ".join(missing)
    if reason:
        return _abstain(reason, best.score, coverage, best.similarity)
    # The asked value first ("Glasgow [1]."), then the quote it stands in.
    text = f"{best.span} [{best.unit.passage.n}]. {compose(groups)}" if best.span else compose(groups)
    value = best.span
    others = _other_articles(question, ranking, best, groups[0], asked)
    if others:
        value = ""
        # Several articles bear on it: each says its piece, attributed ("Reports differ:" when their values do).
        readings = [groups[0], *others]
        chosen = [u for g in readings for u in g]
        text = across.compose([across.Reading(g[0].passage, [(u.text, u.passage.n) for u in g]) for g in readings], asked)
    sentences = [(u.text, u.passage.n, u.passage.start + u.start, u.passage.start + u.end) for u in chosen]
    return ExtractiveResult(text, False, sentences, best.score, coverage, best.similarity, value=value)


def _other_articles(question: str, ranking: _Ranking, best: Scored, answer: list[Unit], asked: Asked) -> list[list[Unit]]:
    """The best sentence (with what continues it) of each other article that would answer on its own, or that
    gives the answer's own value of the asked kind ("a 49 percent stake" beside "buy 49% of"): corroboration
    in other words, as a reader checks a figure across outlets."""
    # Copies of one text (a story group) are one source, however many outlets ran it.
    picked = {best.unit.passage.group}
    # The answer's value of the asked kind: the one it leads with, else what its sentences give.
    values = asked.values(best.span or " ".join(u.text for u in answer))
    out: list[list[Unit]] = []
    for cand in ranking.scored:
        if len(out) + 1 >= MAX_ARTICLES:
            break
        if cand.unit.passage.group in picked or (ranking.has_embeddings and cand.similarity < MIN_SIMILARITY):
            continue
        group = point(cand.unit, ranking.by_passage)
        if not asked.held_by([u.text for u in group]):
            continue
        theirs = asked.values(" ".join(u.text for u in group))
        corroborates = bool(values) and bool(theirs) and asked.agree(values, theirs)
        # The question's rare terms are established by the best answer: another article may say it in other words
        # ("poured $14.3 billion into" for "paid for its stake") when it is as close in meaning as the checker
        # asks of a paraphrase; otherwise it is held to the bars the best answer's sentence is.
        close = ranking.has_embeddings and cand.similarity >= SEMANTIC_SUPPORT
        passes = (cand.score >= MIN_COMBINED or cand.paraphrases(ranking)) and (
            close or _coverage(ranking.question_terms, ranking.idf, group) >= MIN_COVERAGE
        )
        if not (passes or corroborates):
            continue
        if _missing(question, group):
            continue
        picked.add(cand.unit.passage.group)
        out.append(group)
    return out


def _missing(question: str, units: list[Unit]) -> list[str]:
    """The question's names and numbers ("Avocado", "2022") that the units' articles do not mention."""
    # A passage is a window of its article; the article's title is part of what it says.
    evidence = tx.fold(" ".join(dict.fromkeys(f"{u.passage.title}\n{u.passage.text}" for u in units)))
    return [w for w in _question_names(question) if not tx.mentions(evidence, tx.fold(w))]


# --- who wrote it ---


def _byline_answer(question: str, passages: list[Passage], ranking: _Ranking) -> ExtractiveResult:
    """"Who wrote ...?": the byline of the best-ranked article the question is about.

    The article must hold the question's terms (its title counts): a question about an article
    the collection lacks is not answered with some other article's byline.
    """
    qterms = set(ranking.question_terms) - {"wrote", "write", "author", "articl", "piec", "stori"}

    def coverage(p: Passage) -> float:
        return len(qterms & set(tx.terms(f"{p.title}\n{p.text}"))) / len(qterms) if qterms else 0.0

    # The article the question is about: the best-ranked passage that holds its terms.
    about = next((p for p in passages if coverage(p) >= MIN_COVERAGE), None)
    if about is None:
        return _abstain("the question asks who wrote an article, and no passage is about what it names")
    for rank, p in enumerate(passages):
        byline = next((u for u in ranking.by_passage[rank] if BYLINE.match(u.text)), None)
        if p.source == about.source and byline is not None:
            sentence = (byline.text, p.n, p.start + byline.start, p.start + byline.end)
            return ExtractiveResult(f"{byline.text} [{p.n}]", False, [sentence], coverage(about), coverage(about), 0.0)
    return _abstain(f"the passages of the article it is about ({about.title}) show no byline")
