"""Spot wording that means someone may be in danger now. Emergency always wins."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.knowledge.base import KNOWLEDGE_DIR, KnowledgeError
from bot.knowledge.text import fold

SIGNALS_FILE = KNOWLEDGE_DIR / "emergency_signals.yaml"


class EmergencyCheck:
    """True for a message whose wording signals immediate danger."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns = patterns
        self._any = re.compile("|".join(f"(?:{p})" for p in patterns))

    @classmethod
    def load(cls, path: Path = SIGNALS_FILE) -> EmergencyCheck:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        patterns = raw.get("patterns") if isinstance(raw, dict) else None
        if not isinstance(patterns, list) or not patterns:
            raise KnowledgeError(str(path.name), "", "needs a non-empty 'patterns' list")
        for p in patterns:
            try:
                re.compile(p)
            except (re.error, TypeError) as exc:
                raise KnowledgeError(str(path.name), str(p), f"is not a valid pattern ({exc})")
        return cls([str(p) for p in patterns])

    def __call__(self, *texts: str) -> bool:
        return any(self._any.search(fold(t)) for t in texts if t)
