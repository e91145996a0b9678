"""Text normalisation shared by the search, the emergency check and the answer parser."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

import snowballstemmer

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})
_NON_WORD = re.compile(r"[^a-z0-9]+")
_US_TO_UK = (
    (re.compile(r"(?<=[a-z]{3})iz(e|es|ed|ing|ation|ations)$"), r"is\1"),
    (re.compile(r"(?<=[a-z]{3})yz(e|es|ed|ing)$"), r"ys\1"),
    (re.compile(r"(?<=[a-z]{2})or$"), r"our"),
)
_US_OR_WORDS = frozenset({"behavior", "color", "favor", "honor", "neighbor", "labor", "rumor"})

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "with",
        "by",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "i",
        "me",
        "my",
        "we",
        "our",
        "us",
        "you",
        "your",
        "he",
        "him",
        "his",
        "she",
        "her",
        "they",
        "them",
        "their",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "how",
        "when",
        "where",
        "why",
        "do",
        "does",
        "did",
        "doing",
        "have",
        "has",
        "had",
        "having",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "just",
        "so",
        "than",
        "too",
        "very",
        "also",
        "about",
        "into",
        "over",
        "any",
        "some",
        "such",
        "only",
        "own",
        "same",
        "s",
        "t",
        "ok",
        "okay",
        "please",
        "pls",
        "plz",
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
        "get",
        "got",
        "im",
        "ive",
        "id",
        "ill",
        "youre",
        "theyre",
        "hes",
        "shes",
        "its",
        "dont",
        "doesnt",
        "didnt",
        "cant",
        "wont",
        "isnt",
        "arent",
        "re",
        "ve",
        "ll",
        "d",
        "m",
        "really",
        "quite",
        "bit",
        "lot",
        "lots",
        "like",
    ]
)
# Words that carry meaning here even though they look like stop words.
KEEP = frozenset({"no", "not", "without", "always", "never", "all", "everything", "other", "else"})


def fold(text: str) -> str:
    """Lower-case, fold accents and odd Unicode, join apostrophes, and keep words and digits."""
    if text.isascii():
        text = text.translate(_APOSTROPHES).lower()
    else:
        text = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
        text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("'", "")
    return _NON_WORD.sub(" ", text).strip()


@lru_cache(maxsize=65536)
def uk_spelling(word: str) -> str:
    if word in _US_OR_WORDS:
        return word[:-2] + "our"
    for pattern, repl in _US_TO_UK[:2]:
        if pattern.search(word):
            return pattern.sub(repl, word)
    return word


_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    return str(_stemmer.stemWord(word))


class PhraseTable(dict[tuple[str, ...], str]):
    """Variant token tuples → canonical word, with the variants' lengths indexed by their
    first word (most words start no phrase, so most positions cost one dict lookup)."""

    @property
    def sizes(self) -> dict[str, tuple[int, ...]]:
        if "_sizes" not in self.__dict__:
            by_first: dict[str, set[int]] = {}
            for phrase in self:
                by_first.setdefault(phrase[0], set()).add(len(phrase))
            self.__dict__["_sizes"] = {
                w: tuple(sorted(n, reverse=True)) for w, n in by_first.items()
            }
        sizes: dict[str, tuple[int, ...]] = self.__dict__["_sizes"]
        return sizes


def replace_phrases(tokens: Sequence[str], phrases: Mapping[tuple[str, ...], str]) -> list[str]:
    """Replace the longest known multi-word phrase at each position by its canonical word."""
    if not phrases:
        return list(tokens)
    if not isinstance(phrases, PhraseTable):
        phrases = PhraseTable(phrases)
    sizes = phrases.sizes
    out: list[str] = []
    i = 0
    n = len(tokens)
    while i < n:
        for size in sizes.get(tokens[i], ()):
            if i + size <= n:
                canonical = phrases.get(tuple(tokens[i : i + size]))
                if canonical is not None:
                    out.append(canonical)
                    i += size
                    break
        else:
            out.append(tokens[i])
            i += 1
    return out


def phrase_table(synonyms: Mapping[str, str]) -> PhraseTable:
    """Turn variant → canonical text pairs into a token-tuple table for replace_phrases."""
    table = PhraseTable()
    for variant, canonical in synonyms.items():
        key = tuple(uk_spelling(t) for t in fold(variant).split())
        if key:
            table[key] = canonical
    return table


def words(text: str) -> list[str]:
    return list(_words(text))


@lru_cache(maxsize=16384)
def _words(text: str) -> tuple[str, ...]:
    # the index reads every phrasing twice at start-up, and people repeat themselves
    return tuple(uk_spelling(t) for t in fold(text).split())


def content_terms(tokens: Iterable[str]) -> list[str]:
    """Stemmed tokens without stop words (canonical synonym words pass through unstemmed)."""
    return [stem(t) for t in tokens if t not in STOPWORDS or t in KEEP]
