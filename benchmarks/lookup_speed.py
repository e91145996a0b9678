"""Knowledge lookup speed: building the models, loading them from the cache, and p50/p99 per
question of the whole `Knowledge.ask` (danger check, intent model, BM25 search) on the real
knowledge base and on synthetic bases of 1,000 and 10,000 entries built from its vocabulary.

Above 300 entries the intent model is not trained (one weight per word per entry would not
fit), so the synthetic bases measure BM25 ranking plus the danger model, which is what a base of
that size would run.

Each message is asked once, after a warm-up on other messages: the lookup remembers the last
few hundred messages it read (one message is read by several steps of a turn), so asking the
same ones round after round would time those memories, not the lookup.
"""

from __future__ import annotations

import dataclasses
import gc
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from bot.knowledge import load_knowledge
from bot.knowledge.base import KnowledgeBase
from bot.knowledge.lookup import Knowledge
from bot.knowledge.text import words

EVAL = Path(__file__).resolve().parent.parent / "tests" / "eval" / "routing"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def time_lookups(ask: Callable[[str], object], questions: list[str]) -> str:
    samples = []
    for q in questions:
        t = time.perf_counter()
        ask(q)
        samples.append((time.perf_counter() - t) * 1000)
    p50, p99 = percentiles(samples)
    return f"p50 {p50:.3f} ms, p99 {p99:.3f} ms ({len(samples)} different messages)"


def messages() -> tuple[list[str], list[str]]:
    """(warm-up, timed): the training sets' messages, each once. Held-out sets are left alone."""
    sets = yaml.safe_load((EVAL.parent / "sets.yaml").read_text())["training"]
    texts = [
        str(item["text"])
        for name in sets
        for item in yaml.safe_load((EVAL / f"{name}.yaml").read_text())["items"]
    ]
    unique = list(dict.fromkeys(texts))
    return unique[:200], unique[200:]


def synthetic(kb: KnowledgeBase, size: int, seed: int = 7) -> KnowledgeBase:
    rng = random.Random(seed)
    vocab = sorted({w for e in kb.entries.values() for p in e.phrasings for w in words(p)})
    template = kb.entries["topic.seek-advice"]
    entries = dict(kb.entries)
    for i in range(size - len(entries)):
        phrasings = tuple(" ".join(rng.choices(vocab, k=rng.randint(5, 12))) for _ in range(8))
        entry_id = f"topic.synthetic-{i}"
        entries[entry_id] = dataclasses.replace(
            template, id=entry_id, title=phrasings[0], phrasings=phrasings, related=()
        )
    return dataclasses.replace(kb, entries=entries, version=f"{kb.version}-synthetic-{size}")


def main() -> dict[str, str]:
    kb = load_knowledge()
    warm_up, questions = messages()
    results: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as cache:
        t = time.perf_counter()
        Knowledge.build(kb, Path(cache))
        results["build the models (no cache): train both classifiers"] = (
            f"{(time.perf_counter() - t) * 1000:.0f} ms"
        )
        t = time.perf_counter()
        knowledge = Knowledge.build(kb, Path(cache))
        results["build from the cache (the usual start)"] = (
            f"{(time.perf_counter() - t) * 1000:.0f} ms"
        )
    for q in warm_up:
        knowledge.ask(q)
    # what training left behind is garbage a serving process (which loads the cached models)
    # never has: collect it first, so its collection is not timed as lookups
    gc.collect()
    results[f"lookup, real base ({len(kb.entries)} entries)"] = time_lookups(
        knowledge.ask, questions
    )
    for size in (1_000, 10_000):
        t = time.perf_counter()
        big = Knowledge.build(synthetic(kb, size))
        built = (time.perf_counter() - t) * 1000
        for q in warm_up:
            big.ask(q)
        gc.collect()
        timing = time_lookups(big.ask, questions[:600])
        results[f"lookup, synthetic {size:,} entries"] = f"{timing}; built in {built:.0f} ms"
    for k, v in results.items():
        print(f"{k}: {v}")
    return results


if __name__ == "__main__":
    main()
