"""Only Slack's own, fresh requests are acted on, and Slack's retries never act twice."""

from __future__ import annotations

import json
import time

import pytest

from tests.channels.slack.conftest import DM, SlackHarness, payload
from tests.channels.slack.flows import TO_SHARE_WITH_CONSENT, click_through, good_record


def message(text: str = "can I share", event_id: str = "Ev0SIGNED01") -> str:
    body = payload("event_message_im")
    body["event"]["text"] = text
    body["event_id"] = event_id
    return json.dumps(body)


async def test_a_forged_signature_is_refused_and_nothing_happens(slack: SlackHarness) -> None:
    status, _, _ = await slack.post(message(), "application/json", secret="not-the-secret")
    await slack.settle()

    assert status == 401
    assert slack.fake.calls == []
    assert await slack.bot.store.load_state("slack:T0TEAM001:U0USER001") == (None, 0)


@pytest.mark.parametrize("age", [6 * 60, -6 * 60], ids=["stale", "from-the-future"])
async def test_a_stale_signature_is_refused_and_nothing_happens(
    slack: SlackHarness, age: int
) -> None:
    stamp = str(int(time.time()) - age)

    status, _, _ = await slack.post(message(), "application/json", timestamp=stamp)
    await slack.settle()

    assert status == 401
    assert slack.fake.calls == []


@pytest.mark.parametrize("stamp", ["abc", "1.5e9", "", "１２３"])
async def test_a_timestamp_that_is_not_a_whole_number_is_refused(
    slack: SlackHarness, stamp: str
) -> None:
    status, _, _ = await slack.post(message(), "application/json", timestamp=stamp)

    assert status == 401
    assert slack.fake.calls == []


async def test_a_changed_body_no_longer_matches_its_signature(slack: SlackHarness) -> None:
    stamp = str(int(time.time()))
    signed = message("hello")
    from tests.channels.slack.conftest import signature

    async with slack.http.post(
        slack.url,
        data=message("<!channel> hello").encode(),
        headers={
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature(signed, stamp),
        },
    ) as resp:
        assert resp.status == 401


async def test_the_url_verification_challenge_is_answered(slack: SlackHarness) -> None:
    challenge = payload("url_verification")

    status, body, _ = await slack.post(json.dumps(challenge), "application/json")

    assert status == 200
    assert json.loads(body)["challenge"] == challenge["challenge"]


async def test_a_retried_event_gets_200_but_no_second_reply(slack: SlackHarness) -> None:
    body = payload("event_message_im")
    body["event"]["text"] = "can I share"

    assert await slack.event(body) == 200
    assert await slack.event(body, retry=1) == 200
    assert await slack.event(body, retry=2) == 200

    assert len(slack.fake.posted(DM)) == 1


async def test_a_retried_event_that_saves_a_record_saves_it_once(slack: SlackHarness) -> None:
    await click_through(slack, TO_SHARE_WITH_CONSENT)
    await slack.click("record", "start")
    await slack.submit(good_record())
    body = payload("event_message_im")
    body["event"]["text"] = "can I share"
    body["event_id"] = "Ev0RETRY0001"

    await slack.event(body)
    await slack.event(body, retry=1)

    assert len(await slack.bot.store.records("decision")) == 1
    assert sum("Question 1" in t for t in slack.dm_texts()) == 2  # one from the clicks, one here


async def test_concurrent_copies_of_one_event_produce_one_reply(slack: SlackHarness) -> None:
    import asyncio

    body = message("can I share", "Ev0RACE0001")

    results = await asyncio.gather(
        *(
            slack.post(body, "application/json", headers={"X-Slack-Retry-Num": str(n)})
            for n in range(3)
        )
    )
    await slack.settle()

    assert [r[0] for r in results] == [200, 200, 200]
    assert len(slack.fake.posted(DM)) == 1
