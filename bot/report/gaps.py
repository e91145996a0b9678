"""Unanswered questions kept for the knowledge maintainers, scrubbed of personal details.

Off by default (`CANISHARE_KEEP_UNANSWERED_DAYS`). What the personal-details check flags is
replaced with "[removed]", and so is anything else that might identify someone: a capitalised
or unknown-acronym word the knowledge base never uses (a likely name), a run of digits (a case
reference, a phone or NHS number, a date). When in doubt the whole text is dropped: too long
(a case story, not a question), still flagged after scrubbing, or mostly removed.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from bot.core.pii import PersonalDetails
from bot.knowledge.base import KnowledgeBase
from bot.records.store import Store
from bot.settings import Settings

REMOVED: Final = "[removed]"
MAX_KEPT_CHARS: Final = 280  # a longer message is a case story, not a gap in the answers
MAX_WINDOW: Final = 6  # the longest run of words one personal detail can span
COMMON_IN_EXAMPLES: Final = 3  # phrasings a word must be in to count as an everyday word
TITLES: Final = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof"})
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_DIGITS = re.compile(r"\d")
_INVISIBLE = frozenset({"Cc", "Cf", "Co", "Cs", "Cn"})
# words that come before a name, typed capitalised or not ("mrs quent", "auntie sue")
_BEFORE_A_NAME = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "master",
        "prof",
        "sir",
        "madam",
        "lady",
        "lord",
        "aunt",
        "auntie",
        "aunty",
        "uncle",
        "nan",
        "nana",
        "nanny",
        "gran",
        "granny",
        "grandma",
        "grandad",
        "grandpa",
        "cousin",
    ]
)


@dataclass(frozen=True)
class Scrubber:
    """Scrubs a question's text; built once from the personal-details check and the words the
    knowledge base itself uses (a capitalised word it never uses may be a name)."""

    pii: PersonalDetails
    vocabulary: frozenset[str]

    @classmethod
    def build(cls, pii: PersonalDetails, kb: KnowledgeBase) -> Scrubber:
        return cls(pii, frozenset(knowledge_words(kb)) - pii.first_names)

    def scrub(self, text: str) -> str | None:
        """The text with personal details replaced by "[removed]", or None to keep nothing."""
        clean = normalise(text)
        if not clean or len(clean) > MAX_KEPT_CHARS:
            return None
        tokens = clean.split(" ")
        removed = [
            self._suspicious(t) or (i > 0 and _bare(tokens[i - 1]) in _BEFORE_A_NAME)
            for i, t in enumerate(tokens)
        ]
        self._remove_flagged_runs(tokens, removed)
        if sum(removed) * 2 > len(tokens):
            return None  # mostly personal: nothing useful is left to keep
        kept = _join(tokens, removed)
        if self.pii.find(kept) or self.pii.find(kept.replace(REMOVED, " ")):
            return None
        return kept

    def _suspicious(self, token: str) -> bool:
        if len(_DIGITS.findall(token)) >= 2 or "@" in token:
            return True
        for word in _WORD.findall(token):
            folded = word.lower()
            if folded in self.pii.first_names:
                return True
            if word[0].isupper() and word != "I" and folded not in self.vocabulary:
                return True
        return False

    def _remove_flagged_runs(self, tokens: list[str], removed: list[bool]) -> None:
        """Mark the shortest runs of words the personal-details check flags (a postcode, a
        street address, a titled name) that no single word gave away."""
        i = 0
        while i < len(tokens):
            end = self._first_flagged_end(tokens, removed, i)
            if end is None:
                i += 1
                continue
            start = max(s for s in range(i, end) if self._flagged(tokens, removed, s, end))
            for k in range(start, end):
                removed[k] = True
            i = end

    def _first_flagged_end(self, tokens: list[str], removed: list[bool], start: int) -> int | None:
        for end in range(start + 1, min(len(tokens), start + MAX_WINDOW) + 1):
            if self._flagged(tokens, removed, start, end):
                return end
        return None

    def _flagged(self, tokens: list[str], removed: list[bool], start: int, end: int) -> bool:
        window = [t for t, r in zip(tokens[start:end], removed[start:end], strict=True) if not r]
        return bool(window) and bool(self.pii.find(" ".join(window)))


def normalise(text: str) -> str:
    """NFKC, no control or invisible characters (zero-width, bidi overrides), single spaces."""
    kept: list[str] = []
    for ch in unicodedata.normalize("NFKC", text):
        if ch.isspace():
            kept.append(" ")
        elif unicodedata.category(ch) not in _INVISIBLE:
            kept.append(ch)
    return " ".join("".join(kept).split())


def _bare(token: str) -> str:
    return token.strip(".,;:!?'\"()[]").lower()


def _join(tokens: list[str], removed: list[bool]) -> str:
    out: list[str] = []
    for token, gone in zip(tokens, removed, strict=True):
        if not gone:
            out.append(token)
        elif not out or out[-1] != REMOVED:
            out.append(REMOVED)
    return " ".join(out)


def knowledge_words(kb: KnowledgeBase) -> set[str]:
    """Every word the knowledge base uses in its answers and dialog (not its contacts), and
    the words its example phrasings use often. A word in one or two phrasings only may be a
    fictional name in a practitioner's story ("mr henshaw wandered off"), and titles are never
    words here: a capitalised one still says a name may follow."""
    texts: list[str] = []
    for e in kb.entries.values():
        texts += [e.title, e.answer, e.explanation, *e.points, e.notes]
    texts += [*kb.synonyms.keys(), *kb.synonyms.values()]
    texts += [doc.title for doc in kb.sources.values()]
    texts += list(_strings({k: v for k, v in kb.words.items() if k != "personal_details"}))
    words = {w.lower() for text in texts for w in _WORD.findall(text)}
    examples = [p for e in kb.entries.values() for p in e.phrasings] + list(kb.out_of_scope)
    counts = Counter(w.lower() for text in examples for w in set(_WORD.findall(text)))
    words |= {w for w, n in counts.items() if n >= COMMON_IN_EXAMPLES}
    return words - TITLES


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


async def purge_kept_questions(store: Store, settings: Settings, *, now: datetime) -> int:
    """Delete kept unanswered questions older than CANISHARE_KEEP_UNANSWERED_DAYS — and every
    one of them when the setting is off (turning it off means keeping none)."""
    if settings.keep_unanswered_days <= 0:
        return await store.purge_unanswered(before=None)
    cut_off = now.astimezone(UTC).date() - timedelta(days=settings.keep_unanswered_days - 1)
    return await store.purge_unanswered(before=cut_off)
