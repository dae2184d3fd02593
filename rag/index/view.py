"""What readers see of the registry: {source: content hash} of the committed articles, per corpus version.

Reading every registry record on each new version costs seconds at tens of thousands of articles (each
record carries its MinHash signature), and a serving process pays it on its first question after every
feed poll. A reader that has a view re-reads only the records committed since it read it (`committed_at`,
seconds since the epoch, written on every record and on the corpus stamp), plus the bare ids to drop
removed articles. The last `MARGIN_S` are read again, so writers whose clocks differ a little or that
commit at once (several writers on a Chroma server) are not missed; an index written before
`committed_at` existed, or a view that does not add up, is read whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MARGIN_S = 60.0


@dataclass(frozen=True)
class View:
    version: str
    hashes: dict[str, str]
    since: float | None  # the corpus stamp's `committed_at` when the view was read


def read_view(get: Callable[..., dict], corpus_id: str, version: str, stamped: float | None, previous: View | None) -> View:
    """The view at `version` (whose stamp says `stamped`), from `previous` when it can be. `get` takes the
    registry's `get` arguments and must look the collection up on each call: a reopen replaces it."""

    def whole() -> View:
        return View(version, _hashes(get(include=["metadatas"]), corpus_id), stamped)

    if previous is None or previous.since is None or stamped is None:
        return whole()
    since = previous.since - MARGIN_S
    changed = get(where={"committed_at": {"$gt": since}}, include=["metadatas"])
    ids = set(get(include=[])["ids"]) - {corpus_id}
    hashes = {source: h for source, h in previous.hashes.items() if source in ids}
    hashes.update(_hashes(changed, corpus_id))
    if hashes.keys() != ids:  # a record this view never saw and the margin does not reach: read it all
        return whole()
    return View(version, hashes, stamped)


def _hashes(got: dict, corpus_id: str) -> dict[str, str]:
    return {i: m["content_hash"] for i, m in zip(got["ids"], got["metadatas"]) if i != corpus_id}
