"""Brings the keyword index in step with the committed articles: adds those it lacks, drops what no
committed article owns.

Needed once for an index written before the keyword index existed (the migration: a progress bar on
stderr), after a writer died between the keyword commit and the registry commit, and on a Chroma server
whenever another host has committed (each data dir keeps its own keyword copy, fed from the server's
chunk records here). Runs under `Store.writing`; reads the snapshot again once it holds the lock, so two
processes never both build the same articles.
"""

from __future__ import annotations

import logging
import shutil
import sys

from rag.index.keyword import article_key
from rag.index.store import Store

log = logging.getLogger(__name__)

# Chunk records added to the keyword index per batch (bounded memory on a large migration).
_BATCH = 1000


def sync_keywords(store: Store, progress: bool = True) -> int:
    """Adds the committed articles the keyword index lacks; returns how many chunks were added."""
    from tqdm import tqdm

    added = 0
    with store.writing():
        version, committed = store.committed()
        kw = store.keywords
        lacking = kw.missing(version, committed)
        wanted = {article_key(s, h) for s, h in committed.items()}
        gone = [k for k in kw.keys() if k not in wanted]
        if not lacking and not gone:
            return 0
        kw.delete_keys(gone)
        chunks = sum(a.chunks for a in store.articles(sorted(lacking))) if lacking else 0
        bar = tqdm(total=chunks, unit="chunk", desc="keyword index", file=sys.stderr, disable=not progress or chunks < 2000)
        batch: list[tuple[str, str, dict]] = []
        for row in store.iter_committed_chunks(lacking):
            batch.append(row)
            if len(batch) >= _BATCH:
                added += _add(kw, batch, bar)
        added += _add(kw, batch, bar)
        bar.close()
        kw.commit(version if version == store.version() else None)
    if lacking:
        log.info("keyword index: added %d chunks of %d articles", added, len(lacking))
        # The per-version bm25s caches of earlier releases are not read any more.
        shutil.rmtree(store.settings.cache_dir / "bm25", ignore_errors=True)
    return added


def _add(kw, batch: list[tuple[str, str, dict]], bar) -> int:
    n = len(batch)
    if n:
        ids, texts, metas = zip(*batch)
        kw.add(ids, texts, metas)
        bar.update(n)
        batch.clear()
    return n
