"""`canishare report` and `canishare knowledge gaps` through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_runner import run_many


def test_the_report_command_prints_json_and_writes_html_and_refuses_bad_input(
    tmp_path: Path,
) -> None:
    db = tmp_path / "store" / "canishare.db"
    out = tmp_path / "store" / "report.html"

    as_json, to_file, by_suffix, bad_date, backwards, no_folder, help_text = run_many(
        [
            (["report", "--since", "2026-11-01", "--until", "2026-11-30", "--format", "json"], db),
            (["report", "--out", str(out)], db),
            (["report", "--since", "2026-11-01", "--out", str(tmp_path / "store" / "r.json")], db),
            (["report", "--since", "2026-02-30"], db),
            (["report", "--since", "2026-11-20", "--until", "2026-11-01"], db),
            (["report", "--out", str(tmp_path / "nowhere" / "r.html")], db),
            (["report", "--help"], db),
        ]
    )

    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["period"] == {"since": "2026-11-01", "until": "2026-11-30"}
    assert set(report) >= {"period", "decisions", "escalations", "deliveries", "questions"}
    assert to_file.returncode == 0, to_file.stderr
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert "wrote the HTML report" in to_file.stderr
    assert by_suffix.returncode == 0, by_suffix.stderr
    assert json.loads((tmp_path / "store" / "r.json").read_text())["period"]["since"] == (
        "2026-11-01"
    )
    for refused, says in [
        (bad_date, "--since must be a date like 2026-03-01 (got '2026-02-30')"),
        (backwards, "is after --until"),
        (no_folder, "does not exist"),
    ]:
        assert refused.returncode == 2
        assert refused.stdout == ""
        assert refused.stderr.count("\n") == 1 and says in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    assert "last full calendar month" in " ".join(help_text.stdout.split())
    assert "ISO" in help_text.stdout


def test_knowledge_gaps_says_how_to_keep_unanswered_questions_when_they_are_not(
    tmp_path: Path,
) -> None:
    db = tmp_path / "store" / "canishare.db"

    [text, as_json] = run_many([(["knowledge", "gaps"], db), (["knowledge", "gaps", "--json"], db)])

    assert text.returncode == 0, text.stderr
    assert "could not answer 0 question(s)" in text.stdout
    assert "CANISHARE_KEEP_UNANSWERED_DAYS" in text.stdout
    assert json.loads(as_json.stdout) == {
        "keep_days": 0,
        "unanswered_last_30_days": 0,
        "questions": [],
    }
