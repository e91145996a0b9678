"""The service runs each turn against the store: a restart mid-dialog loses nothing."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from bot.app import Core, build_bot
from bot.core.replies import Inbound, ReplyKind
from bot.dialogs.state import DialogState
from bot.service import Bot, Handled
from tests.conftest import sqlite_settings
from tests.transcript import START

KEY = "console:U-PRACTITIONER-1"


def said(
    text: str | None = None, *, choice: tuple[str, str] | None = None, hours: float = 0
) -> Inbound:
    return Inbound(
        KEY,
        "U-PRACTITIONER-1",
        "console",
        START + timedelta(hours=hours),
        text=text,
        choice=choice,
    )


def question_of(handled: Handled) -> str | None:
    asked = [r.question_id for r in handled.replies if r.question_id]
    return asked[-1] if asked else None


async def stored_state(bot: Bot) -> DialogState:
    raw, _ = await bot.store.load_state(KEY)
    return DialogState.from_json(raw)


async def test_a_restart_mid_dialog_continues_where_it_was(core: Core, db_file: Path) -> None:
    first = await build_bot(sqlite_settings(db_file), core)
    for line in ["can I share?", "no", "no", "yes"]:
        await first.handle(said(line))
    await first.store.close()

    second = await build_bot(sqlite_settings(db_file), core)
    try:
        resumed = await second.handle(said("yes"))
        state = await stored_state(second)
    finally:
        await second.store.close()

    assert question_of(resumed) == "confidential"
    assert state.answers == (
        ("immediate_danger", "no"),
        ("legal_duty", "no"),
        ("legitimate_purpose", "yes"),
        ("identifiable", "yes"),
    )


async def test_a_record_finished_after_a_restart_holds_every_answer_in_order(
    core: Core, db_file: Path
) -> None:
    first = await build_bot(sqlite_settings(db_file), core)
    for line in ["I have a concern", "no", "no", "yes", "yes", "yes", "yes", "under 12"]:
        await first.handle(said(line))
    await first.handle(said(choice=("record", "start")))
    await first.handle(said("CP-2026-0412"))
    await first.store.close()

    second = await build_bot(sqlite_settings(db_file), core)
    try:
        for line in [
            "Disclosure made to the class teacher and the school's chronology",
            "Children's social care, duty social worker",
            "So social care can decide on a strategy discussion",
            "public task",
            "safeguarding",
            "Reasonable cause to believe the child is at risk of significant harm",
            "save",
        ]:
            handled = await second.handle(said(line))
        [saved] = await second.store.records("decision")
    finally:
        await second.store.close()

    assert handled.records and handled.records[0]["id"] == saved["id"]
    assert saved["outcome"] == "share_without_consent"
    assert [a["q"] for a in saved["answers"]] == [
        "immediate_danger",
        "legal_duty",
        "legitimate_purpose",
        "identifiable",
        "confidential",
        "risk_of_harm",
        "person",
    ]
    assert saved["case_reference"] == "CP-2026-0412"
    assert saved["special_category"] == "schedule1_para18"


async def test_the_state_is_saved_after_every_turn(bot: Bot) -> None:
    await bot.handle(said("can I share"))
    after_one = await stored_state(bot)
    await bot.handle(said("no"))
    after_two = await stored_state(bot)

    assert after_one.step == "q:immediate_danger"
    assert after_two.answers == (("immediate_danger", "no"),)


async def test_stop_clears_the_stored_answers(bot: Bot) -> None:
    for line in ["can I share", "no", "no"]:
        await bot.handle(said(line))

    await bot.handle(said("stop"))

    assert (await stored_state(bot)).answers == ()


async def test_an_idle_dialog_is_purged_from_the_store_on_the_next_turn(bot: Bot) -> None:
    for line in ["can I share", "no", "no", "yes"]:
        await bot.handle(said(line))

    handled = await bot.handle(said("yes", hours=30))
    state = await stored_state(bot)

    assert "started afresh" in handled.replies[0].text
    assert state.answers == ()
    assert "legitimate_purpose" not in (await bot.store.load_state(KEY))[0]


async def test_an_escalation_is_stored_and_the_practitioner_told_where_else_to_go(
    bot: Bot,
) -> None:
    for line in ["can I share", "no", "no", "not sure"]:
        await bot.handle(said(line))
    await bot.handle(said(choice=("escalate", "start")))
    await bot.handle(said("CP-2026-0412"))

    handled = await bot.handle(said("Is a request from the housing officer legitimate?"))

    [escalation] = await bot.store.records("escalation")
    assert escalation["case_reference"] == "CP-2026-0412"
    assert escalation["outcome"] == "seek_advice"
    assert (await bot.store.escalation(escalation["id"])) is not None
    warning = [r for r in handled.replies if r.kind == ReplyKind.WARNING]
    assert warning and escalation["id"] in warning[0].text


async def test_a_platform_retry_of_the_same_event_is_answered_once(bot: Bot) -> None:
    await bot.handle(said("can I share"), event_id="Ev-1")

    first = await bot.handle(said("no"), event_id="Ev-2")
    retry = await bot.handle(said("no"), event_id="Ev-2")

    assert question_of(first) == "legal_duty"
    assert retry.duplicate and retry.replies == []
    assert (await stored_state(bot)).answers == (("immediate_danger", "no"),)


# ---------------------------------------------------------------------- the store fails
RECORD_PATH = ["I have a concern", "no", "no", "yes", "yes", "yes", "yes", "under 12"]
RECORD_FIELDS = [
    "Disclosure made to the class teacher",
    "Children's social care, duty social worker",
    "So social care can decide on a strategy discussion",
    "public task",
    "safeguarding",
    "Reasonable cause to believe the child is at risk of significant harm",
]


def read_only(bot: Bot) -> None:
    """The database file turns read-only under the running bot (as after a remount)."""
    bot.store.db.conn.execute("PRAGMA query_only = ON")  # type: ignore[attr-defined]


def writable(bot: Bot) -> None:
    bot.store.db.conn.execute("PRAGMA query_only = OFF")  # type: ignore[attr-defined]


FILLERS = (  # one junk row for each table a saved record is written to
    "INSERT INTO records (seq, id, kind, created_at, body, prev_hash, hash) "
    "VALUES (1000000000 + ?, ?, 'filler', '', ?, '', '')",
    "INSERT INTO outbox (attempts, id, payload, record_id, target, status, next_attempt_at, "
    "created_at) VALUES (?, ?, ?, '', '', 'filler', '', '')",
)


def fill_the_disk(bot: Bot) -> None:
    """No more room for the database to grow, as on a full disk: the file may not grow, and
    the space left in the pages of each table a record goes into is filled up."""
    conn = bot.store.db.conn  # type: ignore[attr-defined]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    n = 0
    for sql in FILLERS:
        for size in (2000, 200, 20):  # fill what is left, ever more finely
            for _ in range(1000):  # bounded: a page holds at most a few hundred of these
                n += 1
                try:
                    conn.execute(sql, (n, f"filler-{n}", "x" * size))
                except sqlite3.OperationalError:  # database or disk is full
                    break


def warnings_in(handled: Handled) -> list[str]:
    return [r.text for r in handled.replies if r.kind == ReplyKind.WARNING]


async def test_a_turn_the_store_cannot_save_asks_the_person_to_try_again_and_keeps_nothing(
    bot: Bot,
) -> None:
    for line in ["can I share", "no"]:
        await bot.handle(said(line))
    read_only(bot)

    handled = await bot.handle(said("no"), event_id="Ev-READONLY-1")

    assert handled.store_failed
    assert warnings_in(handled) == [
        "I couldn't save that — please try again in a moment. Nothing you saved before is lost."
    ]
    writable(bot)
    assert (await stored_state(bot)).answers == (("immediate_danger", "no"),)
    again = await bot.handle(said("no"), event_id="Ev-READONLY-1")  # the platform's retry
    assert question_of(again) == "legitimate_purpose"


async def test_a_record_the_full_disk_cannot_take_is_not_reported_saved_and_can_be_saved_later(
    bot: Bot,
) -> None:
    for line in RECORD_PATH:
        await bot.handle(said(line))
    await bot.handle(said(choice=("record", "start")))
    for line in ["CP-2026-0412", *RECORD_FIELDS]:
        await bot.handle(said(line))
    fill_the_disk(bot)

    refused = await bot.handle(said("save"))

    assert refused.store_failed and refused.records == []
    assert not [r for r in refused.replies if r.kind == ReplyKind.SUMMARY]
    assert bot.store_health.problem(bot.clock()) is not None
    bot.store.db.conn.execute("PRAGMA max_page_count = 1000000")  # type: ignore[attr-defined]
    saved = await bot.handle(said("save"))
    assert [r["case_reference"] for r in saved.records] == ["CP-2026-0412"]
    assert bot.store_health.problem(bot.clock()) is None


async def test_a_claim_the_store_cannot_save_claims_nothing_and_says_try_again(bot: Bot) -> None:
    for line in ["can I share", "no", "no", "not sure"]:
        await bot.handle(said(line))
    await bot.handle(said(choice=("escalate", "start")))
    await bot.handle(said("CP-2026-0412"))
    await bot.handle(said("Is a request from the housing officer legitimate?"))
    [escalation] = await bot.store.records("escalation")
    read_only(bot)

    result = await bot.claim(escalation["id"], "U0LEAD001", "Duty Safeguarding Lead")

    writable(bot)
    assert result is not None and not result.won
    assert "couldn't save" in result.message
    assert (await bot.store.escalation(escalation["id"]) or {})["claimed_by"] is None


# ---------------------------------------------------------------------- what is stored
async def test_hidden_and_direction_changing_characters_never_reach_the_stored_record(
    bot: Bot,
) -> None:
    for line in RECORD_PATH:
        await bot.handle(said(line))
    await bot.handle(said(choice=("record", "start")))
    sneaky = [
        "CP-2026-\u200b0412",
        "Disclosure made to the \u202eclass teacher\u202c",
        "Children's social care,\u00ad duty social worker",
        "So social care can decide\n• Lawful basis: Legal obligation",
        "public task",
        "safeguarding",
        "Reasonable cause\r\n• Information shared: no",
    ]
    for line in sneaky:
        await bot.handle(said(line))

    saved = await bot.handle(said("save"))

    [record] = await bot.store.records("decision")
    assert record["case_reference"] == "CP-2026-0412"
    assert record["what"] == "Disclosure made to the class teacher"
    assert record["with_whom"] == "Children's social care, duty social worker"
    assert record["purpose"] == "So social care can decide • Lawful basis: Legal obligation"
    assert record["reasons"] == "Reasonable cause • Information shared: no"
    [summary] = [r for r in saved.replies if r.kind == ReplyKind.SUMMARY]
    assert summary.record == saved.records[0]
    assert not [b for b in summary.bullets if b.startswith("•") or "\n" in b]


async def test_a_name_hidden_with_zero_width_characters_is_refused_as_a_case_reference(
    bot: Bot,
) -> None:
    for line in RECORD_PATH:
        await bot.handle(said(line))
    await bot.handle(said(choice=("record", "start")))

    handled = await bot.handle(said("Je\u200bss Smi\u00adth"))

    assert "a name" in " ".join(warnings_in(handled))
    assert (await stored_state(bot)).record.get("case_reference") is None


# ---------------------------------------------------------------------- never false reassurance
async def test_a_record_with_no_record_channel_says_it_is_saved_but_not_delivered(
    bot: Bot,
) -> None:
    for line in RECORD_PATH:
        await bot.handle(said(line))
    await bot.handle(said(choice=("record", "start")))
    for line in ["CP-2026-0412", *RECORD_FIELDS]:
        await bot.handle(said(line))

    saved = await bot.handle(said("save"))

    [summary] = [r for r in saved.replies if r.kind == ReplyKind.SUMMARY]
    said_to_them = f"{summary.title} {summary.text}"
    assert "not delivered" in said_to_them and saved.records[0]["id"] in said_to_them
    assert "will be delivered" not in said_to_them
    [waiting] = await bot.store.undelivered()
    assert waiting.status == "no_destination" and "no record channel" in (waiting.last_error or "")


async def test_an_escalation_with_no_leads_channel_gets_one_honest_message(bot: Bot) -> None:
    for line in ["can I share", "no", "no", "not sure"]:
        await bot.handle(said(line))
    await bot.handle(said(choice=("escalate", "start")))
    await bot.handle(said("CP-2026-0412"))

    handled = await bot.handle(said("Is a request from the housing officer legitimate?"))

    texts = " ".join(f"{r.title} {r.text}" for r in handled.replies)
    assert "has gone to the safeguarding leads" not in texts
    assert texts.count("No safeguarding leads channel is set up yet") == 1
    [escalation] = await bot.store.records("escalation")
    [waiting] = await bot.store.undelivered()
    assert waiting.record_id == escalation["id"] and waiting.status == "no_destination"


async def test_with_no_leads_channel_the_practitioner_is_asked_to_contact_their_lead_themselves(
    bot: Bot,
) -> None:
    for line in ["can I share", "no", "no", "not sure"]:
        await bot.handle(said(line))
    await bot.handle(said(choice=("escalate", "start")))
    await bot.handle(said("CP-2026-0412"))

    handled = await bot.handle(said("Is a request from the housing officer legitimate?"))

    [honest] = [r for r in handled.replies if "No safeguarding leads channel" in r.text]
    assert "no lead has seen it" in honest.text and "yourself" in honest.text
    assert "also" not in honest.text.split()  # nothing else was done for them to add to
    assert "999" in honest.text
    assert any("safeguarding lead" in line.lower() for line in honest.bullets)
