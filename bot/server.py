"""`canishare serve`: one aiohttp server for Slack (`POST /slack/events`), Teams
(`POST /api/messages`) and health checks (`GET /healthz`), plus the outbox deliverer and the
retention sweeper running in the background.

What arrives is bounded before any handler sees it: a compressed body is refused (415) before
any signature work, a request must send its headers within `CANISHARE_HEADER_TIMEOUT_SECONDS`
and its body within `CANISHARE_BODY_TIMEOUT_SECONDS`, and at most `CANISHARE_MAX_CONNECTIONS`
connections are open at once (kept below the file-descriptor limit). Every failure is one log
line: an aborted upload, a malformed request or running out of file descriptors never write a
traceback, and a failure to start names its cause in one line (exit status 2).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import resource
import signal
import socket
import traceback
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from bot.app import build_core, open_store
from bot.channels.base import Channel
from bot.core.conversation import new_id
from bot.records.db import StoreUnavailable, describe_store_error, safe_url
from bot.records.deliver import Deliverer
from bot.report.gaps import purge_kept_questions
from bot.report.summary import post_monthly_summary
from bot.service import Bot, utcnow
from bot.settings import Settings, StartupError

log = logging.getLogger("canishare")
BOT_KEY: web.AppKey[Bot] = web.AppKey("bot", Bot)
DELIVERER_KEY: web.AppKey[Deliverer] = web.AppKey("deliverer", Deliverer)
SWEEP_SECONDS = 600.0
MAX_BODY_BYTES: Final = 1024 * 1024
WEBHOOKS: Final = frozenset({"/slack/events", "/api/messages"})
FD_RESERVE: Final = 128  # descriptors kept back for the store, outbound HTTP and logs
EXHAUSTION_SUMMARY_SECONDS: Final = 60.0
PACKAGED_ORGANISATION: Final = Path(__file__).parent / "knowledge" / "organisation.yaml"


# ---------------------------------------------------------------------- /healthz
async def healthz(request: web.Request) -> web.Response:
    """200 while the store reads and writes, whatever Slack or Teams are doing (a load balancer
    must not take a replica out for a platform outage); 503 when the store does not answer.
    Each configured platform's state and the undelivered counts are in the body."""
    bot = request.app[BOT_KEY]
    platforms = {c.name: _platform_health(c) for c in request.app.get(CHANNELS_KEY, [])}
    body: dict[str, Any] = {
        "store": bot.store.dialect,
        "knowledge": bot.conversation.knowledge.kb.version,
        "platforms": platforms,
    }
    problem = await _store_problem(bot, request.app[DELIVERER_KEY].worker)
    try:
        counts = await bot.store.delivery_counts()
    except StoreUnavailable as exc:
        problem = problem or str(exc)
    if problem is not None:
        body.update(status="unhealthy", store_error=problem)
        return web.json_response(body, status=503)
    body.update(
        status="ok" if all(p.get("state") == "ok" for p in platforms.values()) else "degraded",
        undelivered=sum(counts.values()),
        deliveries=counts,
    )
    return web.json_response(body)


async def _store_problem(bot: Bot, worker: str) -> str | None:
    """Why the store cannot take a turn now, or None: a write probe, and any write a turn
    could not make in the last minute (a full disk can let a small probe through)."""
    try:
        await bot.store.check_writable(worker, now=bot.clock())
    except StoreUnavailable as exc:
        return str(exc)
    return bot.store_health.problem(bot.clock())


def _platform_health(channel: Channel) -> dict[str, Any]:
    try:
        return dict(channel.health())
    except Exception as exc:  # a health report must never take /healthz down with it
        return {"state": "unknown", "error": f"{type(exc).__name__}: {exc}"[:200]}


