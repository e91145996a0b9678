"""`canishare serve`: one aiohttp server for Slack (`POST /slack/events`), Teams
(`POST /api/messages`) and health checks (`GET /healthz`), plus the outbox deliverer and the
retention sweeper running in the background."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.app import build_core, open_store
from bot.channels.base import Channel
from bot.core.conversation import new_id
from bot.records.deliver import Deliverer
from bot.report.gaps import purge_kept_questions
from bot.report.summary import post_monthly_summary
from bot.service import Bot, utcnow
from bot.settings import Settings

log = logging.getLogger("canishare")
BOT_KEY: web.AppKey[Bot] = web.AppKey("bot", Bot)
DELIVERER_KEY: web.AppKey[Deliverer] = web.AppKey("deliverer", Deliverer)
SWEEP_SECONDS = 600.0


async def healthz(request: web.Request) -> web.Response:
    bot = request.app[BOT_KEY]
    try:
        await bot.store.load_state("healthz")
    except Exception as exc:  # the store is what matters: a replica without it is not healthy
        return web.json_response({"status": "unhealthy", "store": str(exc)[:200]}, status=503)
    return web.json_response(
        {
            "status": "ok",
            "store": bot.store.dialect,
            "knowledge": bot.conversation.knowledge.kb.version,
        }
    )


def build_channels(bot: Bot, settings: Settings, deliverer: Deliverer) -> list[Channel]:
    """Slack when a bot token is set; Teams when `MicrosoftAppId` is set, or unauthenticated
    with `CANISHARE_TEAMS_DEV=1` for local development (otherwise `/api/messages` is a 404)."""
    channels: list[Channel] = []
    if settings.slack_enabled:
        from bot.channels.slack.channel import SlackChannel

        channels.append(SlackChannel(bot, settings, wake=deliverer.wake))
    if settings.teams_enabled:
        from bot.channels.teams.channel import TeamsChannel

        channels.append(TeamsChannel(bot, settings, wake=deliverer.wake))
    return channels


async def build_server(settings: Settings, bot: Bot | None = None) -> web.Application:
    """The whole server, ready to run (tests start it on a loopback port)."""
    if bot is None:
        bot = Bot(build_core(settings).conversation, await open_store(settings), settings)
    app = web.Application(client_max_size=1024 * 1024)
    deliverer = Deliverer(
        bot.store,
        {},
        bot.clock,
        alert_after=timedelta(minutes=settings.undelivered_alert_minutes),
        lease_seconds=settings.delivery_lease_seconds,
    )
    channels = build_channels(bot, settings, deliverer)
    for channel in channels:
        if channel.sender is not None:
            deliverer.senders[channel.name] = channel.sender
        channel.add_routes(app)
    app[BOT_KEY] = bot
    app[DELIVERER_KEY] = deliverer
    app.router.add_get("/healthz", healthz)
    tasks: list[asyncio.Task[Any]] = []

    async def on_startup(_: web.Application) -> None:
        for channel in channels:
            await channel.startup()
        tasks.append(asyncio.create_task(deliverer.run_forever(), name="deliverer"))
        tasks.append(asyncio.create_task(sweep(bot, settings), name="sweeper"))

    async def on_cleanup(_: web.Application) -> None:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for channel in channels:
            await channel.shutdown()
        await bot.store.close()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


async def sweep(bot: Bot, settings: Settings) -> None:
    """Purge idle dialog state, records past retention and kept unanswered questions past
    theirs, and queue last month's summary for the leads (once, across replicas),
    periodically."""
    while True:
        try:
            now = utcnow()
            await bot.store.purge_idle(before=now - timedelta(hours=settings.idle_hours))
            await bot.store.purge_records(
                before=now - timedelta(days=settings.retention_days), now=now, purge_id=new_id("P")
            )
            await purge_kept_questions(bot.store, settings, now=now)
        except Exception:
            log.exception("retention sweep failed; will try again")
        try:
            if await post_monthly_summary(bot.store, settings, now=bot.clock()):
                log.info("queued last month's summary for the safeguarding leads")
        except Exception:
            log.exception("monthly summary failed; will try again at the next sweep")
        await asyncio.sleep(SWEEP_SECONDS)


def serve(settings: Settings) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if settings.slack_app_token:
        from bot.channels.slack.socket import run_socket_mode

        return asyncio.run(run_socket_mode(settings, build_server))
    asyncio.run(_serve_http(settings))
    return 0


async def _serve_http(settings: Settings) -> None:
    app = await build_server(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    log.info("listening on http://%s:%s", settings.host, settings.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
