"""The framework floor for Slack: a bare slack-bolt AsyncApp echo app, served by aiohttp.

The stock way (bolt's own aiohttp server app, default settings: ack first, listener after),
with one change the platform notes recommend to any app: the AsyncWebClient shares one aiohttp
session instead of opening a new one per call. Run as a script by benchmarks/turn_latency.py:
    python benchmarks/echo_slack.py   (ECHO_PORT, SLACK_API_URL, SLACK_BOT_TOKEN,
                                       SLACK_SIGNING_SECRET in the environment)
"""

from __future__ import annotations

import os
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def build() -> web.Application:
    client = AsyncWebClient(
        token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]
    )
    app = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"])

    @app.event("message")
    async def echo(event: dict[str, Any], say: Any) -> None:
        if event.get("subtype") or event.get("bot_id"):
            return
        await say(text=str(event.get("text") or ""))

    web_app = app.web_app(path="/slack/events")

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def share_session(_: web.Application) -> None:
        client.session = aiohttp.ClientSession()

    async def close_session(_: web.Application) -> None:
        if client.session is not None:
            await client.session.close()

    web_app.router.add_get("/healthz", healthz)
    web_app.on_startup.append(share_session)
    web_app.on_cleanup.append(close_session)
    return web_app


if __name__ == "__main__":
    web.run_app(
        build(), host="127.0.0.1", port=int(os.environ["ECHO_PORT"]), print=None, access_log=None
    )
