"""Renames the articles of an index written before the current source naming (`sources.NAMING`).

Indexes of the older scheme named articles by the path inside the ingested folder alone; they are
renamed in place (the stored vectors are reused, nothing is embedded again).
"""

from __future__ import annotations

from pathlib import Path

from rag.core.models import Article
from rag.index.sources import NAMING, chunk_id
from rag.index.store import Store


def _renamed(article: Article) -> str | None:
    """The current scheme's name for an article named by the old one (path inside its folder)."""
    path = Path(article.path).as_posix()
    if not path.endswith("/" + article.source):
        return None
    root = Path(path[: -len(article.source) - 1])
    return f"{root.name}/{article.source}" if root.name else None


def migrate(store: Store) -> int:
    """Renames the articles of an index written before the current naming; returns how many.

    Call with the write lock held. Chunks are copied under their new ids with their vectors, the
    registry records are swapped in one commit, then the old chunks are deleted.
    """
    if store.naming() == NAMING:
        return 0
    articles = store.articles()
    taken = {a.source for a in articles}
    renames = {}
    for a in articles:
        new = _renamed(a)
        if new and new not in taken:
            renames[a.source] = new
            taken.add(new)
    for old, new in renames.items():
        got = store.chunk_records(old)
        metas = [{**m, "source": new} for m in got["metadatas"]]
        ids = [chunk_id(new, m["doc_hash"], int(m["index"])) for m in metas]
        store.write_chunks(ids, got["embeddings"], got["documents"], metas)
    moved = [a.model_copy(update={"source": renames[a.source]}) for a in articles if a.source in renames]
    texts = store.article_texts(list(renames))
    store.rename(moved, list(renames), [texts.get(old, "") for old in renames])
    for old in renames:
        store.delete_chunks(old)
    return len(renames)
