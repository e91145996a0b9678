"""The compose-box search presents what the lookup says where an inserted card can (the
safety note), and counts searches for the leads' report — one per search, not one per
keystroke (Teams sends a query as each character is typed), without delaying the answer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import Core, build_core
from bot.channels.teams.channel import TEAMS_CHANNEL
from bot.channels.teams.extension import SearchCounts
from bot.settings import load_settings
from tests.channels.teams.conftest import StartTeams, Teams
from tests.fakes.bf_connector import strings
from tests.presented import MIGHT_BE_DANGER, presenting

WAIT_SECONDS = 10.0  # a bound against a hang, never a speed to meet


@pytest.fixture(scope="module")
def core() -> Core:
    return presenting(build_core(load_settings(environ={}, dotenv=None)))


def query(teams: Teams, text: str | None) -> dict[str, Any]:
    parameters = [{"name": "query", "value": text}]
    if text is None:
        parameters = [{"name": "initialRun", "value": "true"}]
    return teams.activity(
        "invoke_adaptive_card_action",
        name="composeExtension/query",
        value={"commandId": "findAnswer", "parameters": parameters, "queryOptions": {"count": 25}},
    )


async def search(teams: Teams, text: str | None) -> dict[str, Any]:
    status, body = await teams.post(query(teams, text))
    assert status == 200
    result: dict[str, Any] = body["composeExtension"]
    return result


def searches(teams: Teams) -> SearchCounts:
    return teams.app[TEAMS_CHANNEL].searches


async def counted(teams: Teams) -> dict[str, int]:
    today = datetime.now(UTC).date()
    rows = await teams.bot.store.question_counts(
        today - timedelta(days=1), today + timedelta(days=1)
    )
    return {answer: n for _, answer, n in rows}


async def test_a_search_that_might_describe_danger_puts_the_safety_note_on_every_card(
    teams: Teams,
) -> None:
    result = await search(teams, MIGHT_BE_DANGER)

    note = teams.bot.conversation.words.text("safety_note")
    [best, *others] = result["attachments"]
    assert best["preview"]["content"]["text"] == note[:120]
    for attachment in [best, *others]:
        assert next(strings(attachment["content"]["body"])) == note
    gdpr = teams.bot.conversation.knowledge.kb.entries["myth.gdpr-barrier"]
    assert best["preview"]["content"]["title"] == gdpr.title
    assert gdpr.answer[:40] in "\n".join(strings(best["content"]))


async def test_an_ordinary_search_has_no_safety_note(teams: Teams) -> None:
    result = await search(teams, "is consent always needed")

    note = teams.bot.conversation.words.text("safety_note")
    assert note not in "\n".join(strings(result["attachments"]))


async def test_a_search_is_counted_once_the_person_stops_typing(teams: Teams) -> None:
    searches(teams).settle = 0.05

    await search(teams, "is consent always needed")

    counts: dict[str, int] = {}
    for _ in range(int(WAIT_SECONDS / 0.05)):
        counts = await counted(teams)
        if counts:
            break
        await asyncio.sleep(0.05)
    assert counts == {"myth.consent-always-needed": 1}


async def test_typing_a_search_a_letter_at_a_time_counts_one_search(
    teams: Teams, start_teams: StartTeams
) -> None:
    searches(teams).settle = 3600.0  # still typing, as far as the bot can tell

    for typed in ["is", "is cons", "is consent alw", "is consent always needed"]:
        await search(teams, typed)
    await search(teams, None)  # the first, empty run of the box asks nothing
    await teams.stop()  # shutting down counts what is still settling

    again = await start_teams()
    assert await counted(again) == {"myth.consent-always-needed": 1}


async def test_a_search_with_no_answer_counts_as_unanswered(teams: Teams) -> None:
    searches(teams).settle = 3600.0

    await search(teams, "best pizza in town")
    await searches(teams).flush()

    assert await counted(teams) == {"none": 1}
