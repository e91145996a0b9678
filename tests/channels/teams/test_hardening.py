"""Deliveries that end inside their lease, faults named with their fix, Teams' state for
`/healthz`, and user text that Teams never reads as Markdown."""

from __future__ import annotations

from typing import Any

import pytest

from bot.channels.teams.channel import TEAMS_CHANNEL
from bot.channels.teams.sender import DeliveryFailed
from bot.records.deliver import PermanentFailure
from bot.records.store import Delivery
from bot.server import DELIVERER_KEY
from tests.channels.teams.conftest import LEADS, RECORD, StartTeams, Teams
from tests.channels.teams.test_personal_chat import GOOD_RECORD, reach_outcome
from tests.channels.teams.test_records_and_escalations import ask_my_lead, save_record
from tests.fakes.bf_connector import Call


def alert(n: int = 1) -> Delivery:
    return Delivery(
        id=f"A-{n}:teams:alert",
        record_id=f"A-{n}",
        target="teams:alert",
        payload={"kind": "alert", "record": {"id": f"A-{n}", "text": "Stuck.", "items": []}},
        status="pending",
        attempts=1,
        created_at="2026-11-20T10:00:00Z",
    )


def sender_of(teams: Teams) -> Any:
    return teams.app[DELIVERER_KEY].senders["teams"]


# ---------------------------------------------------------------------- deadlines
async def test_a_hung_connector_gives_up_before_the_delivery_lease_ends(
    start_teams: StartTeams,
) -> None:
    teams = await start_teams(CANISHARE_DELIVERY_LEASE_SECONDS="2")
    await teams.send(teams.team_install())
    teams.connector.fail_next(1, status=None, delay=4.0, conversation=LEADS)

    with pytest.raises(DeliveryFailed, match=r"timed out|did not answer within"):
        await sender_of(teams).deliver(alert())

    assert teams.connector.to(LEADS, "send") == []
    assert sender_of(teams).deadline < 2


async def test_every_connector_client_times_out_inside_the_lease(
    start_teams: StartTeams,
) -> None:
    teams = await start_teams(CANISHARE_DELIVERY_LEASE_SECONDS="10")
    await teams.send(teams.team_install())
    await sender_of(teams).deliver(alert())

    channel = teams.app[TEAMS_CHANNEL]
    clients = [
        c for f in channel.auth._factories.values() for c in f._clients.values()
    ]  # the clients the replies and the post above used
    assert clients
    assert all(c.config.connection.timeout <= 2.5 for c in clients)


# ---------------------------------------------------------------------- permanent faults
@pytest.mark.parametrize(
    ("status", "names"),
    [
        (404, ["HTTP 404", "CANISHARE_TEAMS_LEADS_CONVERSATION", LEADS]),
        (403, ["HTTP 403", "removed", "add it again"]),
        (401, ["HTTP 401", "MicrosoftAppPassword", "MicrosoftAppTenantId"]),
    ],
)
async def test_a_fault_no_retry_can_mend_is_permanent_and_says_how_to_fix_it(
    teams: Teams, status: int, names: list[str]
) -> None:
    await teams.send(teams.team_install())
    teams.connector.fail_next(1, status=status, conversation=LEADS)

    with pytest.raises(PermanentFailure) as failure:
        await sender_of(teams).deliver(alert())

    for name in names:
        assert name in str(failure.value)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_a_server_error_stays_retryable(teams: Teams, status: int) -> None:
    await teams.send(teams.team_install())
    teams.connector.fail_next(1, status=status, conversation=LEADS)

    with pytest.raises(DeliveryFailed):
        await sender_of(teams).deliver(alert())


# ---------------------------------------------------------------------- health
async def test_health_says_how_teams_runs_and_what_is_missing(start_teams: StartTeams) -> None:
    teams = await start_teams(CANISHARE_TEAMS_LEADS_CONVERSATION="")

    health = teams.app[TEAMS_CHANNEL].health()

    assert health["state"] == "degraded"
    assert health["configured"] is False
    assert "local development" in health["auth"]
    assert health["missing"] == ["CANISHARE_TEAMS_LEADS_CONVERSATION"]
    assert health["last_error"] is None


