"""A real `canishare serve` process killed with SIGKILL right after acknowledging clicks:
every click Slack was told had arrived is in the store (Slack never sends it again)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

from bot.records.db import open_db
from bot.records.store import Store
from tests.channels.slack.conftest import payload, signature
from tests.fakes.slack_api import FakeSlack
from tests.system.conftest import Replica, free_port, replica_env

CLICKS = 12


def start_click(n: int) -> bytes:
    data = payload("block_actions")
    user = f"U0CRASH{n:03d}"
    data["user"].update(id=user, username=f"user{n}", name=f"user{n}")
    data["container"]["channel_id"] = f"D{user}"
    data["channel"] = {"id": f"D{user}", "name": "directmessage"}
    data["trigger_id"] = f"9{n:04d}.333649436676.crash"
    data["actions"][0].update(value=json.dumps({"q": "menu", "a": "start"}))
    return urlencode({"payload": json.dumps(data)}).encode()


async def send(http: aiohttp.ClientSession, url: str, body: bytes) -> int:
    stamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature(body.decode(), stamp),
    }
    async with http.post(url, data=body, headers=headers) as resp:
        return resp.status


async def test_clicks_acknowledged_before_a_sigkill_are_all_kept(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    db_url = f"sqlite:///{tmp_path}/crash.db"
    replica = Replica(replica_env(fake_slack, db_url, free_port()), 0, tmp_path / "serve.log")
    replica.port = int(replica.env["CANISHARE_PORT"])
    fake_slack.delays["conversations.open"] = 30.0  # every reply is still waiting on Slack
    replica.start()
    try:
        await replica.healthy()
        async with aiohttp.ClientSession() as http:
            url = f"{replica.url}/slack/events"
            statuses = await asyncio.gather(
                *(send(http, url, start_click(n)) for n in range(CLICKS))
            )
        replica.kill()
    finally:
        replica.stop()

    assert statuses == [200] * CLICKS
    store = Store(await open_db(db_url))
    try:
        states = [await store.load_state(f"slack:T0TEAM001:U0CRASH{n:03d}") for n in range(CLICKS)]
    finally:
        await store.close()
    kept = [state for state, _ in states if state is not None and "immediate_danger" in state]
    assert len(kept) == CLICKS
