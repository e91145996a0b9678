"""Shared plumbing for the server benchmarks: processes, fakes that time what they receive,
signed Slack requests, Teams activities, a throw-away PostgreSQL and the store's counts.

Everything listens on 127.0.0.1 only, every wait is bounded, and every process started here is
stopped here. Nothing in tests/ imports this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.bf_connector import FakeConnector
from tests.fakes.slack_api import TEAM, FakeSlack

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SECRET = "bench0signing0secret0123456789ab"
TOKEN = "xoxb-bench-token"
RECORD_CHANNEL = "C0RECORD01"
LEADS_CHANNEL = "C0LEADS001"
TENANT = "6f1c2a57-1d39-4b8e-9a0e-2f3c4d5e6f70"
BOT_ID = "28:8f0c7f2e-3b1d-4c55-a1b2-0c9d8e7f6a51"
HEALTHY_TIMEOUT = 30.0
TURN_TIMEOUT = 10.0
# Turns that change the dialog state every time ("start again", then typed answers); for
# latency only: it need not reach an outcome.
CYCLE = ("start again", "no", "no", "yes", "yes", "yes", "yes")
# A whole decision is driven by question id (the design's contract), not by a fixed list of
# messages, so a change to the order or number of questions cannot quietly stop the benchmarks
# from reaching a record: each reply's buttons say which question was asked, and the answer
# for that id is typed. This path ends in "share without consent", which offers a record.
START_DECISION = "can I share"
TYPED_ANSWERS: dict[str, str] = {
    "immediate_danger": "no",
    "legal_duty": "no",
    "legitimate_purpose": "yes",
    "identifiable": "yes",
    "confidential": "yes",
    "risk_of_harm": "yes",
    "person": "skip",
    "adult_wishes": "no",
    "consent": "they said no",
    "seeking_consent_safe": "no",
    "public_interest": "yes",
}
RECORD_BUTTON = ("record", "start")
MAX_ANSWERS = 15  # a bound: the decision has ten questions and a few optional ones
RESEND_DELAYS = (0.5, 1.0, 2.0)  # seconds before a DM is sent again (see SlackClient.resends)
_event_ids = itertools.count(1)
_trigger_ids = itertools.count(1)


def now() -> float:
    return time.perf_counter()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(samples: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of samples; q=50 is the median."""
    if not samples:
        return float("nan")
    if q == 50:
        return statistics.median(samples)
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


# ---------------------------------------------------------------------- processes
def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any bot settings, plus `extra`."""
    prefixes = ("SLACK_", "CANISHARE_", "Microsoft", "BENCH_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(extra)
    return env


def ours_env(db_url: str, port: int, slack_api: str | None = None, **extra: str) -> dict[str, str]:
    """Settings for `canishare serve`: Slack when a fake Web API is given, Teams always
    (unauthenticated local development: no MicrosoftAppId, a loopback connector)."""
    env = clean_env(
        CANISHARE_DB_URL=db_url,
        CANISHARE_HOST="127.0.0.1",
        CANISHARE_PORT=str(port),
        CANISHARE_TEAMS_DEV="1",
        **extra,
    )
    if slack_api:
        env.update(
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack_api,
            CANISHARE_RECORD_CHANNEL=RECORD_CHANNEL,
            CANISHARE_LEADS_CHANNEL=LEADS_CHANNEL,
        )
    return env


def serve_argv(profile: str | None = None) -> list[str]:
    """`canishare serve` (the installed console script), or the same under a profiler."""
    if profile:
        return [PYTHON, str(ROOT / "benchmarks" / "profiled_serve.py"), profile]
    script = Path(PYTHON).parent / "canishare"
    return [str(script), "serve"] if script.exists() else [PYTHON, "-m", "bot", "serve"]


@dataclass
class Server:
    """One server process on a loopback port; its output goes to a log file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.started_at = now()
            # cwd is a scratch folder, so no developer's .env is read
            self.proc = subprocess.Popen(
                self.argv, env=self.env, cwd=self.workdir, stdout=out, stderr=subprocess.STDOUT
            )

    async def healthy(self, http: aiohttp.ClientSession, timeout: float = HEALTHY_TIMEOUT) -> float:
        """Wait (bounded) for 200 from /healthz; return seconds since start()."""
        deadline = now() + timeout
        while now() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(
                    self.url + "/healthz", timeout=aiohttp.ClientTimeout(total=2)
                ) as resp:
                    if resp.status == 200:
                        return now() - self.started_at
            await asyncio.sleep(0.005)
        raise RuntimeError(f"{self.name} never became healthy:\n{self.tail()}")

    def rss_kb(self) -> int:
        """VmRSS of the process, from /proc."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used so far, from /proc."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="canishare-bench-") as d:
        yield Path(d)


@contextlib.asynccontextmanager
async def running(*servers: Server, http: aiohttp.ClientSession) -> AsyncIterator[None]:
    """Start the servers, wait until each is healthy, and always stop them."""
    try:
        for s in servers:
            s.start()
        for s in servers:
            await s.healthy(http)
        yield
    finally:
        for s in servers:
            s.stop()


def client_session(limit: int = 200) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit, limit_per_host=limit),
        timeout=aiohttp.ClientTimeout(total=TURN_TIMEOUT),
    )


# ---------------------------------------------------------------------- the machine
def _busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass
class MachineLoad:
    """How busy everything else on this (shared) machine was during a measurement: the
    machine's busy time less that of the servers measured and of this process."""

    servers: tuple[Server, ...]
    _start: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        self._start = (now(), _busy_seconds(), time.process_time(), self._ours())

    def _ours(self) -> float:
        return sum(s.cpu_seconds() for s in self.servers if s.proc and s.proc.poll() is None)

    def others(self) -> str:
        wall = now() - self._start[0]
        busy = _busy_seconds() - self._start[1]
        mine = (time.process_time() - self._start[2]) + (self._ours() - self._start[3])
        cores = os.cpu_count() or 1
        share = max(0.0, busy - mine) / (wall * cores) if wall > 0 else 0.0
        return f"other processes used {share:.0%} of the machine's {cores} cores meanwhile"


