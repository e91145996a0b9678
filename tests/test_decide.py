"""`decide` drives the real dialog from facts: in process, and through the real command line
(the case examples are in tests/scenarios)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.decide import DecideError, DecideRun, decide
from bot.service import Bot
from tests.cli_runner import decide_args, run_many

REFUSED_NO_RISK = {
    "immediate_danger": "no",
    "legal_duty": "no",
    "legitimate_purpose": "yes",
    "identifiable": "yes",
    "confidential": "yes",
    "risk_of_harm": "no",
    "consent": "refused",
    "public_interest": "yes",
}
RECORD = {
    "case_reference": "CP-2026-0412",
    "what": "Summary of concerns raised by the school this term",
    "with_whom": "Children's social care, duty social worker",
    "purpose": "So social care can assess the risk at home",
    "lawful_basis": "public_task",
    "reasons": "The public interest in protecting the child outweighs the refusal",
}


async def run(bot: Bot, facts: Any) -> tuple[DecideRun, list[str]]:
    lines: list[str] = []
    return await decide(bot, facts, lines.append), lines


async def test_decide_asks_each_question_by_id_and_reports_the_outcome(bot: Bot) -> None:
    result, lines = await run(bot, REFUSED_NO_RISK)

    assert result.result() == {
        "outcome": "share_without_consent",
        "asked": list(REFUSED_NO_RISK),
        "record": {
            "id": None,
            "outcome": "share_without_consent",
            # the skipped context question is listed in the answers, as in a saved record
            "answers": [
                {"q": q, "a": a}
                for q, a in [
                    *list(REFUSED_NO_RISK.items())[:6],
                    ("person", "skip"),
                    *list(REFUSED_NO_RISK.items())[6:],
                ]
            ],
            "saved": False,
        },
    }
    assert lines[0] == "you: [menu = start]"
    assert any(line.startswith("bot: ==> Share") for line in lines)


async def test_decide_skips_facts_for_questions_that_cannot_change_the_outcome(bot: Bot) -> None:
    facts = {**REFUSED_NO_RISK, "identifiable": "no"}

    result, _ = await run(bot, facts)

    assert result.outcome == "share_anonymised"
    assert result.asked == ["immediate_danger", "legal_duty", "legitimate_purpose", "identifiable"]


async def test_decide_types_facts_written_in_words_as_a_person_would(bot: Bot) -> None:
    facts = {
        **REFUSED_NO_RISK,
        "legal_duty": False,
        "identifiable": "yep",
        "risk_of_harm": "dunno",
        "person": "she's 14",
        "consent": "she said no",
        "public_interest": "not sure",
    }

    result, lines = await run(bot, facts)

    assert result.outcome == "seek_advice"
    assert "you: she said no" in lines
    assert "person" not in result.asked


async def test_decide_completes_and_saves_the_record_when_the_facts_hold_one(bot: Bot) -> None:
    result, _ = await run(bot, {**REFUSED_NO_RISK, "record": RECORD})

    record = result.result()["record"]
    assert record["id"].startswith("R-")
    assert {k: record[k] for k in RECORD} == RECORD
    assert record["special_category"] == "none"
    assert [r["id"] for r in await bot.store.records("decision")] == [record["id"]]


async def test_decide_accepts_the_usual_names_for_record_fields(bot: Bot) -> None:
    facts = {
        **REFUSED_NO_RISK,
        "public_interest": "no",
        "record": {
            "reference": "EH-2026-0099",
            "information": "Parent's alcohol use",
            "recipient": "Employer, line manager",
            "why": "Requested for a welfare meeting",
            "reason": "Consent refused and no risk of harm",
        },
    }

    result, _ = await run(bot, facts)

    record = result.result()["record"]
    assert record["outcome"] == "do_not_share"
    assert record["case_reference"] == "EH-2026-0099"
    assert record["lawful_basis"] == "not_applicable"


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        (
            {"immediate_danger": "no", "legal_duty": "no"},
            "no answer for question 'legitimate_purpose' (expected one of: yes, no, unsure)",
        ),
        (
            {"immediate_danger": "no", "legal_duty": "perhaps"},
            "'legal_duty' = 'perhaps' is not an answer the dialog understands",
        ),
        (
            {"immediate_danger": "no", "legal_duty": None},
            "'legal_duty' = None is not an answer the dialog understands",
        ),
        (
            {"immediate_danger": "no", "legal_duty": "back"},
            "'legal_duty' = 'back' is not an answer the dialog understands",
        ),
        (
            {"immediate_danger": "no", "legal_duty": "stop"},
            "'legal_duty' = 'stop' is not an answer the dialog understands",
        ),
        (
            {"immediate_danger": "no", "legal_duty": "not sure"},
            "'legal_duty' = 'not sure' is not an answer the dialog understands",
        ),
        (
            {"immediate_danger": "is consent always needed?"},
            "'immediate_danger' = 'is consent always needed?' is not an answer",
        ),
        ([["immediate_danger", "no"]], "the file must hold one JSON object"),
        ({"immediate_danger": "yes", "record": "CP-1"}, "'record' must be an object"),
        ({"immediate_danger": "yes", "record": {"name": "x"}}, "record field 'name' is not known"),
        (
            {"immediate_danger": "yes", "record": {**RECORD, "lawful_basis": None}},
            "record field 'lawful_basis'",
        ),
        (
            {"immediate_danger": "no", "legal_duty": "yes", "record": {"case_reference": "CP-1"}},
            "record needs 'what' for this outcome",
        ),
        (
            {**REFUSED_NO_RISK, "record": {**RECORD, "case_reference": "Jess Smith"}},
            "record field 'case_reference': In “Case reference”, “Jess Smith” looks like a name",
        ),
    ],
)
async def test_decide_explains_facts_it_cannot_use(bot: Bot, facts: Any, message: str) -> None:
    with pytest.raises(DecideError) as raised:
        await run(bot, facts)

    assert message in str(raised.value)
    assert await bot.store.records("decision") == []


async def test_emergency_wording_in_a_record_field_is_recorded_as_written(bot: Bot) -> None:
    facts = {
        "immediate_danger": "yes",
        "record": {
            **RECORD,
            "with_whom": "Police on 999, then the emergency duty team",
            "lawful_basis": "vital_interests",
        },
    }

    result, _ = await run(bot, facts)

    record = result.result()["record"]
    assert record["outcome"] == "emergency"
    assert record["with_whom"] == "Police on 999, then the emergency duty team"


async def test_the_answers_in_the_result_are_ids_as_saved_even_when_written_in_words(
    bot: Bot,
) -> None:
    facts = {**REFUSED_NO_RISK, "risk_of_harm": "not sure", "consent": "she said no"}

    result, _ = await run(bot, {**facts, "public_interest": "nah"})

    answers = result.result()["record"]["answers"]
    assert {"q": "risk_of_harm", "a": "unsure"} in answers
    assert {"q": "consent", "a": "refused"} in answers
    assert {"q": "public_interest", "a": "no"} in answers
    assert result.outcome == "seek_advice"


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        (
            {**REFUSED_NO_RISK, "immediate_dangr": "no"},
            "'immediate_dangr' is not a question id. Did you mean 'immediate_danger'?",
        ),
        ({**REFUSED_NO_RISK, "colour": "blue"}, "Valid ids: immediate_danger, legal_duty"),
        (
            {**REFUSED_NO_RISK, "identifiable": "no", "public_interest": "purple"},
            "'public_interest' = 'purple' is not an answer the dialog understands",
        ),
        (
            {**REFUSED_NO_RISK, "record": {**RECORD, "lawful_basis": "because"}},
            "'lawful_basis' = 'because' is not one of the options (valid: public_task, "
            "legal_obligation, vital_interests, legitimate_interests",
        ),
        (
            {**REFUSED_NO_RISK, "record": {**RECORD, "special_category": "maybe"}},
            "(valid: none, schedule1_para18",
        ),
        (
            {
                "immediate_danger": "no",
                "legal_duty": "no",
                "legitimate_purpose": "yes",
                "identifiable": "yes",
                "confidential": "yes",
                "risk_of_harm": "yes",
            },
            "no answer for question 'adult_wishes' (expected one of: yes, no, unsure)",
        ),
    ],
)
async def test_decide_refuses_unknown_ids_and_answers_before_it_runs(
    bot: Bot, facts: Any, message: str
) -> None:
    with pytest.raises(DecideError) as raised:
        await run(bot, facts)

    assert message in str(raised.value)
    assert await bot.store.records("decision") == []


async def test_notes_describing_a_case_are_not_taken_for_facts(bot: Bot) -> None:
    facts = {**REFUSED_NO_RISK, "case": "A fictional case", "expect": {"outcome": "x"}}

    result, _ = await run(bot, facts)

    assert result.outcome == "share_without_consent"


# ---------------------------------------------------------------- through the real command line


def saved_decisions(db: Path) -> list[dict[str, Any]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT body FROM records WHERE kind = 'decision'").fetchall()
    return [json.loads(body) for (body,) in rows]


def write_facts(folder: Path, name: str, facts: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(facts), encoding="utf-8")
    return path


def test_the_command_line_dry_run_saves_nothing_and_says_so(tmp_path: Path) -> None:
    facts = write_facts(tmp_path, "case", {**REFUSED_NO_RISK, "record": RECORD})
    wet = write_facts(tmp_path / "wet", "case", {**REFUSED_NO_RISK, "record": RECORD})
    dry_db, wet_db = tmp_path / "dry" / "canishare.db", tmp_path / "wet" / "canishare.db"

    dry, real = run_many(
        [
            ([*decide_args(facts), "--dry-run"], dry_db),
            (decide_args(wet), wet_db),
        ]
    )

    assert dry.returncode == 0, dry.stderr
    assert "Dry run: nothing was saved or sent" in dry.stdout
    assert dry.result["dry_run"] is True
    assert dry.result["record"]["saved"] is False and dry.result["record"]["id"] is None
    assert dry.result["record"]["case_reference"] == RECORD["case_reference"]
    assert not dry_db.exists() or saved_decisions(dry_db) == []
    assert real.returncode == 0, real.stderr
    assert real.result["record"]["id"].startswith("R-")
    assert "dry_run" not in real.result
    assert len(saved_decisions(wet_db)) == 1


def test_the_command_line_names_an_unknown_question_id_and_exits_2(tmp_path: Path) -> None:
    facts = write_facts(tmp_path, "case", {**REFUSED_NO_RISK, "risk_of_hram": "no"})

    [ran] = run_many([(decide_args(facts), tmp_path / "canishare.db")])

    assert ran.returncode == 2
    assert ran.stderr.startswith("canishare: facts: 'risk_of_hram' is not a question id.")
    assert "Did you mean 'risk_of_harm'?" in ran.stderr
    assert "Traceback" not in ran.stderr


async def test_paragraph_18_with_consent_given_is_refused_with_the_reason(bot: Bot) -> None:
    facts = {
        **REFUSED_NO_RISK,
        "consent": "given",
        "record": {**RECORD, "special_category": "schedule1_para18"},
    }

    with pytest.raises(DecideError) as raised:
        await run(bot, facts)

    assert "record field 'special_category'" in str(raised.value)
    assert "for sharing without consent" in str(raised.value)
    assert await bot.store.records("decision") == []
