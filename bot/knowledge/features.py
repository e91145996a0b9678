"""The features the classifiers see: the search's own normalisation (folding, UK spelling,
typo correction against the knowledge base's vocabulary, synonyms, stemming), as word n-grams,
plus character n-grams that survive typos the corrector cannot place, plus time cues."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from itertools import pairwise
from typing import Final

from bot.knowledge.signals import Signals
from bot.knowledge.text import fold, replace_phrases, stem, words

# Bump when any function here changes what it returns, or when lookup's intent_examples,
# danger_examples or typed_answers change how examples are chosen: saved models are named by it.
FEATURES_VERSION: Final = "features-2"
CHAR_SIZES: Final = (3, 4, 5)
CACHE_SIZE: Final = 512  # messages remembered


class Features:
    """Analyzers for `classify.Block`: each turns a text into a list of feature names."""

    def __init__(
        self,
        fix: Callable[[str], str],
        phrases: Mapping[tuple[str, ...], str],
        signals: Signals,
    ) -> None:
        self._fix = fix
        self._phrases = phrases
        self._signals = signals
        # both classifiers read each message: its stems and character grams are made once
        self._stems = lru_cache(maxsize=CACHE_SIZE)(self._stems_uncached)
        self._chars = lru_cache(maxsize=CACHE_SIZE)(_char_grams)

    def stems(self, text: str) -> list[str]:
        return list(self._stems(text))

    def _stems_uncached(self, text: str) -> tuple[str, ...]:
        tokens = [self._fix(t) for t in words(text)]
        return tuple(stem(t) for t in replace_phrases(tokens, self._phrases))

    def word_grams(self, text: str) -> list[str]:
        """Stemmed words and word pairs (function words kept: "not", "no", "without" matter)."""
        s = self.stems(text)
        return [f"w:{t}" for t in s] + [f"b:{a}_{b}" for a, b in pairwise(s)]

    def danger_grams(self, text: str) -> list[str]:
        """Words, pairs and triples, plus one token per time cue ("x:past", "x:denied", …)."""
        s = self.stems(text)
        triples = [f"t:{a}_{b}_{c}" for a, b, c in zip(s, s[1:], s[2:], strict=False)]
        folded = fold(text)
        cues = self._signals.time(folded).markers()
        if self._signals.describes_harm(folded):
            # harm together with when it is: "harm now" and "harm, but over" weigh differently
            cues += ["x:harm", *(f"{c}+harm" for c in cues)]
        return cues + [f"w:{t}" for t in s] + [f"b:{a}_{b}" for a, b in pairwise(s)] + triples

    def char_grams(self, text: str) -> list[str]:
        """Character 3- to 5-grams inside each folded word, edges marked (like sklearn's
        `char_wb`): "burns" gives " bu", "bur", …, "ns "."""
        return list(self._chars(text))


def _char_grams(text: str) -> tuple[str, ...]:
    out: list[str] = []
    for word in fold(text).split():
        padded = f" {word} "
        if len(padded) < CHAR_SIZES[0]:
            out.append(f"c:{padded}")
            continue
        for n in CHAR_SIZES:
            out.extend(f"c:{padded[i : i + n]}" for i in range(len(padded) - n + 1))
    return tuple(out)