# ---------------------------------------------------------------------- PostgreSQL
@contextlib.contextmanager
def postgres() -> Iterator[str | None]:
    """A throw-away cluster's URL, or None when PostgreSQL is not on this machine."""
    from tests.postgres_cluster import postgres_cluster

    with contextlib.ExitStack() as stack:
        url: str | None
        try:
            url = stack.enter_context(postgres_cluster())
        except BaseException as exc:  # it calls pytest.skip/fail, BaseExceptions outside pytest
            if type(exc).__name__ not in ("Skipped", "Failed"):
                raise
            print(f"PostgreSQL benchmarks skipped: {exc}", flush=True)
            url = None
        yield url


async def pg_round_trip(db_url: str, count: int = 200) -> float:
    """Median seconds of one `SELECT 1` round trip to PostgreSQL over loopback (asyncpg)."""
    import asyncpg

    pg = await asyncpg.connect(db_url)
    try:
        samples = []
        for _ in range(count):
            t = now()
            await pg.fetchval("SELECT 1")
            samples.append(now() - t)
    finally:
        await pg.close()
    return statistics.median(samples)


async def fresh_db(server_url: str) -> str:
    from tests.postgres_cluster import fresh_database

    return await fresh_database(server_url)


def sqlite_url(workdir: Path, name: str) -> str:
    return f"sqlite:///{workdir / name}.db"


async def count_rows(db_url: str, sql: str) -> int:
    """One number from the store, read directly (the server keeps running)."""
    if db_url.startswith("sqlite:///"):
        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=10)
        try:
            return int(conn.execute(sql).fetchone()[0])
        finally:
            conn.close()
    import asyncpg

    pg = await asyncpg.connect(db_url)
    try:
        return int(await pg.fetchval(sql))
    finally:
        await pg.close()


# ---------------------------------------------------------------------- Slack
def signed(body: str, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(time.time()))
    base = f"v0:{stamp}:{body}".encode()
    sig = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sig}


def message_im(user: str, text: str) -> dict[str, Any]:
    """An Events API message.im callback, shaped like Slack's (tests/payloads/slack)."""
    n = next(_event_ids)
    ts = f"{int(time.time())}.{n % 1_000_000:06d}"
    return {
        "token": "unused",
        "team_id": TEAM,
        "context_team_id": TEAM,
        "api_app_id": "A0APP0001",
        "event": {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts,
            "team": TEAM,
            "channel": f"D{user}",
            "event_ts": ts,
            "channel_type": "im",
        },
        "type": "event_callback",
        "event_id": f"Ev{os.getpid()}x{n:09d}",
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": TEAM, "user_id": "UBOT0001", "is_bot": True, "is_enterprise_install": False}
        ],
        "is_ext_shared_channel": False,
    }


