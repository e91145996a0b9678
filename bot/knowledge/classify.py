"""A small supervised text classifier: TF-IDF over word and character n-grams, logistic
regression on top.

Trained with scikit-learn (its `TfidfVectorizer` and `LogisticRegression`) on the knowledge
base's own labelled examples, then *applied* with a few lines of numpy over the exported
vocabulary, IDF weights and coefficients. That keeps scikit-learn (≈1 s to import) off the
path of a turn and of start-up once a model is cached: the same numbers give the same
probabilities (a test holds the two to 1e-6). A model is saved as a plain `.npz` of arrays —
no pickles — under a name derived from everything that could change it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import repeat
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

Analyzer = Callable[[str], list[str]]
FORMAT: Final = 1  # bump when the saved arrays or the feature functions change meaning


@lru_cache(maxsize=16)
def _counted(analyzer: Analyzer, text: str) -> Counter[str]:
    """The analyzer's features of `text`, counted: both models count a message's character
    n-grams, so the second reads the first's count (callers never change it)."""
    return Counter(analyzer(text))


@dataclass(frozen=True)
class Block:
    """One group of features (e.g. words, characters) with its own vocabulary and IDF."""

    name: str
    analyzer: Analyzer
    weight: float = 1.0


@dataclass(frozen=True)
class Settings:
    """Hyperparameters: part of a saved model's identity."""

    c: float = 10.0
    class_weight: str | None = None
    min_df: int = 1
    max_iter: int = 2000
    solver: str = "newton-cg"  # second order: few passes over the data, fast at this size
    # solved to convergence: at scikit-learn's default (1e-4) newton-cg stops after about five
    # steps, where a few answer phrases added elsewhere moved a message's danger from 0.50 to
    # 0.82; at 1e-6 the solution no longer moves (1e-8 agrees to 1e-4)
    tol: float = 1e-6

    def key(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)


