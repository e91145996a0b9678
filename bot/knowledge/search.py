"""Find the knowledge entry that answers a question, the way practitioners really type it.

The lexical half of routing (`lookup.py` adds the classifiers): words are folded,
typo-corrected against the knowledge base's own vocabulary, mapped through the synonym table
(GDPR, DSL, MASH, …), stemmed, and scored with BM25 (unigrams and neighbouring pairs) against
each entry's authored phrasings pooled together. Out-of-scope and emergency examples are
scored one by one, so one close example counts.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from bot.knowledge import text as text_module
from bot.knowledge.base import Entry, KnowledgeBase
from bot.knowledge.classify import prune, save_arrays
from bot.knowledge.text import content_terms, phrase_table, replace_phrases, words

OUT_OF_SCOPE = "none"
EMERGENCY = "emergency"
EXAMPLE_CLASSES = frozenset({OUT_OF_SCOPE, EMERGENCY})  # scored by their closest example
K1, B = 1.2, 0.6
BIGRAM_WEIGHT = 0.6
# Confidence is the BM25 score squashed into 0..1: score / (score + HALF_CONFIDENCE_SCORE).
HALF_CONFIDENCE_SCORE = 5.0
MIN_CONFIDENCE = 0.5  # below this the knowledge base explains too little of the question
OUT_OF_SCOPE_MARGIN = 0.95  # out of scope when its score reaches this share of the best entry
# A saved index is named by everything that makes it: its texts, the synonyms, and the code that
# reads words (this file and text.py, by content), so a change to any of them builds it afresh.
INDEX_FORMAT: Final = 1
_INDEX_CODE: Final = (Path(__file__), Path(text_module.__file__))


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
    # How the answer should be presented (see design.md, "Understanding what people type"):
    confident: bool = True  # False: offer the entry and alternatives as "Did you mean…" choices
    safety_note: bool = False  # the message might describe danger now: a one-line note first
    case_story: bool = False  # a case story asking whether to share: offer the decision too


@dataclass(frozen=True, slots=True)
class Doc:
    """Texts that answer to one id (an entry, or the out-of-scope examples)."""

    id: str
    texts: tuple[str, ...]


class SpellFixer:
    """Correct a word to the closest known word (Damerau distance 1, or 2 for long words
    unless `most` says 1)."""

    def __init__(self, vocabulary: Counter[str], most: int = 2, keep: Collection[str] = ()) -> None:
        self.vocabulary = vocabulary
        self.keep = keep  # real words that look like a known one: never "corrected"
        self.most = most  # edits ever allowed (a small vocabulary wants 1: "explained" is
        # two edits from "exploited")
        self._deletes: dict[str, list[str]] = defaultdict(list)
        for word in vocabulary:
            if len(word) >= 4 and word.isalpha():
                for d in _deletes(word, min(most, _max_distance(word))):
                    self._deletes[d].append(word)
        self.fix = lru_cache(maxsize=16384)(self._fix)

    def _fix(self, word: str) -> str:
        if word in self.vocabulary or len(word) < 4 or not word.isalpha():
            return word
        kept = word in self.keep  # a real word: only its ending may change ("bruise" → "bruises")
        limit = min(self.most, _max_distance(word))
        best: tuple[int, int, str] | None = None
        seen: set[str] = set()
        for d in _deletes(word, limit):
            for candidate in self._deletes.get(d, ()):
                if candidate in seen:
                    continue
                seen.add(candidate)
                dist = _damerau(word, candidate)
                if kept and not candidate.startswith(word):
                    continue
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
    """An inverted index of precomputed BM25 weights, as arrays: scoring a query adds one
    array of weights per query term into a vector of document scores."""

    def __init__(self, docs: Sequence[list[str]]) -> None:
        n = len(docs)
        self.size = n
        lengths = np.array([len(d) for d in docs], dtype=np.intp)
        avg = float(lengths.sum()) / max(n, 1) or 1.0
        tokens = [t for d in docs for t in d]
        self.arrays: dict[str, NDArray[np.generic]] = {}
        if not tokens:
            self.postings: dict[str, tuple[NDArray[np.intp], NDArray[np.float64]]] = {}
            return
        # every (term, document) pair once, with its count, in term order: numpy does the
        # counting that a loop over some hundred thousand words would
        terms, term_of = np.unique(np.array(tokens, dtype=object).astype(str), return_inverse=True)
        doc_of = np.repeat(np.arange(n, dtype=np.intp), lengths)
        pairs, tf = np.unique(term_of.astype(np.int64) * n + doc_of, return_counts=True)
        term_ids, doc_ids = np.divmod(pairs, n)
        df = np.bincount(term_ids, minlength=len(terms))
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        norm = K1 * (1 - B + B * lengths / avg)
        weights = idf[term_ids] * tf * (K1 + 1) / (tf + norm[doc_ids])
        bounds = np.flatnonzero(np.diff(term_ids)) + 1
        starts = np.concatenate(([0], bounds))
        self.arrays = {
            "terms": terms[term_ids[starts]].astype(str),
            "starts": starts.astype(np.int64),
            "docs": doc_ids.astype(np.int64),
            "weights": weights.astype(np.float64),
        }
        self.postings = _postings(self.arrays)

    @classmethod
    def from_arrays(cls, size: int, arrays: Mapping[str, NDArray[np.generic]]) -> _Bm25:
        """The index as `arrays` (a saved one) holds it."""
        index = cls.__new__(cls)
        index.size = size
        index.arrays = dict(arrays)
        index.postings = _postings(index.arrays) if len(arrays["terms"]) else {}
        return index

    def scores(self, query: Mapping[str, float]) -> NDArray[np.float64]:
        """Every document's score (0 where no query term occurs)."""
        acc = np.zeros(self.size)
        for term, weight in query.items():
            found = self.postings.get(term)
            if found is not None:
                acc[found[0]] += found[1] * weight  # a term names each document once
        return acc


