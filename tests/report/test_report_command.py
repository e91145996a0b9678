"""`canishare report` and `canishare knowledge gaps` through the real command line."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import pytest

from bot.app import Core, open_store
from bot.report.cli import gaps_cmd, report_cmd
from bot.service import Bot
from bot.settings import Settings
from tests.cli_runner import run_many
from tests.report.practice import Clock, day


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


async def test_knowledge_gaps_lists_kept_questions_most_asked_first(
    core: Core, settings: Settings, clock: Clock
) -> None:
    keeping = dataclasses.replace(settings, keep_unanswered_days=30)
    bot = Bot(core.conversation, await open_store(keeping), keeping, clock=clock)
    try:
        for when, text in [
            (day(3), "how do I book the minibus"),
            (day(9), "can I ring Zorblax about the minibus"),
            (day(10), "how do I book the minibus"),
        ]:
            clock.at(when)
            await bot.count_question("none", text)
    finally:
        await bot.store.close()
    db = Path(settings.db_url.removeprefix("sqlite:///"))
    (db.parent / ".env").write_text("CANISHARE_KEEP_UNANSWERED_DAYS=30\n", encoding="utf-8")

    [listed] = run_many([(["knowledge", "gaps"], db)])

    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert "Kept for 30 days, personal details removed" in listed.stdout
    assert lines[-2:] == [
        "     2 ×  how do I book the minibus   (last asked 2026-11-10)",
        "     1 ×  can I ring [removed] about the minibus   (last asked 2026-11-09)",
    ]
    assert "Zorblax" not in listed.stdout


async def test_a_store_that_cannot_be_opened_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "not-a-folder").write_text("", encoding="utf-8")
    settings = Settings(db_url=f"sqlite:///{tmp_path}/not-a-folder/canishare.db")
    args = argparse.Namespace(since=None, until=None, format="json", out=None, json=False)

    report_status = await report_cmd(settings, args)
    gaps_status = await gaps_cmd(settings, args)

    said = capsys.readouterr()
    assert (report_status, gaps_status) == (2, 2)
    assert said.out == ""
    lines = said.err.splitlines()
    assert len(lines) == 2
    assert all(line.startswith("canishare: cannot open the store") for line in lines)