# ---------------------------------------------------------------------- the guard
@web.middleware
async def guard_requests(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Before any handler: refuse compressed webhook bodies, read the body within its
    deadline (so no handler waits on a slow sender), and mark the connection busy."""
    guard = request.app.get(GUARD_KEY)
    if request.method == "POST" and request.path in WEBHOOKS:
        refused = _refuse_encoding(request)
        if refused is not None:
            return refused
    with guard.busy(request.protocol) if guard is not None else contextlib.nullcontext():
        if request.body_exists:
            failed = await _read_body(request)
            if failed is not None:
                return failed
        try:
            return await handler(request)
        except StoreUnavailable as exc:  # a channel touched the store outside a turn
            log.error("request to %s: the store said: %s", request.path, exc)
            return web.json_response(
                {"error": "the store is unavailable; please try again"}, status=503
            )


def _refuse_encoding(request: web.Request) -> web.Response | None:
    """Compressed bodies would be inflated on the event loop (a 1 MiB gzip body stalled every
    request for seconds): Slack and Teams never compress, so refuse them outright."""
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    transfer = [t.strip().lower() for t in request.headers.get("Transfer-Encoding", "").split(",")]
    if (encoding and encoding != "identity") or any(t not in ("", "chunked") for t in transfer):
        return web.json_response(
            {"error": "compressed request bodies are not accepted: send it uncompressed"},
            status=415,
            headers={"Connection": "close"},
        )
    return None


async def _read_body(request: web.Request) -> web.Response | None:
    """Read (and cache) the body within the deadline; None when it arrived whole."""
    timeout = request.app[TIMEOUTS_KEY][1]
    try:
        async with asyncio.timeout(timeout):
            await request.read()
    except TimeoutError:
        log.info(
            "request to %s: the body did not arrive within %g s; refused", request.path, timeout
        )
        return web.json_response(
            {"error": "the request body took too long to arrive"},
            status=408,
            headers={"Connection": "close"},
        )
    except web.HTTPRequestEntityTooLarge:
        return web.json_response(
            {"error": f"the request body is larger than {MAX_BODY_BYTES} bytes"}, status=413
        )
    except Exception as exc:
        # the client went away mid-upload, or sent a body that does not parse as HTTP
        # (aiohttp raises ConnectionResetError, its payload errors or ValueError for these)
        log.info("request to %s: the body could not be read (%s)", request.path, _short(exc))
        return web.json_response({"error": "the request body could not be read"}, status=400)
    return None


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


class _Refused(asyncio.Protocol):
    """A connection over the cap: answered 503 and closed at once (it costs one descriptor for
    a moment, never a handler)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if isinstance(transport, asyncio.WriteTransport):
            transport.write(
                b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
                b"Content-Length: 0\r\n\r\n"
            )
        transport.close()


class ConnectionGuard:
    """Keeps the number of open connections under `limit`. When full, the connection that
    has been idle longest (or has not finished sending its headers) makes room for the new
    one; only when every connection is busy with a request is the new one refused."""

    def __init__(self, server: web.Server, limit: int) -> None:
        self.server = server
        self.limit = limit
        self.evicted = 0
        self.refused = 0
        self._busy: dict[RequestHandler, int] = {}
        self._since: dict[RequestHandler, float] = {}
        self._closing: set[RequestHandler] = set()
        self._last_warning = -EXHAUSTION_SUMMARY_SECONDS

    def protocol(self) -> asyncio.BaseProtocol:
        """The protocol factory for `loop.create_server`."""
        now = asyncio.get_running_loop().time()
        live = self.server.connections
        self._forget_closed(live)
        if len(live) - len(self._closing) >= self.limit and not self._make_room(live):
            self.refused += 1
            self._warn(now, "all connections are busy; a new one was refused")
            return _Refused()
        handler = self.server()
        self._since[handler] = now
        return handler

    @contextlib.contextmanager
    def busy(self, handler: Any) -> Iterator[None]:
        """Mark a connection as serving a request (it is then never evicted)."""
        self._busy[handler] = self._busy.get(handler, 0) + 1
        try:
            yield
        finally:
            left = self._busy.pop(handler, 1) - 1
            if left > 0:
                self._busy[handler] = left
            with contextlib.suppress(RuntimeError):
                self._since[handler] = asyncio.get_running_loop().time()

    def _make_room(self, live: Sequence[RequestHandler]) -> bool:
        idle = [h for h in live if h not in self._busy and h not in self._closing]
        if not idle:
            return False
        oldest = min(idle, key=lambda h: self._since.get(h, 0.0))
        self._closing.add(oldest)
        oldest.force_close()
        if oldest.transport is not None:
            oldest.transport.close()
        self.evicted += 1
        self._warn(
            asyncio.get_running_loop().time(),
            "the connection limit was reached; idle or slow connections are being closed",
        )
        return True

    def _forget_closed(self, live: Sequence[RequestHandler]) -> None:
        if len(self._since) > 2 * self.limit or self._closing:
            alive = set(live)
            self._since = {h: t for h, t in self._since.items() if h in alive}
            self._closing &= alive

    def _warn(self, now: float, what: str) -> None:
        """One line a minute at most, however many connections are turned away."""
        if now - self._last_warning >= EXHAUSTION_SUMMARY_SECONDS:
            self._last_warning = now
            log.warning(
                "%s (limit %d; so far %d closed to make room, %d refused)",
                what,
                self.limit,
                self.evicted,
                self.refused,
            )


GUARD_KEY: web.AppKey[ConnectionGuard] = web.AppKey("guard", ConnectionGuard)
TIMEOUTS_KEY: web.AppKey[tuple[float, float]] = web.AppKey("timeouts", tuple)
CHANNELS_KEY: web.AppKey[list[Channel]] = web.AppKey("channels", list)


def connection_limit(settings: Settings) -> int:
    """`CANISHARE_MAX_CONNECTIONS`, but always below the file-descriptor limit (raised to the
    hard limit first), so accept() never runs out of descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    room = max(8, min(soft - FD_RESERVE, soft * 3 // 4))
    return min(settings.max_connections, room)


# ---------------------------------------------------------------------- logging
class OneLineFormatter(logging.Formatter):
    """Log records as single lines: an exception is its type, message and where it was
    raised, never a traceback (unless CANISHARE_DEBUG=1)."""

    def __init__(self, *, tracebacks: bool = False) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.tracebacks = tracebacks

    def formatException(self, ei: Any) -> str:
        if self.tracebacks:
            return super().formatException(ei)
        _, exc, tb = ei
        where = ""
        if tb is not None:
            frame = traceback.extract_tb(tb)[-1]
            where = f" (at {Path(frame.filename).name}:{frame.lineno})"
        return f"    {_short(exc)}{where}" if exc is not None else ""

    def formatStack(self, stack_info: str) -> str:
        return super().formatStack(stack_info) if self.tracebacks else ""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if self.tracebacks else text.replace("\n", " ")


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter(tracebacks=settings.debug))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


class LoopErrors:
    """The event loop's exception handler: running out of file descriptors in accept() is
    logged once (then a count once a minute), not once per try; anything else is one line."""

    def __init__(self) -> None:
        self.exhausted = 0
        self._last = -EXHAUSTION_SUMMARY_SECONDS

    def __call__(self, loop: asyncio.AbstractEventLoop, context: Mapping[str, Any]) -> None:
        message = str(context.get("message", "event loop error"))
        exc = context.get("exception")
        # after accept() runs out, asyncio retries listening once per failed accept; the
        # retries that fire after the server closed fail too: all part of the same event
        aftermath = "_start_serving" in message
        if (
            "out of system resource" in message
            or aftermath
            or (
                isinstance(exc, OSError)
                and exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS)
            )
        ):
            self.exhausted += 1
            now = loop.time()
            if now - self._last >= EXHAUSTION_SUMMARY_SECONDS:
                self._last = now
                log.error(
                    "out of file descriptors accepting connections (%s); %d time(s) so far. "
                    "Raise the limit (ulimit -n) or lower CANISHARE_MAX_CONNECTIONS",
                    _short(exc) if isinstance(exc, BaseException) else message,
                    self.exhausted,
                )
            return
        detail = f": {_short(exc)}" if isinstance(exc, BaseException) else ""
        log.error("%s%s", message, detail)


# ---------------------------------------------------------------------- building the server
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
        bot = Bot(build_core(settings).conversation, await open_checked_store(settings), settings)
    app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        middlewares=[guard_requests],
        handler_args={
            # never inflate a body: aiohttp would do it in data_received, on the event loop,
            # before any handler (or our 415) runs
            "auto_decompress": False,
            # the keep-alive timer also closes a connection still waiting for its headers
            # (trickling bytes does not reset it): this is the header deadline
            "keepalive_timeout": settings.header_timeout_seconds,
        },
    )
    app[TIMEOUTS_KEY] = (settings.header_timeout_seconds, settings.body_timeout_seconds)
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
    app[CHANNELS_KEY] = channels
    app.router.add_get("/healthz", healthz)
    tasks: list[asyncio.Task[Any]] = []

    async def on_startup(_: web.Application) -> None:
        say_at_startup(settings, bot.conversation.knowledge.kb.organisation)
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
        except Exception as exc:
            log.warning("retention sweep failed (%s); will try again", _short(exc))
        try:
            if await post_monthly_summary(bot.store, settings, now=bot.clock()):
                log.info("queued last month's summary for the safeguarding leads")
        except Exception as exc:
            log.warning("monthly summary failed (%s); will try again later", _short(exc))
        await asyncio.sleep(SWEEP_SECONDS)


# ---------------------------------------------------------------------- what start-up says
def startup_report(settings: Settings, organisation: str) -> list[str]:
    """What `serve` tells the administrator at start-up: which platforms are on, which
    channels are missing (records then stay in the store), and whether the contacts shown to
    practitioners are the packaged fictional ones."""
    lines: list[str] = []
    if settings.slack_enabled:
        mode = "Socket Mode" if settings.slack_app_token else "HTTP, POST /slack/events"
        lines.append(f"Slack: on ({mode})")
        for name, value, what in (
            ("CANISHARE_RECORD_CHANNEL", settings.record_channel, "decision records"),
            ("CANISHARE_LEADS_CHANNEL", settings.leads_channel, "escalations to the leads"),
        ):
            if not value:
                lines.append(f"Slack: {name} is not set: {what} are saved but not delivered")
    else:
        lines.append("Slack: off (SLACK_BOT_TOKEN is not set)")
    if settings.teams_auth_enabled:
        lines.append(f"Teams: on (POST /api/messages, app id {settings.ms_app_id})")
    elif settings.teams_dev:
        lines.append(
            "Teams: local development (CANISHARE_TEAMS_DEV=1): POST /api/messages has no "
            "authentication and replies only to a loopback serviceUrl"
        )
    else:
        lines.append("Teams: off (MicrosoftAppId is not set; POST /api/messages answers 404)")
    for name, value, what in (
        ("CANISHARE_TEAMS_RECORD_CONVERSATION", settings.teams_record_conversation, "records"),
        ("CANISHARE_TEAMS_LEADS_CONVERSATION", settings.teams_leads_conversation, "escalations"),
    ):
        if settings.teams_auth_enabled and not value:
            lines.append(f"Teams: {name} is not set: {what} from Teams go to Slack or stay saved")
    slack_records = settings.slack_enabled and settings.record_channel
    if not (slack_records or settings.teams_record_conversation):
        lines.append(
            "Records: no record channel is set up, so decision records are kept in the store "
            "only (listed by 'canishare records status')"
        )
    if fictional_contacts(settings, organisation):
        lines.append(
            f"Contacts: the packaged FICTIONAL example contacts are in use ({organisation}); "
            "copy bot/knowledge/organisation.yaml, put in your own and set CANISHARE_ORG_FILE"
        )
    return lines


def say_at_startup(settings: Settings, organisation: str) -> None:
    for line in startup_report(settings, organisation):
        on_or_off = line.startswith(("Slack: on", "Slack: off", "Teams: on"))
        log.log(logging.INFO if on_or_off else logging.WARNING, line)


def fictional_contacts(settings: Settings, organisation: str) -> bool:
    if settings.org_file is None or "not a real organisation" in organisation:
        return True
    try:
        return settings.org_file.read_bytes() == PACKAGED_ORGANISATION.read_bytes()
    except OSError:
        return False


# ---------------------------------------------------------------------- running it
def serve(settings: Settings) -> int:
    configure_logging(settings)
    return asyncio.run(_serve(settings))


async def _serve(settings: Settings) -> int:
    asyncio.get_running_loop().set_exception_handler(LoopErrors())
    if settings.slack_app_token:
        from bot.channels.slack.socket import run_socket_mode

        sockets = bind(settings)  # a taken port is one clear line, before Slack is called

        async def guarded(runner: web.AppRunner) -> list[asyncio.AbstractServer]:
            return await listen(runner, settings, sockets)

        try:
            return await run_socket_mode(settings, build_server, guarded)
        finally:
            for sock in sockets:
                sock.close()
    await _serve_http(settings)
    return 0


async def open_checked_store(settings: Settings) -> Any:
    """The store, opened and migrated, and proven writable (one clear line if it is not)."""
    try:
        store = await open_store(settings)
    except StoreUnavailable as exc:
        raise StartupError(f"the store cannot be opened: {exc}") from None
    try:
        await store.check_writable("startup", now=utcnow())
    except StoreUnavailable as exc:
        await store.close()
        raise StartupError(
            f"the store ({safe_url(settings.db_url)}) cannot be written to: "
            f"{describe_store_error(exc)}. Check the file's permissions and the free disk space"
        ) from None
    return store


def bind(settings: Settings) -> list[socket.socket]:
    """Sockets bound to CANISHARE_HOST:CANISHARE_PORT, before anything else starts; a host
    that does not resolve or a port in use is one line naming it."""
    where = f"{settings.host}:{settings.port}"
    try:
        found = socket.getaddrinfo(
            settings.host, settings.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise StartupError(
            f"CANISHARE_HOST {settings.host!r} does not resolve ({exc.strerror})"
        ) from None
    bound: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(
            (f, k, p, "", a) for f, k, p, _, a in found
        ):
            sock = socket.socket(family, kind, proto)
            bound.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError as exc:
        for sock in bound:
            sock.close()
        if exc.errno == errno.EADDRINUSE:
            message = f"{where} is already in use by another program (CANISHARE_PORT)"
        elif exc.errno == errno.EADDRNOTAVAIL:
            message = f"CANISHARE_HOST {settings.host!r} is not an address of this machine"
        elif exc.errno == errno.EACCES:
            message = f"not allowed to listen on {where} (ports below 1024 need privileges)"
        else:
            message = f"cannot listen on {where}: {exc.strerror or exc}"
        raise StartupError(message) from None
    return bound


async def listen(
    runner: web.AppRunner, settings: Settings, sockets: list[socket.socket]
) -> list[asyncio.AbstractServer]:
    """Serve the runner's application on the bound sockets, behind the connection guard."""
    server = runner.server
    assert server is not None
    guard = ConnectionGuard(server, connection_limit(settings))
    runner.app[GUARD_KEY] = guard
    loop = asyncio.get_running_loop()
    listening: list[asyncio.AbstractServer] = [
        await loop.create_server(guard.protocol, sock=sock, backlog=1024) for sock in sockets
    ]
    log.info(
        "listening on http://%s:%s (up to %d connections; headers within %g s, bodies within %g s)",
        settings.host,
        settings.port,
        guard.limit,
        settings.header_timeout_seconds,
        settings.body_timeout_seconds,
    )
    return listening


async def _serve_http(settings: Settings) -> None:
    core = build_core(settings)
    sockets = bind(settings)
    try:
        store = await open_checked_store(settings)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    app = await build_server(settings, Bot(core.conversation, store, settings))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        listening = await listen(runner, settings, sockets)
    except BaseException:
        await runner.cleanup()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for each in listening:
        each.close()
    await runner.cleanup()
