"""Slack's rate limits and server errors: retried with backoff, nothing lost, nothing doubled."""

from __future__ import annotations

import time

from tests.channels.slack.conftest import DM, LEADS_CHANNEL, RECORD_CHANNEL, SlackHarness
from tests.channels.slack.flows import TO_SHARE_WITH_CONSENT, click_through, good_record
from tests.channels.slack.test_escalation import escalate


async def saved_record(slack: SlackHarness) -> str:
    await click_through(slack, TO_SHARE_WITH_CONSENT)
    await slack.click("record", "start")
    await slack.submit(good_record())
    [record] = await slack.bot.store.records("decision")
    return str(record["id"])


async def test_a_reply_rate_limited_with_a_fractional_retry_after_is_sent_after_the_wait(
    slack: SlackHarness,
) -> None:
    slack.fake.fail_next(1, status=429, retry_after="0.3")
    started = time.monotonic()

    await slack.dm("can I share")

    assert time.monotonic() - started >= 0.3
    assert len(slack.fake.calls_to("chat.postMessage")) == 2
    assert len(slack.fake.posted(DM)) == 1


async def test_a_reply_that_meets_a_server_error_is_retried(slack: SlackHarness) -> None:
    slack.fake.fail_next(1, status=503, retry_after=None)

    await slack.dm("can I share")

    assert len(slack.fake.posted(DM)) == 1


async def test_a_reply_gives_up_after_three_tries_but_the_turn_is_kept(slack: SlackHarness) -> None:
    slack.fake.fail_next(5, status=500, retry_after=None)

    await slack.dm("can I share")

    assert len(slack.fake.calls_to("chat.postMessage")) == 3
    state, _ = await slack.bot.store.load_state("slack:T0TEAM001:U0USER001")
    assert state is not None and "immediate_danger" in state


async def test_a_rate_limited_record_is_kept_and_posted_once_after_retry_after(
    slack: SlackHarness,
) -> None:
    record_id = await saved_record(slack)
    slack.fake.fail_next(1, status=429, retry_after="2.5")

    assert await slack.deliver() == 0

    [pending] = await slack.bot.store.undelivered()
    assert pending.record_id == record_id and "rate limit" in (pending.last_error or "")
    slack.clock.advance(1)
    assert await slack.deliver() == 0  # not due before Retry-After has passed
    slack.clock.advance(2)
    assert await slack.deliver() == 1
    assert len(slack.fake.posted(RECORD_CHANNEL)) == 1


async def test_a_record_that_meets_a_server_error_is_posted_on_a_later_attempt(
    slack: SlackHarness,
) -> None:
    await saved_record(slack)
    slack.fake.fail_next(1, status=500, retry_after=None)

    assert await slack.deliver() == 0
    slack.clock.advance(60)

    assert await slack.deliver() == 1
    assert len(slack.fake.posted(RECORD_CHANNEL)) == 1


async def test_a_rate_limited_escalation_is_not_lost(slack: SlackHarness) -> None:
    await escalate(slack)
    slack.fake.fail_next(2, status=429, retry_after="1")

    assert await slack.deliver() == 0
    slack.clock.advance(2)
    assert await slack.deliver() == 0
    slack.clock.advance(2)

    assert await slack.deliver() == 1
    assert len(slack.fake.posted(LEADS_CHANNEL)) == 1


async def test_a_post_that_succeeded_but_was_not_marked_delivered_is_not_posted_again(
    slack: SlackHarness,
) -> None:
    record_id = await saved_record(slack)
    slack.fake.fail_next(1, status=500, retry_after=None, post_anyway=True)

    assert await slack.deliver() == 0
    [first] = slack.fake.posted(RECORD_CHANNEL)
    slack.clock.advance(60)

    assert await slack.deliver() == 1

    assert slack.fake.posted(RECORD_CHANNEL) == [first]
    history = slack.fake.calls_to("conversations.history")
    assert history and history[-1].params["include_all_metadata"] in ("1", "true", True)
    [delivery] = await slack.bot.store.deliveries(record_id)
    assert delivery.status == "delivered"
    assert delivery.external_ref == f"{RECORD_CHANNEL}|{first['ts']}"
