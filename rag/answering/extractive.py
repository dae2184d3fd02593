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

For a question asking for a named thing or a figure, the value the relevant sentences of several articles
name most leads (one vote per story group, weighted by its best sentence's score), as long as a sentence
naming it passes the bars below on its own.

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

import re
from dataclasses import dataclass, field

from rag.answering import across
from rag.answering.citations import SEMANTIC_SUPPORT
from rag.answering.ranking import MIN_COVERAGE, Ranking, Scored, by_type, consensus, coverage, rank_sentences
from rag.answering.sentences import MAX_WORDS, Spans, Unit, compose, point
from rag.core import text as tx
from rag.core.models import Passage
from rag.core.questions import BYLINE, Asked

# --- the answer bars ---
# Chosen on principle, then checked (not fitted) on the dev set and ~100 extra questions; results were
# flat for MIN_COMBINED 0.45-0.55, MIN_COVERAGE 0.3-0.5.

# Abstain unless the best sentence scores at least this: both signals at least middling...
MIN_COMBINED = 0.5
# ...its answer holds at least `ranking.MIN_COVERAGE` of the question's idf-weighted terms, and MiniLM's
# cosine is above this (below it the sentence is about something else).
MIN_SIMILARITY = 0.2
SECOND_WITHIN = 0.9  # a second, independent sentence joins when it scores this close to the best
# Another article's best sentence joins (attributed, one line per article) when it would pass every test
# above on its own; so many articles at most.
MAX_ARTICLES = 3
MAX_SENTENCES = 3  # sentences from one point, or in all (list items aside)


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


# --- the answer ---


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


def _abstain(reason: str, score: float = 0.0, coverage: float = 0.0, similarity: float = 0.0) -> ExtractiveResult:
    return ExtractiveResult("", True, [], score, coverage, similarity, reason)

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
    by_type(question, ranking, asked, tagger)

    def fits(group: list[Unit]) -> bool:
        return asked.held_by([u.text for u in group])

    def answers(cand: Scored) -> bool:
        group = point(cand.unit, ranking.by_passage)
        return fits(group) and not _weak(question, ranking, cand, _held(ranking, group), group)

    consensus(ranking, answers)

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

    chosen = [u for g in groups for u in g]
    held = _held(ranking, groups[0])
    reason = _weak(question, ranking, best, held, chosen)
    if reason:
        return _abstain(reason, best.score, held, best.similarity)
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
    return ExtractiveResult(text, False, sentences, best.score, held, best.similarity, value=value)


def _held(ranking: Ranking, units: list[Unit]) -> float:
    """The weighted share of the question's terms the units hold (`ranking.coverage`)."""
    return coverage(ranking.question_terms, ranking.idf, units)


def _weak(question: str, ranking: Ranking, best: Scored, held: float, chosen: list[Unit]) -> str:
    """Why the answer led by `best` (its point holding `held` of the question's terms; all it quotes `chosen`)
    is too weak to give, or ""."""
    typed = best.paraphrases(ranking)
    if best.score < MIN_COMBINED and not typed:
        return f"best sentence scores {best.score:.2f} < {MIN_COMBINED}"
    if ranking.has_embeddings and best.similarity < MIN_SIMILARITY:
        return f"best sentence similarity {best.similarity:.2f} < {MIN_SIMILARITY}"
    if held < MIN_COVERAGE and not typed:
        return f"the answer holds {held:.0%} of the question's terms (weighted) < {MIN_COVERAGE:.0%}"
    missing = _missing(question, chosen)
    return "the passages do not mention " + ", ".join(missing) if missing else ""


def _other_articles(question: str, ranking: Ranking, best: Scored, answer: list[Unit], asked: Asked) -> list[list[Unit]]:
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
            close or _held(ranking, group) >= MIN_COVERAGE
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


def _byline_answer(question: str, passages: list[Passage], ranking: Ranking) -> ExtractiveResult:
    """"Who wrote ...?": the byline of the best-ranked article the question is about.

    The article must hold the question's terms (its title counts): a question about an article
    the collection lacks is not answered with some other article's byline.
    """
    qterms = set(ranking.question_terms) - {"wrote", "write", "author", "articl", "piec", "stori"}

    def share(p: Passage) -> float:
        return len(qterms & set(tx.terms(f"{p.title}\n{p.text}"))) / len(qterms) if qterms else 0.0

    # The article the question is about: the best-ranked passage that holds its terms.
    about = next((p for p in passages if share(p) >= MIN_COVERAGE), None)
    if about is None:
        return _abstain("the question asks who wrote an article, and no passage is about what it names")
    for rank, p in enumerate(passages):
        byline = next((u for u in ranking.by_passage[rank] if BYLINE.match(u.text)), None)
        if p.source == about.source and byline is not None:
            sentence = (byline.text, p.n, p.start + byline.start, p.start + byline.end)
            return ExtractiveResult(f"{byline.text} [{p.n}]", False, [sentence], share(about), share(about), 0.0)
    return _abstain(f"the passages of the article it is about ({about.title}) show no byline")
