"""One home for text handling: sentences, words, stop words and stems.

The reranker, the extractive answerer, BM25 and the citation checker all use these, so they agree on
what a sentence and a word are. Stemming is PyStemmer's English Snowball (the stemmer bm25s uses).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from urllib.parse import urlsplit

# --- sentence splitting ---


def trim_spans(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans without surrounding whitespace; empty ones dropped."""
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt ft inc corp co ltd llc plc bros vs etc al approx dept est fig no nos vol
    gen gov sen rep pres capt col lt sgt adm jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri
    e.g i.e a.m p.m u.s u.k u.n e.u""".split()
)
# End of a sentence: terminal punctuation, optional closing quotes/brackets, then whitespace.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
BULLET = re.compile(r"^(?:[•·▪●◦‣*>]|[-–—](?=\s)|\d{1,2}[.)](?=\s))\s*")
TERMINAL = ('.', '!', '?', '…', '"', '”', "'", '’', ')')


_NEXT_CHAR = re.compile(r"[^ \t]")


def _is_boundary(text: str, end: int, limit: int) -> bool:
    """Does the sentence really end at text[:end] (which ends with punctuation)? `limit` ends the line.

    Only a few characters either side are read, so splitting stays linear in the text's length.
    """
    after = _NEXT_CHAR.search(text, end, limit)
    if after is None:
        return True
    nxt = after.group(0)
    # A new sentence starts with a capital, a digit, an opening quote/bracket or a bullet.
    if not (nxt.isupper() or nxt.isdigit() or nxt in "\"'“‘([•$"):
        return False
    head = text[max(0, end - 64) : end]
    m = re.search(r"([^\s\"'“‘(\[]+?)[.!?…]+[\"'”’)\]]*$", head)
    if not m or not head.rstrip("\"'”’)]").endswith("."):
        return True
    word = m.group(1).lower()
    if word in ABBREVIATIONS:
        return False
    # Initials ("J. Smith") and dotted acronyms ("U.S.", "a.m.").
    if re.fullmatch(r"[a-z]", word) or re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):
        return False
    return True


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of `text`, trimmed, bullet markers excluded.

    A line break always ends a sentence (headings, list items and paragraphs are
    lines); inside a line a sentence ends at . ! ? unless that is an abbreviation
    ("U.S.", "Inc.", "Dr."), an initial, or part of a number ("$14.3 billion").
    """
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        ls, le = line.span()
        body = text[ls:le]
        # Leading whitespace and a bullet marker are not part of the sentence.
        lead = len(body) - len(body.lstrip())
        bullet = BULLET.match(body[lead:])
        if bullet:
            lead += bullet.end()
        start = ls + lead
        for m in _BOUNDARY.finditer(text, start, le):
            if _is_boundary(text, m.end(), le):
                spans.append((start, m.end()))
                start = m.end()
        spans.append((start, le))
    return trim_spans(text, spans)



