"""A fake Bot Framework connector and OpenID metadata service, on 127.0.0.1 only.

`FakeConnector` is what the bot talks to when an activity's `serviceUrl` points at it: it records
every call (replies, proactive posts, updates, conversation creation) and can fail the next N
calls with a 500, a 429 with Retry-After, or a timeout.

`FakeOpenIdMetadata` publishes OpenID metadata and a JWKS for a test signing key, from its own
thread: the SDK fetches it with a blocking call, which would deadlock on the test's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiohttp import web

CARD = "application/vnd.microsoft.card.adaptive"


def loopback_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class Call:
    """One request the bot made to the connector."""

    method: str
    kind: str  # "send" (new message), "reply", "update", "create", "channels"
    conversation_id: str
    activity_id: str  # the replied-to or updated message; the new id for a send
    body: dict[str, Any]
    authorization: str
    new_id: str = ""

    @property
    def cards(self) -> list[dict[str, Any]]:
        return [
            a["content"] for a in self.body.get("attachments") or [] if a.get("contentType") == CARD
        ]

    @property
    def text(self) -> str:
        """Every visible string in the message's cards, one per line."""
        return "\n".join(s for c in self.cards for s in strings(c))

    @property
    def actions(self) -> list[dict[str, Any]]:
        return [a for c in self.cards for a in walk_actions(c)]

    @property
    def choices(self) -> list[dict[str, str]]:
        return [a["data"] for a in self.actions if a.get("type") == "Action.Submit"]


def strings(element: Any) -> Iterator[str]:
    if isinstance(element, dict):
        for key in ("text", "title", "value", "label"):
            if isinstance(element.get(key), str):
                yield element[key]
        for value in element.values():
            if isinstance(value, dict | list):
                yield from strings(value)
    elif isinstance(element, list):
        for item in element:
            yield from strings(item)


def walk_actions(element: Any) -> Iterator[dict[str, Any]]:
    if isinstance(element, dict):
        if str(element.get("type", "")).startswith("Action."):
            yield element
        for value in element.values():
            if isinstance(value, dict | list):
                yield from walk_actions(value)
    elif isinstance(element, list):
        for item in element:
            yield from walk_actions(item)


@dataclass
class Failure:
    status: int | None  # None means: hang past the client's timeout
    retry_after: str | None = None
    delay: float = 0.0
    conversation: str | None = None  # only calls to this conversation (any, when None)


