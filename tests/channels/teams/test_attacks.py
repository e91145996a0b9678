"""What an outside review did through the Teams endpoint, each now a test.

On a Slack-only server `POST /api/messages` used to answer anyone, run the dialog and call
whatever serviceUrl the caller named: a forged decision record reached the private record
channel inside the hash chain, a forged escalation reached the leads, one anonymous POST took
a real escalation ("Taken by Duty Safeguarding Lead") and told the practitioner a lead would
call, 40 posts grew the store by 16 MB for good, and one 900 KB message froze the server.
"""

from __future__ import annotations

import copy
import gzip
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.app import Core
from bot.channels.teams.channel import TEAMS_CHANNEL
from bot.core.replies import Inbound
from bot.service import utcnow
from bot.settings import load_settings
from tests.channels.slack.conftest import LEADS_CHANNEL, SlackHarness, environment, start_harness
from tests.channels.teams.conftest import (
    GENERAL,
    LEADS,
    PERSONAL,
    RECORD,
    TENANT,
    StartTeams,
    Teams,
    payload,
)
from tests.channels.teams.test_personal_chat import GOOD_RECORD, SCRIPT
from tests.fakes.bf_connector import FakeConnector
from tests.fakes.slack_api import FakeSlack

FORGED_RECORD = {
    **GOOD_RECORD,
    "reasons": "Recorded by <@U0REALLEAD> **Duty Safeguarding Lead** [approved](https://evil.test)",
}


@pytest.fixture
async def slack_only(
    tmp_path: Path, core: Core, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[SlackHarness, FakeSlack, FakeConnector]]:
    """A Slack-only deployment (public, as Slack needs), and a Teams connector an attacker
    would like the bot to call."""
    slack = FakeSlack(private_channels={"C0RECORD01", LEADS_CHANNEL})
    await slack.start()
    connector = FakeConnector()
    await connector.start()
    settings = load_settings(environ=environment(slack, tmp_path), dotenv=None)
    harness, runner = await start_harness(settings, core, slack, monkeypatch)
    yield harness, slack, connector
    await harness.http.close()
    await runner.cleanup()
    await connector.stop()
    await slack.stop()


