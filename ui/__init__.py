"""The web chat page (Gradio) over `rag.assistant.Assistant`."""

from .app import build_app, serve

__all__ = ["build_app", "serve"]
