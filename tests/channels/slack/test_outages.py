"""Slack down, a bad token, a channel gone: requests still acknowledged, one line in the log,
the real fault named, and the state of things in health()."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.app import Core, open_store
from bot.channels.slack.sender import SlackDeliveryError
from bot.channels.slack.socket import start_socket_mode
from bot.records.deliver import PermanentFailure, RetryAfter
from bot.server import build_server
from bot.service import Bot
from bot.settings import load_settings
from tests.channels.slack.conftest import (
    DM,
    LEADS_CHANNEL,
    RECORD_CHANNEL,
    USER,
    Clock,
    SlackHarness,
    environment,
    payload,
    quiet_server,
    start_harness,
)
from tests.channels.slack.test_resilience import saved_record
from tests.fakes.slack_api import FakeSlack
from tests.system.conftest import free_port

ROOT = Path(__file__).resolve().parents[3]


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


async def test_with_slack_unreachable_messages_clicks_and_myth_are_acknowledged_without_tracebacks(
    slack: SlackHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await slack.fake.go_down()

    message = await slack.dm("can I share")
    click, _ = await slack.click("immediate_danger", "no")
    myth, answer = await slack.command("command_myth", "is GDPR a barrier to sharing?")

    assert (message, click, myth) == (200, 200, 200)
    assert "GDPR" in answer
    assert tracebacks(caplog) == []
    failed = [r for r in caplog.records if "could not post a reply" in r.getMessage()]
    assert failed and all("\n" not in r.getMessage() for r in failed)


async def test_the_turn_kept_while_slack_was_down_carries_on_when_it_is_back(
    slack: SlackHarness,
) -> None:
    await slack.fake.go_down()
    await slack.dm("can I share")
    await slack.click("immediate_danger", "no")
    await slack.fake.come_back()

    await slack.dm("no")  # the answer to the question the person never saw: legal duty

    state, _ = await slack.bot.store.load_state(f"slack:T0TEAM001:{USER}")
    assert state is not None
    answers = json.loads(state)["answers"]
    assert answers[:2] == [["immediate_danger", "no"], ["legal_duty", "no"]]
    assert slack.fake.posted(DM)  # and the next question reached the person


async def test_a_server_started_while_slack_is_down_still_answers_every_request(
    tmp_path: Path,
    core: Core,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await fake_slack.go_down()
    settings = load_settings(environ=environment(fake_slack, tmp_path), dotenv=None)
    harness, runner = await start_harness(settings, core, fake_slack, monkeypatch)
    try:
        assert await harness.dm("can I share") == 200
        status, _ = await harness.command("command_myth", "is consent always needed?")
        assert status == 200
        assert tracebacks(caplog) == []
        assert harness.channel.health()["state"] == "down"
    finally:
        await harness.http.close()
        await runner.cleanup()


async def test_socket_mode_waits_for_an_unreachable_slack_with_one_line_per_attempt(
    tmp_path: Path,
    core: Core,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    quiet_server(monkeypatch)
    env = environment(fake_slack, tmp_path, SLACK_APP_TOKEN="xapp-1-A0APP0001-test")
    settings = load_settings(environ=env, dotenv=None)
    bot = Bot(core.conversation, await open_store(settings), settings, clock=Clock())
    await fake_slack.go_down()
    caplog.set_level(logging.INFO)

    starting = asyncio.create_task(
        start_socket_mode(settings, bot, build=build_server, port=0, first_retry=0.05)
    )

    def retries() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "Socket Mode: could not connect" in r.getMessage()]

    assert await fake_slack.wait_for(lambda: len(retries()) >= 3, timeout=10)
    await fake_slack.come_back()
    server = await asyncio.wait_for(starting, timeout=10)
    try:
        envelope = payload("socket_events_api_envelope")
        envelope["payload"] = payload("event_message_im")
        envelope["payload"]["event"]["text"] = "can I share"
        await fake_slack.socket_send(envelope)
        assert await fake_slack.wait_for(lambda: bool(fake_slack.posted(DM)))
    finally:
        await server.stop()

    assert all("\n" not in r.getMessage() and "attempt" in r.getMessage() for r in retries())
    assert tracebacks(caplog) == []


async def test_a_refused_app_token_stops_serve_with_one_line_and_status_2(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    fake_slack.refuse_next("invalid_auth", method="apps.connections.open")
    env = _socket_mode_env(fake_slack, tmp_path, free_port())

    serve = await _serve(env, tmp_path)
    out, err = await asyncio.wait_for(serve.communicate(), timeout=60)

    assert serve.returncode == 2
    lines = [line for line in err.decode().splitlines() if "SLACK_APP_TOKEN" in line]
    assert len(lines) == 1 and "invalid_auth" in lines[0] and "connections:write" in lines[0]
    assert "Traceback" not in err.decode() + out.decode()


async def _serve(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    """`canishare serve` as an administrator starts it, its output captured."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve",
        cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