def anonymous(connector: FakeConnector, name: str, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(payload(name))
    data.update(serviceUrl=connector.url, **changes)
    return data


async def post(harness: SlackHarness, activity: dict[str, Any]) -> int:
    url = harness.url.replace("/slack/events", "/api/messages")
    async with harness.http.post(url, json=activity) as response:
        return response.status


# ---------------------------------------------------------------------- the open door
async def test_a_forged_decision_record_cannot_be_posted_through_teams_on_a_slack_server(
    slack_only: tuple[SlackHarness, FakeSlack, FakeConnector],
) -> None:
    harness, slack, connector = slack_only
    steps = [{"q": "menu", "a": "start"}, *({"q": q, "a": a} for q, a in SCRIPT.items())]
    steps += [{"q": "record", "a": "start"}, {"q": "record", "a": "submit", **FORGED_RECORD}]

    statuses = [
        await post(harness, anonymous(connector, "personal_card_submit", id=f"f{n}", value=v))
        for n, v in enumerate(steps)
    ]

    assert set(statuses) == {404}
    assert await harness.bot.store.records() == []
    assert await harness.bot.store.verify() == []
    assert slack.calls_to("chat.postMessage") == []
    assert connector.calls == []


async def test_a_forged_escalation_cannot_reach_the_leads_through_teams_on_a_slack_server(
    slack_only: tuple[SlackHarness, FakeSlack, FakeConnector],
) -> None:
    harness, slack, connector = slack_only
    steps = [
        anonymous(connector, "personal_card_submit", id="e1", value={"q": "menu", "a": "escalate"}),
        anonymous(connector, "personal_message", id="e2", text="CP-2026-0412"),
        anonymous(connector, "personal_message", id="e3", text="Please call me back urgently."),
    ]

    statuses = [await post(harness, s) for s in steps]

    assert set(statuses) == {404}
    assert await harness.bot.store.records("escalation") == []
    assert slack.calls_to("chat.postMessage") == []
    assert connector.calls == []


async def real_slack_escalation(harness: SlackHarness) -> str:
    """A practitioner on Slack asks the leads for advice (through the service itself)."""
    common = {"conversation": "slack:T0TEAM001:D0PRACT01", "user": "U0PRACT01", "channel": "slack"}
    for step in (
        {"choice": ("menu", "escalate")},
        {"text": "CP-2026-0412"},
        {"text": "Mum asked us not to tell dad; can we share with the health visitor?"},
    ):
        await harness.bot.handle(Inbound(now=harness.bot.clock(), **common, **step))
    [escalation] = await harness.bot.store.records("escalation")
    return str(escalation["id"])


async def test_one_anonymous_post_cannot_take_a_real_escalation(
    slack_only: tuple[SlackHarness, FakeSlack, FakeConnector],
) -> None:
    harness, _, connector = slack_only
    escalation_id = await real_slack_escalation(harness)
    claim = anonymous(connector, "leads_card_submit", value={"q": "claim", "a": escalation_id})
    claim["from"]["name"] = "Duty Safeguarding Lead"

    status = await post(harness, claim)

    assert status == 404
    escalation = await harness.bot.store.escalation(escalation_id)
    assert escalation is not None and escalation["claimed_by"] is None
    assert await harness.bot.store.records("claim") == []
    assert connector.calls == []


async def test_nothing_is_served_at_api_messages_unless_teams_is_configured(
    start_teams: StartTeams,
) -> None:
    teams = await start_teams(CANISHARE_TEAMS_DEV="0")

    async with teams.session.post(teams.url + "/api/messages", json=teams.message("hi")) as r:
        status = r.status

    assert status == 404
    assert teams.connector.calls == []


# ---------------------------------------------------------------------- local development
async def test_local_development_never_calls_a_service_url_off_this_machine(teams: Teams) -> None:
    elsewhere = teams.message("can I share")
    elsewhere["serviceUrl"] = "https://smba.trafficmanager.net/uk/"

    status, _ = await teams.post(elsewhere)

    assert status == 403
    assert teams.connector.calls == []
    assert await teams.bot.store.load_state(f"teams:{TENANT}:{PERSONAL}") == (None, 0)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "127.8.9.10"])
async def test_local_development_answers_a_loopback_service_url(teams: Teams, host: str) -> None:
    port = teams.connector.url.rsplit(":", 1)[1]
    local = teams.message("can I share")
    local["serviceUrl"] = f"http://{host}:{port}"

    status, _ = await teams.post(local)

    assert status == 200


async def test_local_development_says_at_start_up_that_it_replies_only_to_loopback(
    start_teams: StartTeams, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="canishare.teams"):
        await start_teams()

    [line] = [r.getMessage() for r in caplog.records if "WITHOUT authentication" in r.getMessage()]
    assert "CANISHARE_TEAMS_DEV=1" in line and "loopback" in line


async def test_a_secure_channel_claim_needs_the_configured_leads_channel(
    start_teams: StartTeams,
) -> None:
    teams = await start_teams(CANISHARE_TEAMS_LEADS_CONVERSATION="")
    await teams.send(teams.team_install())
    await teams.click("menu", "escalate")
    await teams.say("CP-2026-0412")
    await teams.say("Can we share with the health visitor?")
    [escalation] = await teams.bot.store.records("escalation")

    replies = await teams.send(teams.lead_click(str(escalation["id"]), "1763633700000"))

    assert "leads' channel" in replies[0].text
    stored = await teams.bot.store.escalation(str(escalation["id"]))
    assert stored is not None and stored["claimed_by"] is None


