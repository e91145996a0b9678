"""When the Teams connector fails (5xx, 429, timeouts): retried with backoff, nothing lost.
And requests the server must answer properly whatever they hold."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from bot.channels.teams import connector as teams_connector
from bot.records.store import Delivery
from tests.channels.teams.conftest import PERSONAL_KEY, RECORD, StartTeams, Teams
from tests.channels.teams.test_records_and_escalations import save_record


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(teams_connector, "FIRST_BACKOFF_SECONDS", 0.05)


@pytest.mark.usefixtures("quick_backoff")
async def test_a_reply_is_retried_after_server_errors_and_arrives_once(teams: Teams) -> None:
    teams.connector.fail_next(2, status=503)

    replies = await teams.send(teams.message("is GDPR a barrier to sharing?"))

    assert teams.connector.failed == 2
    assert len(replies) == 1
    assert "GDPR" in replies[0].text


async def test_a_reply_waits_as_long_as_retry_after_asks(teams: Teams) -> None:
    teams.connector.fail_next(1, status=429, retry_after="1")
    started = time.monotonic()

    replies = await teams.send(teams.message("can I share"))

    assert time.monotonic() - started >= 1.0
    assert len(replies) == 1


async def test_a_reply_is_retried_after_a_timeout(
    start_teams: StartTeams, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(teams_connector, "SEND_TIMEOUT_SECONDS", 0.3)
    teams = await start_teams()
    teams.connector.fail_next(1, status=None, delay=0.8)

    replies = await teams.send(teams.message("can I share"))

    assert len(replies) == 1


@pytest.mark.usefixtures("quick_backoff")
async def test_a_connector_down_for_good_is_logged_and_the_turn_is_kept(
    teams: Teams, caplog: pytest.LogCaptureFixture
) -> None:
    teams.connector.fail_next(10, status=500)

    with caplog.at_level(logging.ERROR, logger="canishare.teams"):
        status, _ = await teams.post(teams.message("can I share"))

    assert status == 200  # received and saved; a retry would be swallowed as a duplicate
    assert teams.connector.failed == teams_connector.REPLY_ATTEMPTS
    assert any("could not be sent" in r.getMessage() for r in caplog.records)
    state, _ = await teams.bot.store.load_state(PERSONAL_KEY)
    assert state is not None and "immediate_danger" in state


async def test_a_record_delivery_is_retried_until_the_connector_recovers(teams: Teams) -> None:
    await teams.send(teams.team_install())
    teams.connector.fail_next(1, status=429, retry_after="1", conversation=RECORD)
    teams.connector.fail_next(1, status=500, conversation=RECORD)

    record_id = await save_record(teams)
    failed = await pending_with(teams, record_id, "HTTP 500")  # after the 429's one second
    await teams.bot.store.retry_later(failed.id, "test: due now", when=teams.bot.clock())
    await teams.deliver()

    [delivery] = await teams.delivered(record_id)
    assert teams.connector.failed == 2
    posts = teams.connector.to(RECORD, "send")
    assert len(posts) == 1
    assert delivery.external_ref == f"{RECORD}|{posts[0].new_id}"
    assert record_id in posts[0].text


async def pending_with(teams: Teams, record_id: str, error: str) -> Delivery:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        [delivery] = await teams.bot.store.deliveries(record_id)
        if error in (delivery.last_error or ""):
            return delivery
        await asyncio.sleep(0.05)
    raise AssertionError(f"the delivery never failed with {error!r}")


async def test_an_invoke_gets_its_body_back_rather_than_a_500(teams: Teams) -> None:
    status, body = await teams.post(teams.activity("invoke_adaptive_card_action"))

    assert status == 200
    assert body["statusCode"] == 200


async def test_an_unknown_invoke_is_answered_with_an_empty_body(teams: Teams) -> None:
    invoke = teams.activity("invoke_adaptive_card_action", name="task/fetch")

    status, body = await teams.post(invoke)

    assert (status, body) == (200, {})


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[]", "application/json", 400),
        (b'{"text": "no type"}', "application/json", 400),
        (b'{"type": "message"}', "text/plain", 415),
    ],
)
async def test_a_malformed_request_is_refused_without_a_500(
    teams: Teams, body: bytes, content_type: str, status: int
) -> None:
    async with teams.session.post(
        teams.url + "/api/messages", data=body, headers={"Content-Type": content_type}
    ) as response:
        assert response.status == status
