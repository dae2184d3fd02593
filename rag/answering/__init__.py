"""Turning passages into cited answers: answerers, prompts, the citation checker, model clients, the local model.

Imports rag.core, rag.index and rag.retrieval."""
