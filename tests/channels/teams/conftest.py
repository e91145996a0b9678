"""A real `canishare serve` on a loopback port, a fake Bot Framework connector, and Teams-shaped
activities (from tests/payloads/teams/) whose serviceUrl points at the fake."""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import Core, build_core, open_store
from bot.records.store import Delivery
from bot.server import DELIVERER_KEY, build_server
from bot.service import Bot
from bot.settings import Settings, load_settings
from tests.fakes.bf_connector import Call, FakeConnector, loopback_socket

PAYLOADS = Path(__file__).parents[2] / "payloads" / "teams"
APP_ID = "8f0c7f2e-3b1d-4c55-a1b2-0c9d8e7f6a51"
BOT_ID = f"28:{APP_ID}"
TENANT = "6f1c2a57-1d39-4b8e-9a0e-2f3c4d5e6f70"
PERSONAL = "a:1Xq7LzB3mN9pR2sT5vW8yA0cE4gI6kM_hJdFbHn"
PERSONAL_KEY = f"teams:{TENANT}:{PERSONAL}"
GENERAL = "19:Q5b0aRk3Lq1sTzX9uVwYcD7eF2gH4iJ6@thread.tacv2"
RECORD = "19:R3cordCh4nnelM8nB2vC6xZ0lK4jH7g@thread.tacv2"
LEADS = "19:L3adsCh4nnelK7mP2xQ9rS5tV8wY1zB4@thread.tacv2"
_ids = itertools.count(1763650000000)


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return data


@dataclass
class Teams:
    """A running server, and the activities Teams would send it."""

    url: str
    bot: Bot
    app: web.Application
    runner: web.AppRunner
    connector: FakeConnector
    session: aiohttp.ClientSession

    async def stop(self) -> None:
        await self.session.close()
        await self.runner.cleanup()

    # ------------------------------------------------------------------ HTTP
    async def post(
        self, activity: dict[str, Any], *, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        async with self.session.post(
            self.url + "/api/messages", json=activity, headers=headers or {}
        ) as response:
            text = await response.text()
            return response.status, json.loads(text) if text else None

    async def send(self, activity: dict[str, Any]) -> list[Call]:
        """Post an activity; return the replies it got in its own conversation."""
        before = len(self.connector.calls)
        status, _ = await self.post(activity)
        assert status == 200, f"the server answered {status}"
        conversation = activity["conversation"]["id"].split(";")[0]
        return [
            c
            for c in self.connector.calls[before:]
            if c.conversation_id.split(";")[0] == conversation and c.kind == "reply"
        ]

    async def say(self, text: str) -> Call:
        replies = await self.send(self.message(text))
        assert len(replies) == 1, f"expected one reply message, got {len(replies)}"
        return replies[0]

    async def click(self, q: str, a: str, **inputs: str) -> Call:
        replies = await self.send(self.submit({"q": q, "a": a, **inputs}))
        assert len(replies) == 1, f"expected one reply message, got {len(replies)}"
        return replies[0]

    async def delivered(self, record_id: str, *, timeout: float = 10.0) -> list[Delivery]:
        """The record's deliveries, once every one of them is delivered (bounded wait)."""
        deadline = time.monotonic() + timeout
        while True:
            deliveries = await self.bot.store.deliveries(record_id)
            if deliveries and all(d.status == "delivered" for d in deliveries):
                return deliveries
            if time.monotonic() > deadline:
                raise AssertionError(f"not delivered in {timeout}s: {deliveries}")
            await asyncio.sleep(0.05)

    async def deliver(self) -> int:
        """Run the outbox once now (the background deliverer also runs)."""
        return await self.app[DELIVERER_KEY].run_once()

    # ------------------------------------------------------------------ activities
    def activity(self, payload_name: str, **changes: Any) -> dict[str, Any]:
        data = copy.deepcopy(payload(payload_name))
        data["serviceUrl"] = self.connector.url
        if not str(data.get("id", "")).startswith("f:"):
            data["id"] = str(next(_ids))
        data.update(changes)
        return data

    def message(self, text: str) -> dict[str, Any]:
        return self.activity("personal_message", text=text)

    def submit(self, value: dict[str, str], *, on: Call | None = None) -> dict[str, Any]:
        """A click or form submit; `on` is the bot's message it was made on."""
        data = self.activity("personal_card_submit", value=value)
        if on is not None:
            data["replyToId"] = on.new_id
        else:
            data.pop("replyToId", None)
        return data

    def mention(self, text: str, channel: str = GENERAL) -> dict[str, Any]:
        data = self.activity("channel_mention", text=f"<at>Can I share?</at> {text}\n")
        data["conversation"]["id"] = f"{channel};messageid={data['id']}"
        data["channelData"]["channel"]["id"] = channel
        return data

    def team_install(self) -> dict[str, Any]:
        return self.activity("team_install")

    def lead_click(
        self, escalation_id: str, card_id: str, *, lead: str = "Lee Lead"
    ) -> dict[str, Any]:
        data = self.activity("leads_card_submit", value={"q": "claim", "a": escalation_id})
        data["replyToId"] = card_id
        data["conversation"]["id"] = f"{LEADS};messageid={card_id}"
        data["from"]["name"] = lead
        data["from"]["aadObjectId"] = f"aad-{lead.lower().replace(' ', '-')}"
        return data


@pytest.fixture(scope="session")
def core() -> Core:
    return build_core(load_settings(environ={}, dotenv=None))


@pytest.fixture
async def connector() -> AsyncIterator[FakeConnector]:
    fake = FakeConnector()
    fake.team_channels[GENERAL] = [
        {"id": GENERAL, "name": None},
        {"id": RECORD, "name": "Decision records"},
        {"id": LEADS, "name": "Safeguarding leads"},
    ]
    await fake.start()
    yield fake
    await fake.stop()


StartTeams = Callable[..., Awaitable[Teams]]


async def start_with(core: Core, settings: Settings, connector: FakeConnector) -> Teams:
    """A real server for this core and these settings on a loopback port (stop it after)."""
    bot = Bot(core.conversation, await open_store(settings), settings)
    app = await build_server(settings, bot)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    sock = loopback_socket()
    await web.SockSite(runner, sock).start()
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    return Teams(url, bot, app, runner, connector, session)


@pytest.fixture
async def start_teams(
    tmp_path: Path, core: Core, connector: FakeConnector
) -> AsyncIterator[StartTeams]:
    """Start a server (several may run one after another on the same database)."""
    running: list[Teams] = []

    async def start(**env: str) -> Teams:
        environ = {
            "CANISHARE_DB_URL": f"sqlite:///{tmp_path / 'canishare.db'}",
            "CANISHARE_TEAMS_DEV": "1",  # the fake connector is on loopback
            "CANISHARE_TEAMS_RECORD_CONVERSATION": RECORD,
            "CANISHARE_TEAMS_LEADS_CONVERSATION": LEADS,
            **env,
        }
        teams = await start_with(core, load_settings(environ=environ, dotenv=None), connector)
        running.append(teams)
        return teams

    yield start
    for teams in reversed(running):
        if not teams.session.closed:
            await teams.stop()


@pytest.fixture
async def teams(start_teams: StartTeams) -> Teams:
    return await start_teams()
