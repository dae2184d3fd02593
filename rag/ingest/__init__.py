"""Reading articles: files, web pages, feeds, uploads, cleaning, and the ingest pipeline. Imports rag.core and rag.index."""