def block_action(user: str, q: str, a: str, trigger_id: str) -> dict[str, Any]:
    channel = f"D{user}"
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "bench", "name": "bench", "team_id": TEAM},
        "api_app_id": "A0APP0001",
        "token": "unused",
        "container": {"type": "message", "message_ts": "1700000000.000001", "channel_id": channel},
        "trigger_id": trigger_id,
        "team": {"id": TEAM, "domain": "example"},
        "channel": {"id": channel, "name": "directmessage"},
        "message": {"type": "message", "ts": "1700000000.000001", "text": "", "blocks": []},
        "state": {"values": {}},
        "response_url": "https://hooks.slack.invalid/actions/unused",
        "actions": [
            {
                "action_id": "choice:0",
                "block_id": "b0",
                "value": json.dumps({"q": q, "a": a}),
                "type": "button",
                "action_ts": "1700000001.000001",
            }
        ],
    }


RECORD_VALUES = {
    "case_reference": "CP-2026-0412",
    "what": "Concerns raised at school this week and the child's account",
    "with_whom": "Children's social care, duty social worker",
    "purpose": "So social care can assess the risk at home",
    "lawful_basis": "public_task",
    "special_category": "none",
    "reasons": "Reasonable cause to believe the child is at risk of significant harm",
}


def view_submission(
    user: str, view: dict[str, Any], trigger_id: str | None = None
) -> dict[str, Any]:
    """Submit the record modal the bot opened, filled in with RECORD_VALUES. Slack gives every
    submission its own trigger id (the bot tells a replayed submission by it), so each call
    gets a new one unless `trigger_id` is given."""
    state: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        element, bid = block["element"], block["block_id"]
        if element["type"] == "static_select":
            chosen = RECORD_VALUES.get(bid) or (element.get("initial_option") or {}).get("value")
            option = next((o for o in element["options"] if o["value"] == chosen), None)
            option = option or element["options"][0]
            state[bid] = {"value": {"type": "static_select", "selected_option": option}}
        else:
            value = RECORD_VALUES.get(bid, element.get("initial_value", "") or "n/a")
            state[bid] = {"value": {"type": "plain_text_input", "value": value}}
    return {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "example"},
        "user": {"id": user, "username": "bench", "name": "bench", "team_id": TEAM},
        "api_app_id": "A0APP0001",
        "token": "unused",
        "trigger_id": trigger_id or f"t-submit-{os.getpid()}-{next(_trigger_ids)}",
        "view": {
            "id": "V0VIEW0001",
            "team_id": TEAM,
            "type": "modal",
            "blocks": view.get("blocks") or [],
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": state},
            "hash": "1.1",
            "app_id": "A0APP0001",
            "bot_id": "BBOT0001",
        },
        "response_urls": [],
        "is_enterprise_install": False,
    }


Choice = tuple[str, str]  # (question id, answer id), as every button carries it


def offered_choices(blocks: Any) -> tuple[Choice, ...]:
    """Every choice a message offers, from its buttons' values: the JSON
    {"q": question id, "a": answer id} (design.md), in the order shown."""
    found: list[Choice] = []
    pending: list[Any] = [blocks]
    while pending:
        node = pending.pop(0)
        if isinstance(node, list):
            pending[:0] = node
        elif isinstance(node, dict):
            value = node.get("value")
            if isinstance(value, str) and value.startswith("{"):
                with contextlib.suppress(ValueError):
                    data = json.loads(value)
                    if isinstance(data, dict) and isinstance(data.get("q"), str):
                        found.append((data["q"], str(data.get("a", ""))))
            pending[:0] = [v for k, v in node.items() if k != "value"]
    return tuple(found)


def next_answer(offered: tuple[Choice, ...]) -> str | None:
    """What to type to the question a reply asked (by its id), or None when it asked none of
    the decision questions."""
    return next((TYPED_ANSWERS[q] for q, _ in offered if q in TYPED_ANSWERS), None)


