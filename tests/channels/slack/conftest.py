"""The real server on a loopback port, a fake Slack Web API, and signed Slack requests.

The background deliverer loop is replaced by an idle coroutine so a test decides when the
outbox runs (`await slack.deliver()`, i.e. `app[DELIVERER_KEY].run_once()`), and the bot's
clock is a fake the test can move forward to make rescheduled deliveries due.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import importlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web

from bot import server
from bot.app import Core, build_core, open_store
from bot.channels.slack.channel import SLACK_CHANNEL_KEY, SlackChannel
from bot.records.deliver import Deliverer
from bot.server import DELIVERER_KEY, build_server
from bot.service import Bot
from bot.settings import Settings, load_settings
from tests.fakes.slack_api import TEAM, FakeSlack

PAYLOADS = Path(__file__).resolve().parents[2] / "payloads" / "slack"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
USER = "U0USER001"
DM = f"D{USER}"
LEAD_1 = "U0LEAD0001"
LEAD_2 = "U0LEAD0002"
RECORD_CHANNEL = "C0RECORD01"
LEADS_CHANNEL = "C0LEADS001"
PUBLIC_CHANNEL = "C0GENERAL1"


def payload(name: str) -> dict[str, Any]:
    """A fresh copy of a documented-shape payload from tests/payloads/slack/."""
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def signature(body: str, timestamp: str, secret: str = SECRET) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class Clock:
    """The bot's clock; `advance` makes rescheduled deliveries due without sleeping."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def _idle(self: Deliverer, poll_seconds: float = 2.0) -> None:
    await asyncio.Event().wait()  # cancelled at shutdown; tests call run_once themselves


@dataclass
class SlackHarness:
    fake: FakeSlack
    app: web.Application
    bot: Bot
    clock: Clock
    url: str
    http: aiohttp.ClientSession
    _events: int = field(default=0)
    _interactions: int = field(default=0)

    def next_trigger(self) -> str:
        """A fresh trigger id, as Slack gives every real interaction its own."""
        self._interactions += 1
        n = self._interactions
        return f"1232142342{n}.333649436676.d8c1bb837935619ccad0f624c448f{n:03d}"

    @property
    def channel(self) -> SlackChannel:
        return self.app[SLACK_CHANNEL_KEY]

    # ------------------------------------------------------------------ requests
    async def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: str | None = None,
        secret: str = SECRET,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str, dict[str, str]]:
        stamp = timestamp if timestamp is not None else str(int(time.time()))
        sent = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": signature(body, stamp, secret),
            **(headers or {}),
        }
        async with self.http.post(self.url, data=body.encode(), headers=sent) as resp:
            return resp.status, await resp.text(), dict(resp.headers)

    async def event(self, body: dict[str, Any], *, retry: int | None = None) -> int:
        """Send an Events API callback (optionally as Slack's retry) and let the turn finish."""
        headers = {}
        if retry is not None:
            headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        status, _, _ = await self.post(json.dumps(body), "application/json", headers=headers)
        await self.settle()
        return status

    async def dm(self, text: str) -> int:
        """The person types `text` in their DM with the bot."""
        self._events += 1
        body = payload("event_message_im")
        body["event"]["text"] = text
        body["event_id"] = f"Ev0DM{self._events:06d}"
        return await self.event(body)

    async def command(self, name: str, text: str | None = None, **fields: str) -> tuple[int, str]:
        data = payload(name)
        if text is not None:
            data["text"] = text
        data.update(fields)
        status, body, _ = await self.post(urlencode(data), "application/x-www-form-urlencoded")
        await self.settle()
        return status, body

    async def interact(self, data: dict[str, Any], *, settle: bool = True) -> tuple[int, str]:
        form = urlencode({"payload": json.dumps(data)})
        status, body, _ = await self.post(form, "application/x-www-form-urlencoded")
        if settle:
            await self.settle()
        return status, body

    async def click(
        self,
        q: str,
        a: str,
        *,
        user: str = USER,
        name: str = "sam.lee",
        channel: str = DM,
        trigger_id: str | None = None,
        action_id: str | None = None,
        settle: bool = True,
    ) -> tuple[int, str]:
        """Click the button carrying {"q": q, "a": a} on the newest message in `channel` that
        has one (as Slack sends it: that message's ts and blocks), else a button from nowhere."""
        data = self.click_payload(q, a, user=user, name=name, channel=channel)
        if trigger_id is not None:
            data["trigger_id"] = trigger_id
        if action_id is not None:
            data["actions"][0]["action_id"] = action_id
        return await self.interact(data, settle=settle)

    def click_payload(
        self, q: str, a: str, *, user: str = USER, name: str = "sam.lee", channel: str = DM
    ) -> dict[str, Any]:
        data = payload("block_actions")
        data["user"].update(id=user, username=name, name=name)
        data["container"]["channel_id"] = channel
        data["channel"] = {"id": channel, "name": "directmessage" if channel[0] == "D" else "leads"}
        data["trigger_id"] = self.next_trigger()
        value = json.dumps({"q": q, "a": a})
        data["actions"][0].update(value=value, action_ts=f"1700000100.{self._interactions:06d}")
        for message in reversed(self.fake.posted(channel)):
            button = button_with(message.get("blocks") or [], q, a)
            if button is not None:
                data["container"]["message_ts"] = message["ts"]
                data["message"] = {k: v for k, v in message.items() if k != "metadata"}
                data["actions"][0].update(
                    action_id=button["action_id"], value=button["value"], text=button["text"]
                )
                break
        return data

    async def submit(self, values: dict[str, str], *, opened: int = -1) -> tuple[int, str]:
        """Submit the record modal the bot opened (the `opened`-th views.open), filled in."""
        return await self.interact(self.submission(values, opened=opened))

    def submission(self, values: dict[str, str], *, opened: int = -1) -> dict[str, Any]:
        """The view_submission payload Slack sends for the opened modal, filled in."""
        view = [v for v in self.fake.views if v["kind"] == "open"][opened]["view"]
        data = payload("view_submission")
        data["trigger_id"] = self.next_trigger()
        data["view"].update(
            blocks=view["blocks"],
            private_metadata=view["private_metadata"],
            callback_id=view["callback_id"],
        )
        state: dict[str, Any] = {}
        for block in view["blocks"]:
            if block["type"] != "input":
                continue
            element = block["element"]
            value = values.get(block["block_id"], element.get("initial_value", ""))
            if element["type"] == "static_select":
                chosen = values.get(block["block_id"]) or (element.get("initial_option") or {}).get(
                    "value"
                )
                option = next((o for o in element["options"] if o["value"] == chosen), None)
                state[block["block_id"]] = {
                    "value": {"type": "static_select", "selected_option": option}
                }
            else:
                state[block["block_id"]] = {"value": {"type": "plain_text_input", "value": value}}
        data["view"]["state"] = {"values": state}
        return data

    # ------------------------------------------------------------------ waiting and the outbox
    async def settle(self) -> None:
        """Wait (bounded) for the turns the last request scheduled."""
        await self.channel.drain(5.0)

    async def deliver(self) -> int:
        return await self.app[DELIVERER_KEY].run_once()

    # ------------------------------------------------------------------ what the person saw
    def dm_texts(self) -> list[str]:
        return self.fake.texts(DM)

    def last_dm_buttons(self) -> list[dict[str, Any]]:
        blocks = self.fake.posted(DM)[-1]["blocks"]
        return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def button_with(blocks: list[dict[str, Any]], q: str, a: str) -> dict[str, Any] | None:
    """The button among `blocks` whose value is {"q": q, "a": a}."""
    for block in blocks:
        for element in block.get("elements") or [] if block.get("type") == "actions" else []:
            try:
                value = json.loads(element.get("value") or "null")
            except ValueError:
                continue
            if value == {"q": q, "a": a}:
                return dict(element)
    return None


