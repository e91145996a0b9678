"""The knowledge base: myth-busting answers, guidance topics and the dialog's words, as data.

Everything a safeguarding lead may want to review lives in the YAML files beside this module;
`load_knowledge()` reads and validates them.
"""

from bot.knowledge.base import (
    Entry,
    KnowledgeBase,
    KnowledgeError,
    SourceDoc,
    load_knowledge,
)

__all__ = ["Entry", "KnowledgeBase", "KnowledgeError", "SourceDoc", "load_knowledge"]