class LinearTextModel:
    """Probabilities over `classes` for a text; pure numpy once built."""

    def __init__(
        self,
        blocks: Sequence[Block],
        classes: Sequence[str],
        vocabularies: Sequence[dict[str, int]],
        idfs: Sequence[NDArray[np.float64]],
        coef: NDArray[np.float32],  # (features, classes), blocks stacked in order
        intercept: NDArray[np.float64],
    ) -> None:
        self.blocks = tuple(blocks)
        self.classes = tuple(classes)
        self.vocabularies = tuple(vocabularies)
        self.idfs = tuple(idfs)
        self.coef = coef
        self.intercept = intercept
        self._offsets = np.cumsum([0, *(len(v) for v in vocabularies)])[:-1]
        self.binary = len(self.classes) == 2 and coef.shape[1] == 1
        # per block, a vocabulary shared with another model (see `share_lookups`)
        self._shared: list[tuple[SharedLookup, NDArray[np.int64]] | None] = [None] * len(blocks)

    # ------------------------------------------------------------------ applying
    def features(self, text: str) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """The sparse TF-IDF vector of `text`: (column indices, values), as sklearn builds it
        (sublinear tf, IDF, L2 norm per block, then the block's weight)."""
        columns: list[NDArray[np.int64]] = []
        values: list[NDArray[np.float64]] = []
        for block, vocab, idf, offset, shared in zip(
            self.blocks, self.vocabularies, self.idfs, self._offsets, self._shared, strict=True
        ):
            counts = _counted(block.analyzer, text)
            if not counts:
                continue
            if shared is not None:
                lookup, remap = shared
                found = remap[lookup.found(text)]  # looked up once for both models
            else:
                # the vocabulary lookups run in C (map over dict.get): long messages have
                # hundreds of character n-grams
                found = np.fromiter(map(vocab.get, counts, repeat(-1)), np.int64, len(counts))
            known = found >= 0
            if not known.any():
                continue
            idx = found[known]
            tf = np.fromiter(counts.values(), np.float64, len(counts))[known]
            vals = (1.0 + np.log(tf)) * idf[idx]
            norm = float(np.sqrt(np.dot(vals, vals)))
            if norm == 0.0:
                continue
            columns.append(idx + int(offset))
            values.append(vals / norm * block.weight)
        if not columns:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        # (kept as arrays: a long message's features are joined once, not element by element)
        return np.concatenate(columns), np.concatenate(values)

    def decision(self, text: str) -> NDArray[np.float64]:
        columns, values = self.features(text)
        scores = self.intercept.copy()
        if len(columns):
            scores += values @ self.coef[columns].astype(np.float64)
        return scores

    def probabilities(self, text: str) -> dict[str, float]:
        """P(class | text) for every class."""
        scores = self.decision(text)
        if self.binary:
            p = 1.0 / (1.0 + math.exp(-float(scores[0])))
            return {self.classes[0]: 1.0 - p, self.classes[1]: p}
        scores = scores - scores.max()
        exp = np.exp(scores)
        probs = exp / exp.sum()
        return dict(zip(self.classes, probs.tolist(), strict=True))

    # ------------------------------------------------------------------ saving
    def save(self, path: Path) -> None:
        """Write the model's arrays atomically (a replica reading never sees half a file)."""
        arrays: dict[str, Any] = {
            "classes": np.array(self.classes),
            "coef": self.coef,
            "intercept": self.intercept,
        }
        for i, (vocab, idf) in enumerate(zip(self.vocabularies, self.idfs, strict=True)):
            terms = sorted(vocab, key=vocab.__getitem__)
            arrays[f"vocab{i}"] = np.array(terms, dtype=str)
            arrays[f"idf{i}"] = idf
        save_arrays(path, arrays)

    @classmethod
    def load(cls, path: Path, blocks: Sequence[Block]) -> LinearTextModel:
        with np.load(path, allow_pickle=False) as data:
            vocabularies = []
            idfs = []
            for i in range(len(blocks)):
                terms = data[f"vocab{i}"].tolist()
                vocabularies.append({t: j for j, t in enumerate(terms)})
                idfs.append(data[f"idf{i}"].astype(np.float64))
            return cls(
                blocks,
                [str(c) for c in data["classes"].tolist()],
                vocabularies,
                idfs,
                data["coef"].astype(np.float32),
                data["intercept"].astype(np.float64),
            )


class SharedLookup:
    """One vocabulary lookup for a block that several models read the same way (both
    classifiers count a message's character n-grams): each model maps the union's indices to
    its own, so a long message's hundreds of n-grams are looked up once, not once per model."""

    def __init__(self, analyzer: Analyzer, vocabularies: Sequence[dict[str, int]]) -> None:
        self.analyzer = analyzer
        union: dict[str, int] = {}
        for vocab in vocabularies:
            for term in vocab:
                union.setdefault(term, len(union))
        self.union = union
        self.missing = len(union)  # the index a term known to no model gets
        self.found = lru_cache(maxsize=16)(self._found)

    def _found(self, text: str) -> NDArray[np.int64]:
        counts = _counted(self.analyzer, text)
        return np.fromiter(map(self.union.get, counts, repeat(self.missing)), np.int64, len(counts))

    def remap(self, vocab: dict[str, int]) -> NDArray[np.int64]:
        """For each union index (and `missing`), the index in `vocab`, or -1."""
        out = np.full(self.missing + 1, -1, dtype=np.int64)
        places = np.fromiter(map(self.union.__getitem__, vocab), np.int64, len(vocab))
        out[places] = np.fromiter(vocab.values(), np.int64, len(vocab))
        return out


