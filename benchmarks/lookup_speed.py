"""Knowledge lookup speed: load time, and p50/p99 per question on the real knowledge base and
on synthetic bases of 1,000 and 10,000 entries built from the real vocabulary."""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

import yaml

from bot.knowledge import load_knowledge
from bot.knowledge.lookup import Knowledge
from bot.knowledge.search import OUT_OF_SCOPE, Doc, SearchIndex
from bot.knowledge.text import words

EVAL = Path(__file__).resolve().parent.parent / "tests" / "eval" / "dev.yaml"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def time_lookups(ask, questions: list[str], rounds: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            ask(q)
            samples.append((time.perf_counter() - t) * 1000)
    return percentiles(samples)


def synthetic_index(kb, size: int, seed: int = 7) -> SearchIndex:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    vocab = sorted({w for e in kb.entries.values() for p in e.phrasings for w in words(p)})
    docs = [
        Doc(e.id, (e.title, *e.phrasings)) for e in kb.entries.values() if e.kind != "emergency"
    ]
    for i in range(size - len(docs)):
        phrasings = tuple(" ".join(rng.choices(vocab, k=rng.randint(5, 12))) for _ in range(8))
        docs.append(Doc(f"topic.synthetic-{i}", phrasings))
    docs.append(Doc(OUT_OF_SCOPE, kb.out_of_scope))
    return SearchIndex(docs, kb.synonyms)


def main() -> dict[str, str]:
    t = time.perf_counter()
    kb = load_knowledge()
    knowledge = Knowledge.build(kb)
    load_ms = (time.perf_counter() - t) * 1000
    questions = [i["text"] for i in yaml.safe_load(EVAL.read_text())["items"]]
    results = {"load knowledge base and build index": f"{load_ms:.0f} ms"}
    p50, p99 = time_lookups(knowledge.ask, questions, rounds=20)
    results[f"lookup, real base ({len(kb.entries)} entries)"] = (
        f"p50 {p50:.3f} ms, p99 {p99:.3f} ms"
    )
    for size in (1_000, 10_000):
        t = time.perf_counter()
        index = synthetic_index(kb, size)
        build = (time.perf_counter() - t) * 1000
        p50, p99 = time_lookups(index.rank, questions, rounds=3)
        results[f"lookup, synthetic {size:,} entries"] = (
            f"p50 {p50:.3f} ms, p99 {p99:.3f} ms (index built in {build:.0f} ms)"
        )
    for k, v in results.items():
        print(f"{k}: {v}")
    return results


if __name__ == "__main__":
    main()
