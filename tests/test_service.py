"""The service runs each turn against the store: a restart mid-dialog loses nothing."""

from __future__ import annotations

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
