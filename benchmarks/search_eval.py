"""Evaluate question routing on the authored evaluation sets (tests/eval/*.yaml).

Prints top-1 accuracy on in-scope phrasings, out-of-scope rejection and emergency recall,
per set. `--show-misses` lists the phrasings routed wrongly (use it on the dev set only:
the held-out set is for reporting, not for tuning).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.knowledge import load_knowledge
from bot.knowledge.lookup import Knowledge

EVAL_DIR = Path(__file__).resolve().parent.parent / "tests" / "eval"


@dataclass
class Score:
    in_scope: int = 0
    top1: int = 0
    oos: int = 0
    rejected: int = 0
    emergencies: int = 0
    recalled: int = 0

    def line(self, name: str) -> str:
        def pct(a: int, b: int) -> str:
            return f"{100 * a / b:5.1f}% ({a}/{b})" if b else "  n/a"

        return (
            f"{name:<10} top-1 {pct(self.top1, self.in_scope)}  "
            f"out-of-scope rejected {pct(self.rejected, self.oos)}  "
            f"emergency recall {pct(self.recalled, self.emergencies)}"
        )


def evaluate(knowledge: Knowledge, items: list[dict[str, str]], misses: list[str]) -> Score:
    s = Score()
    for item in items:
        text, expect = item["text"], item["expect"]
        result = knowledge.ask(text)
        got = result.kind if result.kind in ("none", "emergency") else result.entry.id  # type: ignore[union-attr]
        if expect == "none":
            s.oos += 1
            s.rejected += got == "none"
        elif expect == "emergency":
            s.emergencies += 1
            s.recalled += got == "emergency"
        else:
            s.in_scope += 1
            s.top1 += got == expect
        if got != expect:
            misses.append(f"  {expect:<38} got {got:<38} {result.score:.2f}  {text}")
    return s


def load_set(name: str) -> list[dict[str, str]]:
    data = yaml.safe_load((EVAL_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    return list(data["items"])


def main(argv: list[str] | None = None) -> dict[str, Score]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sets", nargs="*", default=sorted(p.stem for p in EVAL_DIR.glob("*.yaml")))
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args(argv)
    knowledge = Knowledge.build(load_knowledge())
    scores = {}
    for name in args.sets:
        misses: list[str] = []
        scores[name] = evaluate(knowledge, load_set(name), misses)
        print(scores[name].line(name))
        if args.show_misses:
            print("\n".join(misses))
    return scores


if __name__ == "__main__":
    main(sys.argv[1:])
