"""Asking the safeguarding lead: case reference, then the question, then an Escalate effect."""

from __future__ import annotations

from datetime import datetime

from bot.core.replies import ReplyKind
from tests.dialogs.test_flow import SHORTEST_PATH
from tests.transcript import Chat, answers_of

UNSURE_OF_PURPOSE = SHORTEST_PATH["seek_advice"]


def test_seek_advice_escalates_with_a_case_reference_then_a_question(chat: Chat) -> None:
    chat.decide(UNSURE_OF_PURPOSE)

    reference = chat.click("escalate", "start")
    question = chat.send("CP-2026-0412")
    sent = chat.send("Is a request from the youth offending team a legitimate purpose?")

    assert "case reference" in reference.text
    assert reference.effects == question.effects == []
    assert "What would you like advice on?" in question.text
    [escalation] = sent.escalations
    assert escalation["id"].startswith("E-")
    assert escalation["case_reference"] == "CP-2026-0412"
    assert escalation["question"].startswith("Is a request from the youth offending team")
    assert escalation["outcome"] == "seek_advice"
    assert answers_of(escalation) == [*UNSURE_OF_PURPOSE.items()]
    assert escalation["practitioner"] == chat.user
    assert datetime.fromisoformat(escalation["created_at"]) == chat.now
    assert sent.replies[0].title == "Sent to your safeguarding leads"
    assert escalation["id"] in sent.replies[0].text


def test_after_escalating_the_outcome_is_shown_again_to_record_it(chat: Chat) -> None:
    chat.decide(UNSURE_OF_PURPOSE)
    chat.click("escalate", "start")
    chat.send("CP-2026-0412")

    sent = chat.send("Should I share the attendance concerns?")

    assert chat.state.step == "outcome"
    assert chat.state.outcome == "seek_advice"
    assert sent.outcome == "seek_advice"
    assert ("record", "start") in {(c.q, c.a) for c in sent.choices}


def test_asking_for_a_lead_mid_dialog_returns_to_the_same_question(chat: Chat) -> None:
    chat.start()
    chat.send("no")

    chat.send("ask my DSL")
    chat.send("EH-2026-0099")
    sent = chat.send("Not sure whether this counts as a court order")

    assert len(sent.escalations) == 1
    assert sent.escalations[0]["outcome"] == ""
    assert sent.question == "legal_duty"
    assert chat.state.answers == (("immediate_danger", "no"),)


def test_a_known_case_reference_is_not_asked_again(chat: Chat) -> None:
    chat.decide(UNSURE_OF_PURPOSE)
    chat.click("record", "start")
    chat.send("CP-2026-0412")

    said = chat.click("escalate", "start")

    assert chat.state.step == "esc:question"
    assert "What would you like advice on?" in said.text


def test_personal_details_in_an_escalation_are_refused_and_asked_again(chat: Chat) -> None:
    chat.decide(UNSURE_OF_PURPOSE)
    chat.click("escalate", "start")
    named = chat.send("Kacper Nowak")
    chat.send("CP-2026-0412")

    phoned = chat.send("Mum (07700 900123) wants to know why we called")

    assert named.of_kind(ReplyKind.WARNING)
    assert named.effects == []
    assert phoned.of_kind(ReplyKind.WARNING)
    assert phoned.escalations == []
    assert chat.state.step == "esc:question"
    assert "Nowak" not in chat.state.to_json() and "07700" not in chat.state.to_json()


def test_an_empty_or_overlong_case_reference_is_asked_again(chat: Chat) -> None:
    chat.decide(UNSURE_OF_PURPOSE)
    chat.click("escalate", "start")

    overlong = chat.send("X" * 61)

    assert overlong.replies[0].text.startswith("Sorry")
    assert chat.state.step == "esc:reference"
    assert chat.state.escalation == {}


def test_stop_during_an_escalation_sends_nothing(chat: Chat) -> None:
    chat.decide(UNSURE_OF_PURPOSE)
    chat.click("escalate", "start")
    chat.send("CP-2026-0412")

    said = chat.send("stop")

    assert said.escalations == []
    assert not chat.state.in_dialog


# ---------------------------------------------------------------- cancel, back, and what belongs


def test_cancel_while_writing_a_request_cancels_only_the_request(chat: Chat) -> None:
    chat.start()
    chat.send("no")
    chat.send("ask my DSL")
    chat.send("CP-2026-0412")

    said = chat.send("cancel")

    assert "cancelled the request" in said.text and "Nothing was sent" in said.text
    assert said.escalations == []
    assert said.question == "legal_duty"
    assert chat.state.answers == (("immediate_danger", "no"),)
    assert chat.state.escalation == {}


def test_cancel_at_the_outcome_goes_back_to_the_outcome(chat: Chat) -> None:
    chat.decide(UNSURE_OF_PURPOSE)
    chat.click("escalate", "start")

    said = chat.click("escalate", "cancel")

    assert said.outcome == "seek_advice"
    assert chat.state.step == "outcome"


def test_each_step_of_a_request_offers_a_cancel_button(chat: Chat) -> None:
    chat.decide(UNSURE_OF_PURPOSE)

    reference = chat.click("escalate", "start")
    question = chat.send("CP-2026-0412")

    for said in (reference, question):
        assert ("escalate", "cancel") in {(c.q, c.a) for c in said.choices}
        assert "Type cancel" in said.text


def test_stop_while_writing_a_request_still_ends_everything(chat: Chat) -> None:
    chat.start()
    chat.send("no")
    chat.send("ask my DSL")

    said = chat.send("stop")

    assert "nothing was recorded" in said.text
    assert not chat.state.in_dialog


def test_back_from_the_question_returns_to_the_case_reference(chat: Chat) -> None:
    chat.decide(UNSURE_OF_PURPOSE)
    chat.click("escalate", "start")
    chat.send("CP-2026-0412")

    said = chat.send("back")

    assert chat.state.step == "esc:reference"
    assert "case reference" in said.text


def test_a_case_reference_for_a_lead_must_look_like_one(chat: Chat) -> None:
    chat.decide(UNSURE_OF_PURPOSE)
    chat.click("escalate", "start")

    said = chat.send("dunno we haven't got one yet")

    assert "doesn't look like a case reference" in said.text
    assert chat.state.step == "esc:reference"


def test_the_practitioners_own_call_back_number_can_go_to_the_lead(chat: Chat) -> None:
    chat.decide(UNSURE_OF_PURPOSE)
    chat.click("escalate", "start")
    chat.send("CP-2026-0412")

    sent = chat.send("Is the youth offending team's request legitimate? Call me on 07700 900123")

    [escalation] = sent.escalations
    assert escalation["question"].endswith("Call me on 07700 900123")


def test_a_parents_number_in_a_request_is_named_precisely(chat: Chat) -> None:
    chat.decide(UNSURE_OF_PURPOSE)
    chat.click("escalate", "start")
    chat.send("CP-2026-0412")

    said = chat.send("Should I ring mum on 07700 900123 first?")

    warning = said.of_kind(ReplyKind.WARNING)[0]
    assert "“07700 900123” looks like a phone number" in warning.text
    assert "Your own number is fine" in warning.text
    assert said.escalations == []
