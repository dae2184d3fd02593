"""The index: the Chroma store, source names, the write lock, embedders. Imports rag.core only."""
