"""Grow the knowledge base from a training set: each in-scope question or past-harm story
becomes a phrasing of the entry it was labelled with, each danger-now message an emergency
example, each out-of-scope message an out-of-scope example.

    .venv/bin/python -m benchmarks.merge_training_sets dev-g dev-h

Only sets listed under `training` in tests/eval/sets.yaml are accepted (a held-out set must never
be merged). Messages already in the knowledge base are skipped; each added block is marked with
the set it came from, so a lead reviewing an entry can see where its phrasings came from.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import yaml

from bot.knowledge import load_knowledge
from bot.knowledge.base import KNOWLEDGE_DIR
from bot.knowledge.text import fold

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "eval"


def quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is valid YAML)."""
    return json.dumps(" ".join(text.split()), ensure_ascii=False)


def append_to_list(path: Path, key: str, texts: list[str], note: str) -> None:
    """Add `texts` at the end of the block list under `key:` in a YAML file, keeping the file's
    layout and comments (the files are written for people to read)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.rstrip() == f"{key}:")
    end = start + 1
    while end < len(lines) and (lines[end].startswith("  ") or not lines[end].strip()):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    block = [f"  # {note}", *(f"  - {quoted(t)}" for t in texts)]
    path.write_text("\n".join([*lines[:end], *block, *lines[end:]]) + "\n", encoding="utf-8")


def merge(name: str) -> dict[str, int]:
    sets = yaml.safe_load((EVAL / "sets.yaml").read_text(encoding="utf-8"))
    if name not in sets["training"]:
        raise SystemExit(f"{name} is not a training set in tests/eval/sets.yaml: not merged")
    kb = load_knowledge()
    known = {fold(p) for e in kb.entries.values() for p in (e.title, *e.phrasings)}
    known |= {fold(p) for p in kb.out_of_scope}
    examples_file = KNOWLEDGE_DIR / "emergency_examples.yaml"
    examples = yaml.safe_load(examples_file.read_text(encoding="utf-8"))["examples"]
    known |= {fold(p) for p in examples}
    items = yaml.safe_load((EVAL / "routing" / f"{name}.yaml").read_text(encoding="utf-8"))
    by_file: dict[tuple[Path, str], list[str]] = defaultdict(list)
    for item in items["items"]:
        text, expect, group = item["text"], item["expect"], item["group"]
        if fold(text) in known:
            continue
        known.add(fold(text))
        if group == "danger_now":
            by_file[(examples_file, "examples")].append(text)
        elif group == "out_of_scope":
            by_file[(KNOWLEDGE_DIR / "out_of_scope.yaml", "phrasings")].append(text)
        elif expect in kb.entries:
            by_file[(ROOT / kb.entries[expect].file, "phrasings")].append(text)
    note = f"from tests/eval/routing/{name}.yaml ({sets['training'][name]})"
    added: dict[str, int] = {}
    for (path, key), texts in sorted(by_file.items()):
        append_to_list(path, key, texts, note)
        added[str(path.relative_to(ROOT))] = len(texts)
    return added


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("sets", nargs="+")
    for name in parser.parse_args(argv).sets:
        added = merge(name)
        print(f"{name}: {sum(added.values())} messages into {len(added)} files")
    load_knowledge()  # the knowledge base must still load and validate
    print("the knowledge base still validates")


if __name__ == "__main__":
    main(sys.argv[1:])
