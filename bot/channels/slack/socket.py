"""Socket Mode: the same Slack listeners over a WebSocket, for workspaces without a public URL.

The HTTP server still runs (for `GET /healthz`, Teams and the outbox deliverer); only the way
Slack's requests arrive changes. While Slack cannot be reached the connection is tried again
with backoff, one log line per attempt; a refused app token stops start-up with one line.
The server itself is built by the caller (`bot.server`), so this module never imports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError

from bot.channels.slack.api import api_error, describe_outage, is_transient
from bot.channels.slack.channel import SLACK_CHANNEL_KEY, SlackChannel
from bot.service import Bot
from bot.settings import Settings, StartupError

log = logging.getLogger("canishare.slack")
BuildServer = Callable[[Settings, Bot | None], Awaitable[web.Application]]
# serves a set-up runner (behind the server's connection guard) and returns what to close
Listen = Callable[[web.AppRunner], Awaitable[list[asyncio.AbstractServer]]]
FIRST_RETRY_SECONDS: Final = 1.0
MAX_RETRY_SECONDS: Final = 60.0


class SocketModeError(StartupError):
    """Socket Mode cannot start; the message says which setting to fix (like every start-up
    failure: one line on standard error, exit status 2)."""


@dataclass
class SocketModeServer:
    """A running server plus its Socket Mode connection; `stop()` closes both."""

    app: web.Application
    runner: web.AppRunner
    handler: AsyncSocketModeHandler
    port: int
    listening: tuple[asyncio.AbstractServer, ...] = ()

    @property
    def channel(self) -> SlackChannel:
        return self.app[SLACK_CHANNEL_KEY]

    async def stop(self) -> None:
        await self.handler.close_async()  # type: ignore[no-untyped-call]
        for each in self.listening:
            each.close()
        await self.runner.cleanup()


async def start_socket_mode(
    settings: Settings,
    bot: Bot | None = None,
    *,
    build: BuildServer,
    port: int | None = None,
    first_retry: float = FIRST_RETRY_SECONDS,
    listen: Listen | None = None,
) -> SocketModeServer:
    """Start the HTTP server (health, deliverer) and connect to Slack over Socket Mode,
    trying again with backoff for as long as Slack cannot be reached. `canishare serve` passes
    `listen`, so the server has the same connection limit and timeouts as in HTTP mode."""
    app = await build(settings, bot)
    if SLACK_CHANNEL_KEY not in app:
        raise SocketModeError("Socket Mode needs SLACK_BOT_TOKEN as well as SLACK_APP_TOKEN")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    listening: list[asyncio.AbstractServer] = []
    try:
        if listen is not None:
            listening = await listen(runner)
        else:
            site = web.TCPSite(runner, settings.host, settings.port if port is None else port)
            await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1] if runner.addresses and not listening else settings.port
    channel = app[SLACK_CHANNEL_KEY]
    handler = AsyncSocketModeHandler(
        channel.app,
        settings.slack_app_token,
        logger=logging.getLogger("canishare.slack.socket"),
        web_client=channel.client,
    )
    channel.mode = "socket"
    try:
        await connect(handler, channel, settings, first_retry=first_retry)
    except BaseException:
        await handler.close_async()  # type: ignore[no-untyped-call]
        for each in listening:
            each.close()
        await runner.cleanup()
        raise
    log.info(
        "connected to Slack in Socket Mode; health checks on http://%s:%s", settings.host, bound
    )
    return SocketModeServer(app, runner, handler, int(bound), tuple(listening))


async def connect(
    handler: AsyncSocketModeHandler,
    channel: SlackChannel,
    settings: Settings,
    *,
    first_retry: float = FIRST_RETRY_SECONDS,
) -> None:
    """Connect, retrying an unreachable or failing Slack with capped exponential backoff."""
    attempt = 0
    while True:
        attempt += 1
        try:
            await check_app_token(channel, settings)
            await handler.connect_async()  # type: ignore[no-untyped-call]
            return
        except SocketModeError:
            raise
        except (SlackApiError, aiohttp.ClientError, TimeoutError, OSError) as exc:
            reason = api_error(exc) if isinstance(exc, SlackApiError) else describe_outage(exc)
            wait = min(MAX_RETRY_SECONDS, first_retry * 2 ** (attempt - 1))
            wait *= 0.75 + random.random() / 2
            log.warning(
                "Socket Mode: could not connect to Slack (%s), attempt %d; trying again in %.1f s",
                reason,
                attempt,
                wait,
            )
            await asyncio.sleep(wait)


async def check_app_token(channel: SlackChannel, settings: Settings) -> None:
    """Fail fast with one clear line (the SDK would otherwise retry a bad token forever)."""
    try:
        await channel.single_try_client.apps_connections_open(app_token=settings.slack_app_token)
    except SlackApiError as exc:
        if is_transient(exc):
            raise
        raise SocketModeError(
            f"SLACK_APP_TOKEN was refused by Slack ({api_error(exc)}): it must be an app-level "
            "token with the connections:write scope, and Socket Mode must be on for the app"
        ) from exc


async def run_socket_mode(
    settings: Settings, build: BuildServer, listen: Listen | None = None
) -> int:
    """`canishare serve` with SLACK_APP_TOKEN set: run until SIGINT or SIGTERM (which also
    ends the wait while Slack is unreachable)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    starting = asyncio.create_task(start_socket_mode(settings, build=build, listen=listen))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        return 0
    stopping.cancel()
    server = starting.result()  # a SocketModeError goes up to the command line's one line
    try:
        await stop.wait()
    finally:
        await server.stop()
    return 0
