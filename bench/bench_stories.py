"""Where to set the near-duplicate threshold: MinHash Jaccard of edited copies vs distinct real articles.

    python bench/bench_stories.py [--corpus DIR]...   # default: seeds/ (add the RealTime QA slice's corpus)
    python bench/bench_stories.py --groups --corpus DIR  # the story groups ingest would form, largest first

Copies: each article with a new headline and a share of its sentences reworded (every third word
of a sentence replaced), and with its last paragraphs cut, as syndicated wire copies are. Distinct: every
pair of different articles in the corpora (real news: several outlets on one story included). Printed:
the copies' scores per edit, the distinct pairs' distribution and their highest pairs, so the threshold
(`rag.ingest.stories.THRESHOLD`) sits between the two.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from itertools import combinations
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from rag.ingest.stories import THRESHOLD, Stories, signature  # noqa: E402

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def reword(text: str, share: float, rng: random.Random) -> str:
    """A new headline, and `share` of the sentences with every third word replaced."""
    head, _, body = text.partition("\n")
    sentences = _SENTENCE.split(body)
    for i in rng.sample(range(len(sentences)), max(1, round(share * len(sentences)))):
        words = sentences[i].split(" ")
        sentences[i] = " ".join("reportedly" if j % 3 == 2 else w for j, w in enumerate(words))
    return "Exclusive: " + head[::-1] + "\n" + " ".join(sentences)


def cut(text: str, share: float) -> str:
    paragraphs = text.split("\n\n")
    return "\n\n".join(paragraphs[: max(1, round(len(paragraphs) * (1 - share)))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, action="append", default=[])
    parser.add_argument("--groups", action="store_true", help="print the story groups ingest forms (titles: first lines)")
    args = parser.parse_args()
    folders = args.corpus or [REPO / "seeds"]
    files = [p for f in folders for p in sorted(f.rglob("*")) if p.is_file() and p.suffix in (".txt", ".md", ".html", ".htm")]
    texts = {str(p): p.read_text(errors="replace") for p in files}
    texts = {k: v for k, v in texts.items() if len(v.split()) >= 80}
    print(f"{len(texts)} articles (>= 80 words) from {', '.join(map(str, folders))}; threshold now {THRESHOLD}")
    sigs = {k: signature(v) for k, v in texts.items()}
    if args.groups:
        groups(texts, sigs)
        return
    rng = random.Random(0)
    sample = rng.sample(sorted(texts), min(200, len(texts)))
    print("\nedited copies vs their original (min / median over the articles):")
    for label, make in [
        ("headline only", lambda t: "New headline\n" + t.partition("\n")[2]),
        ("5% sentences reworded", lambda t: reword(t, 0.05, rng)),
        ("10% reworded", lambda t: reword(t, 0.10, rng)),
        ("20% reworded", lambda t: reword(t, 0.20, rng)),
        ("30% reworded", lambda t: reword(t, 0.30, rng)),
        ("last 25% cut", lambda t: cut(t, 0.25)),
        ("last 50% cut", lambda t: cut(t, 0.50)),
        ("10% reworded + 25% cut", lambda t: cut(reword(t, 0.10, rng), 0.25)),
    ]:
        scores = [signature(make(texts[k])).jaccard(sigs[k]) for k in sample]
        print(f"  {label:<26} {min(scores):.2f} / {np.median(scores):.2f}")
    names = sorted(sigs)
    pairs = [(sigs[a].jaccard(sigs[b]), a, b) for a, b in combinations(names, 2)]
    scores = np.array([s for s, _, _ in pairs])
    print(f"\ndistinct pairs: {len(pairs)}; p99 {np.percentile(scores, 99):.3f}, p99.9 {np.percentile(scores, 99.9):.3f}, "
          f"max {scores.max():.3f}; at or above the threshold: {(scores >= THRESHOLD).sum()}")
    for s, a, b in sorted(pairs, reverse=True)[:8]:
        print(f"  {s:.2f}  {Path(a).name[:50]}  ~  {Path(b).name[:50]}")


def groups(texts: dict[str, str], sigs: dict) -> None:
    """Each article assigned to a story as ingest does (`Stories.assign`, in file order)."""
    stories, members = Stories([]), {}
    for name in sorted(texts):
        members.setdefault(stories.assign(name, sigs[name]), []).append(name)
    shared = sorted((m for m in members.values() if len(m) > 1), key=len, reverse=True)
    print(f"{len(members)} stories; {len(shared)} hold two or more articles ({sum(map(len, shared))} articles)")
    for m in shared[:10]:
        print(f"  {len(m)}: " + " | ".join(dict.fromkeys(texts[n].partition("\n")[0][:70] for n in m)))


if __name__ == "__main__":
    main()
