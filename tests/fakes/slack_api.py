"""A fake Slack Web API on 127.0.0.1 that records every call.

It answers the methods the bot uses (auth.test, chat.*, conversations.*, views.*,
apps.connections.open), keeps posted messages per channel with their metadata, pages
conversations.history with cursors like Slack, can be told to fail the next calls with 429
(Retry-After, fractional too), 5xx or a Slack error code, to hang, or to be unreachable
altogether (`go_down` / `come_back` on the same port), and serves a Socket Mode WebSocket so
the Socket Mode client can be tested end to end.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

BOT_USER = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM = "T0TEAM001"
JSON_FIELDS = ("blocks", "attachments", "metadata", "view")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str


@dataclass
class Failure:
    count: int
    status: int
    retry_after: str | None
    method: str | None
    post_anyway: bool  # do the work, then answer with the failure (a lost response)
    error: str = ""  # Slack's error code for a 200 {"ok": false} answer


@dataclass
class FakeSlack:
    """Start with `await fake.start()`; point SLACK_API_URL at `fake.api_url`."""

    private_channels: set[str] = field(default_factory=set)
    calls: list[Call] = field(default_factory=list)
    startup_calls: list[Call] = field(default_factory=list)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    expired_triggers: set[str] = field(default_factory=set)
    delays: dict[str, float] = field(default_factory=dict)  # seconds to wait before answering
    slow_answers: dict[str, float] = field(default_factory=dict)  # do the work, then wait
    slow_once: dict[str, list[float]] = field(default_factory=dict)  # per call, then none
    auth_error: str = ""  # e.g. "invalid_auth": every call with the bot token is refused
    gates: dict[str, asyncio.Event] = field(default_factory=dict)  # held until released
    bot_name: str = "canishare"

    def __post_init__(self) -> None:
        self._ts = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_connected = asyncio.Event()
        self._released = asyncio.Event()  # set at stop: no hanging answer outlives the fake
        self.port = 0
        self.handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update,
            "conversations.open": self._open,
            "conversations.info": self._info,
            "conversations.history": self._history,
            "views.open": self._views_open,
            "views.publish": self._views_publish,
            "apps.connections.open": self._connections_open,
        }

    # ------------------------------------------------------------------ lifecycle
    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_get("/link", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self._released.clear()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._released.set()
        for ws in self._sockets:
            await ws.close()
        self._sockets.clear()
        self._socket_connected.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def go_down(self) -> None:
        """Slack unreachable: nothing listens on the port any more (connections are refused)."""
        await self.stop()

    async def come_back(self) -> None:
        """Slack reachable again, on the same port (so SLACK_API_URL still points here)."""
        await self.start(self.port)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    # ------------------------------------------------------------------ test controls
    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 429,
        retry_after: str | None = "1",
        method: str | None = "chat.postMessage",
        post_anyway: bool = False,
        error: str = "",
    ) -> None:
        self.failures.append(Failure(count, status, retry_after, method, post_anyway, error))

    def refuse_next(self, error: str, count: int = 1, *, method: str = "chat.postMessage") -> None:
        """Answer the next calls to `method` as Slack answers a refusal: 200 {"ok": false}."""
        self.fail_next(count, status=200, retry_after=None, method=method, error=error)

    def hold(self, method: str) -> None:
        """Calls to `method` wait, unanswered, until `release(method)` (or the fake stops)."""
        self.gates[method] = asyncio.Event()

    def release(self, method: str) -> None:
        gate = self.gates.pop(method, None)
        if gate is not None:
            gate.set()

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def posted(self, channel: str) -> list[dict[str, Any]]:
        return list(self.messages.get(channel, []))

    def texts(self, channel: str) -> list[str]:
        """Every posted message in a channel as one string (fallback text and blocks)."""
        return [
            m["text"] + json.dumps(m.get("blocks") or [], ensure_ascii=False)
            for m in self.posted(channel)
        ]

    async def wait_for(self, check: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Poll `check` until true or the (bounded) timeout passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if check():
                return True
            await asyncio.sleep(0.02)
        return check()

    # ------------------------------------------------------------------ HTTP
    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.calls.append(Call(method, params, token))
        gate = self.gates.get(method)
        if gate is not None:
            await self._until(gate)
        if self.delays.get(method):
            await self._hang(self.delays[method])
        if self.slow_once.get(method):
            await self._hang(self.slow_once[method].pop(0))
        if self.auth_error and method != "apps.connections.open":
            return web.json_response({"ok": False, "error": self.auth_error})
        failure = self._take_failure(method)
        handler = self.handlers.get(method)
        if failure is not None and not failure.post_anyway:
            return _failure_response(failure)
        body = handler(params) if handler else {"ok": False, "error": "unknown_method"}
        if failure is not None:
            return _failure_response(failure)
        if self.slow_answers.get(method):
            await self._hang(self.slow_answers[method])  # the post stands even if no one waits
        return web.json_response(body)

    async def _hang(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._released.wait(), seconds)

    async def _until(self, gate: asyncio.Event) -> None:
        """Wait for the test to open the gate, or for the fake to stop."""
        released = asyncio.ensure_future(self._released.wait())
        opened = asyncio.ensure_future(gate.wait())
        await asyncio.wait({released, opened}, return_when=asyncio.FIRST_COMPLETED)
        for waiting in (released, opened):
            waiting.cancel()

    def _take_failure(self, method: str) -> Failure | None:
        for failure in self.failures:
            if failure.count > 0 and failure.method in (None, method) and method != "auth.test":
                failure.count -= 1
                if failure.count == 0:
                    self.failures.remove(failure)
                return failure
        return None

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"  # as Slack: epoch seconds, unique

    # ------------------------------------------------------------------ methods
    def _auth_test(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://example.slack.com/",
            "team": "Example",
            "user": self.bot_name,
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = str(p.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        message = {
            "type": "message",
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "text": str(p.get("text", "")),
            "blocks": p.get("blocks") or [],
            "ts": self._next_ts(),
        }
        if p.get("metadata"):
            message["metadata"] = p["metadata"]
        self.messages.setdefault(channel, []).append(message)
        public = {k: v for k, v in message.items() if k != "metadata"}
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": public}

    def _post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        ts = self._next_ts()
        self.ephemerals.append({**p, "message_ts": ts})
        return {"ok": True, "message_ts": ts}

    def _update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(p.get("channel", "")), str(p.get("ts", ""))
        for message in self.messages.get(channel, []):
            if message["ts"] == ts:
                message.update(text=str(p.get("text", "")), blocks=p.get("blocks") or [])
                message["edited"] = True
                return {"ok": True, "channel": channel, "ts": ts, "text": message["text"]}
        return {"ok": False, "error": "message_not_found"}

    def _open(self, p: dict[str, Any]) -> dict[str, Any]:
        users = str(p.get("users", ""))
        return {"ok": True, "channel": {"id": f"D{users.split(',')[0]}"}}

    def _info(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = str(p.get("channel", ""))
        private = channel in self.private_channels
        return {
            "ok": True,
            "channel": {
                "id": channel,
                "name": f"chan-{channel.lower()}",
                "is_channel": True,
                "is_group": False,
                "is_private": private,
                "is_archived": False,
            },
        }

    def _history(self, p: dict[str, Any]) -> dict[str, Any]:
        """Newest first, `limit` a page (at most 1,000 as Slack; default 100), after `oldest`;
        the cursor is the offset of the next page."""
        channel = str(p.get("channel", ""))
        limit = min(int(p.get("limit") or 100), 1000)
        metadata = str(p.get("include_all_metadata", "")).lower() in ("1", "true")
        oldest = float(p.get("oldest") or 0)
        start = int(str(p.get("cursor") or "0").removeprefix("page:"))
        newest_first = [
            m for m in reversed(self.messages.get(channel, [])) if float(m["ts"]) > oldest
        ]
        page = newest_first[start : start + limit]
        out = [m if metadata else {k: v for k, v in m.items() if k != "metadata"} for m in page]
        more = start + limit < len(newest_first)
        answer: dict[str, Any] = {"ok": True, "messages": out, "has_more": more}
        if more:
            answer["response_metadata"] = {"next_cursor": f"page:{start + limit}"}
        return answer

    def _views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        if str(p.get("trigger_id")) in self.expired_triggers:
            return {"ok": False, "error": "expired_trigger_id"}
        view = dict(p.get("view") or {})
        self.views.append({"kind": "open", "trigger_id": p.get("trigger_id"), "view": view})
        return {"ok": True, "view": {**view, "id": f"V{len(self.views):07d}"}}

    def _views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        view = dict(p.get("view") or {})
        self.views.append({"kind": "publish", "user_id": p.get("user_id"), "view": view})
        return {"ok": True, "view": {**view, "id": f"V{len(self.views):07d}"}}

    def _connections_open(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link?ticket=t{next(self._ts)}"}

    # ------------------------------------------------------------------ Socket Mode
    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "applink-test", "approximate_connection_time": 18060},
                "connection_info": {"app_id": "A0APP0001"},
            }
        )
        self._socket_connected.set()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                self.socket_acks.append(json.loads(msg.data))
        return ws

    async def socket_send(self, envelope: Mapping[str, Any], timeout: float = 5.0) -> None:
        await asyncio.wait_for(self._socket_connected.wait(), timeout)
        await self._sockets[-1].send_json(dict(envelope))


async def _params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            params.update(await request.json())
        else:
            params.update(dict(await request.post()))
    for name in JSON_FIELDS:
        if isinstance(params.get(name), str):
            with contextlib.suppress(ValueError):
                params[name] = json.loads(params[name])
    return params


def _failure_response(failure: Failure) -> web.Response:
    if failure.error:
        return web.json_response({"ok": False, "error": failure.error}, status=failure.status)
    headers = {"Retry-After": failure.retry_after} if failure.retry_after is not None else {}
    error = "ratelimited" if failure.status == 429 else "internal_error"
    return web.json_response({"ok": False, "error": error}, status=failure.status, headers=headers)
