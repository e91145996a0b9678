"""A practitioner in a personal chat with the bot: the whole dialog as Adaptive Cards."""

from __future__ import annotations

import json

from bot.dialogs.flow import ALL_QUESTIONS
from tests.channels.teams.conftest import PERSONAL, PERSONAL_KEY, Teams
from tests.fakes.bf_connector import Call

# share_without_consent: a legitimate purpose, confidential, identifiable, risk of harm
SCRIPT = {
    "immediate_danger": "no",
    "legal_duty": "no",
    "legitimate_purpose": "yes",
    "identifiable": "yes",
    "confidential": "yes",
    "risk_of_harm": "yes",
    "person": "skip",
    "adult_wishes": "no",
}
GOOD_RECORD = {
    "case_reference": "CP-2026-0412",
    "what": "Concerns raised at school this week and the child's account",
    "with_whom": "Children's social care, duty social worker",
    "purpose": "So social care can assess the risk at home",
    "lawful_basis": "public_task",
    "special_category": "none",
    "reasons": "Risk of significant harm; asking would put the child at risk.",
}


def asked(call: Call) -> str:
    """The decision question a reply asks, from the data its buttons carry."""
    qs = {c["q"] for c in call.choices if c["q"] in ALL_QUESTIONS}
    assert len(qs) == 1, f"expected one question, found {qs} in {call.text!r}"
    return qs.pop()


def containers(card: dict) -> list[dict]:
    return [e for e in card["body"] if e.get("type") == "Container"]


async def test_a_whole_decision_by_card_submits_ends_in_a_clear_outcome_card(teams: Teams) -> None:
    reply = await teams.click("menu", "start")
    answered = []
    while reply.choices and asked_or_none(reply):
        q = asked(reply)
        answered.append(q)
        reply = await teams.click(q, SCRIPT[q])

    assert answered == list(SCRIPT)
    outcome = reply.cards[0]
    assert outcome["version"] == "1.5"
    assert containers(outcome)[0]["style"] == "good"
    assert teams.bot.conversation.words.outcome("share_without_consent")["title"] in reply.text
    assert {"q": "record", "a": "start"} in reply.choices


def asked_or_none(call: Call) -> bool:
    return any(c["q"] in ALL_QUESTIONS for c in call.choices)


async def test_every_button_carries_exactly_a_question_id_and_answer(teams: Teams) -> None:
    reply = await teams.click("menu", "start")

    submits = [a for a in reply.actions if a["type"] == "Action.Submit"]

    assert submits
    assert all(set(a["data"]) == {"q", "a"} for a in submits)
    assert {a["data"]["a"] for a in submits} == {"yes", "no"}


async def test_a_whole_decision_by_free_text_reaches_the_same_outcome(teams: Teams) -> None:
    reply = await teams.say("can I share")
    for _ in range(12):
        if not asked_or_none(reply):
            break
        reply = await teams.say(SCRIPT[asked(reply)])

    state, _ = await teams.bot.store.load_state(PERSONAL_KEY)
    assert json.loads(state or "{}")["outcome"] == "share_without_consent"
    assert containers(reply.cards[0])[0]["style"] == "good"


async def test_questions_cite_their_sources_in_small_subtle_text(teams: Teams) -> None:
    reply = await teams.click("menu", "start")

    question = [run(b) for b in reply.cards[-1]["body"]]
    quiet = [b for b in question if b.get("isSubtle") and b.get("size") == "Small"]

    assert any(b["text"].startswith("Source") for b in quiet)


async def test_immediate_danger_gets_a_loud_emergency_card(teams: Teams) -> None:
    reply = await teams.click("menu", "start")

    reply = await teams.click(asked(reply), "yes")

    emergency = containers(reply.cards[0])[0]
    assert emergency["style"] == "attention"
    assert emergency["items"][0]["color"] == "Attention"
    assert emergency["items"][0]["size"] == "ExtraLarge"
    assert emergency["items"][0]["style"] == "heading"


