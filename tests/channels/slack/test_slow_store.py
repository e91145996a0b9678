"""Slack's three seconds and a store that holds a turn up (another writer has its row).

An event is never acknowledged before its turn is saved: past the budget it is answered 503,
so Slack sends it again, and the copy is a duplicate once the turn is through. A click, which
Slack never sends again, is acknowledged within the three seconds and finishes afterwards.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import Core, open_store
from bot.channels.slack.socket import start_socket_mode
from bot.records.db import open_db
from bot.records.store import Store
from bot.server import build_server
from bot.service import Bot
from bot.settings import load_settings
from tests.channels.slack.conftest import (
    DM,
    Clock,
    SlackHarness,
    environment,
    payload,
    quiet_server,
    signature,
    start_harness,
)
from tests.fakes.slack_api import FakeSlack
from tests.postgres_cluster import fresh_database, postgres_cluster
from tests.system.conftest import Replica, free_port, replica_env

CONVERSATION = "slack:T0TEAM001:U0USER001"
BOUND = 15.0  # seconds: a bound for each test's waits, not a measurement


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[str]:
    with postgres_cluster() as url:
        yield url


@pytest.fixture
async def postgres_slack(
    tmp_path: Path,
    core: Core,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    postgres_server: str,
) -> AsyncIterator[tuple[SlackHarness, str]]:
    db_url = await fresh_database(postgres_server)
    env = environment(fake_slack, tmp_path, CANISHARE_DB_URL=db_url)
    harness, runner = await start_harness(
        load_settings(environ=env, dotenv=None), core, fake_slack, monkeypatch
    )
    yield harness, db_url
    await harness.http.close()
    await runner.cleanup()


def dm_event(event_id: str, text: str = "can I share") -> dict[str, Any]:
    body = payload("event_message_im")
    body["event"]["text"] = text
    body["event_id"] = event_id
    return body


class HeldRow:
    """Another writer's open transaction holding the row a turn must write: the turn's commit
    waits until `release()`."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.conn: Any = None
        self.tx: Any = None

    async def hold_event(self, event_id: str) -> None:
        import asyncpg

        self.conn = await asyncpg.connect(self.db_url)
        self.tx = self.conn.transaction()
        await self.tx.start()
        await self.conn.execute(
            "INSERT INTO processed_events (event_id, received_at) VALUES ($1, 'x')", event_id
        )

    async def release(self) -> None:
        if self.tx is not None:
            await self.tx.rollback()
            self.tx = None
        if self.conn is not None:
            await self.conn.close()
            self.conn = None


async def test_a_dm_the_store_holds_up_is_not_acknowledged_so_slack_sends_it_again_and_it_runs_once(
    postgres_slack: tuple[SlackHarness, str],
) -> None:
    harness, db_url = postgres_slack
    body = dm_event("Ev0SLOWSTORE1")
    held = HeldRow(db_url)
    await held.hold_event("Ev0SLOWSTORE1")
    try:
        async with asyncio.timeout(BOUND):
            status, _, _ = await harness.post(json.dumps(body), "application/json")
        assert status == 503  # not acknowledged: Slack will send it again
        state, _ = await harness.bot.store.load_state(CONVERSATION)
        assert state is None  # still waiting on the store
    finally:
        await held.release()
    assert await harness.fake.wait_for(lambda: bool(harness.fake.posted(DM)), timeout=BOUND)

    async with asyncio.timeout(BOUND):
        again = await harness.event(body, retry=1)  # Slack's copy, after the 503

    assert again == 200
    assert len(harness.fake.posted(DM)) == 1  # the first question, once
    state, _ = await harness.bot.store.load_state(CONVERSATION)
    assert state is not None and "immediate_danger" in state


