"""A practitioner works through a decision in a DM with the bot."""

from __future__ import annotations

import json

from tests.channels.slack.conftest import DM, SlackHarness, payload
from tests.channels.slack.flows import TO_SHARE_WITH_CONSENT, click_through, values


async def test_a_whole_decision_through_buttons_ends_in_an_outcome_card(
    slack: SlackHarness,
) -> None:
    await click_through(slack, TO_SHARE_WITH_CONSENT)

    card = slack.fake.posted(DM)[-1]["blocks"]
    assert card[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "You can share", "emoji": True},
    }
    text = json.dumps(card)
    assert "*What to do next*" in text
    assert any(b["type"] == "context" and ":book: Source" in b["elements"][0]["text"] for b in card)
    assert ("record", "start") in [values(b) for b in slack.last_dm_buttons()]


async def test_every_button_carries_its_question_id_and_answer_as_json(slack: SlackHarness) -> None:
    await slack.click("menu", "start")

    buttons = slack.last_dm_buttons()

    assert [json.loads(b["value"]) for b in buttons] == [
        {"q": "immediate_danger", "a": "yes"},
        {"q": "immediate_danger", "a": "no"},
    ]
    assert len({b["action_id"] for b in buttons}) == len(buttons)


async def test_a_whole_decision_through_typed_answers_reaches_the_same_outcome(
    slack: SlackHarness,
) -> None:
    for line in ("can I share", "no", "no", "yes", "yes", "yes", "no", "skip"):
        assert await slack.dm(line) == 200

    await slack.dm("yes, they agreed")

    assert "You can share" in slack.dm_texts()[-1]


async def test_typing_yes_at_the_outcome_offers_a_button_that_opens_the_record_form(
    slack: SlackHarness,
) -> None:
    await click_through(slack, TO_SHARE_WITH_CONSENT)

    await slack.dm("yes")

    assert ("record", "start") in [values(b) for b in slack.last_dm_buttons()]
    assert slack.fake.views == []


async def test_a_question_mid_decision_is_answered_and_the_decision_resumes(
    slack: SlackHarness,
) -> None:
    await slack.click("menu", "start")

    await slack.dm("is consent always needed before I share anything?")

    last = slack.dm_texts()[-1]
    assert "Myth" in last or "consent" in last.lower()
    assert ("immediate_danger", "no") in [values(b) for b in slack.last_dm_buttons()]


async def test_a_message_with_personal_details_gets_a_visible_warning(slack: SlackHarness) -> None:
    await slack.click("menu", "start")

    await slack.dm("no, but Mrs Jones at 12 Acacia Avenue is worried")

    assert ":warning:" in slack.dm_texts()[-1]


async def test_edits_and_bot_messages_are_never_answered(slack: SlackHarness) -> None:
    assert await slack.event(payload("event_message_changed")) == 200
    assert await slack.event(payload("event_bot_message")) == 200

    assert slack.fake.calls_to("chat.postMessage") == []