class TimedSlack(FakeSlack):
    """The tests' fake Slack Web API, noting when each DM reply and modal arrives.

    It keeps no history of DMs (the benchmarks run long enough for that to matter): a waiter
    per channel (or trigger id) is resolved with the arrival time, and `offered` keeps the
    choices of each DM channel's latest post. The record channel's history is kept whole.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self.offered: dict[str, tuple[Choice, ...]] = {}
        self.post_waiters: dict[str, asyncio.Future[float]] = {}
        self.view_waiters: dict[str, asyncio.Future[tuple[float, dict[str, Any]]]] = {}
        self.posted_to: dict[str, int] = {}
        post, views_open = self.handlers["chat.postMessage"], self.handlers["views.open"]

        def on_post(p: dict[str, Any]) -> dict[str, Any]:
            at = now()
            body = post(p)
            channel = str(p.get("channel", ""))
            self.posted_to[channel] = self.posted_to.get(channel, 0) + 1
            if channel != RECORD_CHANNEL:
                self.messages.pop(channel, None)
                self.offered[channel] = offered_choices(p.get("blocks"))
            waiter = self.post_waiters.pop(channel, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(at)
            return body

        def on_view(p: dict[str, Any]) -> dict[str, Any]:
            at = now()
            body = views_open(p)
            view = self.views.pop()["view"]
            waiter = self.view_waiters.pop(str(p.get("trigger_id")), None)
            if waiter is not None and not waiter.done():
                waiter.set_result((at, view))
            return body

        self.handlers["chat.postMessage"] = on_post
        self.handlers["views.open"] = on_view

    async def _api(self, request: web.Request) -> web.Response:
        response = await super()._api(request)
        if len(self.calls) > 1000:
            del self.calls[:-10]
        return response

    def expect_post(self, channel: str) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.post_waiters[channel] = fut
        return fut

    def expect_view(self, trigger_id: str) -> asyncio.Future[tuple[float, dict[str, Any]]]:
        fut: asyncio.Future[tuple[float, dict[str, Any]]] = (
            asyncio.get_running_loop().create_future()
        )
        self.view_waiters[trigger_id] = fut
        return fut


@dataclass(frozen=True)
class Answered:
    seconds: float  # from sending the DM to the fake receiving the reply
    offered: tuple[Choice, ...]  # the choices in that reply


@dataclass
class SlackClient:
    """Sends signed requests to one app's /slack/events and times them."""

    http: aiohttp.ClientSession
    url: str
    fake: TimedSlack
    ack_times: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sent: int = 0  # requests sent, answered or not
    # Slack sends an event again when it got no 200 for it (at once, after a minute, after five
    # minutes); `resends` > 0 does the same for DMs, after RESEND_DELAYS (shorter, to fit a
    # run), and counts them in `resent`. Clicks and forms are never sent again, as in Slack.
    resends: int = 0
    resent: int = 0

    async def send(self, body: str, content_type: str, retry: int = 0) -> tuple[int, str]:
        headers = {"Content-Type": content_type, **signed(body)}
        if retry:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"}
        self.sent += 1
        t0 = now()
        async with self.http.post(self.url, data=body.encode(), headers=headers) as resp:
            text = await resp.text()
            self.ack_times.append(now() - t0)
            return resp.status, text

    async def turn(self, user: str, text: str) -> float:
        """One DM; seconds from sending it to the fake receiving the reply."""
        return (await self.message(user, text)).seconds

    async def message(
        self, user: str, text: str, acknowledged: list[str] | None = None
    ) -> Answered:
        """One DM and its reply. The event id goes into `acknowledged` as soon as the app
        answers 200 (Slack never sends an acknowledged event again), before the reply."""
        event = message_im(user, text)
        waiter = self.fake.expect_post(f"D{user}")
        t0 = now()
        body = json.dumps(event)
        for retry in range(self.resends + 1):
            if retry:
                self.resent += 1
                await asyncio.sleep(RESEND_DELAYS[min(retry, len(RESEND_DELAYS)) - 1])
            try:
                status, answer = await self.send(body, "application/json", retry)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                status, answer = 0, f"{type(exc).__name__}: {exc}"
            if status == 200:
                break
        else:
            waiter.cancel()
            raise RuntimeError(f"event answered {status or 'nothing'}: {answer[:200]}")
        if acknowledged is not None:
            acknowledged.append(str(event["event_id"]))
        at = await asyncio.wait_for(waiter, TURN_TIMEOUT)
        return Answered(at - t0, self.fake.offered.get(f"D{user}", ()))

    async def click(
        self, user: str, q: str, a: str, trigger_id: str, acknowledged: list[str] | None = None
    ) -> dict[str, Any]:
        """A button press that opens the record modal; returns the modal's view. The trigger
        id goes into `acknowledged` once the app answers 200 (Slack never resends a click)."""
        waiter = self.fake.expect_view(trigger_id)
        form = "payload=" + _quote(json.dumps(block_action(user, q, a, trigger_id)))
        status, body = await self.send(form, "application/x-www-form-urlencoded")
        if status != 200:
            waiter.cancel()
            raise RuntimeError(f"action answered {status}: {body[:200]}")
        if acknowledged is not None:
            acknowledged.append(trigger_id)
        _, view = await asyncio.wait_for(waiter, TURN_TIMEOUT)
        return view

    async def submit(
        self,
        user: str,
        view: dict[str, Any],
        trigger_id: str | None = None,
        saved: list[str] | None = None,
    ) -> None:
        """Submit the record modal; the ack must carry no errors (an empty 200 closes the
        modal: the person is told the record is saved, and `user` goes into `saved`); then
        the summary is posted in the DM."""
        waiter = self.fake.expect_post(f"D{user}")
        form = "payload=" + _quote(json.dumps(view_submission(user, view, trigger_id)))
        status, body = await self.send(form, "application/x-www-form-urlencoded")
        if status != 200 or (body and "errors" in body):
            waiter.cancel()
            raise RuntimeError(f"record form answered {status}: {body[:300]}")
        if saved is not None:
            saved.append(user)
        await asyncio.wait_for(waiter, TURN_TIMEOUT)


