"""Typed access to the dialog's words, and their validation against the flow."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.knowledge.base import KnowledgeBase, KnowledgeError


def validate_words(kb: KnowledgeBase) -> list[KnowledgeError]:
    return []
