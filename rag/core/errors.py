"""The project's own exceptions; every message says what to do next."""


class RagError(Exception):
    """Base class: a problem the user can act on (printed without a traceback)."""


class ConfigError(RagError):
    pass


class ModelFileError(RagError):
    """A model file is missing or does not match its pinned checksum."""


class EmptyIndexError(RagError):
    def __init__(self, where: str):
        # `where` names the place ("the index at data/chroma", "the Chroma server at host:8000").
        super().__init__(f"{where[:1].upper()}{where[1:]} holds no articles yet. Run `rag ingest seeds/` (or any folder of articles) first.")


class IndexBusyError(RagError):
    """Another process holds the embedded index's write lock."""


class StoreUnavailableError(RagError):
    """The Chroma server cannot be reached or failed a request."""


class InvalidQuestionError(RagError):
    pass


class LLMError(RagError):
    """The language model server failed, refused or is unreachable."""


class RerankerError(RagError):
    """The reranking server failed, refused or is unreachable."""


class DocumentError(RagError):
    """A file could not be read as an article (the reason is in the message)."""
