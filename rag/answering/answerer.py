"""Turn retrieved passages into a cited answer: answerers chosen by settings.

`build_answerer` returns an `ExtractiveAnswerer` (no model: it quotes the passages) or a
`ModelAnswerer`, which reads the model client's declared capabilities: a schema-constrained stream
(`supports_schema`) is answered in JSON, evidence first; a plain stream a checked sentence at a time.
`Answerer.stream` yields `AnswerText` as it passes the citation check, then `Final` with the finished
`Answer`: this is the one place where streamed text and the checked answer are reconciled. Whatever
produced the text, its citations go through `CitationChecker`, and an answer the passages do not
support becomes an abstention.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from rag.answering import across
from rag.answering.citations import MARKER, Checked, CitationChecker
from rag.answering.entities import shared_tagger
from rag.answering.extractive import ExtractiveResult, extractive_answer
from rag.answering.llm import LLM, local_model_path, resolve_provider
from rag.answering.prompts import ABSTAIN_TOKEN, JSON_SCHEMA, build_messages, prefix_messages
from rag.answering.reveal import Reveal, counted, holds, partial_field, with_quote
from rag.core.config import FROM_SETTINGS, Settings
from rag.core.errors import LLMError
from rag.core.events import AnswerText, EvidenceFound, Final, StreamEvent
from rag.core.models import Answer, Citation, Highlight, Passage, SearchResult, Timings
from rag.core.questions import Asked
from rag.retrieval.evidence import Evidence

log = logging.getLogger(__name__)

NOT_FOUND_TEXT = "I could not find this in the articles."

_NOT_FOUND_JSON = re.compile(r'"found"\s*:\s*false')
_FOUND_JSON = re.compile(r'"found"\s*:\s*true')
_CLOSED_ANSWER = re.compile(r'"answer"\s*:\s*"(?:[^"\\]|\\.)*"')


@dataclass
class _Call:
    """One question being answered: as asked, what was searched for it, and since when."""

    asked_as: str
    found: SearchResult
    started: float  # when the question arrived (total time)
    begun: float = field(default_factory=time.perf_counter)  # when answering began (generate time)

    @property
    def question(self) -> str:
        """The question the passages were searched for (a follow-up made standalone)."""
        return self.found.question

    @property
    def passages(self) -> list[Passage]:
        return self.found.passages

    @property
    def evidence(self) -> Evidence:
        return self.found.evidence


class Answerer(ABC):
    provider: str

    def __init__(self, settings: Settings, embedder=None):
        self.settings = settings
        self.embedder = embedder
        self.checker = CitationChecker(embedder)
        self.tagger = shared_tagger() if settings.entity_tagger == "spacy" else None

    def expect(self, asked: Asked) -> None:
        """The question is read and retrieval is about to run: start loading what answering it will need
        (the entity tagger's model, for a question asking for a name, a place or a date)."""
        if self.tagger is not None and self.tagger.needs_model(asked.types):
            self.tagger.start()

    def stream(
        self, question: str, found: SearchResult | Sequence[Passage], *, asked_as: str | None = None, started: float | None = None
    ) -> Iterator[StreamEvent]:
        """`EvidenceFound` at once, `AnswerText` pieces as they pass the check, then `Final`. `found`: the search
        for `question` (or its passages alone); `asked_as`: the question as the user wrote it, when it was condensed."""
        started = started if started is not None else time.perf_counter()
        if not isinstance(found, SearchResult):
            found = SearchResult.of(question, list(found), Evidence(question), started)
        call = _Call(asked_as or question, found, started)
        if not call.passages:
            return _events([self._abstain(call, "no passage was retrieved")])
        return _events(self._generate(call), call.evidence.highlights(call.passages))

    def ask(self, question: str, found: SearchResult | Sequence[Passage], **kwargs) -> Answer:
        *_, final = self.stream(question, found, **kwargs)
        return final.answer

    def refuse(self, question: str, reason: str, started: float | None = None) -> Iterator[StreamEvent]:
        """The answer when there is nothing to search (e.g. no article in the date range asked for): it says why."""
        started = started if started is not None else time.perf_counter()
        answer = self._abstain(_Call(question, SearchResult.of(question, [], Evidence(question), started), started), reason)
        answer.answer = f"{reason[0].upper()}{reason[1:]}, so there is nothing to answer from."
        return _events([answer])

    @abstractmethod
    def _generate(self, call: _Call) -> Iterator[str | Answer]:
        """Checked text pieces, then the final Answer."""

    def _finish(self, call: _Call, text: str, checked: Checked | None = None) -> Answer:
        """The final Answer for `text` (`checked`: its check, already done while streaming)."""
        if checked is None:
            checked = self.checker.check(text, call.passages, question=call.question)
        asked = call.evidence.asked_loosely
        if checked.citations and not holds(asked, checked.answer):
            # "What is Meta's headcount?" answered with a supported sentence that has no number.
            return self._abstain(call, asked.lack)
        if not checked.citations:
            answer = self._abstain(call, "no sentence of the generated answer is supported by the passages")
            answer.warnings = checked.warnings + ["No sentence of the generated answer is supported by the passages."]
            answer.citation_validity = checked.validity
            return answer
        return self._answer(
            call,
            answer=checked.answer + (_dated(checked.citations) if call.evidence.wants_latest else ""),
            abstained=False,
            citations=checked.citations,
            warnings=checked.warnings,
            citation_validity=checked.validity,
        )

    def _read(self, call: _Call) -> ExtractiveResult:
        """The extractive reader on the call's passages, with what the question's evidence has read already."""
        ev = call.evidence
        return extractive_answer(call.question, call.passages, self.embedder, asked=ev.asked, tagger=self.tagger, spans=ev.spans)

    def _abstain(self, call: _Call, reason: str) -> Answer:
        return self._answer(call, answer=NOT_FOUND_TEXT, abstained=True, reason=reason)

    def _answer(self, call: _Call, **fields) -> Answer:
        """The finished Answer: what was asked and searched, by whom, and how long each step took."""
        now = time.perf_counter()
        return Answer(
            question=call.asked_as,
            standalone_question=call.question if call.question != call.asked_as else None,
            passages=call.passages,
            provider=self.provider,
            timings=Timings(
                retrieve_ms=call.found.retrieve_ms, generate_ms=(now - call.begun) * 1000, total_ms=(now - call.started) * 1000
            ),
            **fields,
        )


def _events(items: Iterable[str | Answer], highlights: Sequence[Highlight] = ()) -> Iterator[StreamEvent]:
    """The evidence, then text pieces and the final Answer as events; `Final` says what completes the pieces
    into the checked answer: the rest of it when it continues what was shown, else all of it (`restart`)."""
    if highlights:
        yield EvidenceFound(tuple(highlights))  # before `items` starts: a model has not been asked yet
    shown = ""
    for item in items:
        if isinstance(item, Answer):
            continues = item.answer.startswith(shown)
            yield Final(item, rest=item.answer[len(shown) :] if continues else item.answer, restart=not continues)
            return
        shown += item
        yield AnswerText(item)


class ExtractiveAnswerer(Answerer):
    """No model: quotes the passage sentences that answer the question (`extractive.py`), or abstains."""

    provider = "extractive"

    def _generate(self, call: _Call) -> Iterator[str | Answer]:
        result = self._read(call)
        if result.abstained:
            yield self._abstain(call, result.reason)
            return
        answer = self._finish(call, result.answer)
        if not answer.abstained:
            yield answer.answer  # quoted sentences: whole at once
        yield answer


class ModelAnswerer(Answerer):
    """A model writes the answer from the passages; what it may show is checked as it streams."""

    def __init__(self, settings: Settings, llm: LLM, embedder=None):
        super().__init__(settings, embedder)
        self.llm = llm
        self.provider = llm.name
        # The fixed instructions read now, in the background, rather than on the first question: measured
        # 8.0 -> 4.7 s to its first answer text on 2 cores (README, "Local model"). A question asked
        # meanwhile waits for the model, which it would have spent reading them anyway.
        self.priming = threading.Thread(target=self._prime, name="prime-model", daemon=True) if llm.keeps_prefix else None
        if self.priming is not None:
            self.priming.start()

    def _prime(self) -> None:
        try:
            self.llm.prime(prefix_messages(self._style() == "passages", json_reply=self._json_reply))
        except LLMError:  # the first question reads the prefix itself, and reports a failing model
            log.warning("reading the model's fixed instructions ahead failed", exc_info=True)

    def _finish(self, call: _Call, text: str, checked: Checked | None = None) -> Answer:
        answer = super()._finish(call, text, checked)
        return self._quoted(call, answer) if answer.abstained else self._with_other_reports(call, answer)

    def _quoted(self, call: _Call, abstained: Answer) -> Answer:
        """The model found no answer, or none of what it wrote held up: when the extractive reader finds one
        (its abstention rules passed, checked as any answer), the passages' own sentences answer instead,
        said to be quoted; else the abstention. A small model misses answers its passages state plainly."""
        reading = self._read(call)
        if reading.abstained:
            return abstained
        answer = super()._finish(call, reading.answer)
        if answer.abstained:
            return abstained
        note = f"{self.provider} gave no answer ({abstained.reason}); these are the passages' own sentences."
        return answer.model_copy(update={"provider": ExtractiveAnswerer.provider, "warnings": [*answer.warnings, note]})

    def _with_other_reports(self, call: _Call, answer: Answer) -> Answer:
        """A model's answer often stands on one article (a small one's nearly always, measured): what the other
        articles that answer the question report follows it, quoted and attributed as the extractive answerer
        reads them, under "Other articles report differently:" when their values differ from the answer's."""
        reading = self._read(call)
        cited = {c.group for c in answer.citations}
        by_n = {p.n: p for p in call.passages}
        others: dict[str, across.Reading] = {}
        for quote, n, *_ in [] if reading.abstained else reading.sentences:
            if by_n[n].group not in cited:
                others.setdefault(by_n[n].group, across.Reading(by_n[n], [])).sentences.append((quote, n))
        if not others:
            return answer
        more = across.more(MARKER.sub("", answer.answer), list(others.values()), call.evidence.asked)
        extra = self.checker.check(more, call.passages, question=call.question)
        if not extra.citations:
            return answer
        known = {c.n for c in answer.citations}
        return answer.model_copy(update={
            "answer": f"{answer.answer}\n\n{extra.answer}",
            "citations": answer.citations + [c for c in extra.citations if c.n not in known],
            "warnings": answer.warnings + extra.warnings,
        })

    def _generate(self, call: _Call) -> Iterator[str | Answer]:
        if self._json_reply:
            return self._json(call)
        if self.llm.can_stream:
            return self._streamed(call)
        return self._whole(call)

    @property
    def _json_reply(self) -> bool:
        return self.llm.can_stream and self.llm.supports_schema

    def _style(self) -> str:
        style = self.settings.llm.prompt
        return self.llm.prompt_style if style == "auto" else style

    def _messages(self, call: _Call) -> list[dict]:
        evidence = call.evidence if self._style() == "evidence" else None
        return build_messages(call.question, call.passages, evidence, json_reply=self._json_reply)

    def _reveal(self, call: _Call) -> Reveal:
        return Reveal(self.checker, call.question, call.passages, call.evidence.asked_loosely)

    def _json(self, call: _Call) -> Iterator[str | Answer]:
        """The local model answers in grammar-constrained JSON, evidence first; the `answer` field is
        streamed a checked sentence at a time as it is generated, as `_streamed` does."""
        raw, reveal = "", self._reveal(call)
        stream = self.llm.stream(self._messages(call), json_schema=JSON_SCHEMA)
        pieces = counted(stream)
        try:
            for piece in pieces:
                raw += piece
                done = _CLOSED_ANSWER.search(raw) is not None
                # `found` precedes `answer`: nothing is shown of an answer the model says it did not find.
                if not _NOT_FOUND_JSON.search(raw):
                    # Once the field is closed its last sentence is whole: shown now.
                    delta = reveal.more(partial_field(raw, "answer"), whole=done)
                    if delta:
                        yield delta
                if done:
                    # What follows is `citations`, which small models fill unreliably: the checker attributes
                    # each sentence to the passage that supports it anyway, so generation stops here.
                    break
        finally:
            pieces.close()  # notes the tokens on the span now, not when the generator is collected
            getattr(stream, "close", lambda: None)()
        found = bool(_FOUND_JSON.search(raw)) and bool(partial_field(raw, "evidence").strip())
        text = partial_field(raw, "answer")
        if not found or not text.strip() or text.strip().startswith(ABSTAIN_TOKEN):
            yield self._quoted(call, self._abstain(call, "the model found no answer in the passages"))
            return
        cited = {c.n for c in reveal.check(text).citations}
        if cited:  # the quote follows an answer that holds up, never stands in for one
            text = with_quote(text, partial_field(raw, "evidence"), call.passages, cited)
        yield from self._close(call, text, reveal)

    def _streamed(self, call: _Call) -> Iterator[str | Answer]:
        """Streams the answer a sentence at a time, each only once the checker has passed it: a
        client that joins the pieces has exactly the checked answer, never a removed sentence."""
        text, reveal = "", self._reveal(call)
        for piece in counted(self.llm.stream(self._messages(call))):
            text += piece
            head = text.lstrip()
            # Hold text back while it is, or could still become, the abstain token.
            if ABSTAIN_TOKEN.startswith(head) or head.startswith(ABSTAIN_TOKEN):
                continue
            delta = reveal.more(text)
            if delta:
                yield delta
        yield from self._ended(call, text, reveal)

    def _whole(self, call: _Call) -> Iterator[str | Answer]:
        """A client that cannot stream: the reply whole, then checked."""
        yield from self._ended(call, self.llm.complete(self._messages(call)), self._reveal(call))

    def _ended(self, call: _Call, text: str, reveal: Reveal) -> Iterator[str | Answer]:
        """A plain-text reply once generation ends: the abstain token, or the rest of the checked answer."""
        if not text.strip() or text.strip().startswith(ABSTAIN_TOKEN):
            yield self._quoted(call, self._abstain(call, "the model found no answer in the passages"))
            return
        yield from self._close(call, text, reveal)

    def _close(self, call: _Call, text: str, reveal: Reveal) -> Iterator[str | Answer]:
        """The rest of a streamed answer once generation ends, then the final checked Answer."""
        # A JSON answer shown when its field closed was checked whole already: `reveal` keeps that check.
        answer = self._finish(call, text, checked=reveal.check(text))
        shown = reveal.shown
        if not answer.abstained and answer.answer.startswith(shown) and len(answer.answer) > len(shown):
            yield answer.answer[len(shown) :]
        yield answer



def build_llm(settings: Settings) -> LLM | None:
    """The configured model, or None for the extractive provider."""
    provider = resolve_provider(settings.llm, data_dir=settings.data_dir)
    if provider == "openai":
        from rag.answering.openai_chat import OpenAIChat

        return OpenAIChat(settings.llm)
    if provider == "local":
        from rag.answering.local_llama import LocalLlama

        return LocalLlama(settings.llm, local_model_path(settings))
    return None


def build_answerer(settings: Settings, embedder=None, llm: LLM | None | object = FROM_SETTINGS) -> Answerer:
    """The answerer the settings choose: with the model client `llm` (default: `build_llm(settings)`),
    or extractive when there is none."""
    if llm is FROM_SETTINGS:
        llm = build_llm(settings)
    return ModelAnswerer(settings, llm, embedder) if llm is not None else ExtractiveAnswerer(settings, embedder)


def _dated(citations: Sequence[Citation]) -> str:
    """For "what is the latest...": when the newest article cited was published (from its metadata)."""
    dated = [c for c in citations if c.published]
    if not dated:
        return ""
    newest = max(dated, key=lambda c: c.published)
    return f" (The newest article cited, [{newest.n}], was published on {newest.dated}.)"
