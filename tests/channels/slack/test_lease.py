"""Two replicas and one outbox: a replica whose delivery lease has run out posts nothing more.

A replica claims a batch of deliveries under one lease and works through it one at a time.
When Slack is slow, the lease can run out half-way through the batch, and the other replica
then takes the rest over. The first must then stop: a delivery it starts after that could be
posted by both (each finds nothing in the channel's history yet).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Core
from bot.records.deliver import Deliverer
from bot.records.store import NewRecord
from bot.server import DELIVERER_KEY
from bot.settings import load_settings
from tests.channels.slack.conftest import RECORD_CHANNEL, SlackHarness, environment, start_harness
from tests.channels.slack.test_resilience import saved_record
from tests.fakes.slack_api import FakeSlack

LEASE = 4.0  # seconds
BATCH = 5  # records claimed at once, as the deliverer does
BOUND = 15.0  # a bound for the test's waits, not a measurement


@pytest.fixture
async def replicas(
    tmp_path: Path, core: Core, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[SlackHarness, Deliverer, Deliverer]]:
    """The server's own deliverer (replica a) and a second one on the same store (replica b),
    both with the server's Slack sender and its clock."""
    env = environment(fake_slack, tmp_path, CANISHARE_DELIVERY_LEASE_SECONDS=str(LEASE))
    harness, runner = await start_harness(
        load_settings(environ=env, dotenv=None), core, fake_slack, monkeypatch
    )
    sender = harness.channel.sender
    assert sender is not None
    other = Deliverer(
        harness.bot.store,
        {"slack": sender},
        harness.clock,
        worker="replica-b",
        lease_seconds=LEASE,
        batch=BATCH,
    )
    yield harness, harness.app[DELIVERER_KEY], other
    await harness.http.close()
    await runner.cleanup()


async def five_records_waiting(slack: SlackHarness) -> list[str]:
    """A record saved through the dialog, and four more like it, all waiting in the outbox."""
    first = await saved_record(slack)
    [body] = await slack.bot.store.records("decision")
    more = [
        NewRecord("decision", {**body, "id": f"{first}-{n}"}, ("slack:record",)) for n in range(4)
    ]
    await slack.bot.store.append(more, now=slack.clock())
    return [first, *(str(r.body["id"]) for r in more)]


def posts_per_delivery(slack: SlackHarness) -> Counter[str]:
    return Counter(
        str(m["metadata"]["event_payload"]["delivery_id"])
        for m in slack.fake.posted(RECORD_CHANNEL)
    )


async def test_a_replica_whose_lease_ran_out_mid_batch_posts_none_of_the_rest_twice(
    replicas: tuple[SlackHarness, Deliverer, Deliverer],
) -> None:
    slack, replica_a, replica_b = replicas
    records = await five_records_waiting(slack)
    slack.fake.slow_answers["chat.postMessage"] = 30.0  # a's first post lands; no answer comes

    a_working = asyncio.ensure_future(replica_a.run_once())
    assert await slack.fake.wait_for(lambda: len(slack.fake.posted(RECORD_CHANNEL)) == 1)
    slack.fake.slow_answers.clear()
    slack.clock.advance(LEASE + 1)  # meanwhile a's lease on the whole batch has run out
    async with asyncio.timeout(BOUND):
        await replica_b.run_once()  # b takes the batch over and finds a's post
        await a_working  # a's first post gives up; a must post nothing of the rest
    slack.clock.advance(60)
    async with asyncio.timeout(BOUND):
        await replica_a.run_once()
        await replica_b.run_once()

    posts = posts_per_delivery(slack)
    assert posts == Counter({f"{r}:slack:record": 1 for r in records})
    assert not await slack.bot.store.undelivered()
