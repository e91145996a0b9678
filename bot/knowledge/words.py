"""Typed access to the dialog's words (bot/knowledge/dialog/*.yaml).

Which words the dialogs need, and the check that they are all there, live in
`bot/knowledge/dialog_words.py`; the loader runs that check, so this module only reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from bot.core.replies import Source
from bot.knowledge.base import KnowledgeBase, KnowledgeError
from bot.knowledge.dialog_words import (
    NOT_WORDS,
    RECORD_FIELDS,
    UNKNOWN_ORGANISATION,
    ChannelWords,
    check_dialog_words,
)

__all__ = ["RECORD_FIELDS", "ChannelWords", "Words", "validate_words"]


class Words:
    """Read-only view of the dialog words with small typed helpers."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.raw: Mapping[str, Any] = kb.words

    @property
    def organisation_type(self) -> str:
        """public_authority, voluntary, private — or unknown when organisation.yaml says not."""
        return self.kb.organisation_type or UNKNOWN_ORGANISATION

    def question(self, qid: str) -> Mapping[str, Any]:
        q: Mapping[str, Any] = self.raw["questions"]["questions"][qid]
        return q

    def outcome(self, outcome: str) -> Mapping[str, Any]:
        o: Mapping[str, Any] = self.raw["outcomes"]["outcomes"][outcome]
        return o

    def outcomes_section(self, key: str) -> Any:
        return self.raw["outcomes"][key]

    def record(self) -> Mapping[str, Any]:
        r: Mapping[str, Any] = self.raw["record"]
        return r

    def answers(self) -> Mapping[str, Any]:
        """The phrase groups of answers.yaml (without the file's review date)."""
        return {k: v for k, v in self.raw["answers"].items() if k not in NOT_WORDS}

    @cached_property
    def channel(self) -> ChannelWords:
        """The words the channels' renderers use (messages.yaml, `channels`)."""
        return ChannelWords.from_messages(self.raw["messages"])

    def message(self, key: str) -> Any:
        return self.raw["messages"][key]

    def text(self, key: str, **values: object) -> str:
        value = self.raw["messages"][key]
        return str(value).format(**values) if values else str(value)

    def source(self, raw: Mapping[str, str]) -> Source:
        doc = self.kb.sources[raw["doc"]]
        return Source(doc.title, raw["section"], doc.short)


def validate_words(kb: KnowledgeBase) -> list[KnowledgeError]:
    """Every question, answer, outcome, record field and message the flow needs has words."""
    files = {k: v for k, v in kb.words.get("_files", {}).items()}
    return check_dialog_words(
        kb.words, files=files, sources=set(kb.sources), contacts=set(kb.contacts)
    )
