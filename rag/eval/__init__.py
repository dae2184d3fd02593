"""Evaluation: question sets, metrics, reports. Imports rag.core; drives a rag.assistant.Assistant it is given."""
