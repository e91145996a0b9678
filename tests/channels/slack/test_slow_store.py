"""Slack's three seconds come first: a turn the store holds up is acknowledged anyway, and
finishes (and is answered) once the store lets it through."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import Core
from bot.settings import load_settings
from tests.channels.slack.conftest import DM, environment, payload, start_harness
from tests.fakes.slack_api import FakeSlack
from tests.postgres_cluster import fresh_database, postgres_cluster


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[str]:
    with postgres_cluster() as url:
        yield url


async def test_a_turn_held_up_by_the_store_is_acknowledged_and_answered_when_it_is_through(
    tmp_path: Path,
    core: Core,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    postgres_server: str,
) -> None:
    import asyncpg

    db_url = await fresh_database(postgres_server)
    env = environment(fake_slack, tmp_path, CANISHARE_DB_URL=db_url)
    harness, runner = await start_harness(
        load_settings(environ=env, dotenv=None), core, fake_slack, monkeypatch
    )
    holder = await asyncpg.connect(db_url)
    try:
        body = payload("event_message_im")
        body["event"]["text"] = "can I share"
        body["event_id"] = "Ev0SLOWSTORE1"
        holding = holder.transaction()
        await holding.start()  # another writer holds this event's row: the turn's commit waits
        await holder.execute(
            "INSERT INTO processed_events (event_id, received_at) VALUES ($1, 'x')",
            body["event_id"],
        )

        async with asyncio.timeout(10):  # a bound for the test, not a measurement
            status, _, _ = await harness.post(json.dumps(body), "application/json")

        assert status == 200
        state, _ = await harness.bot.store.load_state("slack:T0TEAM001:U0USER001")
        assert state is None  # acknowledged while the turn was still waiting on the store
        await holding.rollback()
        assert await harness.fake.wait_for(lambda: bool(harness.fake.posted(DM)), timeout=10)
    finally:
        await holder.close()
        await harness.http.close()
        await runner.cleanup()