def _postings(
    arrays: Mapping[str, NDArray[np.generic]],
) -> dict[str, tuple[NDArray[np.intp], NDArray[np.float64]]]:
    """term -> (the documents it is in, its BM25 weight in each), from the index's arrays."""
    starts = arrays["starts"].tolist()
    ends = [*starts[1:], len(arrays["docs"])]
    docs = arrays["docs"].astype(np.intp)
    weights = arrays["weights"].astype(np.float64)
    return {
        term: (docs[a:b], weights[a:b])
        for term, a, b in zip(arrays["terms"].tolist(), starts, ends, strict=True)
    }


class SearchIndex:
    """Ranks ids for a question. Build once at start-up; `lookup` is pure and fast."""

    def __init__(
        self,
        docs: Iterable[Doc],
        synonyms: Mapping[str, str],
        entries: Mapping[str, Entry] | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        """Index `docs`; with `cache_dir`, an index built from exactly these texts, synonyms and
        code before is read back instead of built (a few tenths of a second at start-up)."""
        self.entries = dict(entries or {})
        self.phrases = phrase_table(synonyms)
        docs = list(docs)
        self.ids = [d.id for d in docs]
        self._classes = {
            name: np.array([i for i, d in enumerate(self.ids) if d == name], dtype=np.intp)
            for name in EXAMPLE_CLASSES
        }
        self._entry_mask = np.array([d not in EXAMPLE_CLASSES for d in self.ids], dtype=bool)
        path = None if cache_dir is None else cache_dir / f"index-{_name(docs, synonyms)}.npz"
        saved = _read(path, len(docs)) if path is not None else None
        if saved is not None:
            raw_vocab, self.bm25 = saved
        else:
            raw_vocab = Counter()
            for doc in docs:
                for text in doc.texts:
                    raw_vocab.update(words(text))
            for variant in synonyms:
                raw_vocab.update(words(variant))
            self.bm25 = _Bm25(
                [[t for text in d.texts for t in self._terms(text, fix=False)] for d in docs]
            )
            if path is not None:
                _write(path, raw_vocab, self.bm25)
        self.speller = SpellFixer(raw_vocab)

    @classmethod
    def from_knowledge(
        cls,
        kb: KnowledgeBase,
        emergency_examples: Sequence[str] = (),
        cache_dir: Path | None = None,
    ) -> SearchIndex:
        docs = [
            Doc(e.id, (e.title, *e.phrasings)) for e in kb.entries.values() if e.kind != "emergency"
        ]
        # each out-of-scope or emergency example stands alone, so one close example outweighs
        # the rest of its class
        docs.extend(Doc(OUT_OF_SCOPE, (text,)) for text in kb.out_of_scope)
        examples = (*kb.entries[EMERGENCY].phrasings, *emergency_examples)
        docs.extend(Doc(EMERGENCY, (text,)) for text in examples if EMERGENCY in kb.entries)
        return cls(docs, kb.synonyms, kb.entries, cache_dir)

    def _terms(self, text: str, *, fix: bool) -> list[str]:
        tokens = words(text)
        if fix:
            tokens = [self.speller.fix(t) for t in tokens]
        unigrams = content_terms(replace_phrases(tokens, self.phrases))
        return unigrams + [f"{a}_{b}" for a, b in pairwise(unigrams)]

    def query_terms(self, text: str) -> dict[str, float]:
        terms: dict[str, float] = {}
        for t in self._terms(text, fix=True):
            terms[t] = BIGRAM_WEIGHT if "_" in t else 1.0
        return terms

    def rank(self, text: str, limit: int = 8) -> list[Match]:
        """The best `limit` entries with a confidence in 0..1, best first, then `none` and
        `emergency` with their closest example's score wherever they scored (the caller
        weighs those against the best entry)."""
        query = self.query_terms(text)
        if not query:
            return []
        scores = self.bm25.scores(query)
        entries = np.flatnonzero((scores > 0) & self._entry_mask)
        if len(entries) > limit:
            entries = entries[np.argpartition(-scores[entries], limit - 1)[:limit]]
        # best first; equal scores in the knowledge base's order
        best = [
            (int(i), float(scores[i])) for i in entries[np.lexsort((entries, -scores[entries]))]
        ]
        for members in self._classes.values():
            if len(members):
                i = int(members[np.argmax(scores[members])])
                if scores[i] > 0:
                    best.append((i, float(scores[i])))
        return [Match(self.ids[i], round(s / (s + HALF_CONFIDENCE_SCORE), 4)) for i, s in best]


def _name(docs: Sequence[Doc], synonyms: Mapping[str, str]) -> str:
    digest = hashlib.sha256(f"{INDEX_FORMAT}|{K1}|{B}".encode())
    for code in _INDEX_CODE:
        digest.update(code.read_bytes())
    for variant, canonical in sorted(synonyms.items()):
        digest.update(f"s{len(variant)}:{variant}={len(canonical)}:{canonical}".encode())
    for doc in docs:
        digest.update(f"d{len(doc.id)}:{doc.id}:{len(doc.texts)}".encode())
        for text in doc.texts:
            digest.update(f"{len(text)}:{text}".encode())
    return digest.hexdigest()[:16]


def _write(path: Path, vocabulary: Counter[str], bm25: _Bm25) -> None:
    """Save the index atomically; a cache that cannot be written only costs the next start."""
    arrays: dict[str, Any] = {
        "size": np.array([bm25.size], dtype=np.int64),
        "vocab": np.array(list(vocabulary), dtype=str),
        "counts": np.array(list(vocabulary.values()), dtype=np.int64),
        **{f"bm25_{k}": v for k, v in bm25.arrays.items()},
    }
    with contextlib.suppress(OSError):
        save_arrays(path, arrays)
        prune(path.parent, "index-", keep=path)


def _read(path: Path, size: int) -> tuple[Counter[str], _Bm25] | None:
    """A saved index, or None when there is none or it cannot be used (then it is rebuilt)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["size"][0]) != size:
                return None
            vocabulary = Counter(
                dict(zip(data["vocab"].tolist(), data["counts"].tolist(), strict=True))
            )
            arrays = {k: data[f"bm25_{k}"] for k in ("terms", "starts", "docs", "weights")}
    except (OSError, ValueError, KeyError, IndexError):
        return None
    return vocabulary, _Bm25.from_arrays(size, arrays)
