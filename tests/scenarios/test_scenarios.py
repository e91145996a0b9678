"""Published-style case examples (fictional, in our own words) run through the real CLI:
`canishare decide --facts CASE.json --json`, one process per case, all started at once.

Each case file holds the facts by question id, a `case` description and an `expect` object;
neither is a question id, so `decide` ignores them.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runner import Ran, decide_args, run_many

CASES = sorted(Path(__file__).parent.glob("*.json"))


def load(case: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(case.read_text(encoding="utf-8"))
    return data


def saved_decisions(db: Path) -> list[dict[str, Any]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT body FROM records WHERE kind = 'decision'").fetchall()
    return [json.loads(body) for (body,) in rows]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Ran, Path]]:
    root = tmp_path_factory.mktemp("scenarios")
    dbs = [root / case.stem / "canishare.db" for case in CASES]
    ran = run_many([(decide_args(case), db) for case, db in zip(CASES, dbs, strict=True)])
    return {case.stem: (r, db) for case, r, db in zip(CASES, ran, dbs, strict=True)}


def test_there_are_at_least_twelve_case_examples() -> None:
    assert len(CASES) >= 12
    assert sum(1 for c in CASES if "record" in load(c)) >= 6


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_case_example_reaches_the_expected_outcome_asking_the_expected_questions(
    case: Path, runs: dict[str, tuple[Ran, Path]]
) -> None:
    facts = load(case)
    expect = facts["expect"]
    ran, db = runs[case.stem]

    if expect.get("exit", 0) != 0:
        assert ran.returncode == expect["exit"], ran.stdout[-2000:]
        assert ran.stderr.startswith("canishare: facts:")
        for words in expect["error"]:
            assert words in ran.stderr
        assert saved_decisions(db) == [], "nothing is saved when the record is refused"
        return

    assert ran.returncode == 0, ran.stderr
    result = ran.result
    assert result["outcome"] == expect["outcome"]
    assert result["asked"] == expect["asked"]
    for words in expect.get("transcript_contains", []):
        assert words in ran.stdout
    record = result["record"]
    if not expect.get("saved"):
        assert record["id"] is None and record["saved"] is False
        assert saved_decisions(db) == []
        return
    assert record["id"].startswith("R-")
    assert record["outcome"] == expect["outcome"]
    assert [a["q"] for a in record["answers"] if a["q"] != "person"] == expect["asked"]
    written = {k: v for k, v in facts["record"].items() if k != "special_category"}
    assert {k: record[k] for k in written} == written
    for key, value in expect.get("record", {}).items():
        assert record[key] == value, key
    assert [r["id"] for r in saved_decisions(db)] == [record["id"]]
