"""Last month's summary goes to the leads' channels (Slack and Teams) through the outbox,
once however many replicas sweep, queued by the server's own background sweeper."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from datetime import date, datetime
from pathlib import Path

import pytest

from bot.app import Core, open_store
from bot.records.store import Store
from bot.report.figures import gather
from bot.report.period import Period
from bot.report.summary import post_monthly_summary
from bot.service import Bot
from bot.settings import Settings, load_settings
from tests.channels.slack.conftest import environment, start_harness
from tests.channels.teams.conftest import LEADS, StartTeams
from tests.fakes.slack_api import FakeSlack
from tests.report.conftest import LEADS_CHANNEL
from tests.report.practice import Clock, day, make_a_month

DECEMBER_2ND = day(2, 9, month=12)
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
INSTALLED_LONG_AGO = "2026-01-05T10:00:00.000000Z"


async def installed_long_ago(store: Store) -> None:
    """As if the bot had been running since January (the store's first migration)."""
    async with store.db.transaction() as tx:
        await tx.execute("UPDATE schema_migrations SET applied_at = ?", INSTALLED_LONG_AGO)


async def wait_for_summary(store: Store, timeout: float = 10.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await store.records("summary")
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError("the sweeper queued no summary")


def with_teams(settings: Settings) -> Settings:
    return dataclasses.replace(settings, teams_leads_conversation=LEADS)


async def test_last_months_summary_is_queued_once_for_every_leads_channel(
    bot: Bot, clock: Clock, settings: Settings, fake_slack: FakeSlack
) -> None:
    await make_a_month(bot, clock, settings, fake_slack)
    await installed_long_ago(bot.store)
    both = with_teams(settings)

    first = await post_monthly_summary(bot.store, both, now=DECEMBER_2ND)
    again = await post_monthly_summary(bot.store, both, now=DECEMBER_2ND.replace(hour=23))

    [summary] = await bot.store.records("summary")
    targets = {d.target for d in await bot.store.deliveries("S-2026-11")}
    expected = (await gather(bot.store, NOVEMBER, now=DECEMBER_2ND)).to_json()
    assert (first, again) == (True, False)
    assert targets == {"slack:summary", "teams:summary"}
    assert summary["title"] == "Monthly summary: November 2026"
    assert summary["items"][0] == "6 decision record(s) saved: 4 shared, 2 not shared"
    assert "median time to claim: 51 minutes" in summary["items"][1]
    assert summary["figures"]["decisions"] == expected["decisions"]
    assert await bot.store.verify() == []


async def test_two_replicas_sweeping_at_once_queue_one_summary(
    bot: Bot, settings: Settings
) -> None:
    await installed_long_ago(bot.store)
    other = await open_store(settings)  # a second replica on the same store
    try:
        results = await asyncio.gather(
            *(
                post_monthly_summary(store, settings, now=DECEMBER_2ND)
                for store in (bot.store, other, bot.store, other)
            )
        )
    finally:
        await other.close()

    assert sorted(results) == [False, False, False, True]
    assert len(await bot.store.records("summary")) == 1


async def test_no_summary_is_queued_before_a_leads_channel_is_set_up(
    bot: Bot, settings: Settings
) -> None:
    await installed_long_ago(bot.store)
    nowhere = dataclasses.replace(settings, leads_channel="", slack_bot_token="")

    assert not await post_monthly_summary(bot.store, nowhere, now=DECEMBER_2ND)
    assert await post_monthly_summary(bot.store, settings, now=DECEMBER_2ND)  # set up now


async def test_a_bot_set_up_after_the_month_ended_posts_no_summary_of_it(bot: Bot) -> None:
    set_up = datetime.fromisoformat(str(await bot.store.installed_at()).replace("Z", "+00:00"))

    queued = await post_monthly_summary(bot.store, bot.settings, now=set_up)

    assert not queued
    assert await bot.store.records("summary") == []


async def test_the_server_sweeper_posts_the_summary_to_the_slack_leads_channel_once(
    core: Core, fake_slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(environ=environment(fake_slack, tmp_path), dotenv=None)
    store = await open_store(settings)
    await installed_long_ago(store)
    await store.close()

    first, runner = await start_harness(settings, core, fake_slack, monkeypatch)
    try:
        summary = await wait_for_summary(first.bot.store)
        await first.deliver()
    finally:
        await first.http.close()
        await runner.cleanup()
    second, runner = await start_harness(settings, core, fake_slack, monkeypatch)  # a restart
    try:
        await asyncio.sleep(0.2)  # its sweeper has run once
        await second.deliver()
        summaries = await second.bot.store.records("summary")
    finally:
        await second.http.close()
        await runner.cleanup()

    posts = [m for m in fake_slack.posted(LEADS_CHANNEL) if "Monthly summary" in json.dumps(m)]
    assert len(posts) == 1
    assert len(summaries) == 1
    assert str(summary["title"]).startswith("Monthly summary:")
    assert posts[0]["blocks"][0]["type"] == "header"


async def test_the_server_sweeper_posts_the_summary_to_the_teams_leads_channel(
    start_teams: StartTeams,
) -> None:
    installing = await start_teams()
    await installing.send(installing.team_install())  # Teams tells the bot where the team is
    await installed_long_ago(installing.bot.store)
    await installing.stop()

    teams = await start_teams()
    summary = await wait_for_summary(teams.bot.store)
    delivered = await teams.delivered(str(summary["id"]))

    posted = [c for c in teams.connector.to(LEADS) if "Monthly summary" in c.text]
    assert [d.target for d in delivered] == ["teams:summary"]
    assert len(posted) == 1
    assert "decision record(s) saved" in posted[0].text
