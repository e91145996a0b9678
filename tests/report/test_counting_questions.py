"""The service counts the questions the core answered (the `Asked` effects of a turn), keeps
the text of unanswered ones only when the deployment asks it to, and counts questions
answered outside a dialog turn too."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import date

import pytest

from bot.app import Core, open_store
from bot.core.replies import Inbound
from bot.report.gaps import purge_kept_questions
from bot.service import Bot
from bot.settings import Settings
from tests.report.practice import Clock, Practitioner, day

NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


async def bot_with(core: Core, settings: Settings, clock: Clock, *, keep_days: int = 0) -> Bot:
    """The real core and a fresh store: the router emits an `Asked` for each typed question."""
    configured = dataclasses.replace(settings, keep_unanswered_days=keep_days)
    return Bot(core.conversation, await open_store(configured), configured, clock=clock)


@pytest.fixture
async def closing() -> AsyncIterator[list[Bot]]:
    bots: list[Bot] = []
    yield bots
    for b in bots:
        await b.store.close()


async def test_each_answer_a_turn_gave_is_counted_with_the_turn(
    core: Core, settings: Settings, clock: Clock, closing: list[Bot]
) -> None:
    bot = await bot_with(core, settings, clock)
    closing.append(bot)
    person = Practitioner(bot, "U0TEACH001")

    await person.send("is gdpr a barrier to sharing?")
    await person.send("can I get a parking permit?")

    assert await bot.store.question_counts(*NOVEMBER) == [
        ("2026-11-01", "myth.gdpr-barrier", 1),
        ("2026-11-01", "none", 1),
    ]


async def test_the_text_of_an_unanswered_question_is_not_kept_by_default(
    core: Core, settings: Settings, clock: Clock, closing: list[Bot]
) -> None:
    bot = await bot_with(core, settings, clock)
    closing.append(bot)

    await Practitioner(bot, "U0TEACH001").send("how do I book a meeting room")

    assert await bot.store.unanswered_questions() == []
    assert await bot.store.question_counts(*NOVEMBER) == [("2026-11-01", "none", 1)]


async def test_when_kept_an_unanswered_question_is_kept_scrubbed_by_day_only(
    core: Core, settings: Settings, clock: Clock, closing: list[Bot]
) -> None:
    bot = await bot_with(core, settings, clock, keep_days=30)
    closing.append(bot)

    await Practitioner(bot, "U0TEACH001").send("can I ring Zorblax on 07700 900123 about the rota")

    assert await bot.store.unanswered_questions() == [
        ("2026-11-01", "can I ring [removed] on [removed] about the rota")
    ]


async def test_an_answered_question_never_keeps_its_text_even_when_kept(
    core: Core, settings: Settings, clock: Clock, closing: list[Bot]
) -> None:
    bot = await bot_with(core, settings, clock, keep_days=30)
    closing.append(bot)

    await Practitioner(bot, "U0TEACH001").send("is gdpr a barrier")

    assert await bot.store.unanswered_questions() == []


async def test_a_platform_retry_of_a_turn_counts_its_question_once(
    core: Core, settings: Settings, clock: Clock, closing: list[Bot]
) -> None:
    bot = await bot_with(core, settings, clock)
    closing.append(bot)
    inbound = Inbound("slack:U0TEACH001", "U0TEACH001", "slack", clock(), text="gut feeling?")

    await bot.handle(inbound, event_id="Ev0001")
    retry = await bot.handle(inbound, event_id="Ev0001")

    assert retry.duplicate
    assert await bot.store.question_counts(*NOVEMBER) == [("2026-11-01", "myth.gut-instinct", 1)]


async def test_an_answer_given_outside_a_dialog_turn_is_counted(bot: Bot) -> None:
    question = "do we need an information sharing agreement before we share?"
    result = bot.conversation.knowledge.ask(question)

    await bot.count_answer(question, result)

    assert result.entry is not None
    assert await bot.store.question_counts(*NOVEMBER) == [("2026-11-01", result.entry.id, 1)]


async def test_a_question_outside_a_turn_the_bot_cannot_answer_counts_as_none(
    core: Core, settings: Settings, clock: Clock, closing: list[Bot]
) -> None:
    bot = await bot_with(core, settings, clock, keep_days=30)
    closing.append(bot)

    assert await bot.count_question("none", "what time does the canteen open")

    assert await bot.store.question_counts(*NOVEMBER) == [("2026-11-01", "none", 1)]
    assert await bot.store.unanswered_questions() == [
        ("2026-11-01", "what time does the canteen open")
    ]


async def test_counting_that_fails_is_logged_and_never_raises(
    core: Core, settings: Settings, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await bot_with(core, settings, clock)
    await bot.store.close()  # the store is gone: every write fails

    counted = await bot.count_question("myth.gdpr-barrier")

    assert counted is False
    assert "could not count a question" in caplog.text


# ---------------------------------------------------------------------- end to end
async def test_typed_questions_through_the_real_dialog_are_counted_by_answer(bot: Bot) -> None:
    person = Practitioner(bot, "U0TEACH001")

    await person.send("is consent always needed?")
    await person.send("is GDPR a barrier to sharing information?")
    await person.send("is consent always needed before I share?")
    await person.send("what is the capital of France?")

    counts = {a: n for _, a, n in await bot.store.question_counts(*NOVEMBER)}
    assert counts == {"myth.consent-always-needed": 2, "myth.gdpr-barrier": 1, "none": 1}
    assert await bot.store.unanswered_questions() == []  # not kept by default


async def test_kept_questions_go_after_the_days_set_and_all_go_when_keeping_is_off(
    core: Core, settings: Settings, clock: Clock, closing: list[Bot]
) -> None:
    bot = await bot_with(core, settings, clock, keep_days=30)
    closing.append(bot)
    for when, text in [(day(1), "room booking"), (day(20), "parking"), (day(30), "holidays")]:
        clock.at(when)
        await bot.count_question("none", text)

    after_thirty_days = await purge_kept_questions(bot.store, bot.settings, now=day(30, 23))
    kept = await bot.store.unanswered_questions()
    turned_off = dataclasses.replace(bot.settings, keep_unanswered_days=0)
    after_turning_off = await purge_kept_questions(bot.store, turned_off, now=day(30, 23))

    assert after_thirty_days == 0  # 1 to 30 November is thirty days
    assert [text for _, text in kept] == ["holidays", "parking", "room booking"]
    assert after_turning_off == 3
    assert await bot.store.unanswered_questions() == []
    assert await bot.store.question_counts(*NOVEMBER)  # the counts stay
