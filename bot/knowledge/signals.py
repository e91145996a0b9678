"""When it happened, whether danger is denied, whether harm is described, whether sharing is
asked about: small readable cues from `signals.yaml`, used beside the classifiers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.base import KNOWLEDGE_DIR, YAML_LOADER, KnowledgeError

SIGNALS_FILE = KNOWLEDGE_DIR / "signals.yaml"
GROUPS = (
    "denied",
    "hearsay",
    "if_told",
    "told",
    "past",
    "now",
    "recent",
    "harm",
    "said_now",
    "sharing",
)
CACHE_SIZE = 512  # messages remembered, per cue
# Groups searched one pattern at a time: each denial opens with its own words, which the regex
# engine scans for quickly alone but not inside one alternation (half the time on long stories);
# the same holds for the signs of now (a quarter faster one by one, stopping at the first).
ONE_BY_ONE = frozenset({"denied", "now"})
# "not … now" written loosely ("he isnt here now", "no one is in danger at the moment"): the
# time belongs to the negation, so it is no sign of danger now either.
_NEGATED_TIME = re.compile(
    # "no" before "he's …" answers a question ("no, he's hitting her right now"): not a denial
    r"\b(not|no(?! (?:hes|shes|theyre|he|she|they|its|it|im|i|we|dad|mum|the|her|his)\b)|isnt|"
    r"arent|wasnt|nobody|no one|noone)\b( \w+){0,3} (right now|now|at the moment|today|tonight|"
    r"currently)\b"
)


def bad_branch(patterns: Iterable[str]) -> tuple[str, str] | None:
    """The first pattern that does not compile as one branch of an alternation, and why: the
    one to name when a list's alternation fails (None when every branch compiles)."""
    for pattern in patterns:
        try:
            re.compile(f"x|(?:{pattern})")
        except (re.error, TypeError) as exc:
            return str(pattern), str(exc)
    return None


@dataclass(frozen=True, slots=True)
class TimeSense:
    """What a message says about time: danger denied, harm in the past, something now."""

    denied: bool
    past: bool
    now: bool  # something now, or today
    strong: bool = False  # something now, not only "today" or "tonight"

    @property
    def over(self) -> bool:
        """Danger denied, or harm only in the past: not the emergency route on wording alone."""
        return (self.denied or self.past) and not self.now

    def markers(self) -> list[str]:
        """Features for the classifiers: one token per cue, so many wordings share a weight."""
        out = [f"x:{name}" for name in ("denied", "past", "now") if getattr(self, name)]
        if self.over:
            out.append("x:over")
        return out


class Signals:
    """Compiled cue lists; every method takes text already folded by `text.fold`."""

    def __init__(self, raw: dict[str, Any], source: str = "signals.yaml") -> None:
        # what the cues are made of, for naming a model trained with their help
        self.key = json.dumps(raw, sort_keys=True, default=str)
        tail = str(raw.get("denied_tail", ""))
        self._groups: dict[str, list[re.Pattern[str]]] = {}
        self._either: dict[str, re.Pattern[str]] = {}
        for group in GROUPS:
            items = raw.get(group)
            if not isinstance(items, list) or not items:
                raise KnowledgeError(source, group, "needs a non-empty list of patterns")
            compiled = []
            for item in items:
                pattern = str(item) + (tail if group == "denied" else "")
                try:
                    compiled.append(re.compile(pattern))
                except re.error as exc:
                    raise KnowledgeError(
                        source, str(item), f"is not a valid pattern ({exc})"
                    ) from exc
            self._groups[group] = compiled
            if group in ONE_BY_ONE:
                continue
            # "does any cue match?" as one alternation: much faster than one pattern at a time
            try:
                self._either[group] = re.compile("|".join(f"(?:{p.pattern})" for p in compiled))
            except re.error as exc:  # a pattern that only breaks as one branch of many
                pattern, why = bad_branch(p.pattern for p in compiled) or ("", str(exc))
                raise KnowledgeError(
                    source, pattern, f"is not a valid pattern in a list ({why})"
                ) from exc
        # one message is read by several steps (the features, the danger check, the answer)
        self._time = lru_cache(maxsize=CACHE_SIZE)(self._time_uncached)
        self._harm = lru_cache(maxsize=CACHE_SIZE)(partial(self._any, "harm"))
        self._denials = lru_cache(maxsize=CACHE_SIZE)(self._denials_uncached)
        # "dad says she's fine" denies nothing: read once, for the denials and for the time
        self._unheard = lru_cache(maxsize=CACHE_SIZE)(partial(self._blank, "hearsay"))

    @classmethod
    def load(cls, path: Path = SIGNALS_FILE) -> Signals:
        try:
            raw = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise KnowledgeError(path.name, "", f"cannot be read ({exc})") from exc
        if not isinstance(raw, dict):
            raise KnowledgeError(path.name, "", "must be a mapping of pattern lists")
        return cls(raw, path.name)

    def _any(self, group: str, folded: str) -> bool:
        if group in ONE_BY_ONE:
            return any(p.search(folded) for p in self._groups[group])
        return self._either[group].search(folded) is not None

    def without_denials(self, folded: str) -> str:
        """The text with every denial blanked out ("not in danger right now" → " "), and harm
        feared only if the practitioner asks or tells ("if I ask mum … he'll hurt the kids")."""
        return self._denials(folded)[1]

    def _denials_uncached(self, folded: str) -> tuple[bool, str]:
        """Whether the text (someone else's word set aside) denies danger, and the text with
        every denial and every fear of telling blanked out: one pass over the denials for both
        (blanking changes the text exactly when some denial is there)."""
        heard = self._unheard(folded)
        blanked = heard
        for p in self._groups["denied"]:
            blanked = p.sub(" ", blanked)
        rest = _NEGATED_TIME.sub(" ", self._blank("if_told", blanked))
        return blanked != heard, rest

    def _when_it_happens(self, folded: str) -> str:
        """The text without denials and without when the practitioner was told."""
        return self._blank("told", self.without_denials(folded))

    def _blank(self, group: str, folded: str) -> str:
        """Blank out each of the group's cues in turn (none to blank when none matches)."""
        if self._any(group, folded):
            for p in self._groups[group]:
                folded = p.sub(" ", folded)
        return folded

    def time(self, folded: str) -> TimeSense:
        return self._time(folded)

    def _time_uncached(self, folded: str) -> TimeSense:
        happens = self._when_it_happens(folded)
        strong = self._any("now", happens)
        return TimeSense(
            denied=self._denials(folded)[0],
            past=self._any("past", folded),
            now=strong or self._any("recent", happens),
            strong=strong,
        )

    def fears_if_told(self, folded: str) -> bool:
        """Harm feared if the practitioner asks or tells ("… she'll tell him and he'll hurt
        the kids"): worth a safety note, not the emergency route on its own."""
        return self._any("if_told", folded)

    def describes_harm(self, folded: str) -> bool:
        return self._harm(folded)

    def says_now(self, folded: str) -> bool:
        """Danger said to be now in so many words ("he's outside her door now")."""
        return self._any("said_now", folded)

    def asks_about_sharing(self, folded: str) -> bool:
        return self._any("sharing", folded)
