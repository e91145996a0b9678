"""Teams as its admins and users expect it: single-tenant by default, a managed identity with
no secret, the compose-box search, Universal Action claims, answered cards that retire, forms
that correct themselves in place, and messages whose preview is the question."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.channels.teams import render
from bot.core.replies import Reply, ReplyKind
from bot.settings import SettingsError, load_settings
from tests.channels.teams.conftest import (
    APP_ID,
    LEADS,
    PERSONAL,
    TENANT,
    StartTeams,
    Teams,
    start_with,
)
from tests.channels.teams.test_auth import metadata, token  # noqa: F401  (a fixture)
from tests.channels.teams.test_personal_chat import GOOD_RECORD, asked, reach_outcome
from tests.channels.teams.test_records_and_escalations import ask_my_lead, escalation_card
from tests.fakes.bf_connector import Call, FakeConnector, FakeManagedIdentity, FakeOpenIdMetadata
from tests.reworded import reworded_core
from tests.words import WORDS


# ---------------------------------------------------------------------- settings
def settings(**env: str) -> Any:
    return load_settings(environ=env, dotenv=None)


def test_a_bot_is_single_tenant_unless_told_otherwise() -> None:
    assert settings().ms_app_type == "SingleTenant"


def test_a_single_tenant_bot_without_its_tenant_id_stops_with_one_clear_line() -> None:
    with pytest.raises(SettingsError) as stopped:
        settings(MicrosoftAppId=APP_ID, MicrosoftAppPassword="secret")

    message = str(stopped.value)
    assert message.startswith("MicrosoftAppTenantId is missing")
    assert "\n" not in message


def test_a_managed_identity_needs_no_password() -> None:
    s = settings(
        MicrosoftAppId=APP_ID, MicrosoftAppType="UserAssignedMSI", MicrosoftAppTenantId=TENANT
    )

    assert (s.ms_app_type, s.ms_app_password) == ("UserAssignedMSI", "")


def test_a_password_bot_without_its_secret_is_told_about_managed_identity() -> None:
    with pytest.raises(SettingsError, match=r"MicrosoftAppPassword is missing.*UserAssignedMSI"):
        settings(MicrosoftAppId=APP_ID, MicrosoftAppTenantId=TENANT)


@pytest.mark.parametrize("value", ["maybe", "2", "yes please"])
def test_a_malformed_dev_switch_stops_start_up(value: str) -> None:
    with pytest.raises(SettingsError, match="CANISHARE_TEAMS_DEV must be 1 or 0"):
        settings(CANISHARE_TEAMS_DEV=value)


def test_an_app_id_that_is_not_a_guid_stops_start_up() -> None:
    with pytest.raises(SettingsError, match="MicrosoftAppId must be"):
        settings(MicrosoftAppId="my-bot", MicrosoftAppPassword="x", MicrosoftAppTenantId=TENANT)


# ---------------------------------------------------------------------- managed identity
@pytest.fixture
def managed_identity(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeManagedIdentity]:
    """The App Service identity endpoint, on loopback: the SDK's token library asks it (and no
    cloud metadata address) because IDENTITY_ENDPOINT says so."""
    fake = FakeManagedIdentity()
    monkeypatch.setenv("IDENTITY_ENDPOINT", fake.start())
    monkeypatch.setenv("IDENTITY_HEADER", FakeManagedIdentity.HEADER)
    monkeypatch.delenv("IDENTITY_SERVER_THUMBPRINT", raising=False)
    monkeypatch.delenv("MSI_ENDPOINT", raising=False)
    yield fake
    fake.stop()


async def test_a_managed_identity_bot_starts_without_a_password_and_posts_with_its_token(
    start_teams: StartTeams,
    metadata: FakeOpenIdMetadata,  # noqa: F811
    managed_identity: FakeManagedIdentity,
) -> None:
    teams = await start_teams(
        MicrosoftAppId=APP_ID,
        MicrosoftAppType="UserAssignedMSI",
        MicrosoftAppTenantId=TENANT,
        CANISHARE_TEST_TEAMS_OPENID_METADATA_URL=metadata.url,
    )
    headers = {"Authorization": f"Bearer {token(teams)}"}

    status, _ = await teams.post(teams.message("can I share"), headers=headers)

    assert status == 200
    [reply] = teams.connector.to(PERSONAL)
    assert reply.authorization == f"Bearer {managed_identity.token}"
    assert managed_identity.requests[0]["client_id"] == APP_ID


# ---------------------------------------------------------------------- compose-box search
def query(teams: Teams, text: str | None) -> dict[str, Any]:
    parameters = [{"name": "query", "value": text}] if text is not None else []
    if text is None:
        parameters = [{"name": "initialRun", "value": "true"}]
    return teams.activity(
        "invoke_adaptive_card_action",
        name="composeExtension/query",
        value={"commandId": "findAnswer", "parameters": parameters, "queryOptions": {"count": 25}},
    )


async def test_an_empty_compose_box_search_lists_the_myths(teams: Teams) -> None:
    status, body = await teams.post(query(teams, None))

    assert status == 200
    result = body["composeExtension"]
    myths = [e for e in teams.bot.conversation.knowledge.kb.entries.values() if e.kind == "myth"]
    assert result["type"] == "result"
    assert [a["preview"]["content"]["title"] for a in result["attachments"]] == [
        m.title for m in myths
    ]


async def test_a_compose_box_search_puts_the_best_answer_first_as_a_card_to_insert(
    teams: Teams,
) -> None:
    status, body = await teams.post(query(teams, "is consent always needed"))

    assert status == 200
    first = body["composeExtension"]["attachments"][0]
    entry = teams.bot.conversation.knowledge.kb.entries["myth.consent-always-needed"]
    assert first["preview"]["content"]["title"] == entry.title
    card = first["content"]
    assert first["contentType"] == render.CONTENT_TYPE
    assert not [
        a
        for a in Call("", "", "", "", {"attachments": [first]}, "").actions
        if a["type"] == "Action.Submit"
    ]  # an inserted card has nothing to click back
    [more] = [a for a in card.get("actions", []) if a["type"] == "Action.ShowCard"]
    assert more["title"] == "More"
    assert teams.connector.calls == []  # the answer is the invoke's response, nothing is posted


async def test_a_compose_box_search_with_no_answer_says_what_to_try(teams: Teams) -> None:
    _, body = await teams.post(query(teams, "best pizza in town"))

    result = body["composeExtension"]
    assert result["type"] in ("message", "result")
    if result["type"] == "message":
        assert "Try a few words" in result["text"]


# ---------------------------------------------------------------------- Universal Action claim
def claim_invoke(teams: Teams, escalation_id: str, card_id: str, lead: str) -> dict[str, Any]:
    data = teams.lead_click(escalation_id, card_id, lead=lead)
    data.update(
        type="invoke",
        name="adaptiveCard/action",
        value={
            "action": {"type": "Action.Execute", "verb": "claim", "data": data["value"]},
            "trigger": "manual",
        },
    )
    return data


async def test_the_lead_who_takes_a_request_is_answered_privately_and_everyone_sees_it(
    teams: Teams,
) -> None:
    await teams.send(teams.team_install())
    escalation_id = await ask_my_lead(teams)
    card = await escalation_card(teams)

    status, body = await teams.post(claim_invoke(teams, escalation_id, card.new_id, "Lee Lead"))

    assert status == 200
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    mine = json.dumps(body["value"])
    assert "Taken by Lee Lead" in mine and "You have taken this request" in mine
    assert "Action.Execute" not in mine
    assert teams.connector.to(LEADS, "reply") == []  # nothing said in the channel
    updated = await teams.connector.wait_for(lambda: teams.connector.to(LEADS, "update"))
    assert updated[0].activity_id == card.new_id and "Taken by Lee Lead" in updated[0].text


async def test_a_second_lead_is_told_privately_who_already_has_it(teams: Teams) -> None:
    await teams.send(teams.team_install())
    escalation_id = await ask_my_lead(teams)
    card = await escalation_card(teams)
    await teams.post(claim_invoke(teams, escalation_id, card.new_id, "Lee Lead"))

    _, body = await teams.post(claim_invoke(teams, escalation_id, card.new_id, "Kim Lead"))

    assert "Lee Lead has already taken this request" in json.dumps(body["value"])
    stored = await teams.bot.store.escalation(escalation_id)
    assert stored is not None and stored["claimed_by_name"] == "Lee Lead"
    assert teams.connector.to(LEADS, "reply") == []


async def test_a_claim_from_a_personal_chat_gets_a_private_refusal(teams: Teams) -> None:
    await teams.send(teams.team_install())
    escalation_id = await ask_my_lead(teams)
    invoke = teams.activity(
        "invoke_adaptive_card_action",
        value={
            "action": {
                "type": "Action.Execute",
                "verb": "claim",
                "data": {"q": "claim", "a": escalation_id},
            }
        },
    )

    _, body = await teams.post(invoke)

    assert body == {
        "statusCode": 200,
        "type": "application/vnd.microsoft.activity.message",
        "value": "Requests can only be taken in the safeguarding leads' channel.",
    }
    stored = await teams.bot.store.escalation(escalation_id)
    assert stored is not None and stored["claimed_by"] is None


# ---------------------------------------------------------------------- cards that retire
async def test_a_clicked_question_card_shows_the_answer_and_loses_its_buttons(
    teams: Teams,
) -> None:
    question = await teams.click("menu", "start")
    q = asked(question)

    replies = await teams.send(teams.submit({"q": q, "a": "no"}, on=question))

    assert len(replies) == 1  # the next question, as ever
    [update] = teams.connector.to(PERSONAL, "update")
    assert update.activity_id == question.new_id
    assert "You answered: No" in update.text
    assert not [a for a in update.actions if a["type"] == "Action.Submit"]


async def test_an_old_card_is_retired_only_once(teams: Teams) -> None:
    question = await teams.click("menu", "start")
    q = asked(question)
    await teams.send(teams.submit({"q": q, "a": "no"}, on=question))

    await teams.send(teams.submit({"q": q, "a": "yes"}, on=question))  # a stale client

    updates = teams.connector.to(PERSONAL, "update")
    assert [u.activity_id for u in updates].count(question.new_id) == 1


async def test_a_question_answered_by_typing_loses_its_buttons_and_points_below(
    teams: Teams,
) -> None:
    question = await teams.click("menu", "start")

    [next_question] = await teams.send(teams.message("no"))

    [update] = teams.connector.to(PERSONAL, "update")
    assert update.activity_id == question.new_id
    assert "See the latest message below." in update.text
    assert not [a for a in update.actions if a["type"] == "Action.Submit"]
    assert [a for a in next_question.actions if a["type"] == "Action.Submit"]  # still live


async def test_only_the_newest_message_keeps_live_buttons(teams: Teams) -> None:
    first = await teams.click("menu", "start")
    second = await teams.send(teams.submit({"q": asked(first), "a": "no"}, on=first))

    await teams.send(teams.message("no"))  # answers the second question by typing

    retired = {u.activity_id for u in teams.connector.to(PERSONAL, "update")}
    assert retired == {first.new_id, second[0].new_id}


async def test_a_form_with_problems_is_corrected_in_place(teams: Teams) -> None:
    await reach_outcome(teams)
    form = await teams.click("record", "start")

    replies = await teams.send(
        teams.submit({"q": "record", "a": "submit", **GOOD_RECORD, "case_reference": ""}, on=form)
    )

    assert replies == []
    [update] = [u for u in teams.connector.to(PERSONAL, "update") if u.activity_id == form.new_id]
    assert [i for i in update.cards[0]["body"] if i.get("id") == "case_reference"]
    assert await teams.bot.store.records("decision") == []


async def test_the_record_form_tells_teams_which_fields_are_required(teams: Teams) -> None:
    await reach_outcome(teams)

    form = await teams.click("record", "start")

    inputs = {e["id"]: e for e in form.cards[0]["body"] if str(e["type"]).startswith("Input.")}
    reference = inputs["case_reference"]
    assert reference["isRequired"] is True
    assert reference["errorMessage"] == "Please give case reference."
    assert reference["placeholder"].startswith("CP-2026-0412")
    assert inputs["lawful_basis"]["placeholder"]
    headings = [e for e in form.cards[0]["body"] if e.get("style") == "heading"]
    assert headings


# ---------------------------------------------------------------------- summaries and More
async def test_a_question_message_is_previewed_by_its_question(teams: Teams) -> None:
    question = await teams.click("menu", "start")

    assert question.body["summary"] == question.body["summary"].strip()
    assert not question.body["summary"].startswith("Question")
    assert "danger" in question.body["summary"].lower()


def test_the_summary_prefers_an_emergency_then_the_question_waiting() -> None:
    replies = [
        Reply(kind=ReplyKind.INFO, text="Thanks."),
        Reply(kind=ReplyKind.QUESTION, title="Question 2", text="Does a law require you?"),
    ]
    loud = [*replies, Reply(kind=ReplyKind.EMERGENCY, title="Call 999 now", text="…")]

    assert render.summary_of(replies) == "Does a law require you?"
    assert render.summary_of(loud) == "Call 999 now"


def test_an_answers_fuller_explanation_sits_behind_more() -> None:
    reply = Reply(
        kind=ReplyKind.ANSWER,
        title="Is consent always needed?",
        text="No.",
        more="Consent is one of several lawful bases…",
    )

    card = render.reply_card(reply, words=WORDS)

    [more] = card["actions"]
    assert more["type"] == "Action.ShowCard" and more["title"] == "More"
    assert (
        more["card"]["body"][0]["inlines"][0]["text"] == "Consent is one of several lawful bases…"
    )


# ---------------------------------------------------------------------- words from the files
async def test_the_words_around_the_cards_come_from_messages_yaml(
    tmp_path_factory: pytest.TempPathFactory, connector: FakeConnector
) -> None:
    core = reworded_core(tmp_path_factory.mktemp("kb") / "knowledge")
    settings = load_settings(
        environ={
            "CANISHARE_DB_URL": f"sqlite:///{tmp_path_factory.mktemp('db') / 't.db'}",
            "CANISHARE_TEAMS_DEV": "1",
        },
        dotenv=None,
    )
    teams = await start_with(core, settings, connector)
    try:
        gdpr = await teams.say("is GDPR a barrier to sharing?")
        first = await teams.click("menu", "start")
        await teams.send(teams.submit({"q": "immediate_danger", "a": "no"}, on=first))
    finally:
        await teams.stop()

    assert [a["title"] for a in gdpr.actions if a["type"] == "Action.ShowCard"] == ["Tell me more"]
    assert "Where this comes from:" in gdpr.text
    [retired] = [u for u in connector.to(PERSONAL, "update") if u.activity_id == first.new_id]
    assert "Your answer was: No" in retired.text
