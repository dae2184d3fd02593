"""newsdesk: answers questions about news articles with cited passages."""

from .assistant import Assistant
from .config import Settings
from .errors import RagError
from .models import Answer, Article, Citation, IngestReport, Passage, SearchResult

__all__ = ["Answer", "Article", "Assistant", "Citation", "IngestReport", "Passage", "RagError", "SearchResult", "Settings"]
