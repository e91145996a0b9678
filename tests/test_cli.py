"""`canishare decide` errors, through the real command line: non-zero exit, one clear line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.cli_runner import Ran, decide_args, run_many

BAD_FACTS = {
    "missing_fact": '{"immediate_danger": "no", "legal_duty": "no"}',
    "not_understood": '{"immediate_danger": "no", "legal_duty": "possibly"}',
    "bad_json": '{"immediate_danger": "no", "legal_duty": ',
    "not_an_object": '["immediate_danger", "no"]',
    "record_missing_lawful_basis": json.dumps(
        {
            "immediate_danger": "no",
            "legal_duty": "yes",
            "record": {
                "case_reference": "S47-2026-0031",
                "what": "Attendance",
                "with_whom": "Children's social care",
                "purpose": "Section 47 enquiry",
                "reasons": "Statutory duty",
            },
        }
    ),
}
EXPECTED = {
    "missing_fact": [
        "no answer for question 'legitimate_purpose'",
        "expected one of: yes, no, unsure",
    ],
    "not_understood": ["'legal_duty' = 'possibly' is not an answer", "expected one of: yes, no"],
    "bad_json": ["is not valid JSON"],
    "not_an_object": ["the file must hold one JSON object"],
    "record_missing_lawful_basis": ["record needs 'lawful_basis' for this outcome"],
    "missing_file": ["cannot read", "nowhere.json"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ran]:
    root = tmp_path_factory.mktemp("cli")
    jobs = []
    for name, text in BAD_FACTS.items():
        facts = root / name / "facts.json"
        facts.parent.mkdir()
        facts.write_text(text, encoding="utf-8")
        jobs.append((decide_args(facts), facts.parent / "canishare.db"))
    jobs.append((decide_args(root / "nowhere.json"), root / "missing" / "canishare.db"))
    ran = run_many(jobs)
    return dict(zip([*BAD_FACTS, "missing_file"], ran, strict=True))


@pytest.mark.parametrize("problem", list(EXPECTED))
def test_decide_fails_with_a_clear_message_and_a_non_zero_exit(
    runs: dict[str, Ran], problem: str
) -> None:
    ran = runs[problem]

    assert ran.returncode == 2
    assert ran.stderr.startswith("canishare: ")
    assert len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    for words in EXPECTED[problem]:
        assert words in ran.stderr
    assert "Traceback" not in ran.stderr


def test_a_decision_saved_by_decide_is_exported(tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(
        json.dumps(
            {
                "immediate_danger": "no",
                "legal_duty": "no",
                "legitimate_purpose": "no",
                "record": {
                    "case_reference": "ENQ-2026-0042",
                    "what": "Whether the family is known to social care",
                    "with_whom": "Community football club, volunteer coach",
                    "purpose": "None beyond curiosity",
                    "reasons": "No legitimate purpose",
                },
            }
        ),
        encoding="utf-8",
    )
    db = tmp_path / "canishare.db"
    [decided] = run_many([(decide_args(facts), db)])

    [as_json, as_csv] = run_many(
        [
            (["records", "export", "--format", "json"], db),
            (["records", "export", "--format", "csv"], db),
        ]
    )

    assert decided.returncode == 0, decided.stderr
    [exported] = json.loads(as_json.stdout)
    assert exported["id"] == decided.result["record"]["id"]
    assert exported["outcome"] == "do_not_share"
    [row] = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert row["case_reference"] == "ENQ-2026-0042"
    assert row["answers"] == "immediate_danger=no; legal_duty=no; legitimate_purpose=no"
