"""Understand answers typed as free text: "yep", "no way", "dunno", "mum agreed"…"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.knowledge.text import fold


@dataclass(frozen=True, slots=True)
class Parsed:
    """The answer understood, or none; `ambiguous` when the text holds two different answers."""

    answer: str | None
    ambiguous: bool = False


class PhraseMatcher:
    """Match a message against phrase lists, longest phrase first, never overlapping."""

    def __init__(self, groups: Mapping[str, Iterable[str]]) -> None:
        phrases: list[tuple[tuple[str, ...], str]] = []
        for answer, texts in groups.items():
            for text in texts:
                tokens = tuple(fold(str(text)).split())
                if tokens:
                    phrases.append((tokens, str(answer)))
        self._phrases = sorted(phrases, key=lambda p: -len(p[0]))
        # Indexes into _phrases by first word, and the first answer for each whole message:
        # a message is only compared with the phrases that could match it, in the same order.
        self._starting: dict[str, list[int]] = {}
        self._whole: dict[tuple[str, ...], str] = {}
        for index, (tokens, answer) in enumerate(self._phrases):
            self._starting.setdefault(tokens[0], []).append(index)
            self._whole.setdefault(tokens, answer)

    def parse(self, text: str, allowed: Sequence[str] | None = None) -> Parsed:
        tokens = fold(text).split()
        if not tokens:
            return Parsed(None)
        covered = [False] * len(tokens)
        found: list[str] = []
        candidates = sorted({i for t in set(tokens) for i in self._starting.get(t, ())})
        for index in candidates:
            phrase, answer = self._phrases[index]
            n = len(phrase)
            for i in range(len(tokens) - n + 1):
                if tuple(tokens[i : i + n]) == phrase and not any(covered[i : i + n]):
                    covered[i : i + n] = [True] * n
                    found.append(answer)
        distinct = set(found)
        if allowed is not None and not distinct <= set(allowed):
            # "not sure" at a yes/no question must not shrink to "sure": re-ask, never guess
            return Parsed(None)
        if len(distinct) == 1:
            return Parsed(found[0])
        return Parsed(None, ambiguous=len(distinct) > 1)

    def is_whole_phrase(self, tokens: tuple[str, ...]) -> bool:
        return tokens in self._whole

    def exact(self, text: str) -> str | None:
        """The answer whose phrase is the whole message (commands must not fire mid-sentence)."""
        return self._whole.get(tuple(fold(text).split()))


class AnswerParser:
    """One matcher per answer group in bot/knowledge/dialog/answers.yaml."""

    def __init__(self, words: Mapping[str, Mapping[str, Iterable[str]]]) -> None:
        self.groups = {name: PhraseMatcher(groups) for name, groups in words.items()}

    def answer(self, question_id: str, text: str, allowed: Sequence[str]) -> Parsed:
        group = question_id if question_id in ("consent", "person") else "common"
        return self.option(group, text, allowed)

    def is_known_reply(self, text: str) -> bool:
        """The whole message is one known answer or command phrase ("no", "not sure",
        "she said no", "back"): nothing else is in it."""
        tokens = tuple(fold(text).split())  # folded once, not once per group
        return any(g.is_whole_phrase(tokens) for g in self.groups.values())

    def common(self, text: str) -> Parsed:
        return self.groups["common"].parse(text)

    def command(self, text: str) -> str | None:
        return self.groups["commands"].exact(text)

    def option(self, group: str, text: str, allowed: Sequence[str]) -> Parsed:
        parsed = self.groups[group].parse(text, allowed)
        if parsed.answer is None and not parsed.ambiguous:
            # the answer id itself, typed: "not_asked", "given", "public_task"
            folded = fold(text)
            for a in allowed:
                if folded == fold(a.replace("_", " ")):
                    return Parsed(a)
        return parsed
