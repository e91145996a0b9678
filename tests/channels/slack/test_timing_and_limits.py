"""Slack's three-second limit, and the bot's own rate limit, as a person sees them.

Slack gives up on a request it has not had an answer to in three seconds. The bot answers
once the turn is saved and leaves every Web API call for afterwards: shown here by holding
that call unanswered until the request has come back (no clock is read)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from bot.app import Core
from bot.settings import load_settings
from tests.channels.slack.conftest import (
    DM,
    PUBLIC_CHANNEL,
    SlackHarness,
    environment,
    payload,
    start_harness,
)
from tests.channels.slack.flows import TO_SHARE_WITH_CONSENT, click_through, good_record, values
from tests.fakes.slack_api import FakeSlack

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

# A bound against a hang only: Slack's Web API is held shut until the test has its answer, so a
# request that waited for it would never come back.
HANG_GUARD_SECONDS = 10.0


async def answered_while_held(
    slack: SlackHarness, method: str, body: str, content_type: str
) -> int:
    """Post a signed request while every call to `method` is held unanswered; return its
    status once it comes back. The held call is let go only after that."""
    slack.fake.hold(method)
    request = asyncio.ensure_future(slack.post(body, content_type))
    done, _ = await asyncio.wait({request}, timeout=HANG_GUARD_SECONDS)
    if request not in done:  # let everything go before failing, so nothing is left hanging
        slack.fake.release(method)
        request.cancel()
        await asyncio.wait({request})
    assert request in done, f"Slack was not answered until {method} was"
    status, _, _ = request.result()
    assert await slack.fake.wait_for(lambda: bool(slack.fake.calls_to(method)))  # under way
    slack.fake.release(method)
    await slack.settle()
    return status


async def test_an_event_is_acknowledged_while_its_reply_is_still_being_posted(
    slack: SlackHarness,
) -> None:
    body = payload("event_message_im")
    body["event"]["text"] = "can I share"

    status = await answered_while_held(slack, "chat.postMessage", json.dumps(body), JSON)

    assert status == 200
    [reply] = slack.fake.posted(DM)
    assert ("immediate_danger", "no") in [values(b) for b in slack.last_dm_buttons()]
    assert reply["text"]


async def test_canishare_is_acknowledged_while_the_dm_is_still_being_opened(
    slack: SlackHarness,
) -> None:
    command = urlencode({**payload("command_canishare"), "channel_id": PUBLIC_CHANNEL})

    status = await answered_while_held(slack, "conversations.open", command, FORM)

    assert status == 200
    assert ("immediate_danger", "no") in [values(b) for b in slack.last_dm_buttons()]


async def test_a_click_is_acknowledged_while_its_answered_buttons_are_still_being_retired(
    slack: SlackHarness,
) -> None:
    await slack.click("menu", "start")
    click = urlencode({"payload": json.dumps(slack.click_payload("immediate_danger", "no"))})

    status = await answered_while_held(slack, "chat.update", click, FORM)

    assert status == 200
    asked = slack.fake.posted(DM)[0]
    assert "You answered" in json.dumps(asked["blocks"])
    assert ("legal_duty", "no") in [values(b) for b in slack.last_dm_buttons()]


@pytest.fixture
async def limited(
    tmp_path: Path, core: Core, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SlackHarness]:
    env = environment(fake_slack, tmp_path, CANISHARE_RATE_LIMIT="12")
    harness, runner = await start_harness(
        load_settings(environ=env, dotenv=None), core, fake_slack, monkeypatch
    )
    yield harness
    await harness.http.close()
    await runner.cleanup()


async def test_someone_sending_too_fast_is_told_kindly_to_wait(limited: SlackHarness) -> None:
    for _ in range(12):
        await limited.dm("can I share")

    await limited.dm("can I share")

    assert "faster than I can keep up" in limited.dm_texts()[-1]


async def test_a_rate_limited_form_submission_keeps_the_modal_open_with_what_was_typed(
    limited: SlackHarness,
) -> None:
    await click_through(limited, TO_SHARE_WITH_CONSENT)
    await limited.click("record", "start")
    for _ in range(2):
        await limited.dm("help")

    status, body = await limited.submit(good_record())

    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert "faster than I can keep up" in answer["errors"]["case_reference"]
    assert await limited.bot.store.records("decision") == []
