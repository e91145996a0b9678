"""One question in, one routed answer out: emergency first, then the best entry, else none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.emergency import EmergencyCheck
from bot.knowledge.search import (
    EMERGENCY,
    EXAMPLE_CLASSES,
    MIN_CONFIDENCE,
    OUT_OF_SCOPE,
    OUT_OF_SCOPE_MARGIN,
    Lookup,
    Match,
    SearchIndex,
)
from bot.knowledge.text import words

ALTERNATIVE_MARGIN = 0.6  # alternatives shown: within this share of the best score
# A message at least this close to an emergency example (BM25 score), and at least as close to
# it as to any answer, is treated as an emergency even without emergency wording.
EMERGENCY_EXAMPLE_FLOOR = 4.0
EMERGENCY_EXAMPLE_MARGIN = 1.0
MAX_ALTERNATIVES = 3


@dataclass(frozen=True)
class Knowledge:
    """The knowledge base with its search index and emergency check, ready to answer."""

    kb: KnowledgeBase
    index: SearchIndex
    emergency: EmergencyCheck

    @classmethod
    def build(cls, kb: KnowledgeBase) -> Knowledge:
        check = EmergencyCheck.load()
        return cls(kb, SearchIndex.from_knowledge(kb, check.examples), check)

    def is_emergency(self, text: str) -> bool:
        """Emergency wording (emergency_signals.yaml): precise enough to run on any message,
        including a typed answer to a question."""
        fixed = " ".join(self.index.speller.fix(w) for w in words(text))
        return self.emergency(text, fixed)

    def ask(self, text: str) -> Lookup:
        """Route a question: `emergency` wins (by wording, or by closeness to the emergency
        examples), then a myth or topic, else `none`."""
        ranked = self.index.rank(text)
        in_scope = [m for m in ranked if m.id not in EXAMPLE_CLASSES]
        closest = {m.id: m.score for m in ranked if m.id in EXAMPLE_CLASSES}
        top = in_scope[0] if in_scope else Match(OUT_OF_SCOPE, 0.0)
        emergency = _raw(closest.get(EMERGENCY, 0.0))
        if self.is_emergency(text) or (
            emergency >= EMERGENCY_EXAMPLE_FLOOR
            and emergency >= EMERGENCY_EXAMPLE_MARGIN * _raw(top.score)
        ):
            return Lookup("emergency", self.kb.entries[EMERGENCY], 1.0, tuple(in_scope[:2]))
        outside = closest.get(OUT_OF_SCOPE, 0.0)
        if top.score < MIN_CONFIDENCE or _raw(outside) >= OUT_OF_SCOPE_MARGIN * _raw(top.score):
            return Lookup("none", None, top.score, tuple(in_scope[:MAX_ALTERNATIVES]))
        entry = self.kb.entries[top.id]
        others = tuple(m for m in in_scope[1:] if m.score >= top.score * ALTERNATIVE_MARGIN)[
            :MAX_ALTERNATIVES
        ]
        return Lookup(entry.kind, entry, top.score, others)


def _raw(confidence: float) -> float:
    """Undo the squashing of a confidence back to its BM25 score, to compare scores fairly."""
    return confidence / (1 - confidence) if confidence < 1 else float("inf")


def lookup_json(result: Lookup, kb: KnowledgeBase, menu_text: str) -> dict[str, Any]:
    """The `canishare ask --json` contract."""
    entry = result.entry
    alternatives = [
        {"id": m.id, "title": kb.entries[m.id].title, "score": m.score}
        for m in result.alternatives
        if m.id in kb.entries
    ]
    if entry is None:
        return {
            "kind": "none",
            "id": None,
            "title": "I can only help with sharing safeguarding information",
            "verdict": None,
            "answer": menu_text,
            "sources": [],
            "score": result.score,
            "alternatives": alternatives,
        }
    return {
        "kind": result.kind,
        "id": entry.id,
        "title": entry.title,
        "verdict": entry.verdict,
        "answer": entry.answer,
        "sources": [{"title": s.title, "section": s.section} for s in entry.sources],
        "score": result.score,
        "alternatives": alternatives,
    }
