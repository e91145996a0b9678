"""Socket Mode: the same Slack listeners over a WebSocket, for workspaces without a public URL.

The HTTP server still runs (for `GET /healthz`, Teams and the outbox deliverer); only the way
Slack's requests arrive changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError

from bot.channels.slack.api import api_error
from bot.channels.slack.channel import SLACK_CHANNEL_KEY, SlackChannel
from bot.server import build_server
from bot.service import Bot
from bot.settings import Settings

log = logging.getLogger("canishare.slack")


class SocketModeError(RuntimeError):
    """Socket Mode cannot start; the message says which setting to fix."""


@dataclass
class SocketModeServer:
    """A running server plus its Socket Mode connection; `stop()` closes both."""

    app: web.Application
    runner: web.AppRunner
    handler: AsyncSocketModeHandler
    port: int

    @property
    def channel(self) -> SlackChannel:
        return self.app[SLACK_CHANNEL_KEY]

    async def stop(self) -> None:
        await self.handler.close_async()  # type: ignore[no-untyped-call]
        await self.runner.cleanup()


async def start_socket_mode(
    settings: Settings, bot: Bot | None = None, *, port: int | None = None
) -> SocketModeServer:
    """Start the HTTP server (health, deliverer) and connect to Slack over Socket Mode."""
    app = await build_server(settings, bot)
    if SLACK_CHANNEL_KEY not in app:
        raise SocketModeError("Socket Mode needs SLACK_BOT_TOKEN as well as SLACK_APP_TOKEN")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port if port is None else port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else settings.port
    channel = app[SLACK_CHANNEL_KEY]
    handler = AsyncSocketModeHandler(
        channel.app,
        settings.slack_app_token,
        logger=logging.getLogger("canishare.slack.socket"),
        web_client=channel.client,
    )
    try:
        await check_app_token(channel, settings)
        await handler.connect_async()  # type: ignore[no-untyped-call]
    except BaseException:
        await handler.close_async()  # type: ignore[no-untyped-call]
        await runner.cleanup()
        raise
    log.info(
        "connected to Slack in Socket Mode; health checks on http://%s:%s", settings.host, bound
    )
    return SocketModeServer(app, runner, handler, int(bound))


async def check_app_token(channel: SlackChannel, settings: Settings) -> None:
    """Fail fast with one clear line (the SDK would otherwise retry a bad token forever)."""
    try:
        await channel.client.apps_connections_open(app_token=settings.slack_app_token)
    except SlackApiError as exc:
        raise SocketModeError(
            f"SLACK_APP_TOKEN was refused by Slack ({api_error(exc)}): it must be an app-level "
            "token with the connections:write scope, and Socket Mode must be on for the app"
        ) from exc


async def run_socket_mode(settings: Settings) -> int:
    """`canishare serve` with SLACK_APP_TOKEN set: run until SIGINT or SIGTERM."""
    try:
        server = await start_socket_mode(settings)
    except SocketModeError as exc:
        log.error("%s", exc)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
    return 0
