"""'Seek advice': the escalation card in the leads channel, and a lead taking it."""

from __future__ import annotations

import json

from tests.channels.slack.conftest import DM, LEAD_1, LEAD_2, LEADS_CHANNEL, USER, SlackHarness
from tests.channels.slack.flows import TO_SEEK_ADVICE, click_through

QUESTION = "Should I tell the school nurse about the bruising?"


async def escalate(slack: SlackHarness) -> str:
    await click_through(slack, TO_SEEK_ADVICE)
    await slack.click("escalate", "start")
    await slack.dm("CP-2026-0999")
    await slack.dm(QUESTION)
    [escalation] = await slack.bot.store.records("escalation")
    return str(escalation["id"])


async def test_an_escalation_is_posted_to_the_leads_with_a_claim_button_and_no_names(
    slack: SlackHarness,
) -> None:
    escalation_id = await escalate(slack)

    assert await slack.deliver() == 1

    [card] = slack.fake.posted(LEADS_CHANNEL)
    blocks = json.dumps(card["blocks"], ensure_ascii=False)
    assert escalation_id in blocks and "CP-2026-0999" in blocks and QUESTION in blocks
    assert "Answers so far" in blocks and "Is the information confidential" in blocks
    assert "sam.lee" not in blocks
    [claim] = [e for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert json.loads(claim["value"]) == {"q": "claim", "a": escalation_id}
    assert "Sent to your safeguarding leads" in " ".join(slack.dm_texts())


async def test_the_first_lead_to_claim_is_shown_on_the_card_and_to_the_practitioner(
    slack: SlackHarness,
) -> None:
    escalation_id = await escalate(slack)
    await slack.deliver()

    status, _ = await slack.click(
        "claim",
        escalation_id,
        user=LEAD_1,
        name="dsl.one",
        channel=LEADS_CHANNEL,
        action_id="claim",
    )
    assert status == 200
    assert await slack.deliver() == 2

    [card] = slack.fake.posted(LEADS_CHANNEL)
    assert card.get("edited")
    blocks = json.dumps(card["blocks"])
    assert "Taken by dsl.one" in blocks and '"claim"' not in blocks
    assert "dsl.one is taking your request" in slack.dm_texts()[-1]
    assert slack.fake.posted(DM)[-1]["metadata"]["event_payload"]["delivery_id"].endswith(
        ":slack:notify"
    )
    assert [c.params["users"] for c in slack.fake.calls_to("conversations.open")][-1] == USER


async def test_a_second_lead_is_told_privately_who_already_has_it(slack: SlackHarness) -> None:
    escalation_id = await escalate(slack)
    await slack.deliver()
    await slack.click(
        "claim",
        escalation_id,
        user=LEAD_1,
        name="dsl.one",
        channel=LEADS_CHANNEL,
        action_id="claim",
    )

    await slack.click(
        "claim",
        escalation_id,
        user=LEAD_2,
        name="dsl.two",
        channel=LEADS_CHANNEL,
        action_id="claim",
    )

    [told] = slack.fake.ephemerals
    assert told["channel"] == LEADS_CHANNEL and told["user"] == LEAD_2
    assert "dsl.one has already taken this request" in told["text"]
    claims = await slack.bot.store.records("claim")
    assert len(claims) == 1 and claims[0]["lead"] == LEAD_1