async def test_in_socket_mode_a_dm_the_store_holds_up_gets_no_ack_so_slack_sends_it_again(
    tmp_path: Path,
    core: Core,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    postgres_server: str,
) -> None:
    quiet_server(monkeypatch)
    db_url = await fresh_database(postgres_server)
    env = environment(
        fake_slack, tmp_path, CANISHARE_DB_URL=db_url, SLACK_APP_TOKEN="xapp-1-A0APP0001-test"
    )
    del env["SLACK_SIGNING_SECRET"]
    settings = load_settings(environ=env, dotenv=None)
    bot = Bot(core.conversation, await open_store(settings), settings, clock=Clock())
    server = await start_socket_mode(settings, bot, build=build_server, port=0)
    held = HeldRow(db_url)
    try:
        envelope = payload("socket_events_api_envelope")
        envelope["payload"] = dm_event("Ev0SOCKETSLOW1")
        await held.hold_event("Ev0SOCKETSLOW1")
        await fake_slack.socket_send(envelope)
        # past the budget and Slack's three seconds, still no ack: Slack will send it again
        assert not await fake_slack.wait_for(lambda: bool(fake_slack.socket_acks), timeout=3.5)
        await held.release()
        assert await fake_slack.wait_for(lambda: bool(fake_slack.posted(DM)), timeout=BOUND)

        again = {**envelope, "envelope_id": "b0e2c4d6-0000-4000-8000-000000000001"}
        again |= {"retry_attempt": 1, "retry_reason": "timeout"}
        await fake_slack.socket_send(again)

        acked = {"envelope_id": again["envelope_id"]}
        assert await fake_slack.wait_for(lambda: acked in fake_slack.socket_acks, timeout=BOUND)
        assert len(fake_slack.posted(DM)) == 1
    finally:
        await held.release()
        await server.stop()


async def test_a_click_the_store_holds_up_is_acknowledged_and_answered_when_it_is_through(
    postgres_slack: tuple[SlackHarness, str],
) -> None:
    harness, db_url = postgres_slack
    data = harness.click_payload("menu", "start")
    interaction = f"slack:block_actions:{data['trigger_id']}"
    held = HeldRow(db_url)
    await held.hold_event(interaction)
    try:
        async with asyncio.timeout(BOUND):
            status, _ = await harness.interact(data, settle=False)
        assert status == 200  # Slack never sends a click again: its three seconds come first
        state, _ = await harness.bot.store.load_state(CONVERSATION)
        assert state is None
    finally:
        await held.release()
    assert await harness.fake.wait_for(lambda: bool(harness.fake.posted(DM)), timeout=BOUND)


async def send_event(http: aiohttp.ClientSession, url: str, body: str, retry: int = 0) -> int:
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature(body, stamp),
    }
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"}
    async with http.post(url, data=body.encode(), headers=headers) as resp:
        return resp.status


async def resend_until_acknowledged(
    http: aiohttp.ClientSession, url: str, body: str, first: int
) -> int:
    """What Slack does with an event it got no 200 for: send it again (three times at most)."""
    status = first
    for retry in range(1, 4):
        if status == 200:
            break
        async with asyncio.timeout(BOUND):
            status = await send_event(http, url, body, retry)
    return status


async def test_dms_held_up_by_the_store_when_the_server_is_killed_are_not_lost(
    tmp_path: Path, fake_slack: FakeSlack, postgres_server: str
) -> None:
    """The first DM's commit waits on another writer; the second DM, from the same person,
    waits behind it in the server. SIGKILL: neither was acknowledged, so Slack sends both
    again to the restarted server, and each turn has run exactly once."""
    db_url = await fresh_database(postgres_server)
    replica = Replica(replica_env(fake_slack, db_url, free_port()), 0, tmp_path / "serve.log")
    replica.port = int(replica.env["CANISHARE_PORT"])
    first = json.dumps(dm_event("Ev0KILLED0001", "can I share"))
    second = json.dumps(dm_event("Ev0KILLED0002", "no"))
    held = HeldRow(db_url)
    replica.start()
    try:
        await replica.healthy()
        await held.hold_event("Ev0KILLED0001")
        async with aiohttp.ClientSession() as http:
            url = f"{replica.url}/slack/events"
            async with asyncio.timeout(BOUND):
                sent = asyncio.ensure_future(send_event(http, url, first))
                await asyncio.sleep(0.2)  # the first holds the person's turn lock
                statuses = [await send_event(http, url, second), await sent]
            replica.kill()  # SIGKILL while both turns wait
            await held.release()
            replica.start()
            await replica.healthy()
            for body, status in zip((first, second), statuses, strict=True):
                assert await resend_until_acknowledged(http, url, body, status) == 200
    finally:
        await held.release()
        replica.stop()

    store = Store(await open_db(db_url))
    try:
        state, _ = await store.load_state(CONVERSATION)
        seen = [await store.event_seen(e) for e in ("Ev0KILLED0001", "Ev0KILLED0002")]
    finally:
        await store.close()
    assert seen == [True, True]
    assert state is not None
    assert json.loads(state)["answers"] == [["immediate_danger", "no"]]  # each ran once
    assert statuses == [503, 503]  # neither was acknowledged before it was saved