async def test_the_record_form_shows_each_error_under_its_field(teams: Teams) -> None:
    await reach_outcome(teams)
    form = await teams.click("record", "start")
    assert [i["id"] for i in inputs(form)][:2] == ["case_reference", "what"]

    bad = {**GOOD_RECORD, "case_reference": "", "what": "Told by Jane Smith on 12/03/2019"}
    replies = await teams.send(teams.submit({"q": "record", "a": "submit", **bad}, on=form))

    assert replies == []  # the form is corrected where it is, not posted again
    [reply] = [u for u in teams.connector.to(PERSONAL, "update") if u.activity_id == form.new_id]
    body = reply.cards[0]["body"]
    errors = {
        previous_input(body, i)["id"]: run(e)["text"]
        for i, e in enumerate(body)
        if e.get("type") == "RichTextBlock" and run(e).get("color") == "Attention" and i > 1
    }
    assert set(errors) == {"case_reference", "what"}
    assert "personal details" in errors["what"] or "name" in errors["what"]
    assert next(i for i in inputs(reply) if i["id"] == "purpose")["value"] == GOOD_RECORD["purpose"]
    assert await teams.bot.store.records("decision") == []


async def test_a_valid_record_form_saves_the_decision(teams: Teams) -> None:
    await reach_outcome(teams)
    await teams.click("record", "start")

    reply = await teams.click("record", "submit", **GOOD_RECORD)

    records = await teams.bot.store.records("decision")
    assert len(records) == 1
    assert records[0]["case_reference"] == "CP-2026-0412"
    assert records[0]["channel"] == "teams"
    assert records[0]["practitioner"] == "0b4f7a2e-9c1d-4e5f-8a6b-7c8d9e0f1a2b"
    assert records[0]["id"] in reply.text
    assert "Case reference: \nCP-2026-0412" in reply.text  # a bold label, then the value


async def test_a_repeated_activity_is_answered_only_once(teams: Teams) -> None:
    activity = teams.message("can I share")

    first = await teams.send(activity)
    again = await teams.send(activity)

    assert len(first) == 1
    assert again == []


async def test_one_turn_is_one_message_however_many_replies_it_has(teams: Teams) -> None:
    reply = await teams.say("hello there, what can you do?")

    assert len(reply.cards) >= 2
    assert reply.body["attachmentLayout"] == "list"
    assert reply.conversation_id == PERSONAL


async def test_installing_the_app_personally_says_welcome_and_how_to_start(teams: Teams) -> None:
    replies = await teams.send(teams.activity("personal_install"))

    sends = teams.connector.to(PERSONAL)
    assert replies == [] and len(sends) == 1
    assert "Can I share?" in sends[0].text
    assert {"q": "menu", "a": "start"} in sends[0].choices


# ---------------------------------------------------------------------- helpers
async def reach_outcome(teams: Teams) -> Call:
    reply = await teams.click("menu", "start")
    while asked_or_none(reply):
        reply = await teams.click(asked(reply), SCRIPT[asked(reply)])
    return reply


def run(block: dict) -> dict:
    """The styled text run of a body block (a heading is its own run)."""
    return block["inlines"][0] if block.get("type") == "RichTextBlock" else block


def inputs(call: Call) -> list[dict]:
    return [e for e in call.cards[0]["body"] if str(e.get("type", "")).startswith("Input.")]


def previous_input(body: list[dict], index: int) -> dict:
    return next(e for e in reversed(body[:index]) if str(e.get("type", "")).startswith("Input."))


async def test_installing_again_mid_decision_offers_to_carry_on_or_start_again(
    teams: Teams,
) -> None:
    await teams.click("menu", "start")
    await teams.click("immediate_danger", "no")

    await teams.send(teams.activity("personal_install"))

    welcome = teams.connector.to(PERSONAL)[-1]
    words = teams.bot.conversation.words.message("welcome_back")
    assert words["title"] in welcome.text and words["decision"] in welcome.text
    assert welcome.choices == [{"q": "dialog", "a": "resume"}, {"q": "dialog", "a": "restart"}]
    carried_on = await teams.click("dialog", "resume")
    assert {"q": "legal_duty", "a": "no"} in carried_on.choices
