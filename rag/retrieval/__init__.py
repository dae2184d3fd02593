"""Finding passages: first stage (dense + BM25 + fusion), the evidence about a question, rerankers, the reader's context.

Imports rag.core and rag.index."""
