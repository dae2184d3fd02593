"""What a question asks for - a quantity, a date, a height / age / percentage, a name - and whether a
text holds one. The extractive answerer picks its sentences with it; the answerer holds every model
answer to it ("What is Meta's headcount?" is not answered by a sentence without a number)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.core import text as tx
from rag.core.errors import InvalidQuestionError

# Capitalised, as English writes them: "continues to march onward" names no month.
_MONTHS = "(?-i:" + "|".join("January February March April June July August September October November December".split() + [r"May(?=\s+\d)"]) + ")"
_PERIOD = r"(?:year|month|week|day|decade|quarter|spring|summer|autumn|fall|winter|morning|night)s?"
_TIME = re.compile(
    r"\b(?:(?:19|20)\d\d|%s|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday|today|yesterday|tomorrow|tonight|recently|"
    r"(?:this|last|next|that|same|previous|following|early|earlier|late|later|within|one|two|three|a|an|\d+)\s+(?:\w+\s+)?%s|"
    r"%s\s+(?:ago|later|earlier))\b"
    # An abbreviated month ("Jan. 3") ends at its dot, where no word boundary is.
    r"|\b(?-i:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.(?=\s*\d)" % (_MONTHS, _PERIOD, _PERIOD),
    re.IGNORECASE,
)
_QUANTITY_Q = re.compile(
    r"\bhow\s+(?:much|many|large|big|old|long|far|high|low|tall|small|often)\b|"
    # "What is Apple's share price?", "What was Meta's profit in 2024?": the quantity is what is asked.
    r"^\s*(?:what|which)(?:'s|’s|\s+(?:is|was|are|were|will\s+be|would\s+be))?\s+(?:[\w'’-]+\s+){0,4}?"
    r"(?:price|prices|cost|costs|salary|salaries|revenue|revenues|headcount|valuation|worth|percentage|percent|"
    r"amount|number|size|age|population|profit|profits|income|budget|market\s+cap|height|weight|share)\b",
    re.IGNORECASE,
)
_NAME_Q = re.compile(r"^\s*(?:who|whom|whose)\b|\bwhich\b|\bwhat(?:'s|\s+is|\s+was)?\s+the\s+name\b", re.IGNORECASE)
_HOW_MANY = re.compile(r"\bhow\s+many\s+([\w'’-]+)(?:\s+([\w'’-]+))?", re.IGNORECASE)
_TIME_Q = re.compile(r"^\s*when\b|\bwhat\s+(?:year|date|month|day|time)\b|\b(?:release|launch)\s+date\b|\bsince\s+when\b", re.IGNORECASE)
# "Who wrote ...?", and a line that opens with a byline marker ("By Daniel Ebube", also "By 2025, ...").
AUTHOR_Q = re.compile(r"\bwho\s+(?:wrote|authored|penned|writes)\b|\b(?:author|byline|writer)\s+of\b|\bwritten\s+by\b", re.I)
BYLINE = re.compile(r"^(?:by|written by|writer|author)\b\s*:?\s+(?=\S)", re.I)
_NAME_PARTICLES = frozenset("and & de van von der den da del la le di".split())
# Two figures this close are one figure rounded ("more than $14 billion", "$14.3 billion"), not two reports.
AGREE_WITHIN = 0.05


def is_byline(sentence: str) -> bool:
    """Is the sentence a byline and nothing else ("By Daniel Ebube", "Written by Ann Lee and Bo Kim")?"""
    head = BYLINE.match(sentence.strip())
    if not head:
        return False
    rest = [w for w in re.split(r"[\s,]+", sentence.strip()[head.end() :].rstrip(". ")) if w]
    return bool(rest) and all(w[0].isupper() or w.lower() in _NAME_PARTICLES for w in rest)


_PERCENT_Q = re.compile(r"\b(?:percentage|percent|per\s+cent)\b|\bwhat\s+share\b", re.IGNORECASE)

# A question word, and what an answer to it must contain. Plain English, not fitted to any question set.
_MEASURES: list[tuple[str, re.Pattern, re.Pattern]] = [
    (
        "a height",
        re.compile(r"\bhow\s+tall\b|\bheight\b", re.IGNORECASE),
        re.compile(r"\d\s*(?:'|′|ft\b|feet\b|foot\b|inch|in\b|cm\b|centimet|met(?:er|re)s?\b|m\b)", re.IGNORECASE),
    ),
    (
        "an age",
        re.compile(r"\bhow\s+old\b|\bage\b", re.IGNORECASE),
        re.compile(r"\d+\s*-?\s*years?\s*-?\s*old|\baged?\s+\d|\b(?:his|her|their)\s+\d0s\b|,\s*\d{1,3},", re.IGNORECASE),
    ),
    (
        "a percentage",
        _PERCENT_Q,
        re.compile(r"\d\s*%|\bper\s?cent\b|\b(?:half|third|quarter|fifth|tenth)\b", re.IGNORECASE),
    ),
]


def _measure(question: str) -> tuple[str, re.Pattern] | None:
    """(what is asked for, a pattern its answer matches) when the question asks for a height, age or percentage."""
    for name, asks, answer in _MEASURES:
        if asks.search(question):
            return name, answer
    return None


def _counts(text: str, nouns: set[str], skip: set[str]) -> bool:
    """Is one of `nouns` counted in `text`: a number followed within a few words by the noun ("600 workers",
    "billions of daily active users")?"""
    words = tx.words(text)
    stems = tx.stemmer().stemWords([tx.IRREGULAR.get(w, w) for w in words])
    for i, w in enumerate(words):
        if (any(c.isdigit() for c in w) or w in tx.NUMBER_WORDS) and w not in skip:
            if nouns & set(stems[i + 1 : i + 5]):
                return True
    return False


# What kind of named thing answers a question, as OntoNotes entity labels (spaCy's): from the question word,
# or the noun after "which"/"what". Plain English word lists, not fitted to any question set.
_PLACE = frozenset({"GPE", "LOC", "FAC"})
_TYPE_NOUNS: list[tuple[frozenset[str], frozenset[str]]] = [
    (_PLACE, frozenset("country countries nation nations city cities state states province region capital town "
                       "village island continent county place location venue stadium airport port".split())),
    (frozenset({"ORG"}), frozenset("company companies firm firms corporation business chain retailer brand "
                                   "bank network app platform startup maker manufacturer airline carrier team "
                                   "club party agency organization organisation group union university school "
                                   "college court newspaper outlet publication studio label league "
                                   "automaker carmaker developer".split())),
    (frozenset({"PERSON"}), frozenset("person people man woman actor actress singer rapper artist star player "
                                      "athlete author writer director leader politician president senator "
                                      "governor minister ceo founder judge coach candidate official celebrity "
                                      "musician host pope king queen prince".split())),
    (frozenset({"NORP"}), frozenset("nationality religion".split())),
    (frozenset({"WORK_OF_ART"}), frozenset("movie film show series song album book novel game title "
                                           "franchise sequel".split())),
    (frozenset({"EVENT", "DATE"}), frozenset("holiday festival tournament championship event".split())),
    (frozenset({"PRODUCT"}), frozenset("product device phone car vehicle model drug vaccine".split())),
]
_WHICH_NOUN = re.compile(r"\b(?:which|what)\b((?:\s+[\w'’-]+){1,4})", re.IGNORECASE)
# "Who is Nat Friedman?" asks for a description of the person named, not for a name.
_WHO_IS_NAMED = re.compile(r"^\s*(?i:who\s+(?:is|was|are|were))\s+[A-Z]")
_TYPE_Q = [
    (re.compile(r"^\s*(?:who|whom|whose)\b", re.IGNORECASE), frozenset({"PERSON", "ORG", "NORP", "GPE"})),
    (re.compile(r"^\s*where\b", re.IGNORECASE), _PLACE),
    (re.compile(r"\bhow\s+much\b.*\b(?:cost|pay|paid|spend\w*|spent|worth|price|raise|raised|fine|fined)\b|"
                r"\b(?:price|cost|salary|revenue|valuation|budget|profit)\b", re.IGNORECASE), frozenset({"MONEY"})),
    (_PERCENT_Q, frozenset({"PERCENT"})),
    (re.compile(r"\bhow\s+many\b", re.IGNORECASE), frozenset({"CARDINAL", "QUANTITY", "MONEY"})),
    (_TIME_Q, frozenset({"DATE", "TIME"})),
]


def answer_types(question: str) -> frozenset[str]:
    """The entity labels an answer to the question would carry (empty when it asks for no named thing:
    "Why ...?", "What happened ...?")."""
    if _WHO_IS_NAMED.match(question):
        return frozenset()
    for pattern, labels in _TYPE_Q:
        if pattern.search(question):
            return labels
    for m in _WHICH_NOUN.finditer(question):
        for noun in m.group(1).lower().split():
            for labels, nouns in _TYPE_NOUNS:
                if noun in nouns or (noun.endswith("s") and noun[:-1] in nouns):
                    return labels
    return frozenset()

@dataclass
class Asked:
    """What kind of thing a question asks for (a quantity, a date, a height, a name) and whether a text
    holds one. The extractive answerer picks sentences with it; the answerer checks a model's answer with it."""

    number: bool
    time: bool
    measure: tuple[str, re.Pattern] | None
    counted: set[str]  # for "how many workers": a number must count workers
    name: bool
    author: bool  # who wrote an article: the one question a byline answers
    question_numbers: set[str]
    question_words: set[str]
    types: frozenset[str] = frozenset()  # entity labels of the asked value (`answer_types`)

    @classmethod
    def of(cls, question: str, strict: bool = True) -> Asked:
        """`strict` for quoted sentences: a count must name what it counts, a which-question wants a name.
        A model's terse "600 [1]" or "alcohol [1]" can answer, so its answers are held to the rest only."""
        number, time, measure = bool(_QUANTITY_Q.search(question)), bool(_TIME_Q.search(question)), _measure(question)
        how_many = _HOW_MANY.search(question) if strict else None
        counted = set(tx.terms(" ".join(w for w in how_many.groups() if w))) if how_many else set()
        name = strict and bool(_NAME_Q.search(question)) and not (number or time or measure)
        author = bool(AUTHOR_Q.search(question))
        words = set(tx.words(question))
        return cls(number, time, measure, counted, name, author, tx.numbers(question), words, answer_types(question))

    @property
    def what(self) -> str | None:
        if self.measure:
            return self.measure[0]
        return "a quantity" if self.number else "a date" if self.time else "a name" if self.name else None

    @property
    def lack(self) -> str:
        """What an answer that is not `held_by` lacks, in words."""
        what = self.what
        if what:
            return f"the question asks for {what} and the answer gives none"
        return "the answer only says who wrote an article, which the question does not ask"

    def values(self, text: str) -> set | None:
        """The values of the asked kind that `text` gives: quantities (a year is a date, not an amount), date
        expressions, or names the question does not hold; None when the question asks for no kind of value."""
        if self.number or self.measure:
            asked = tx.figures(" ".join(self.question_numbers))
            return {v for v in tx.figures(text) if v not in asked and not (v.is_integer() and 1900 <= v <= 2100)}
        if self.time:
            return {m.group(0).lower() for m in _TIME.finditer(text)}
        if self.name:
            return tx.names(text, lead=True) - self.question_words
        return None

    @staticmethod
    def agree(a: set, b: set) -> bool:
        """Do two texts' values agree: one in common ("more than $14 billion" and "$14.3 billion" are within
        AGREE_WITHIN of each other)? Texts that give none say nothing either way."""
        if not a or not b:
            return True
        if all(isinstance(v, float) for v in a | b):
            return any(abs(x - y) <= AGREE_WITHIN * max(abs(x), abs(y)) for x in a for y in b)
        return bool(a & b)

    def held_by(self, sentences: list[str]) -> bool:
        """Do the sentences hold it: a number the question lacks (for "how many workers", one that counts
        workers), the measure asked for, a date, a name the question does not already hold? A byline alone
        ("By Daniel Ebube") answers nothing but who wrote the article."""
        text = " ".join(sentences)
        spans = tx.split_sentences(text)
        if spans and not self.author and all(is_byline(text[s:e]) for s, e in spans):
            return False
        if self.number and not tx.numbers(text) - self.question_numbers:
            return False
        if self.measure and not self.measure[1].search(text):
            return False
        if self.counted and not _counts(text, self.counted, self.question_numbers):
            return False
        if self.name and not any(tx.names(s, lead=True) - self.question_words for s in sentences):
            return False
        return not (self.time and not _TIME.search(text))


def check_question(question: str, max_chars: int) -> str:
    """The question as retrieval reads it: printable, one space between words, within `max_chars`."""
    if not isinstance(question, str):
        raise InvalidQuestionError("The question must be text.")
    cleaned = "".join(c if c.isprintable() or c in "\n\t" else " " for c in question)
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    if not cleaned:
        raise InvalidQuestionError("The question is empty. Type a question about the articles.")
    if len(cleaned) > max_chars:
        raise InvalidQuestionError(
            f"The question is {len(cleaned):,} characters long; the limit is {max_chars:,} "
            "(RAG_MAX_QUESTION_CHARS). Ask something shorter."
        )
    return cleaned
