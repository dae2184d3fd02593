"""A follow-up question made standalone, so retrieval sees what "he" or "it" refers to."""

from __future__ import annotations

import re

from rag.answering.prompts import CONDENSE_PROMPT
from rag.core.conversation import Conversation

_PRONOUN = re.compile(r"\b(he|she|him|his|her|hers|they|them|their|it|its|this|that|these|those)\b", re.IGNORECASE)
_PROPER = re.compile(r"\b(?:[A-Z][\w’'\-]+(?:\s+(?:[A-Z][\w’'\-]+|of|de|van|von|al))*)")


def condense(question: str, history: Conversation, llm=None) -> str:
    """`question` rewritten to stand alone: by the model when there is one, else the conversation's last
    named subject put in place of its pronoun."""
    turns = history.messages()
    if not turns:
        return question
    if llm is not None:
        transcript = "\n".join(f"{t['role']}: {t['content'][:600]}" for t in turns[-6:])
        rewritten = llm.complete(
            [{"role": "user", "content": CONDENSE_PROMPT.format(history=transcript, question=question)}], max_tokens=96
        ).strip().strip('"')
        return rewritten.splitlines()[0] if rewritten else question
    if not _PRONOUN.search(question):
        return question
    # Without a model: put the last named subject of the conversation in place of the pronoun.
    for turn in reversed([t for t in turns if t["role"] == "user"] or turns):
        names = [n for n in _PROPER.findall(turn["content"]) if n.split()[0].lower() not in _STARTERS]
        if names:
            return _PRONOUN.sub(lambda m: names[0] + ("’s" if m.group(1).lower() in ("his", "her", "their", "its") else ""), question, count=1)
    return question


_STARTERS = {"what", "who", "why", "how", "when", "where", "which", "did", "does", "do", "is", "are", "was", "the", "and", "i", "a"}
