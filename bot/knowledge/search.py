"""Find the knowledge entry that answers a question, the way practitioners really type it.

A light lexical ranker, no machine learning: words are folded, typo-corrected against the
knowledge base's own vocabulary, mapped through the synonym table (GDPR, DSL, MASH, …),
stemmed, and scored with BM25 against every authored phrasing (best phrasing) and against
each entry as a whole (all phrasings pooled). Questions that best match the out-of-scope
examples, or that the knowledge base explains too little of, get kind `none`.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.knowledge.base import Entry, KnowledgeBase
from bot.knowledge.text import content_terms, phrase_table, replace_phrases, words

OUT_OF_SCOPE = "none"
K1, B = 1.2, 0.6
BIGRAM_WEIGHT = 0.6
BEST_PHRASING_SHARE = 0.6  # how the best-phrasing score and the pooled score are blended
MIN_CONFIDENCE = 0.30


@dataclass(frozen=True, slots=True)
class Match:
    id: str
    score: float


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a question is: kind `myth`, `topic`, `emergency` or `none`, with its entry."""

    kind: str
    entry: Entry | None
    score: float
    alternatives: tuple[Match, ...] = ()


@dataclass(frozen=True, slots=True)
class Doc:
    """Texts that answer to one id (an entry, or the out-of-scope examples)."""

    id: str
    texts: tuple[str, ...]


class SpellFixer:
    """Correct a word to the closest known word (Damerau distance 1, or 2 for long words)."""

    def __init__(self, vocabulary: Counter[str]) -> None:
        self.vocabulary = vocabulary
        self._deletes: dict[str, list[str]] = defaultdict(list)
        for word in vocabulary:
            if len(word) >= 4 and word.isalpha():
                for d in _deletes(word, _max_distance(word)):
                    self._deletes[d].append(word)
        self.fix = lru_cache(maxsize=16384)(self._fix)

    def _fix(self, word: str) -> str:
        if word in self.vocabulary or len(word) < 4 or not word.isalpha():
            return word
        limit = _max_distance(word)
        best: tuple[int, int, str] | None = None
        seen: set[str] = set()
        for d in _deletes(word, limit):
            for candidate in self._deletes.get(d, ()):
                if candidate in seen:
                    continue
                seen.add(candidate)
                dist = _damerau(word, candidate)
                if dist <= min(limit, _max_distance(candidate)):
                    key = (dist, -self.vocabulary[candidate], candidate)
                    if best is None or key < best:
                        best = key
        return best[2] if best else word


def _max_distance(word: str) -> int:
    return 2 if len(word) >= 8 else 1


def _deletes(word: str, distance: int) -> set[str]:
    out = {word}
    frontier = {word}
    for _ in range(distance):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def _damerau(a: str, b: str) -> int:
    """Optimal string alignment distance (insert, delete, substitute, swap neighbours)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


class _Bm25:
    """An inverted index of precomputed BM25 weights: scoring a query is a few dict walks."""

    def __init__(self, docs: Sequence[list[str]]) -> None:
        n = len(docs)
        avg = sum(len(d) for d in docs) / max(n, 1) or 1.0
        df: Counter[str] = Counter()
        for d in docs:
            df.update(set(d))
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, d in enumerate(docs):
            norm = K1 * (1 - B + B * len(d) / avg)
            for t, tf in Counter(d).items():
                self.postings[t].append((i, self.idf[t] * tf * (K1 + 1) / (tf + norm)))
        self.max_idf = max(self.idf.values(), default=1.0)

    def scores(self, query: Mapping[str, float]) -> dict[int, float]:
        acc: dict[int, float] = defaultdict(float)
        for term, weight in query.items():
            for doc, w in self.postings.get(term, ()):
                acc[doc] += w * weight
        return acc

    def ideal(self, query: Mapping[str, float]) -> float:
        """A perfect match's score, with unknown words counted as moderately rare."""
        unknown = self.max_idf * 0.5
        return sum(self.idf.get(t, unknown) * (K1 + 1) * w for t, w in query.items()) or 1.0


class SearchIndex:
    """Ranks ids for a question. Build once at start-up; `lookup` is pure and fast."""

    def __init__(
        self,
        docs: Iterable[Doc],
        synonyms: Mapping[str, str],
        entries: Mapping[str, Entry] | None = None,
    ) -> None:
        self.entries = dict(entries or {})
        self.phrases = phrase_table(synonyms)
        docs = list(docs)
        raw_vocab: Counter[str] = Counter()
        for doc in docs:
            for text in doc.texts:
                raw_vocab.update(words(text))
        for variant in synonyms:
            raw_vocab.update(words(variant))
        self.speller = SpellFixer(raw_vocab)
        self.ids = [d.id for d in docs]
        phrasing_terms: list[list[str]] = []
        self.phrasing_owner: list[int] = []
        pooled: list[list[str]] = []
        for i, doc in enumerate(docs):
            all_terms: list[str] = []
            for text in doc.texts:
                terms = self._terms(text, fix=False)
                phrasing_terms.append(terms)
                self.phrasing_owner.append(i)
                all_terms.extend(terms)
            pooled.append(all_terms)
        self.by_phrasing = _Bm25(phrasing_terms)
        self.by_entry = _Bm25(pooled)

    @classmethod
    def from_knowledge(cls, kb: KnowledgeBase) -> SearchIndex:
        docs = [
            Doc(e.id, (e.title, *e.phrasings)) for e in kb.entries.values() if e.kind != "emergency"
        ]
        docs.append(Doc(OUT_OF_SCOPE, kb.out_of_scope))
        return cls(docs, kb.synonyms, kb.entries)

    def _terms(self, text: str, *, fix: bool) -> list[str]:
        tokens = words(text)
        if fix:
            tokens = [self.speller.fix(t) for t in tokens]
        unigrams = content_terms(replace_phrases(tokens, self.phrases))
        return unigrams + [f"{a}_{b}" for a, b in zip(unigrams, unigrams[1:], strict=False)]

    def query_terms(self, text: str) -> dict[str, float]:
        terms: dict[str, float] = {}
        for t in self._terms(text, fix=True):
            terms[t] = BIGRAM_WEIGHT if "_" in t else 1.0
        return terms

    def rank(self, text: str) -> list[Match]:
        """All ids with a score in 0..1 (share of the question explained), best first."""
        query = self.query_terms(text)
        if not query:
            return []
        best: dict[int, float] = defaultdict(float)
        for p, s in self.by_phrasing.scores(query).items():
            owner = self.phrasing_owner[p]
            best[owner] = max(best[owner], s)
        pooled = self.by_entry.scores(query)
        ideal_p, ideal_e = self.by_phrasing.ideal(query), self.by_entry.ideal(query)
        blended = {
            i: BEST_PHRASING_SHARE * best.get(i, 0.0) / ideal_p
            + (1 - BEST_PHRASING_SHARE) * pooled.get(i, 0.0) / ideal_e
            for i in set(best) | set(pooled)
        }
        ranked = sorted(blended.items(), key=lambda kv: -kv[1])
        return [Match(self.ids[i], round(min(s, 1.0), 4)) for i, s in ranked]

