"""The keyword side: bm25s over the committed chunks of one corpus version, cached on disk per version."""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.core.text import bm25_tokenize, match_text
from rag.index.store import Store

log = logging.getLogger(__name__)

# Bump when tokenisation changes, so cached BM25 indexes of the old scheme are not reused.
BM25_SCHEME = "v3"


class BM25Index:
    """bm25s over the committed chunks of one corpus version."""

    def __init__(self, version: str, retriever, ids: list[str], metas: list[dict], texts: list[str]):
        self.version = version
        self.retriever = retriever
        self.ids = ids
        self.metas = metas
        self.texts = texts
        self._sources = np.array([m["source"] for m in metas], dtype=object)

    @classmethod
    def build(cls, store: Store, snapshot: tuple[str, dict[str, str]]) -> BM25Index:
        import bm25s

        version, committed = snapshot
        ids, metas, texts = [], [], []
        for i, text, meta in store.iter_committed_chunks(committed):
            ids.append(i)
            metas.append(meta)
            texts.append(text)
        retriever = bm25s.BM25()
        if texts:
            indexed = [match_text(m["title"], t, m.get("author")) for m, t in zip(metas, texts)]
            retriever.index(bm25_tokenize(indexed), show_progress=False)
        return cls(version, retriever, ids, metas, texts)

    def save(self, folder: Path) -> None:
        """Writes the cache beside `folder` and renames it into place, so no reader sees half of it.

        Several retrievers (threads, processes) may build the same version at once; the first
        rename wins and the others drop their copy. The cache is an optimisation: failing to
        write it never fails a search.
        """
        tmp = folder.with_name(f"{folder.name}.tmp-{uuid.uuid4().hex[:8]}")
        try:
            tmp.mkdir(parents=True)
            if self.ids:
                self.retriever.save(str(tmp), show_progress=False)
            (tmp / "chunks.json").write_text(json.dumps({"ids": self.ids, "metas": self.metas, "texts": self.texts}))
            tmp.rename(folder)
        except OSError as exc:
            log.debug("BM25 cache not written to %s: %s", folder, exc)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, version: str) -> BM25Index:
        import bm25s

        data = json.loads((folder / "chunks.json").read_text())
        retriever = bm25s.BM25.load(str(folder), show_progress=False) if data["ids"] else bm25s.BM25()
        return cls(version, retriever, data["ids"], data["metas"], data["texts"])

    def search(self, query_tokens: list[str], n: int, sources: Sequence[str] | None) -> list[tuple[int, float]]:
        if not self.ids or not query_tokens:
            return []
        mask = None
        if sources:
            mask = np.isin(self._sources, list(sources)).astype(np.float32)
            if not mask.any():
                return []
        k = min(n, len(self.ids))
        try:
            docs, scores = self.retriever.retrieve(
                [query_tokens], k=k, show_progress=False, weight_mask=mask, n_threads=0
            )
        except (ValueError, KeyError):
            return []  # no query term is in the vocabulary
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]
