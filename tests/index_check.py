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
    from rag.index.keyword import article_key

    keyword_counts = store.keywords.keys()
    return {
        "articles": sorted(articles),
        "complete": all(committed_counts[s] == a.chunks for s, a in articles.items()),
        # Every committed article's chunks, and no other article version (the next ingest drops those).
        "keywords_agree": all(keyword_counts.get(article_key(s, a.content_hash)) == a.chunks for s, a in articles.items()),
        "chunks_total": store.chunk_count(),
        "chunks_committed": sum(a.chunks for a in articles.values()),
    }


if __name__ == "__main__":
    print(json.dumps(check(sys.argv[1])))