def environment(fake: FakeSlack, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "CANISHARE_DB_URL": f"sqlite:///{tmp_path}/t.db",
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "CANISHARE_RECORD_CHANNEL": RECORD_CHANNEL,
        "CANISHARE_LEADS_CHANNEL": LEADS_CHANNEL,
        **extra,
    }


@pytest.fixture(scope="session")
def core() -> Core:
    return build_core(load_settings(environ={}, dotenv=None))


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(private_channels={RECORD_CHANNEL, LEADS_CHANNEL})
    await fake.start()
    yield fake
    await fake.stop()


def _slack_only(bot: Bot, settings: Settings, deliverer: Deliverer) -> list[Any]:
    return [SlackChannel(bot, settings, wake=deliverer.wake)]


def _teams_importable() -> bool:
    try:
        importlib.import_module("bot.channels.teams.channel")
    except ImportError:
        return False
    return True


def quiet_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """No background deliverer (tests run it); Slack's tests never depend on Teams' state."""
    monkeypatch.setattr(Deliverer, "run_forever", _idle)
    if not _teams_importable():
        monkeypatch.setattr(server, "build_channels", _slack_only)


async def start_harness(
    settings: Settings, core: Core, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> tuple[SlackHarness, web.AppRunner]:
    quiet_server(monkeypatch)
    clock = Clock()
    bot = Bot(core.conversation, await open_store(settings), settings, clock=clock)
    app = await build_server(settings, bot)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.startup_calls = list(fake.calls)  # the record channel check; tests look at what follows
    fake.calls.clear()
    http = aiohttp.ClientSession()
    harness = SlackHarness(fake, app, bot, clock, f"http://127.0.0.1:{port}/slack/events", http)
    return harness, runner


@pytest.fixture
async def slack(
    tmp_path: Path, core: Core, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SlackHarness]:
    settings = load_settings(environ=environment(fake_slack, tmp_path), dotenv=None)
    harness, runner = await start_harness(settings, core, fake_slack, monkeypatch)
    yield harness
    await harness.http.close()
    await runner.cleanup()


__all__ = ["DM", "TEAM", "SlackHarness", "payload"]
