"""/canishare, /myth, mentions in a shared channel, and the App Home tab."""

from __future__ import annotations

import json

from tests.channels.slack.conftest import DM, PUBLIC_CHANNEL, USER, SlackHarness, payload
from tests.channels.slack.flows import values


async def test_myth_answers_at_once_and_only_to_the_person_who_asked(slack: SlackHarness) -> None:
    status, body = await slack.command("command_myth", "is GDPR a barrier to sharing?")

    assert status == 200
    answer = json.loads(body)
    assert answer["response_type"] == "ephemeral"
    assert "GDPR" in json.dumps(answer["blocks"])
    assert any(b["type"] == "context" for b in answer["blocks"])
    assert slack.fake.calls_to("chat.postMessage") == []


async def test_myth_without_a_question_explains_how_to_ask(slack: SlackHarness) -> None:
    status, body = await slack.command("command_myth", "   ")

    assert status == 200
    answer = json.loads(body)
    assert answer["response_type"] == "ephemeral" and "/myth" in answer["text"]


async def test_canishare_in_a_channel_starts_the_decision_in_a_direct_message(
    slack: SlackHarness,
) -> None:
    status, body = await slack.command("command_canishare", channel_id=PUBLIC_CHANNEL)

    assert status == 200
    ack = json.loads(body)
    assert ack["response_type"] == "ephemeral" and "direct message" in ack["text"]
    assert [c.params["users"] for c in slack.fake.calls_to("conversations.open")] == [USER]
    assert slack.fake.posted(PUBLIC_CHANNEL) == []
    assert ("immediate_danger", "no") in [values(b) for b in slack.last_dm_buttons()]


async def test_a_mention_gets_a_short_private_answer_and_an_offer_to_talk_in_a_dm(
    slack: SlackHarness,
) -> None:
    assert await slack.event(payload("event_app_mention")) == 200

    assert slack.fake.posted(PUBLIC_CHANNEL) == []
    [reply] = slack.fake.ephemerals
    assert reply["channel"] == PUBLIC_CHANNEL and reply["user"] == USER
    assert "shared channel" in json.dumps(reply["blocks"])
    offered = [
        json.loads(e["value"])
        for b in reply["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert {"q": "menu", "a": "start"} in offered


async def test_a_mention_never_changes_the_dialog_in_the_dm(slack: SlackHarness) -> None:
    await slack.click("menu", "start")
    await slack.click("immediate_danger", "no")
    before, _ = await slack.bot.store.load_state("slack:T0TEAM001:U0USER001")
    mention = payload("event_app_mention")
    mention["event"]["text"] = "<@UBOT0001> yes"

    await slack.event(mention)

    after, _ = await slack.bot.store.load_state("slack:T0TEAM001:U0USER001")
    assert json.loads(after or "{}")["answers"] == json.loads(before or "{}")["answers"]


async def test_continuing_privately_from_a_mention_moves_the_conversation_to_the_dm(
    slack: SlackHarness,
) -> None:
    await slack.event(payload("event_app_mention"))

    await slack.click("menu", "start", channel=PUBLIC_CHANNEL)

    assert slack.fake.posted(PUBLIC_CHANNEL) == []
    assert ("immediate_danger", "no") in [values(b) for b in slack.last_dm_buttons()]
    assert slack.fake.posted(DM)


async def test_the_app_home_shows_what_the_bot_does_myths_golden_rules_and_contacts(
    slack: SlackHarness,
) -> None:
    assert await slack.event(payload("event_app_home_opened")) == 200

    [published] = [v for v in slack.fake.views if v["kind"] == "publish"]
    assert published["user_id"] == USER
    view = published["view"]
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    text = json.dumps(view, ensure_ascii=False)
    buttons = [
        json.loads(e["value"])
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert {"q": "menu", "a": "start"} in buttons
    assert {"q": "entry", "a": "myth.gdpr-barrier"} in buttons
    assert "seven golden rules" in text.lower() and "1. Protecting a child" in text
    assert "Local contacts" in text and "Children's social care front door" in text


async def test_a_mention_too_long_to_read_is_refused_as_in_a_dm(slack: SlackHarness) -> None:
    mention = payload("event_app_mention")
    mention["event"]["text"] = "<@UBOT0001> " + ("is consent always needed? " * 1200)[:30_000]

    assert await slack.event(mention) == 200

    [reply] = slack.fake.ephemerals
    refusal = slack.bot.conversation.words.text("too_long", max=4000)
    assert reply["text"] == refusal and reply["user"] == USER
    assert "consent" not in json.dumps(reply["blocks"]).lower()


def home_buttons(view: dict[str, object]) -> list[dict[str, str]]:
    blocks = view["blocks"]
    assert isinstance(blocks, list)
    return [json.loads(e["value"]) for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def test_the_app_home_offers_to_carry_on_with_a_decision_in_progress(
    slack: SlackHarness,
) -> None:
    await slack.click("menu", "start")
    await slack.click("immediate_danger", "no")

    assert await slack.event(payload("event_app_home_opened")) == 200

    [published] = [v for v in slack.fake.views if v["kind"] == "publish"]
    text = json.dumps(published["view"], ensure_ascii=False)
    welcome_back = slack.bot.conversation.words.message("welcome_back")
    assert welcome_back["title"] in text and welcome_back["decision"] in text
    assert {"q": "dialog", "a": "resume"} in home_buttons(published["view"])
    assert {"q": "dialog", "a": "restart"} in home_buttons(published["view"])
    assert "Local contacts" in text  # the rest of the home is still there


async def test_carrying_on_from_the_app_home_shows_the_waiting_question_in_the_dm(
    slack: SlackHarness,
) -> None:
    await slack.click("menu", "start")
    await slack.click("immediate_danger", "no")
    await slack.event(payload("event_app_home_opened"))
    posted = len(slack.fake.posted(DM))

    click = slack.click_payload("dialog", "resume")
    click["container"] = {"type": "view", "view_id": "V0HOME001"}
    await slack.interact(click)

    assert len(slack.fake.posted(DM)) == posted + 1
    assert ("legal_duty", "no") in [values(b) for b in slack.last_dm_buttons()]


async def test_the_app_home_of_someone_with_no_dialog_in_progress_is_the_usual_welcome(
    slack: SlackHarness,
) -> None:
    await slack.event(payload("event_app_home_opened"))

    [published] = [v for v in slack.fake.views if v["kind"] == "publish"]
    assert {"q": "dialog", "a": "resume"} not in home_buttons(published["view"])
    welcome = slack.bot.conversation.words.message("welcome")
    assert welcome["title"] in json.dumps(published["view"], ensure_ascii=False)