def share_lookups(models: Sequence[LinearTextModel], name: str) -> None:
    """Let `models` share the vocabulary lookup of their block `name` (same analyzer in each);
    the probabilities are unchanged."""
    places = [[b.name for b in m.blocks].index(name) for m in models]
    analyzers = {m.blocks[k].analyzer for m, k in zip(models, places, strict=True)}
    if len(analyzers) != 1:
        raise ValueError(f"the models read block {name!r} differently")
    lookup = SharedLookup(
        analyzers.pop(), [m.vocabularies[k] for m, k in zip(models, places, strict=True)]
    )
    for model, k in zip(models, places, strict=True):
        model._shared[k] = (lookup, lookup.remap(model.vocabularies[k]))


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    blocks: Sequence[Block],
    settings: Settings = Settings(),
    sample_weight: Sequence[float] | None = None,
) -> LinearTextModel:
    """Fit the TF-IDF blocks and a logistic regression with scikit-learn; export the arrays."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizers = [
        TfidfVectorizer(analyzer=b.analyzer, sublinear_tf=True, min_df=settings.min_df)
        for b in blocks
    ]
    matrices = [v.fit_transform(texts) * b.weight for v, b in zip(vectorizers, blocks, strict=True)]
    x = hstack(matrices).tocsr()
    model = LogisticRegression(
        C=settings.c,
        max_iter=settings.max_iter,
        class_weight=settings.class_weight,
        solver=settings.solver,
        tol=settings.tol,
    )
    model.fit(x, list(labels), sample_weight=None if sample_weight is None else list(sample_weight))
    vocabularies = [{str(k): int(i) for k, i in v.vocabulary_.items()} for v in vectorizers]
    return LinearTextModel(
        blocks,
        [str(c) for c in model.classes_],
        vocabularies,
        [np.asarray(v.idf_, dtype=np.float64) for v in vectorizers],
        np.ascontiguousarray(model.coef_.T, dtype=np.float32),
        np.asarray(model.intercept_, dtype=np.float64),
    )


Examples = tuple[Sequence[str], Sequence[str]]


def fingerprint(inputs: Iterable[str], settings: Settings, extra: str = "") -> str:
    """A short name for a model: changes whenever its data, settings or features could."""
    digest = hashlib.sha256(f"{FORMAT}|{settings.key()}|{extra}".encode())
    for item in inputs:
        digest.update(f"{len(item)}:{item}".encode())
    return digest.hexdigest()[:16]


def labelled(texts: Iterable[str], labels: Iterable[str]) -> Iterator[str]:
    """Training examples as fingerprint inputs."""
    return (f"{label}\t{text}" for text, label in zip(texts, labels, strict=True))


def trained_or_cached(
    name: str,
    examples: Callable[[], Examples],
    inputs: Iterable[str],
    blocks: Sequence[Block],
    settings: Settings,
    cache_dir: Path | None,
    extra: str = "",
) -> LinearTextModel:
    """Load the model from `cache_dir` when one was trained from exactly these `inputs` (what
    `examples()` makes the training set from); else make the examples, train and (when a cache
    directory is given and writable) keep the model for next time. The examples are only made
    when training, so a cached start skips whatever preparing them costs."""
    path = None
    if cache_dir is not None:
        path = cache_dir / f"{name}-{fingerprint(inputs, settings, extra)}.npz"
        if path.is_file():
            try:
                return LinearTextModel.load(path, blocks)
            except (OSError, ValueError, KeyError):
                pass  # a damaged cache file is retrained below
    texts, labels = examples()
    model = train(texts, labels, blocks, settings)
    if path is not None:
        # a read-only cache only costs the next start its training time
        with contextlib.suppress(OSError):
            model.save(path)
            prune(path.parent, f"{name}-", keep=path)
    return model


def save_arrays(path: Path, arrays: dict[str, Any]) -> None:
    """Write `arrays` as an `.npz` atomically (a replica reading never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            np.savez(out, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


KEPT_VERSIONS: Final = 3  # saved files of each kind: replicas mid-upgrade may read older ones


def prune(folder: Path, prefix: str, keep: Path) -> None:
    """Remove all but the newest KEPT_VERSIONS `prefix*.npz` files in `folder` (never `keep`):
    each change to the knowledge base saves new ones, and the old would pile up."""
    with contextlib.suppress(OSError):
        saved = sorted(
            (p for p in folder.glob(f"{prefix}*.npz") if p != keep),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in saved[KEPT_VERSIONS - 1 :]:
            with contextlib.suppress(OSError):
                old.unlink()
