"""One article per story group: copies of one text (`ingest/stories.py`) must not fill the top k and pass
for several sources agreeing.

The group's best-ranked article leads it. A passage from another article of the group is left out when
every sentence of it that bears on the question (holds half of its terms, weighted by idf) is also in the
lead article, word for word or nearly (a copy says nothing more about what is asked); that article is
listed on the lead's first passage as `also_reported_by`. A copy whose sentence on the question was
edited (another figure, another name) differs in what the question asks, and stays; a new headline or a
reworded aside that shares a word with the question does not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.core.models import INFO_FIELDS, ArticleInfo, Passage
from rag.retrieval.evidence import Evidence

# A sentence is "in" the lead article when this share of its word 4-shingles is.
CONTAINED = 0.8
# A sentence bears on the question when it holds this share of its terms (idf-weighted over the passages).
BEARS = 0.5
_SHINGLE = 4
_WORD = re.compile(r"\w+")


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + _SHINGLE]) for i in range(max(1, len(words) - _SHINGLE + 1))}


def collapse_copies(
    evidence: Evidence, passages: list[Passage], article_texts: Callable[[Sequence[str]], dict[str, str]]
) -> list[Passage]:
    """The passages in order, less those of near-duplicate copies that add nothing the question asks about."""
    stories = {p.story for p in passages if p.story}
    lead: dict[str, Passage] = {}  # story -> the first passage of its best-ranked article
    for p in passages:
        if p.story in stories and p.story not in lead:
            lead[p.story] = p
    copies = [p for p in passages if p.story in lead and p.source != lead[p.story].source]
    if not copies:
        return passages
    texts = article_texts(sorted({lead[p.story].source for p in copies}))
    lead_shingles = {s: _shingles(texts.get(lead[s].source, "")) for s in {p.story for p in copies}}
    question = evidence.over(passages)
    dropped = set()
    for p in copies:
        bearing = [p.text[s:e] for s, e, terms in evidence.sentences(p.text) if question.coverage(terms) >= BEARS]
        held = lead_shingles[p.story]
        if held and all(len(_shingles(s) & held) >= CONTAINED * len(_shingles(s)) for s in bearing):
            dropped.add(p.chunk_id)
            first = lead[p.story]
            if all(a.source != p.source for a in first.also_reported_by):
                first.also_reported_by.append(ArticleInfo(**p.model_dump(include=INFO_FIELDS)))
    return [p for p in passages if p.chunk_id not in dropped]