# ---------------------------------------------------------------------- the store stays small
def kv_bytes(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (size,) = conn.execute("SELECT COALESCE(SUM(LENGTH(name) + LENGTH(value)), 0) FROM kv")
        return int(size[0] if isinstance(size, tuple) else size)


def padded(activity: dict[str, Any], n: int) -> dict[str, Any]:
    """An activity carrying about 200 KB of names and channel data, as the attack did."""
    activity["from"]["name"] = f"{n} " + "N" * 60_000
    activity["recipient"]["name"] = "R" * 60_000
    activity["conversation"]["name"] = "C" * 60_000
    activity["channelData"]["padding"] = "P" * 20_000
    return activity


async def test_forty_padded_posts_leave_the_store_small_and_all_of_it_purgeable(
    start_teams: StartTeams, tmp_path: Path
) -> None:
    teams = await start_teams(CANISHARE_RATE_LIMIT="10000")
    db = tmp_path / "canishare.db"
    before = kv_bytes(db)

    for n in range(20):
        channel = f"19:attacker{n:04d}@thread.tacv2"
        await teams.post(padded(teams.mention("hello", channel=channel), n))
        personal = teams.message("hello")
        personal["conversation"]["id"] = f"a:attacker-chat-{n:04d}"
        personal["from"]["id"] = f"29:attacker-{n:04d}"
        await teams.post(padded(personal, n))

    grown = kv_bytes(db) - before
    assert grown < 20 * 4096  # per chat: its reference and its last cards, whatever was sent
    assert b"N" * 1000 not in db.read_bytes() and b"P" * 1000 not in db.read_bytes()
    channel = teams.app[TEAMS_CHANNEL]
    teams.bot.clock = lambda: utcnow() + timedelta(days=120)
    await teams.send(teams.mention("hello", channel=RECORD))  # the record channel, heard from
    teams.bot.clock = lambda: utcnow() + timedelta(days=200)
    assert await channel.purge() >= 20
    assert kv_bytes(db) - before < 2 * 1024  # only the record channel's reference is left
    assert await teams.bot.store.kv_get(f"teams:ref:{RECORD}") is not None


async def test_a_kept_reference_holds_ids_and_the_service_url_but_no_names(teams: Teams) -> None:
    await teams.send(teams.message("hello"))

    raw = await teams.bot.store.kv_get(f"teams:ref:teams:{TENANT}:{PERSONAL}")

    assert raw is not None
    assert "Sam Practitioner" not in raw and "Can I share?" not in raw
    kept = json.loads(raw)
    assert kept["conversation"]["id"] == PERSONAL
    assert kept["user"]["aadObjectId"] == "0b4f7a2e-9c1d-4e5f-8a6b-7c8d9e0f1a2b"


# ---------------------------------------------------------------------- the 900 KB message
async def test_a_900_kb_message_is_refused_before_it_is_read(teams: Teams) -> None:
    huge = teams.message("can I share? " * 70_000)  # about 900 KB

    status, _ = await teams.post(huge)

    assert status == 413
    assert teams.connector.calls == []


async def test_a_compressed_body_is_refused_before_it_is_unpacked(teams: Teams) -> None:
    body = gzip.compress(json.dumps(teams.message("can I share")).encode())

    async with teams.session.post(
        teams.url + "/api/messages",
        data=body,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    ) as response:
        status = response.status

    assert status == 415
    assert teams.connector.calls == []


async def test_a_channel_message_full_of_unclosed_mention_tags_is_answered(teams: Teams) -> None:
    # a lazy `<at>.*?</at>` spent ten seconds on 100 KB of these; the text is now read linearly
    replies = await teams.send(teams.mention("<at>" * 900 + " is consent always needed?"))
    too_long = await teams.send(teams.mention("<at>" * 6_000 + " is consent always needed?"))

    assert len(replies) == 1
    assert "consent" in replies[0].text.lower()
    assert [r.text for r in too_long] == [teams.bot.conversation.words.text("too_long", max=4000)]


async def test_nothing_is_kept_for_a_channel_that_is_not_the_record_or_leads_one(
    teams: Teams,
) -> None:
    await teams.send(teams.mention("hello", channel=GENERAL))
    await teams.send(teams.mention("hello", channel=LEADS))

    assert await teams.bot.store.kv_get(f"teams:ref:{GENERAL}") is None
    assert await teams.bot.store.kv_get(f"teams:ref:{LEADS}") is not None
