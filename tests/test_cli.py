"""`canishare decide` errors, through the real command line: non-zero exit, one clear line."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import Core
from bot.cli import answer_text
from tests.cli_runner import TIMEOUT_SECONDS, Ran, decide_args, environment, run_many
from tests.presented import CASE_STORY, MIGHT_BE_DANGER, NOT_SURE, presenting

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


# ---------------------------------------------------------------------- one line, not a traceback
ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = "is consent always needed?\n\nis GDPR a barrier?\n   \ndo we need an ISA first?\n"


def canishare(
    args: list[str], cwd: Path, *, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**environment(cwd / "c.db"), **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def test_ask_from_standard_input_without_json_never_prints_json(tmp_path: Path) -> None:
    done = canishare(["ask", "-"], tmp_path, stdin=QUESTIONS)

    assert done.returncode == 0, done.stderr
    assert not [line for line in done.stdout.splitlines() if line.lstrip().startswith(("{", "["))]
    assert "consent" in done.stdout.lower() and "gdpr" in done.stdout.lower()


def test_ask_json_from_standard_input_still_answers_every_line_in_order(tmp_path: Path) -> None:
    done = canishare(["ask", "--json", "-"], tmp_path, stdin=QUESTIONS)

    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 5
    assert lines[1]["kind"] == "none" and lines[0]["kind"] == "myth"


def test_ask_into_a_pipe_closed_early_is_one_line_and_exit_status_2(tmp_path: Path) -> None:
    many = "is consent always needed?\n" * 2000
    ask = subprocess.Popen(
        [sys.executable, "-m", "bot", "ask", "--json", "-"],
        cwd=tmp_path,
        env=environment(tmp_path / "c.db"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert ask.stdin is not None and ask.stdout is not None and ask.stderr is not None
    try:
        ask.stdin.write(many.encode())
        ask.stdin.close()
        ask.stdout.readline()  # like `| head -1`: read one line, then close the pipe
        ask.stdout.close()
        ask.wait(timeout=TIMEOUT_SECONDS)
        err = ask.stderr.read().decode()
    finally:
        ask.kill()
        ask.stderr.close()

    assert ask.returncode == 2
    assert "Traceback" not in err and "Exception ignored" not in err
    assert err.strip().splitlines() == [
        "canishare: the output was closed before everything was written (broken pipe)"
    ]


def test_a_dotenv_that_is_not_utf8_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes("CANISHARE_PORT=3978 # caf\u00e9\n".encode("cp1252"))

    done = canishare(["ask", "is GDPR a barrier?"], tmp_path)

    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "canishare: .env is not UTF-8 text (byte 25); save it as UTF-8"
    ]


def test_any_unexpected_failure_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text('{"immediate_danger": "no"}', encoding="utf-8")
    (tmp_path / "var").write_text("a file where the database folder should be", encoding="utf-8")

    done = canishare(["decide", "--facts", "facts.json"], tmp_path, env=DEFAULT_DB)

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("canishare: ") and "canishare.db" in line


DEFAULT_DB = {"CANISHARE_DB_URL": "sqlite:///./var/canishare.db"}


# ------------------------------------------------------------------ ./dev in the caller's folder
def test_dev_runs_in_the_callers_folder_so_relative_paths_mean_what_was_typed(
    tmp_path: Path,
) -> None:
    (tmp_path / "case.json").write_text(
        json.dumps({"immediate_danger": "no", "legal_duty": "yes"}), encoding="utf-8"
    )
    (tmp_path / ".env").write_text("CANISHARE_DB_URL=sqlite:///./from-dotenv.db\n", "utf-8")
    env = {k: v for k, v in environment(tmp_path / "unused.db").items() if k != "CANISHARE_DB_URL"}

    done = subprocess.run(
        [str(ROOT / "dev"), "decide", "--facts", "case.json", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["outcome"] == "must_share"
    assert (tmp_path / "from-dotenv.db").exists()  # the .env here was read, not the project's
    assert not (ROOT / "from-dotenv.db").exists()


def test_ask_without_json_presents_an_answer_as_a_chat_does(core: Core) -> None:
    flagged = presenting(core)

    danger = answer_text(flagged, flagged.knowledge.ask(MIGHT_BE_DANGER))
    unsure = answer_text(flagged, flagged.knowledge.ask(NOT_SURE))
    story = answer_text(flagged, flagged.knowledge.ask(CASE_STORY))

    words = core.conversation.words
    assert danger.startswith(words.text("safety_note"))
    assert unsure.startswith(words.text("not_confident"))
    assert words.text("case_story_offer") in " ".join(story.split())
