"""Socket Mode end to end against a local fake WebSocket, and the start-up checks."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import aiohttp
import pytest

from bot.app import Core, open_store
from bot.channels.slack.socket import start_socket_mode
from bot.server import build_server
from bot.service import Bot
from bot.settings import load_settings
from tests.channels.slack.conftest import (
    DM,
    RECORD_CHANNEL,
    Clock,
    environment,
    payload,
    quiet_server,
    start_harness,
)
from tests.fakes.slack_api import FakeSlack


async def test_socket_mode_acks_an_event_and_replies_in_the_dm(
    tmp_path: Path, core: Core, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    quiet_server(monkeypatch)
    env = environment(fake_slack, tmp_path, SLACK_APP_TOKEN="xapp-1-A0APP0001-test")
    del env["SLACK_SIGNING_SECRET"]
    settings = load_settings(environ=env, dotenv=None)
    bot = Bot(core.conversation, await open_store(settings), settings, clock=Clock())
    server = await start_socket_mode(settings, bot, build=build_server, port=0)
    try:
        envelope = payload("socket_events_api_envelope")
        envelope["payload"] = payload("event_message_im")
        envelope["payload"]["event"]["text"] = "can I share"

        await fake_slack.socket_send(envelope)

        assert await fake_slack.wait_for(
            lambda: {"envelope_id": envelope["envelope_id"]} in fake_slack.socket_acks
        )
        assert await fake_slack.wait_for(lambda: bool(fake_slack.posted(DM)))
        assert "immediate danger" in fake_slack.texts(DM)[0]
        async with aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{server.port}"
            async with http.get(f"{base}/healthz") as health:
                assert health.status == 200
            async with http.post(f"{base}/slack/events", data=b"{}") as events:
                assert events.status in (404, 405)  # no signing secret: no HTTP endpoint
    finally:
        await server.stop()


async def test_socket_mode_slash_commands_are_answered_in_the_ack(
    tmp_path: Path, core: Core, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    quiet_server(monkeypatch)
    env = environment(fake_slack, tmp_path, SLACK_APP_TOKEN="xapp-1-A0APP0001-test")
    settings = load_settings(environ=env, dotenv=None)
    bot = Bot(core.conversation, await open_store(settings), settings, clock=Clock())
    server = await start_socket_mode(settings, bot, build=build_server, port=0)
    try:
        envelope = {
            "envelope_id": "1d2e3f40-aaaa-bbbb-cccc-1234567890ab",
            "payload": payload("command_myth"),
            "type": "slash_commands",
            "accepts_response_payload": True,
        }

        await fake_slack.socket_send(envelope)

        assert await fake_slack.wait_for(lambda: bool(fake_slack.socket_acks))
        [ack] = fake_slack.socket_acks
        assert ack["envelope_id"] == envelope["envelope_id"]
        assert ack["payload"]["response_type"] == "ephemeral"
        assert "GDPR" in json.dumps(ack["payload"]["blocks"])
    finally:
        await server.stop()


async def test_a_public_record_channel_is_reported_to_the_admin_in_one_line_at_start_up(
    tmp_path: Path,
    core: Core,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_slack.private_channels.discard(RECORD_CHANNEL)
    settings = load_settings(environ=environment(fake_slack, tmp_path), dotenv=None)
    caplog.set_level(logging.INFO, logger="canishare")

    harness, runner = await start_harness(settings, core, fake_slack, monkeypatch)
    await harness.http.close()
    await runner.cleanup()

    errors = [
        r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("canishare")
    ]
    assert len(errors) == 1
    line = errors[0].getMessage()
    assert "\n" not in line
    assert (
        RECORD_CHANNEL in line and "public channel" in line and "CANISHARE_RECORD_CHANNEL" in line
    )
    assert [c.method for c in fake_slack.startup_calls] == [
        "auth.test",
        "conversations.info",
        "conversations.info",
    ]


async def test_a_private_record_channel_starts_quietly(
    tmp_path: Path,
    core: Core,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = load_settings(environ=environment(fake_slack, tmp_path), dotenv=None)

    harness, runner = await start_harness(settings, core, fake_slack, monkeypatch)
    await harness.http.close()
    await runner.cleanup()

    slack_logs = [r for r in caplog.records if r.name.startswith("canishare.slack")]
    assert [r for r in slack_logs if r.levelno >= logging.WARNING] == []
