"""Typed access to the dialog's words (bot/knowledge/dialog/*.yaml), and their validation.

The decision flow (bot/dialogs/flow.py) names questions, answers and outcomes; this module
checks that every one of them has its words, so a missing text stops start-up, never a chat.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.core.replies import Source

if TYPE_CHECKING:
    from bot.knowledge.base import KnowledgeBase, KnowledgeError

RECORD_FIELDS = (
    "case_reference",
    "what",
    "with_whom",
    "purpose",
    "lawful_basis",
    "special_category",
    "reasons",
)
REQUIRED_MESSAGES = (
    "welcome",
    "menu",
    "help",
    "none",
    "reask",
    "reask_hint",
    "resume",
    "why_prefix",
    "started",
    "restarted",
    "nothing_to_undo",
    "went_back",
    "stopped",
    "idle_restart",
    "no_case_here",
    "record_saved",
    "record_required",
    "record_too_long",
    "pii",
    "escalation",
    "rate_limited",
    "too_long",
)
COMMANDS = (
    "back",
    "restart",
    "help",
    "why",
    "stop",
    "menu",
    "escalate",
    "record",
    "start",
    "myths",
)


class Words:
    """Read-only view of the dialog words with small typed helpers."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.raw: Mapping[str, Any] = kb.words

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
        a: Mapping[str, Any] = self.raw["answers"]
        return a

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
    from bot.dialogs.flow import ALL_QUESTIONS, OUTCOMES, SKIP
    from bot.knowledge.base import KnowledgeError

    files: Mapping[str, str] = kb.words.get("_files", {})
    problems: list[KnowledgeError] = []

    def need(section: str, path: list[str], kind: type = str) -> Any:
        node: Any = kb.words.get(section)
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                file = files.get(section, f"bot/knowledge/dialog/{section}.yaml")
                problems.append(KnowledgeError(file, ".".join(path), "missing"))
                return None
            node = node[key]
        if not isinstance(node, kind) or (isinstance(node, str) and not node.strip()):
            file = files.get(section, f"bot/knowledge/dialog/{section}.yaml")
            problems.append(KnowledgeError(file, ".".join(path), f"must be {kind.__name__}"))
            return None
        return node

    def need_source(section: str, path: list[str]) -> None:
        src = need(section, path, dict)
        if src is not None and src.get("doc") not in kb.sources:
            file = files.get(section, section)
            problems.append(
                KnowledgeError(file, ".".join(path), f"unknown source doc {src.get('doc')!r}")
            )

    for qid, q in ALL_QUESTIONS.items():
        for key in ("text", "why", "help"):
            need("questions", ["questions", qid, key])
        need_source("questions", ["questions", qid, "source"])
        for answer in (*q.answers, *((SKIP,) if q.optional else ())):
            need("questions", ["questions", qid, "choices", answer])
    for outcome in OUTCOMES:
        for key in ("title", "summary"):
            need("outcomes", ["outcomes", outcome, key])
        need("outcomes", ["outcomes", outcome, "next_steps"], list)
        need("outcomes", ["outcomes", outcome, "because"], dict)
        lawful = need("outcomes", ["outcomes", outcome, "lawful_basis"])
        if lawful is not None:
            need("record", ["fields", "lawful_basis", "options", lawful])
        for src in need("outcomes", ["outcomes", outcome, "sources"], list) or []:
            if not isinstance(src, Mapping) or src.get("doc") not in kb.sources:
                problems.append(
                    KnowledgeError(files.get("outcomes", "outcomes"), outcome, f"source {src!r}")
                )
        for key in need("outcomes", ["outcomes", outcome, "contacts"], list) or []:
            if key not in kb.contacts:
                problems.append(
                    KnowledgeError(files.get("outcomes", "outcomes"), outcome, f"contact {key!r}")
                )
    need("outcomes", ["checklist", "items"], list)
    for band in (*ALL_QUESTIONS["person"].answers, "unknown"):
        need("outcomes", ["consent_advice", band])
    for name in RECORD_FIELDS:
        need("record", ["fields", name, "label"])
        need("record", ["fields", name, "prompt"], object)
    for key in ("shared", "not_shared"):
        need("record", ["intro", key])
    for qid, q in ALL_QUESTIONS.items():
        group = "consent" if qid == "consent" else "person" if qid == "person" else "common"
        for answer in (*q.answers, *((SKIP,) if q.optional else ())):
            if group == "common" and answer not in q.answers:
                continue
            need("answers", [group, answer], list)
    for command in COMMANDS:
        need("answers", ["commands", command], list)
    for key in REQUIRED_MESSAGES:
        need("messages", [key], object)
    return problems
