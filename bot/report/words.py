"""The report's words, from `words.yaml` beside this file (reviewable without Python)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

WORDS_FILE = Path(__file__).with_name("words.yaml")


class ReportWords:
    """Looks up a text by its dotted key ("sections.escalations.heading") and fills it in."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    def __call__(self, key: str, **values: object) -> str:
        node: Any = self.raw
        for part in key.split("."):
            node = node[part]
        return str(node).format(**values) if values else str(node)

    def outcome(self, outcome: str) -> str:
        names: Mapping[str, str] = self.raw["outcomes"]
        return names.get(outcome, outcome.replace("_", " "))


@cache
def report_words() -> ReportWords:
    return ReportWords(yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8")))
