"""The record form as a modal, and the decision record in the private record channel."""

from __future__ import annotations

import json

from bot.channels.slack.sender import EVENT_TYPE
from tests.channels.slack.conftest import DM, LEADS_CHANNEL, RECORD_CHANNEL, SlackHarness
from tests.channels.slack.flows import TO_SHARE_WITH_CONSENT, click_through, good_record


async def record_form_open(slack: SlackHarness) -> dict:
    await click_through(slack, TO_SHARE_WITH_CONSENT)
    await slack.click("record", "start", trigger_id="trigger.record.1")
    opened = [v for v in slack.fake.views if v["kind"] == "open"]
    assert opened, "the record form was not opened"
    return opened[-1]


async def test_record_this_decision_opens_the_form_as_a_modal(slack: SlackHarness) -> None:
    opened = await record_form_open(slack)

    view = opened["view"]
    assert opened["trigger_id"] == "trigger.record.1"
    assert view["type"] == "modal" and view["callback_id"] == "record_form"
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert list(inputs) == [
        "case_reference",
        "what",
        "with_whom",
        "purpose",
        "lawful_basis",
        "special_category",
        "reasons",
    ]
    assert inputs["what"]["type"] == "plain_text_input" and inputs["what"]["multiline"]
    assert inputs["lawful_basis"]["type"] == "static_select"
    assert inputs["lawful_basis"]["initial_option"]["value"] == "public_task"
    assert all(len(o["text"]["text"]) <= 75 for e in inputs.values() for o in e.get("options", []))
    assert json.loads(view["private_metadata"]) == {
        "conversation": "slack:T0TEAM001:U0USER001",
        "channel": DM,
    }


async def test_personal_details_in_the_form_are_refused_inline_then_the_fixed_form_saves(
    slack: SlackHarness,
) -> None:
    await record_form_open(slack)

    status, body = await slack.submit(good_record(what="Concerns raised by Mrs Jones at school"))

    assert status == 200
    answer = json.loads(body)
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["what"]
    assert "name" in answer["errors"]["what"]
    assert await slack.bot.store.records("decision") == []

    status, body = await slack.submit(good_record())

    assert status == 200 and body == ""
    saved = await slack.bot.store.records("decision")
    assert len(saved) == 1 and saved[0]["case_reference"] == "CP-2026-0412"
    assert "Decision recorded" in slack.dm_texts()[-1]


async def test_the_saved_record_is_posted_to_the_private_record_channel(
    slack: SlackHarness,
) -> None:
    await record_form_open(slack)
    await slack.submit(good_record())

    delivered = await slack.deliver()

    assert delivered == 1
    [post] = slack.fake.posted(RECORD_CHANNEL)
    record = (await slack.bot.store.records("decision"))[0]
    assert record["id"] in post["text"]
    assert "CP-2026-0412" in json.dumps(post["blocks"])
    assert post["metadata"]["event_type"] == EVENT_TYPE
    assert post["metadata"]["event_payload"]["record_id"] == record["id"]
    [delivery] = await slack.bot.store.deliveries(record["id"])
    assert delivery.status == "delivered"
    assert delivery.external_ref == f"{RECORD_CHANNEL}|{post['ts']}"


async def test_a_public_record_channel_is_refused_and_the_record_waits_until_it_is_private(
    slack: SlackHarness,
) -> None:
    slack.fake.private_channels.discard(RECORD_CHANNEL)
    await record_form_open(slack)
    await slack.submit(good_record())

    assert await slack.deliver() == 0

    assert slack.fake.posted(RECORD_CHANNEL) == []
    [pending] = await slack.bot.store.undelivered()
    assert pending.target == "slack:record"
    assert "public channel" in (pending.last_error or "")

    slack.fake.private_channels.add(RECORD_CHANNEL)
    slack.clock.advance(3600)

    assert await slack.deliver() == 1
    assert len(slack.fake.posted(RECORD_CHANNEL)) == 1
    assert await slack.bot.store.undelivered() == []


async def test_mention_syntax_typed_into_a_record_is_escaped_everywhere(
    slack: SlackHarness,
) -> None:
    await record_form_open(slack)
    sneaky = "Duty team <!channel> <!here> <@U0BOSS001> <https://evil.example|click me>"

    await slack.submit(good_record(with_whom=sneaky))
    await slack.deliver()

    for text in (slack.dm_texts()[-1], slack.fake.texts(RECORD_CHANNEL)[-1]):
        assert "&lt;!channel&gt;" in text and "&lt;!here&gt;" in text
        assert "&lt;@U0BOSS001&gt;" in text and "&lt;https://evil.example|click me&gt;" in text
        assert "<!channel>" not in text and "<@U0BOSS001>" not in text and "<https://" not in text


async def test_an_expired_trigger_falls_back_to_a_button_that_opens_the_form(
    slack: SlackHarness,
) -> None:
    await click_through(slack, TO_SHARE_WITH_CONSENT)
    slack.fake.expired_triggers.add("trigger.too.late")

    await slack.click("record", "start", trigger_id="trigger.too.late")

    assert slack.fake.views == []
    buttons = [json.loads(b["value"]) for b in slack.last_dm_buttons()]
    assert {"q": "record", "a": "start"} in buttons


async def test_records_stuck_for_an_hour_raise_an_alert_in_the_leads_channel(
    slack: SlackHarness,
) -> None:
    slack.fake.private_channels.discard(RECORD_CHANNEL)
    await record_form_open(slack)
    await slack.submit(good_record())
    await slack.deliver()
    slack.clock.advance(61 * 60)

    await slack.deliver()  # still refused; the overdue record raises an alert
    await slack.deliver()  # the alert goes out

    [alert] = slack.fake.posted(LEADS_CHANNEL)
    assert "have not been delivered" in alert["text"]
    assert "public channel" in json.dumps(alert["blocks"])
    assert slack.fake.posted(RECORD_CHANNEL) == []