@dataclass
class FakeConnector:
    calls: list[Call] = field(default_factory=list)
    team_channels: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    url: str = ""
    failures: list[Failure] = field(default_factory=list)
    failed: int = 0
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1763640000000))
    _runner: web.AppRunner | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> str:
        app = web.Application()
        base = "/v3/conversations"
        app.router.add_post(base, self._create)
        app.router.add_post(base + "/{conversation}/activities", self._send)
        app.router.add_post(base + "/{conversation}/activities/{activity}", self._reply)
        app.router.add_put(base + "/{conversation}/activities/{activity}", self._update)
        app.router.add_get("/v3/teams/{team}/conversations", self._channels)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = loopback_socket()
        site = web.SockSite(self._runner, sock)
        await site.start()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ control
    def fail_next(
        self,
        count: int,
        *,
        status: int | None = 500,
        retry_after: str | None = None,
        delay: float = 0.0,
        conversation: str | None = None,
    ) -> None:
        """The next `count` calls (to `conversation`, if given) fail: with `status`, or (status
        None) by hanging `delay` seconds."""
        self.failures += [Failure(status, retry_after, delay, conversation) for _ in range(count)]

    def to(self, conversation_id: str, kind: str | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.conversation_id.split(";")[0] == conversation_id.split(";")[0]
            and (kind is None or c.kind == kind)
        ]

    async def wait_for(
        self, found: Callable[[], Any], *, timeout: float = 10.0, what: str = "a call"
    ) -> Any:
        """Wait (bounded) until `found()` returns something truthy, and return it."""
        deadline = time.monotonic() + timeout
        while True:
            result = found()
            if result:
                return result
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what}; calls: {self.summary()}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(left, 0.25))

    def summary(self) -> list[str]:
        return [f"{c.method} {c.kind} {c.conversation_id} {c.activity_id}" for c in self.calls]

    # ------------------------------------------------------------------ handlers
    async def _failure(self, request: web.Request) -> web.Response | None:
        conversation = request.match_info.get("conversation", "").split(";")[0]
        failure = next((f for f in self.failures if f.conversation in (None, conversation)), None)
        if failure is None:
            return None
        self.failures.remove(failure)
        self.failed += 1
        if failure.status is None:
            await asyncio.sleep(failure.delay)
            return web.json_response({"error": {"code": "Timeout"}}, status=504)
        headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
        return web.json_response(
            {"error": {"code": "ServiceError", "message": "fake failure"}},
            status=failure.status,
            headers=headers,
        )

    async def _record(self, request: web.Request, kind: str) -> web.Response:
        failed = await self._failure(request)
        if failed is not None:
            return failed
        body = await request.json() if request.can_read_body else {}
        conversation = request.match_info.get("conversation", "")
        activity = request.match_info.get("activity", "")
        new_id = activity if kind == "update" else str(next(self._ids))
        call = Call(
            method=request.method,
            kind=kind,
            conversation_id=conversation,
            activity_id=activity or new_id,
            body=body,
            authorization=request.headers.get("Authorization", ""),
            new_id=new_id,
        )
        self.calls.append(call)
        self._changed.set()
        return web.json_response({"id": new_id})

    async def _send(self, request: web.Request) -> web.Response:
        return await self._record(request, "send")

    async def _reply(self, request: web.Request) -> web.Response:
        return await self._record(request, "reply")

    async def _update(self, request: web.Request) -> web.Response:
        return await self._record(request, "update")

    async def _create(self, request: web.Request) -> web.Response:
        failed = await self._failure(request)
        if failed is not None:
            return failed
        body = await request.json()
        new_id = f"a:created-{next(self._ids)}"
        self.calls.append(Call("POST", "create", new_id, "", body, ""))
        self._changed.set()
        return web.json_response({"id": new_id, "activityId": ""})

    async def _channels(self, request: web.Request) -> web.Response:
        failed = await self._failure(request)
        if failed is not None:
            return failed
        team = request.match_info["team"]
        self.calls.append(Call("GET", "channels", team, "", {}, ""))
        channels = self.team_channels.get(team, [{"id": team, "name": None}])
        return web.json_response({"conversations": channels})


class FakeOpenIdMetadata:
    """OpenID configuration and JWKS for the Bot Framework's token signer, on its own thread."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.requests = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> str:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the stdlib's naming
                outer.requests += 1
                base = f"http://127.0.0.1:{self.server.server_address[1]}"
                if self.path == "/v1/.well-known/openidconfiguration":
                    body = {
                        "issuer": "https://api.botframework.com",
                        "authorization_endpoint": "https://invalid.botframework.com",
                        "jwks_uri": f"{base}/v1/.well-known/keys",
                        "id_token_signing_alg_values_supported": ["RS256"],
                        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                    }
                elif self.path == "/v1/.well-known/keys":
                    body = outer.jwks
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{port}/v1/.well-known/openidconfiguration"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class FakeManagedIdentity:
    """An Azure App Service managed-identity token endpoint (`IDENTITY_ENDPOINT`), on its own
    thread, so a managed-identity bot gets tokens without any cloud metadata address."""

    HEADER = "fake-identity-header"

    def __init__(self, token: str = "managed-identity-token") -> None:
        self.token = token
        self.requests: list[dict[str, str]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> str:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the stdlib's naming
                from urllib.parse import parse_qsl, urlsplit

                query = dict(parse_qsl(urlsplit(self.path).query))
                query["header"] = self.headers.get("X-IDENTITY-HEADER", "")
                outer.requests.append(query)
                if query["header"] != outer.HEADER:
                    self.send_error(401)
                    return
                body = {
                    "access_token": outer.token,
                    "expires_on": str(int(time.time()) + 3600),
                    "resource": query.get("resource", ""),
                    "token_type": "Bearer",
                    "client_id": query.get("client_id", ""),
                }
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/msi/token"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
