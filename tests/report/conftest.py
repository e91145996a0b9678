"""The report's fixtures: the real bot on a fresh SQLite store, Slack configured against a
local fake Slack Web API, and a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Core, open_store
from bot.service import Bot
from bot.settings import Settings
from tests.channels.teams.conftest import connector as connector  # the fake Bot Framework
from tests.channels.teams.conftest import start_teams as start_teams  # a real server for it
from tests.fakes.slack_api import FakeSlack
from tests.report.practice import Clock, day

RECORD_CHANNEL = "C0RECORD01"
LEADS_CHANNEL = "C0LEADS001"


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    # the record channel is public, so Slack deliveries of decision records are refused
    fake = FakeSlack(private_channels={LEADS_CHANNEL})
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def settings(tmp_path: Path, fake_slack: FakeSlack) -> Settings:
    return Settings(
        db_url=f"sqlite:///{tmp_path}/report.db",
        rate_limit_per_minute=10_000,
        slack_bot_token="xoxb-test-token",
        slack_signing_secret="8f742231b10e8888abcd99yyyzzz85a5",
        slack_api_url=fake_slack.api_url,
        record_channel=RECORD_CHANNEL,
        leads_channel=LEADS_CHANNEL,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(day(1))


@pytest.fixture
async def bot(core: Core, settings: Settings, clock: Clock) -> AsyncIterator[Bot]:
    service = Bot(core.conversation, await open_store(settings), settings, clock=clock)
    try:
        yield service
    finally:
        await service.store.close()