async def type_decision(
    pick: Callable[[], SlackClient], user: str, acknowledged: list[str] | None = None
) -> int:
    """Type a whole decision as `user`, answering each question the bot asks by its id, up to
    the reply that offers "Record this decision"; return the number of DMs sent. Each DM goes
    to whichever app `pick` gives (one, or replicas in turn). Raises when the bot asks
    something the path has no answer for, or never reaches an outcome: a benchmark that
    cannot reach a record must fail, not report nothing as success."""
    answered = await pick().message(user, START_DECISION, acknowledged)
    for sent in range(1, MAX_ANSWERS + 1):
        if RECORD_BUTTON in answered.offered:
            return sent
        text = next_answer(answered.offered)
        if text is None:
            raise RuntimeError(
                f"the decision path stopped: the reply offered {list(answered.offered)}, "
                "no decision question and no record button"
            )
        answered = await pick().message(user, text, acknowledged)
    raise RuntimeError(f"no outcome after {MAX_ANSWERS} answers")


def _quote(text: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(text)


# ---------------------------------------------------------------------- Teams
class TimedConnector(FakeConnector):
    """The tests' fake Bot Framework connector, noting when each reply arrives; no history."""

    def __init__(self) -> None:
        super().__init__()
        self.reply_waiters: dict[str, asyncio.Future[float]] = {}
        self.replies = 0

    async def _reply(self, request: web.Request) -> web.Response:
        at = now()
        response = await super()._reply(request)
        conversation = request.match_info.get("conversation", "")
        self.replies += 1
        self.calls.clear()
        waiter = self.reply_waiters.pop(conversation, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(at)
        return response

    def expect_reply(self, conversation: str) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.reply_waiters[conversation] = fut
        return fut


def teams_message(user: str, text: str, service_url: str) -> dict[str, Any]:
    """A personal-chat message activity, shaped like Teams' (tests/payloads/teams)."""
    n = next(_event_ids)
    return {
        "text": text,
        "textFormat": "plain",
        "type": "message",
        "timestamp": "2026-11-20T09:41:07.1234567Z",
        "id": f"{1763631667000 + n}",
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {"id": f"29:{user}", "name": "Bench Practitioner", "aadObjectId": user},
        "conversation": {"conversationType": "personal", "tenantId": TENANT, "id": f"a:{user}"},
        "recipient": {"id": BOT_ID, "name": "Can I share?"},
        "channelData": {"tenant": {"id": TENANT}},
        "locale": "en-GB",
    }


@dataclass
class TeamsClient:
    http: aiohttp.ClientSession
    url: str
    connector: TimedConnector
    errors: list[str] = field(default_factory=list)

    async def turn(self, user: str, text: str) -> float:
        """One personal-chat message; seconds from sending it to the connector's reply."""
        waiter = self.connector.expect_reply(f"a:{user}")
        activity = teams_message(user, text, self.connector.url)
        t0 = now()
        async with self.http.post(self.url, json=activity) as resp:
            await resp.read()
            status = resp.status
        if status not in (200, 201):
            waiter.cancel()
            raise RuntimeError(f"activity answered {status}")
        at = await asyncio.wait_for(waiter, TURN_TIMEOUT)
        return at - t0


def user_ids(prefix: str) -> Iterator[str]:
    """Slack-looking user ids, a new one each time (a new user per decision)."""
    for n in itertools.count(1):
        yield f"U{prefix}{n:07d}"
