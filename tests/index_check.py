"""Prints the invariants of an index as JSON; run in a fresh process so it sees what is on disk.

    python -m tests.index_check DATA_DIR
"""

from __future__ import annotations

import json
import sys
from collections import Counter


def check(data_dir: str) -> dict:
    from rag import Assistant, Settings
    from rag.core.config import LLMSettings

    assistant = Assistant(Settings(data_dir=data_dir, llm=LLMSettings(provider="extractive")), llm=None)
    store = assistant.store
    articles = {a.source: a for a in assistant.articles()}
    every = store.chunks.get(include=["metadatas"])
    committed_counts = Counter(
        m["source"] for m in every["metadatas"] if m["source"] in articles and articles[m["source"]].content_hash == m["doc_hash"]
    )
    bm25_ids = set(assistant.retriever.bm25().ids)
    committed_ids = {i for i, _, _ in store.iter_committed_chunks()}
    return {
        "articles": sorted(articles),
        "complete": all(committed_counts[s] == a.chunks for s, a in articles.items()),
        "bm25_agrees": bm25_ids == committed_ids,
        "chunks_total": store.chunk_count(),
        "chunks_committed": sum(a.chunks for a in articles.values()),
    }


if __name__ == "__main__":
    print(json.dumps(check(sys.argv[1])))