async def test_health_shows_the_last_connector_fault_until_a_delivery_works(
    teams: Teams,
) -> None:
    await teams.send(teams.team_install())
    channel = teams.app[TEAMS_CHANNEL]
    assert channel.health()["state"] == "ok"
    teams.connector.fail_next(1, status=404, conversation=LEADS)

    with pytest.raises(PermanentFailure):
        await sender_of(teams).deliver(alert(1))
    failed = channel.health()
    await sender_of(teams).deliver(alert(2))

    assert failed["state"] == "degraded" and "HTTP 404" in failed["last_error"]
    assert channel.health() == {**failed, "state": "ok", "last_error": None}


# ---------------------------------------------------------------------- Markdown
LINK = "[the duty lead approved this](https://evil.test/phish)"
BOLD = "**Recorded by Duty Safeguarding Lead**"


def markdown_elements(call: Call) -> list[dict[str, Any]]:
    """Every element whose text Teams would read as Markdown."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("TextBlock", "FactSet"):
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(call.cards)
    return found


def shows_as_written(call: Call, text: str) -> bool:
    """`text` is on the card exactly, in a run Teams shows as written."""
    runs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextRun":
                runs.append(str(node.get("text", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(call.cards)
    return any(text in r for r in runs)


async def test_record_fields_reach_the_record_channel_as_plain_text(teams: Teams) -> None:
    await teams.send(teams.team_install())
    await reach_outcome(teams)
    await teams.click("record", "start")
    fields = {**GOOD_RECORD, "case_reference": "CP-2026-0412", "reasons": f"{BOLD} {LINK}"}

    await teams.click("record", "submit", **fields)

    posts = await teams.connector.wait_for(lambda: teams.connector.to(RECORD, "send"))
    assert shows_as_written(posts[0], f"{BOLD} {LINK}")
    for element in markdown_elements(posts[0]):
        assert "evil.test" not in str(element) and "**Recorded" not in str(element)


async def test_a_question_to_the_leads_reaches_them_as_plain_text(teams: Teams) -> None:
    await teams.send(teams.team_install())
    await teams.click("menu", "escalate")
    await teams.say("CP-2026-0412")
    await teams.say(f"{BOLD} please call {LINK}")

    posts = await teams.connector.wait_for(lambda: teams.connector.to(LEADS, "send"))
    assert shows_as_written(posts[0], f"{BOLD} please call {LINK}")
    assert not [e for e in markdown_elements(posts[0]) if "evil.test" in str(e)]


async def test_a_lead_name_with_markdown_is_shown_as_written_to_everyone(teams: Teams) -> None:
    await teams.send(teams.team_install())
    escalation_id = await ask_my_lead(teams)
    posts = await teams.connector.wait_for(lambda: teams.connector.to(LEADS, "send"))
    click = teams.lead_click(escalation_id, posts[0].new_id, lead="Lee")
    click["from"]["name"] = "[Lee](https://evil.test)"

    await teams.send(click)

    updated = await teams.connector.wait_for(lambda: teams.connector.to(LEADS, "update"))
    assert shows_as_written(updated[0], "[Lee](https://evil.test)")
    assert not [e for e in markdown_elements(updated[0]) if "evil.test" in str(e)]


async def test_a_saved_record_shown_back_in_the_chat_is_plain_text(teams: Teams) -> None:
    await reach_outcome(teams)
    await teams.click("record", "start")

    reply = await teams.click("record", "submit", **{**GOOD_RECORD, "reasons": LINK})

    assert shows_as_written(reply, LINK)
    assert not [e for e in markdown_elements(reply) if "evil.test" in str(e)]


async def test_save_record_helper_still_works_with_plain_text(teams: Teams) -> None:
    record_id = await save_record(teams)

    assert record_id.startswith("R-")
