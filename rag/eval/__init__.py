"""Evaluation: question sets, metrics, reports. A front end: imports rag.core and rag.assistant only."""
