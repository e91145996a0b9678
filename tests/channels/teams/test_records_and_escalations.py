"""Decision records and escalations posted proactively to the record and leads channels."""

from __future__ import annotations

import pytest

from bot.channels.teams.sender import MissingReference
from bot.records.store import Delivery
from bot.server import DELIVERER_KEY
from tests.channels.teams.conftest import LEADS, PERSONAL, RECORD, StartTeams, Teams
from tests.channels.teams.test_personal_chat import GOOD_RECORD, reach_outcome
from tests.fakes.bf_connector import Call


async def save_record(teams: Teams) -> str:
    await reach_outcome(teams)
    await teams.click("record", "start")
    await teams.click("record", "submit", **GOOD_RECORD)
    records = await teams.bot.store.records("decision")
    return str(records[-1]["id"])


async def test_a_record_is_posted_to_the_record_channel_after_the_bot_was_added(
    start_teams: StartTeams,
) -> None:
    first = await start_teams()
    await first.send(first.team_install())
    await first.stop()
    teams = await start_teams()  # a restart: the channel reference comes from the store

    record_id = await save_record(teams)

    posts = await teams.connector.wait_for(
        lambda: teams.connector.to(RECORD, "send"), what="the record card"
    )
    assert len(posts) == 1
    assert record_id in posts[0].text
    assert GOOD_RECORD["case_reference"] in posts[0].text
    [delivery] = await teams.delivered(record_id)
    assert delivery.external_ref == f"{RECORD}|{posts[0].new_id}"


async def test_a_record_waits_until_the_bot_is_in_the_record_channel(teams: Teams) -> None:
    record_id = await save_record(teams)
    await teams.deliver()

    [pending] = await teams.bot.store.deliveries(record_id)
    assert pending.status == "pending"
    assert "add the bot to that channel" in (pending.last_error or "")

    await teams.send(teams.mention("hello", channel=RECORD))
    await teams.bot.store.retry_later(pending.id, "test: due now", when=teams.bot.clock())
    await teams.deliver()

    await teams.delivered(record_id)
    assert len(teams.connector.to(RECORD, "send")) == 1


async def ask_my_lead(teams: Teams) -> str:
    await teams.click("menu", "escalate")
    await teams.say("CP-2026-0412")
    await teams.say("Mum has asked us not to tell dad; can we share with the health visitor?")
    escalations = await teams.bot.store.records("escalation")
    return str(escalations[-1]["id"])


async def escalation_card(teams: Teams) -> Call:
    posts = await teams.connector.wait_for(
        lambda: teams.connector.to(LEADS, "send"), what="the escalation card"
    )
    return posts[0]


async def test_an_escalation_card_reaches_the_leads_with_no_names(teams: Teams) -> None:
    await teams.send(teams.team_install())

    escalation_id = await ask_my_lead(teams)

    card = await escalation_card(teams)
    assert escalation_id in card.text
    assert "CP-2026-0412" in card.text
    assert "health visitor" in card.text
    # no names of anyone in the case; the colleague asking is named so a lead can reach them
    assert "From Sam Practitioner (the colleague asking)" in card.text
    [claim] = card.actions
    assert (claim["type"], claim["verb"]) == ("Action.Execute", "claim")
    assert claim["data"] == {"q": "claim", "a": escalation_id}


async def test_claiming_updates_the_card_for_everyone_and_tells_the_practitioner(
    teams: Teams,
) -> None:
    await teams.send(teams.team_install())
    escalation_id = await ask_my_lead(teams)
    card = await escalation_card(teams)
    practitioner_posts = len(teams.connector.to(PERSONAL, "send"))

    replies = await teams.send(teams.lead_click(escalation_id, card.new_id, lead="Lee Lead"))

    assert replies == []
    updated = await teams.connector.wait_for(
        lambda: teams.connector.to(LEADS, "update"), what="the card update"
    )
    assert updated[0].activity_id == card.new_id
    assert "Taken by Lee Lead" in updated[0].text
    assert updated[0].choices == []
    told = await teams.connector.wait_for(
        lambda: teams.connector.to(PERSONAL, "send")[practitioner_posts:], what="the note"
    )
    assert "Lee Lead" in told[0].text and escalation_id in told[0].text


async def test_a_second_lead_is_told_who_already_has_it(teams: Teams) -> None:
    await teams.send(teams.team_install())
    escalation_id = await ask_my_lead(teams)
    card = await escalation_card(teams)
    await teams.send(teams.lead_click(escalation_id, card.new_id, lead="Lee Lead"))

    replies = await teams.send(teams.lead_click(escalation_id, card.new_id, lead="Kim Lead"))

    assert len(replies) == 1
    assert "Lee Lead has already taken this request" in replies[0].text
    escalation = await teams.bot.store.escalation(escalation_id)
    assert escalation is not None and escalation["claimed_by_name"] == "Lee Lead"


async def test_a_claim_from_outside_the_leads_channel_is_refused(teams: Teams) -> None:
    await teams.send(teams.team_install())
    escalation_id = await ask_my_lead(teams)

    replies = await teams.send(teams.submit({"q": "claim", "a": escalation_id}))

    assert "leads' channel" in replies[0].text
    escalation = await teams.bot.store.escalation(escalation_id)
    assert escalation is not None and escalation["claimed_by"] is None


async def test_a_claim_for_an_unknown_request_says_so(teams: Teams) -> None:
    replies = await teams.send(teams.lead_click("E-NOSUCHTHING", "1763633700000"))

    assert "E-NOSUCHTHING" in replies[0].text


async def test_an_undelivered_records_alert_is_posted_loudly_to_the_leads(teams: Teams) -> None:
    await teams.send(teams.team_install())
    sender = teams.app[DELIVERER_KEY].senders["teams"]
    alert = Delivery(
        id="A-1:teams:alert",
        record_id="A-1",
        target="teams:alert",
        payload={
            "kind": "alert",
            "record": {"id": "A-1", "text": "Some records are stuck.", "items": ["R-1 → x"]},
        },
        status="pending",
        attempts=1,
        created_at="2026-11-20T10:00:00Z",
    )

    ref = await sender.deliver(alert)

    [post] = teams.connector.to(LEADS, "send")
    assert ref == f"{LEADS}|{post.new_id}"
    assert "Some records are stuck." in post.text and "R-1 → x" in post.text
    assert post.cards[0]["body"][0]["style"] == "attention"


async def test_the_practitioner_note_waits_for_a_personal_chat_reference(teams: Teams) -> None:
    sender = teams.app[DELIVERER_KEY].senders["teams"]
    note = Delivery(
        id="C-1:teams:notify",
        record_id="C-1",
        target="teams:notify",
        payload={
            "kind": "claim",
            "record": {"message": "Lee has it", "escalation": {"conversation": "teams:t:a:none"}},
        },
        status="pending",
        attempts=1,
        created_at="2026-11-20T10:00:00Z",
    )

    with pytest.raises(MissingReference, match="personal chat"):
        await sender.deliver(note)


async def test_the_lead_who_has_it_clicking_again_hears_nothing_more(teams: Teams) -> None:
    await teams.send(teams.team_install())
    escalation_id = await ask_my_lead(teams)
    card = await escalation_card(teams)
    await teams.send(teams.lead_click(escalation_id, card.new_id, lead="Lee Lead"))

    replies = await teams.send(teams.lead_click(escalation_id, card.new_id, lead="Lee Lead"))

    assert replies == []