def _socket_mode_env(fake: FakeSlack, tmp_path: Path, port: int) -> dict[str, str]:
    env = environment(fake, tmp_path, SLACK_APP_TOKEN="xapp-1-A0APP0001-test")
    del env["SLACK_SIGNING_SECRET"]
    # HOME as the tests have it: the trained model is cached there (a cold cache trains for
    # a few seconds before the server listens)
    kept = {k: os.environ[k] for k in ("PATH", "HOME", "XDG_CACHE_HOME") if k in os.environ}
    return env | kept | {"CANISHARE_PORT": str(port)}


async def test_socket_mode_serves_health_behind_the_same_connection_limit(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    port = free_port()
    env = _socket_mode_env(fake_slack, tmp_path, port) | {"CANISHARE_MAX_CONNECTIONS": "9"}
    serve = await _serve(env, tmp_path)
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(300):
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as health:
                        if health.status == 200:
                            break
                await asyncio.sleep(0.1)
            else:
                pytest.fail("Socket Mode never served /healthz")
    finally:
        if serve.returncode is None:
            serve.terminate()
        out, err = await asyncio.wait_for(serve.communicate(), timeout=30)

    assert serve.returncode == 0
    assert "up to 9 connections" in err.decode()
    assert "Traceback" not in err.decode() + out.decode()


async def test_socket_mode_on_a_taken_port_stops_with_one_line_and_status_2(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = _socket_mode_env(fake_slack, tmp_path, taken.getsockname()[1])
        serve = await _serve(env, tmp_path)
        out, err = await asyncio.wait_for(serve.communicate(), timeout=60)

    assert serve.returncode == 2
    assert "already in use" in err.decode() and "CANISHARE_PORT" in err.decode()
    assert "Traceback" not in err.decode() + out.decode()
    assert fake_slack.calls_to("apps.connections.open") == []


async def test_a_refused_bot_token_is_named_at_start_up_not_blamed_on_the_channel(
    tmp_path: Path,
    core: Core,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_slack.auth_error = "invalid_auth"
    settings = load_settings(environ=environment(fake_slack, tmp_path), dotenv=None)

    harness, runner = await start_harness(settings, core, fake_slack, monkeypatch)
    await harness.http.close()
    await runner.cleanup()

    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "SLACK_BOT_TOKEN" in errors[0] and "invalid_auth" in errors[0]
    assert "invite" not in errors[0] and "private" not in errors[0]


@pytest.mark.parametrize(
    ("code", "named"),
    [
        ("channel_not_found", "/invite @canishare"),
        ("not_in_channel", "/invite @canishare"),
        ("is_archived", "unarchive"),
        ("invalid_auth", "SLACK_BOT_TOKEN"),
        ("account_inactive", "SLACK_BOT_TOKEN"),
        ("token_revoked", "SLACK_BOT_TOKEN"),
    ],
)
async def test_a_permanent_slack_refusal_fails_the_delivery_naming_the_fault_and_the_fix(
    slack: SlackHarness, code: str, named: str
) -> None:
    await saved_record(slack)
    [delivery] = await slack.bot.store.undelivered()
    slack.fake.refuse_next(code)
    sender = slack.channel.sender
    assert sender is not None

    with pytest.raises(PermanentFailure) as failure:
        await sender.deliver(delivery)

    assert code in str(failure.value) and named in str(failure.value)
    assert slack.fake.posted(RECORD_CHANNEL) == []


async def test_the_invite_hint_uses_the_bots_real_name(slack: SlackHarness) -> None:
    slack.fake.bot_name = "safeguarding_helper"
    await slack.channel.identify()
    await saved_record(slack)
    [delivery] = await slack.bot.store.undelivered()
    slack.fake.refuse_next("not_in_channel")
    sender = slack.channel.sender
    assert sender is not None

    with pytest.raises(PermanentFailure, match="/invite @safeguarding_helper"):
        await sender.deliver(delivery)


@pytest.mark.parametrize(
    ("status", "raised"), [(429, RetryAfter), (500, SlackDeliveryError), (503, SlackDeliveryError)]
)
async def test_a_passing_slack_failure_stays_retryable(
    slack: SlackHarness, status: int, raised: type[Exception]
) -> None:
    await saved_record(slack)
    [delivery] = await slack.bot.store.undelivered()
    slack.fake.fail_next(1, status=status, retry_after="1" if status == 429 else None)
    sender = slack.channel.sender
    assert sender is not None

    with pytest.raises(raised) as failure:
        await sender.deliver(delivery)

    assert not isinstance(failure.value, PermanentFailure)


async def test_health_reports_the_web_api_the_channels_and_the_mode(slack: SlackHarness) -> None:
    await saved_record(slack)
    assert await slack.deliver() == 1

    healthy = slack.channel.health()
    await slack.fake.go_down()
    await slack.dm("can I share")
    outage = slack.channel.health()

    assert healthy["state"] == "ok" and healthy["mode"] == "http"
    assert healthy["web_api"]["connected"] is True
    assert healthy["record_channel"] == {"state": "ok", "channel": RECORD_CHANNEL}
    assert healthy["leads_channel"] == {"state": "ok", "channel": LEADS_CHANNEL}
    assert outage["state"] == "down" and outage["web_api"]["connected"] is False
    assert "could not be reached" in outage["web_api"]["last_error"]


async def test_health_names_a_record_channel_the_bot_cannot_post_to(slack: SlackHarness) -> None:
    await saved_record(slack)
    slack.fake.refuse_next("not_in_channel")
    await slack.deliver()

    health = slack.channel.health()

    assert health["state"] == "degraded"
    assert health["record_channel"]["state"] == "failing"
    assert "not_in_channel" in health["record_channel"]["error"]


def test_socket_mode_does_not_import_the_server() -> None:
    probe = "import sys, bot.channels.slack.socket; print('bot.server' in sys.modules)"

    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert out.stdout.strip() == "False"


async def test_a_leads_channel_the_bot_was_not_invited_to_is_named_at_start_up(
    tmp_path: Path,
    core: Core,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_slack.refuse_next("channel_not_found", method="conversations.info")
    fake_slack.refuse_next("channel_not_found", method="conversations.info")
    settings = load_settings(environ=environment(fake_slack, tmp_path), dotenv=None)

    harness, runner = await start_harness(settings, core, fake_slack, monkeypatch)
    health = harness.channel.health()
    await harness.http.close()
    await runner.cleanup()

    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("CANISHARE_LEADS_CHANNEL" in e and "/invite @canishare" in e for e in errors)
    assert all("\n" not in e for e in errors)
    assert health["leads_channel"]["state"] == "failing"
