"""Exactly once, as Slack sees it: deadlines inside the lease, history searched as far back as
the delivery goes, replayed interactions ignored, quick clicks kept in order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Core
from bot.settings import load_settings
from tests.channels.slack.conftest import (
    DM,
    RECORD_CHANNEL,
    USER,
    SlackHarness,
    environment,
    start_harness,
)
from tests.channels.slack.flows import TO_SHARE_WITH_CONSENT, click_through, good_record
from tests.channels.slack.test_resilience import saved_record
from tests.fakes.slack_api import FakeSlack

LEASE = "4"  # seconds: outbox calls then end after 1 s, a whole delivery after 2.4 s


@pytest.fixture
async def short_lease(
    tmp_path: Path, core: Core, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SlackHarness]:
    env = environment(fake_slack, tmp_path, CANISHARE_DELIVERY_LEASE_SECONDS=LEASE)
    harness, runner = await start_harness(
        load_settings(environ=env, dotenv=None), core, fake_slack, monkeypatch
    )
    yield harness
    await harness.http.close()
    await runner.cleanup()


def state_of(slack: SlackHarness, user: str = USER) -> asyncio.Future[tuple[str | None, int]]:
    return asyncio.ensure_future(slack.bot.store.load_state(f"slack:T0TEAM001:{user}"))


async def test_a_post_that_hangs_gives_up_inside_the_lease_and_the_retry_does_not_post_twice(
    short_lease: SlackHarness,
) -> None:
    slack = short_lease
    record_id = await saved_record(slack)
    slack.fake.slow_answers["chat.postMessage"] = 60.0  # Slack takes the post, then hangs

    async with asyncio.timeout(float(LEASE)):  # a bound for the test, not a measurement
        assert await slack.deliver() == 0

    [pending] = await slack.bot.store.undelivered()
    assert pending.record_id == record_id
    assert "did not answer" in (pending.last_error or "")
    slack.fake.slow_answers.clear()
    slack.clock.advance(60)
    assert await slack.deliver() == 1
    assert len(slack.fake.posted(RECORD_CHANNEL)) == 1


async def test_every_slack_session_has_a_deadline_shorter_than_the_lease(
    short_lease: SlackHarness,
) -> None:
    channel = short_lease.channel
    lease = float(LEASE)

    sessions = [channel.client.session, channel.sender.client.session]  # type: ignore[union-attr]

    for session in sessions:
        assert session is not None and session.timeout.total is not None
    assert sessions[1].timeout.total < lease  # type: ignore[union-attr, operator]
    assert sessions[0].timeout.total <= 10  # type: ignore[union-attr, operator]


async def test_a_retry_finds_its_earlier_post_behind_more_than_two_pages_of_history(
    slack: SlackHarness,
) -> None:
    record_id = await saved_record(slack)
    slack.fake.fail_next(1, status=500, retry_after=None, post_anyway=True)
    assert await slack.deliver() == 0
    [first] = slack.fake.posted(RECORD_CHANNEL)
    for n in range(450):  # the channel is busy meanwhile: other posts bury ours
        slack.fake.messages[RECORD_CHANNEL].append(
            {
                "type": "message",
                "user": "U0OTHER001",
                "text": f"other {n}",
                "ts": f"{first['ts']}{n:03d}",
            }
        )
    slack.clock.advance(60)

    assert await slack.deliver() == 1

    ours = [m for m in slack.fake.posted(RECORD_CHANNEL) if m.get("metadata")]
    assert ours == [first]
    pages = slack.fake.calls_to("conversations.history")
    assert len(pages) == 3 and pages[1].params.get("cursor")
    [delivery] = await slack.bot.store.deliveries(record_id)
    assert delivery.external_ref == f"{RECORD_CHANNEL}|{first['ts']}"


async def test_a_replayed_signed_click_changes_nothing(slack: SlackHarness) -> None:
    await slack.click("menu", "start")
    click = slack.click_payload("immediate_danger", "no")
    await slack.interact(click)
    state_after_click = await state_of(slack)
    posted = len(slack.fake.posted(DM))

    status, _ = await slack.interact(click)  # the same signed payload, captured and sent again

    assert status == 200
    assert await state_of(slack) == state_after_click
    assert len(slack.fake.posted(DM)) == posted


async def test_a_replayed_click_and_record_submission_save_one_record(slack: SlackHarness) -> None:
    await click_through(slack, TO_SHARE_WITH_CONSENT)
    click = slack.click_payload("record", "start")
    await slack.interact(click)
    submission = slack.submission(good_record())
    await slack.interact(submission)

    replayed = [await slack.interact(click), await slack.interact(submission)]

    assert [status for status, _ in replayed] == [200, 200]
    assert len(await slack.bot.store.records("decision")) == 1
    assert await slack.deliver() == 1
    assert len(slack.fake.posted(RECORD_CHANNEL)) == 1


async def test_a_record_form_corrected_after_an_error_is_still_saved(slack: SlackHarness) -> None:
    await click_through(slack, TO_SHARE_WITH_CONSENT)
    await slack.click("record", "start")
    _, body = await slack.submit(good_record(case_reference=""))
    assert "errors" in body

    await slack.submit(good_record())  # a new submission of the same modal: a new trigger id

    assert len(await slack.bot.store.records("decision")) == 1


async def test_a_replayed_canishare_command_does_not_restart_the_decision(
    slack: SlackHarness,
) -> None:
    await slack.command("command_canishare")
    await slack.click("immediate_danger", "no")
    before = await state_of(slack)

    await slack.command("command_canishare")  # the same trigger id: a replay

    assert await state_of(slack) == before


async def test_quick_clicks_keep_their_order_when_the_first_dm_lookup_is_slow(
    slack: SlackHarness,
) -> None:
    slack.fake.slow_once["conversations.open"] = [1.0]  # the first click's DM lookup is slow

    await slack.click("menu", "start", settle=False)
    await slack.click("immediate_danger", "no", settle=False)
    await slack.settle()

    state, _ = await state_of(slack)
    assert state is not None
    answers = json.loads(state)["answers"]
    assert answers[:1] == [["immediate_danger", "no"]]
    last = slack.fake.posted(DM)[-1]
    assert "legal_duty" in json.dumps(last["blocks"])