_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*(?:['’][a-z]+)?")
STOP = frozenset(
    """a about above after again against all am an and any are aren't as at be because been before being below
    between both but by can cannot could couldn't did didn't do does doesn't doing don't down during each few for
    from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him
    himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my
    myself no nor not of off on once only or other ought our ours ourselves out over own same shan't she she'd
    she'll she's should shouldn't so some such than that that's the their theirs them themselves then there
    there's these they they'd they'll they're they've this those through to too under until up very was wasn't we
    we'd we'll we're we've were weren't what what's when when's where where's which while who who's whom why why's
    with won't would wouldn't you you'd you'll you're you've your yours yourself yourselves also just may might
    must shall will s t""".split()
)
# Words that frame a question rather than name what it is about.
FRAME = frozenset(
    """according reportedly report reported reports say says said tell told describe described describes
    mention mentioned mentions article articles story piece op ed oped author writer text passage passages
    word words term terms call called name named kind type sort example examples exactly specifically
    happen happened happens much many mean means meant use used""".split()
)
NUMBER_WORDS = frozenset(
    """one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty sixty
    seventy eighty ninety hundred hundreds thousand thousands million millions billion billions trillion
    trillions dozen dozens half percent""".split()
)

# Irregular past forms the stemmer leaves alone ("laid off" should match "lay off").
IRREGULAR = {
    "laid": "lay", "paid": "pay", "said": "say", "made": "make", "took": "take", "taken": "take", "gave": "give",
    "given": "give", "bought": "buy", "sold": "sell", "brought": "bring", "thought": "think", "began": "begin",
    "begun": "begin", "grew": "grow", "grown": "grow", "rose": "rise", "risen": "rise", "fell": "fall",
    "fallen": "fall", "held": "hold", "led": "lead", "met": "meet", "sent": "send", "spent": "spend",
    "built": "build", "told": "tell", "found": "find", "kept": "keep", "went": "go", "gone": "go", "came": "come",
    "saw": "see", "seen": "see", "knew": "know", "known": "know", "wrote": "write", "written": "write",
    "drove": "drive", "driven": "drive", "lost": "lose", "stood": "stand", "got": "get", "gotten": "get",
    "chose": "choose", "chosen": "choose", "drew": "draw", "drawn": "draw", "fought": "fight", "caught": "catch",
    "sought": "seek", "taught": "teach", "felt": "feel", "left": "leave", "won": "win", "ran": "run", "hid": "hide",
    "hidden": "hide", "struck": "strike", "shook": "shake", "shaken": "shake", "spoke": "speak", "spoken": "speak",
    "broke": "break", "broken": "break", "froze": "freeze", "frozen": "freeze", "stole": "steal", "stolen": "steal",
    "threw": "throw", "thrown": "throw", "flew": "fly", "flown": "fly", "swore": "swear", "sworn": "swear",
    "wore": "wear", "worn": "wear", "became": "become", "overtook": "overtake", "undertook": "undertake",
    "withdrew": "withdraw", "withdrawn": "withdraw", "dealt": "deal", "meant": "mean",
    "bet": "bet", "cut": "cut", "hit": "hit", "quit": "quit", "shut": "shut", "split": "split", "spun": "spin",
}


_local = threading.local()


def stemmer():
    """This thread's English Snowball stemmer (PyStemmer objects must not be shared between threads)."""
    if not hasattr(_local, "stemmer"):
        import Stemmer

        _local.stemmer = Stemmer.Stemmer("english")
    return _local.stemmer


def words(text: str) -> list[str]:
    text = text.lower().replace("’", "'")
    out = []
    for w in _WORD.findall(text):
        if w.endswith("'s"):
            w = w[:-2]
        out.append(w.rstrip("'"))
    return [w for w in out if w]


def terms(text: str, drop_frame: bool = False) -> list[str]:
    """Stemmed content terms of `text`, in order, duplicates kept."""
    kept = [w for w in words(text) if w not in STOP and (len(w) > 1 or w.isdigit())]
    if drop_frame:
        kept = [w for w in kept if w not in FRAME]
    return stemmer().stemWords([IRREGULAR.get(w, w) for w in kept])


def numbers(text: str) -> set[str]:
    """Numbers in `text`, as digits or number words."""
    found = words(text)
    return {w for w in found if any(c.isdigit() for c in w)} | {w for w in found if w in NUMBER_WORDS}


_DOTTED = re.compile(r"(?<![\w.])(?:[a-z]\.){2,}")


def fold(text: str) -> str:
    """Lower case without accents or abbreviation dots, so a name matches however it is spelt: "Guantánamo"
    and "Guantanamo", "U.S." and "US"."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _DOTTED.sub(lambda m: m.group(0).replace(".", ""), text)


def mentions(text: str, name: str) -> bool:
    """`name` (lower case) in lower-cased `text`: a word prefix ("meta" in "meta’s"), a whole number."""
    tail = r"(?![\d])" if name[-1].isdigit() else ""
    return re.search(r"(?<![\w.])" + re.escape(name) + tail, text) is not None


# --- figures and names a claim must share with its source ---

_SCALE = {
    "thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "m": 1e6, "mln": 1e6, "billion": 1e9, "bn": 1e9,
    "b": 1e9, "bln": 1e9, "trillion": 1e12, "tn": 1e12, "t": 1e12,
}
_FIGURE = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*(thousand|million|billion|trillion|mln|bln|mn|bn|tn|[kmbt])?(?![\w])", re.I)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]{2,}(?:[’'][a-z]+)?\b")


def figures(text: str) -> set[float]:
    """The quantities a text states, by value: "$14.3 billion" = "14.3bn" = 14.3e9; "Jan. 5" has 5; "2,000" = 2000."""
    out = set()
    for whole, frac, scale in _FIGURE.findall(text):
        value = float(whole.replace(",", "") + (frac or "")) * _SCALE.get(scale.lower(), 1.0)
        out.add(float(f"{value:.6g}"))
    return out


_LEAD = re.compile(r"[\"“‘']?([A-Z][\w&-]+)")
_OPENERS = frozenset("however but also still yet instead meanwhile since while although after before now".split())


def names(text: str, lead: bool = False) -> set[str]:
    """Capitalised words inside a sentence, lower-cased: the names a claim makes. With `lead`, its first
    word too unless that is a common word ("Starbucks is ..." names Starbucks; "The ..." and "However ..." nothing)."""
    found = {m.group(0).lower().split("’")[0].split("'")[0] for m in _NAME.finditer(text)}
    first = _LEAD.match(text) if lead else None
    if first:
        found.add(first.group(1).lower())
    return found - STOP - _OPENERS


def unsupported_facts(claim: str, source: str) -> list[str]:
    """The figures and names of `claim` that `source` does not state ("20 billion" against "$14 billion")."""
    missing = [f"{v:g}" for v in sorted(figures(claim) - figures(source))]
    lowered = source.lower()
    return missing + sorted(n for n in names(claim) if n not in lowered)


def match_text(title: str, text: str, author: str | None = None) -> str:
    """What a chunk is matched by (its vector and its BM25 terms): the article's title and byline, then
    the text, as llama-index puts metadata into embed text. The passage shown stays the text alone, so
    offsets and quotes are exact; a chunk that never names its topic or author is still found by them."""
    head = [title] if title and not text.startswith(title) else []
    if author and author not in text:
        head.append(f"By {author}")
    return "\n".join(head) + "\n\n" + text if head else text


def bm25_tokenize(texts: list[str]) -> list[list[str]]:
    """BM25's tokens: bm25s's own tokenizer with the long English stop list and the shared stemmer."""
    import bm25s
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    # The short Lucene list keeps "how", "did", "much": question words that then outrank content words.
    return bm25s.tokenize(texts, stopwords=list(STOPWORDS_EN_PLUS), stemmer=stemmer(), return_ids=False, show_progress=False)


def is_url(value: str) -> bool:
    """An http(s) URL (an article or a feed to fetch), as opposed to a path."""
    return urlsplit(str(value)).scheme in ("http", "https")
