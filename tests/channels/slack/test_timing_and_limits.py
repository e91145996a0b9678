"""Slack's three-second limit, and the bot's own rate limit, as a person sees them."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Core
from bot.settings import load_settings
from tests.channels.slack.conftest import DM, SlackHarness, environment, payload, start_harness
from tests.channels.slack.flows import TO_SHARE_WITH_CONSENT, click_through, good_record
from tests.fakes.slack_api import FakeSlack


async def test_an_event_is_acknowledged_before_the_slow_reply_is_posted(
    slack: SlackHarness,
) -> None:
    slack.fake.delays["chat.postMessage"] = 1.0
    body = payload("event_message_im")
    body["event"]["text"] = "can I share"

    started = time.monotonic()
    status, _, _ = await slack.post(json.dumps(body), "application/json")
    acked_after = time.monotonic() - started

    assert status == 200 and acked_after < 0.5
    assert slack.fake.posted(DM) == []
    await slack.settle()
    assert len(slack.fake.posted(DM)) == 1


async def test_canishare_is_acknowledged_before_the_dm_is_opened(slack: SlackHarness) -> None:
    slack.fake.delays["conversations.open"] = 1.0

    started = time.monotonic()
    status, _, _ = await slack.post(
        "team_id=T0TEAM001&channel_id=C0GENERAL1&user_id=U0USER001&user_name=sam.lee"
        "&command=%2Fcanishare&text=&trigger_id=1.2.3",
        "application/x-www-form-urlencoded",
    )

    assert status == 200 and time.monotonic() - started < 0.5
    await slack.settle()
    assert slack.fake.posted(DM)


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
