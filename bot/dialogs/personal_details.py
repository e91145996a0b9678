"""Which personal details belong in which field, and where exactly a message holds them.

`bot/core/pii.py` says *whether* a text looks like it holds a name, a phone number and so on.
This module adds the record's per-field policy on top of it: a professional's name right
beside their role ("our DSL Mrs Patel") belongs in "with whom", and the practitioner's own
call-back number belongs in a request to a lead ("call me on …") — a child's or a family's
details belong nowhere. It also finds the words that triggered the check, so the message can
say precisely what was found and where. A case reference must look like one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final

from bot.core.pii import PersonalDetails
from bot.knowledge.text import fold

MAX_WINDOW: Final = 5  # the longest run of words searched for the words that triggered a kind
# Where a professional's name, next to their role, is allowed.
NAMES_BESIDE_A_ROLE: Final = frozenset({"with_whom", "purpose", "reasons", "question"})
OWN_CONTACT_FIELDS: Final = frozenset({"question"})  # a call-back number, in a request to a lead
OWN_CONTACT_KINDS: Final = frozenset({"phone", "email"})
PROFESSIONAL_TITLES: Final = frozenset(
    {"dr", "prof", "pc", "dc", "ds", "di", "sgt", "insp", "cllr"}
)
FILLERS: Final = frozenset({"our", "the", "a", "an", "my", "their", "your", "is", "from"})
_TOKEN = re.compile(r"\S+")
_CAPITALISED = re.compile(r"^[A-Z][a-z'’-]+[,.;:)]?$")
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.:#\- ]*$")
MAX_REFERENCE_WORDS: Final = 4


@dataclass(frozen=True, slots=True)
class Finding:
    """One personal detail: its kind, and the words that look like it ("" when the check
    needs the whole message to see it)."""

    kind: str
    words: str = ""


@dataclass(frozen=True)
class FieldPolicy:
    """The personal-details check for each field of the record and of a request to a lead."""

    pii: PersonalDetails
    roles: tuple[tuple[str, ...], ...]  # folded role phrases: ("social", "worker"), ("dsl",)
    own_contact_cues: tuple[tuple[str, ...], ...]

    @classmethod
    def build(
        cls, pii: PersonalDetails, roles: Iterable[str], own_contact_cues: Iterable[str]
    ) -> FieldPolicy:
        def phrases(texts: Iterable[str]) -> tuple[tuple[str, ...], ...]:
            return tuple(sorted({tuple(fold(t).split()) for t in texts if fold(t)}, key=len))

        return cls(pii, phrases(roles), phrases(own_contact_cues))

    def findings(self, field_id: str, text: str, today: date | None = None) -> list[Finding]:
        """The personal details in `text` that do not belong in this field."""
        kinds = self.pii.find(text, today)
        if not kinds:
            return []
        spans = [m.span() for m in _TOKEN.finditer(text)]
        out: list[Finding] = []
        for kind in kinds:
            windows = self._windows(kind, text, spans, today)
            if not windows:
                out.append(Finding(kind))
                continue
            for first, found_last in windows:
                last = _with_surname(text, spans, found_last) if kind == "name" else found_last
                if not self._belongs(field_id, kind, text, spans, first, last):
                    words = text[spans[first][0] : spans[last][1]].strip(" ,.;:()")
                    out.append(Finding(kind, words))
        return out

    def _windows(
        self, kind: str, text: str, spans: list[tuple[int, int]], today: date | None
    ) -> list[tuple[int, int]]:
        """The shortest runs of words that on their own look like `kind`, in order."""
        found: list[tuple[int, int]] = []
        for size in range(1, MAX_WINDOW + 1):
            for first in range(len(spans) - size + 1):
                last = first + size - 1
                if any(a <= last and first <= b for a, b in found):
                    continue  # holds a shorter run already found
                if kind in self.pii.find(text[spans[first][0] : spans[last][1]], today):
                    found.append((first, last))
        return sorted(found)

    def _belongs(
        self,
        field_id: str,
        kind: str,
        text: str,
        spans: list[tuple[int, int]],
        first: int,
        last: int,
    ) -> bool:
        words = [fold(text[a:b]) for a, b in spans]
        if kind == "name" and field_id in NAMES_BESIDE_A_ROLE:
            return self._beside_a_role(words, first, last)
        if kind in OWN_CONTACT_KINDS and field_id in OWN_CONTACT_FIELDS:
            before = " ".join(words[max(0, first - 4) : first]).split()
            return any(_contains(before, cue) for cue in self.own_contact_cues)
        return False

    def _beside_a_role(self, words: list[str], first: int, last: int) -> bool:
        if words[first] in PROFESSIONAL_TITLES:
            return True
        before = [w for w in " ".join(words[max(0, first - 4) : first]).split()]
        while before and before[-1] in FILLERS:
            before.pop()
        after = " ".join(words[last + 1 : last + 5]).split()
        while after and after[0] in FILLERS:
            after.pop(0)
        return any(
            tuple(before[-len(role) :]) == role or tuple(after[: len(role)]) == role
            for role in self.roles
        )


def _with_surname(text: str, spans: list[tuple[int, int]], last: int) -> int:
    """ "Jess" → "Jess Smith": take in the capitalised words that follow a name."""
    while (
        last + 1 < len(spans) and len(spans) and _CAPITALISED.match(text[slice(*spans[last + 1])])
    ):
        if text[spans[last][1] - 1] in ",.;:)":
            break
        last += 1
    return last


def _contains(words: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1))


def looks_like_a_reference(text: str) -> bool:
    """A case reference has a number in it, no sentence around it, and only the characters
    case systems use ("CP-2026-0412", "EH/2026/99"); "dunno we haven't got one yet" is not."""
    value = text.strip()
    return (
        bool(_REFERENCE.match(value))
        and any(c.isdigit() for c in value)
        and len(value.split()) <= MAX_REFERENCE_WORDS
    )
