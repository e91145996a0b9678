"""Emergency wording wins at any step; a dialog left idle restarts and forgets its answers."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.core.conversation import Conversation
from bot.core.replies import ReplyKind
from bot.dialogs.flow import DECISION_QUESTION_IDS
from bot.dialogs.state import DialogState
from tests.transcript import Chat

# Answers that walk through every decision question (consent not asked, unsafe to ask).
LONGEST_PATH = {
    "immediate_danger": "no",
    "legal_duty": "no",
    "legitimate_purpose": "yes",
    "identifiable": "yes",
    "confidential": "yes",
    "risk_of_harm": "no",
    "consent": "not_asked",
    "seeking_consent_safe": "no",
    "public_interest": "yes",
}
DANGER = [
    "he has a knife",
    "she says she wants to end her life",
    "a toddler has been left home alone all night",
    "mum is being beaten right now",
]


def assert_emergency(said_outcome: str | None, chat: Chat) -> None:
    assert said_outcome == "emergency"
    assert chat.state.step == "outcome"
    assert chat.state.outcome == "emergency"


def writing_the_record(chat: Chat) -> None:
    """A decision to share without consent, its record begun: the case reference given, the
    next question asks what was shared."""
    chat.decide({**LONGEST_PATH, "risk_of_harm": "yes", "adult_wishes": "no"})
    chat.click("record", "start")
    chat.send("CP-2026-0412")


# ---------------------------------------------------------------- emergency


def test_answering_yes_to_immediate_danger_goes_straight_to_the_emergency_guidance(
    chat: Chat,
) -> None:
    chat.start()

    said = chat.click("immediate_danger", "yes")

    assert_emergency(said.outcome, chat)
    emergency = said.replies[0]
    assert emergency.kind == ReplyKind.EMERGENCY
    assert "999" in emergency.text
    assert any("record" in step.lower() for step in emergency.bullets)
    assert chat.asked == ["immediate_danger"]


def test_typing_yes_to_immediate_danger_is_an_emergency_too(chat: Chat) -> None:
    chat.start()

    said = chat.send("yes")

    assert_emergency(said.outcome, chat)
    assert chat.state.decided_by == "immediate_danger=yes"


@pytest.mark.parametrize("question_id", [*DECISION_QUESTION_IDS, "person"])
def test_emergency_wording_at_any_question_short_circuits_to_the_emergency_outcome(
    chat: Chat, question_id: str
) -> None:
    at_risk = {**LONGEST_PATH, "risk_of_harm": "yes", "adult_wishes": "yes"}
    chat.reach(question_id, at_risk if question_id == "adult_wishes" else LONGEST_PATH)

    said = chat.send("he has a knife")

    assert_emergency(said.outcome, chat)
    assert said.replies[0].kind == ReplyKind.EMERGENCY
    # at the danger question itself the words are also its answer: yes
    expected = {"text", "immediate_danger=yes"} if question_id == "immediate_danger" else {"text"}
    assert chat.state.decided_by in expected


def test_danger_now_told_as_a_story_at_a_question_is_an_emergency(chat: Chat) -> None:
    chat.reach("risk_of_harm", LONGEST_PATH)

    said = chat.send(
        "his uncle is waiting outside the school gate now and he is too scared to go with him"
    )

    assert_emergency(said.outcome, chat)


def test_a_plain_no_then_danger_happening_now_is_an_emergency(chat: Chat) -> None:
    chat.reach("risk_of_harm", LONGEST_PATH)

    said = chat.send("no he's battering her right now")

    assert_emergency(said.outcome, chat)


def test_danger_now_beside_a_denial_is_still_an_emergency(chat: Chat) -> None:
    chat.start()

    said = chat.send("she's ok here with me but he says he'll hurt her mum tonight when he's home")

    assert_emergency(said.outcome, chat)


def test_the_risk_being_weighed_told_later_is_asked_again_with_the_safety_note(
    chat: Chat,
) -> None:
    # "no one is in danger now" was answered: a later story of the risk is that risk
    chat.reach("seeking_consent_safe", LONGEST_PATH)

    said = chat.send("the stepdad is the one abusing him and he's the one with PR")

    assert said.outcome is None
    assert chat.state.step == "q:seeking_consent_safe"
    assert "999" in said.replies[0].text
    assert said.replies[-1].question_id == "seeking_consent_safe"


def test_the_same_story_before_danger_was_ruled_out_is_an_emergency(chat: Chat) -> None:
    chat.start()

    said = chat.send("the stepdad is the one abusing him and he's the one with PR")

    assert_emergency(said.outcome, chat)


def test_danger_said_to_be_now_after_danger_was_ruled_out_is_an_emergency(chat: Chat) -> None:
    chat.reach("consent", LONGEST_PATH)

    said = chat.send("hes back and hes got her by the hair in the car park")

    assert_emergency(said.outcome, chat)


def test_asking_what_counts_as_immediate_is_told_what_it_means_and_asked_again(
    chat: Chat,
) -> None:
    chat.start()

    said = chat.send("what counts as immediate? he isnt there but he's due back tonight")

    assert said.outcome is None
    assert chat.state.step == "q:immediate_danger"
    text = " ".join(r.text for r in said.replies)
    assert "999" in text  # the safety note
    assert "before you could get advice" in text and "choose Yes" in text
    assert said.replies[-1].question_id == "immediate_danger"


def test_asking_what_counts_beside_danger_that_settles_it_is_an_emergency(chat: Chat) -> None:
    chat.start()

    said = chat.send("what counts as immediate? he's got a knife to her throat right now")

    assert_emergency(said.outcome, chat)


def test_a_story_after_a_plain_yes_at_a_question_is_that_answer(chat: Chat) -> None:
    chat.reach("risk_of_harm", LONGEST_PATH)

    chat.send("yes, she's 14 and the man she's seeing is 25, he picks her up from youth club")

    assert chat.state.outcome != "emergency"
    assert ("risk_of_harm", "yes") in chat.state.answers


@pytest.mark.parametrize(
    ("question", "typed"),
    [
        # a plain answer to another question, then danger said to be now
        (
            "risk_of_harm",
            "yes definitely - and she's just told me the man who abused her is waiting outside"
            " the gates for her now",
        ),
        (
            "confidential",
            "i guess so, why does it matter, he's at her door now shouting he'll kill her",
        ),
        (
            "seeking_consent_safe",
            "no - he's gone mad, he's smashing the flat up with her still in there",
        ),
        ("legal_duty", "no, but he's run off towards the railway line saying he's going to end it"),
        # at a question about something else, danger the model is sure of, said to be now
        (
            "consent",
            "no consent. her sister just rang, he's outside her flat now banging on the door",
        ),
        (
            "confidential",
            "yes - and I must add her ex has just arrived and is attempting to gain entry",
        ),
    ],
)
def test_a_plain_answer_to_another_question_does_not_hide_danger_now(
    chat: Chat, question: str, typed: str
) -> None:
    chat.reach(question, LONGEST_PATH)

    said = chat.send(typed)

    assert_emergency(said.outcome, chat)


@pytest.mark.parametrize("wording", DANGER)
def test_emergency_wording_before_any_dialog_gives_the_emergency_guidance(
    chat: Chat, wording: str
) -> None:
    said = chat.send(wording)

    assert_emergency(said.outcome, chat)


def test_emergency_wording_after_an_outcome_replaces_it_with_the_emergency_outcome(
    chat: Chat,
) -> None:
    chat.decide({**LONGEST_PATH, "consent": "refused", "public_interest": "no"})

    said = chat.send("she says she wants to end her life")

    assert_emergency(said.outcome, chat)


def test_back_after_emergency_wording_asks_about_immediate_danger_again(chat: Chat) -> None:
    chat.reach("legitimate_purpose", LONGEST_PATH)
    chat.send("he has a knife")

    said = chat.send("back")
    resumed = chat.click("immediate_danger", "no")

    assert said.question == "immediate_danger"
    assert chat.state.answer_map == {"legal_duty": "no", "immediate_danger": "no"}
    assert resumed.question == "legitimate_purpose"


def test_danger_now_typed_into_a_record_field_keeps_the_decision_and_the_record(
    chat: Chat,
) -> None:
    writing_the_record(chat)
    words = "her stepdad has just turned up at reception with a knife shouting for her"

    said = chat.send(words)

    assert said.replies[0].kind == ReplyKind.EMERGENCY, "the danger guidance is still shown"
    assert said.outcome is None
    assert chat.state.outcome == "share_without_consent"
    assert chat.state.record["what"] == words
    assert said.question == "with_whom"


def test_a_recipient_called_the_emergency_duty_team_is_just_a_recipient(chat: Chat) -> None:
    writing_the_record(chat)
    chat.send("Concerns raised at school this week")

    said = chat.send("Emergency duty team, duty social worker")

    assert not said.of_kind(ReplyKind.EMERGENCY)
    assert chat.state.record["with_whom"] == "Emergency duty team, duty social worker"
    assert said.question == "purpose"


def test_a_past_emergency_told_while_writing_the_record_is_only_written_down(
    chat: Chat,
) -> None:
    writing_the_record(chat)
    words = "his medication list, given to the paramedics when he was unconscious"

    said = chat.send(words)

    assert not said.of_kind(ReplyKind.EMERGENCY), "the share is over: no emergency card"
    assert chat.state.record["what"] == words
    assert said.question == "with_whom"


def test_emergency_wording_in_an_escalation_still_sends_it_to_the_leads(chat: Chat) -> None:
    chat.decide({**LONGEST_PATH, "legitimate_purpose": "unsure"})
    chat.click("escalate", "start")
    chat.send("CP-2026-0412")

    said = chat.send("Dad has threatened to kill himself, should I tell the GP?")

    assert said.replies[0].kind == ReplyKind.EMERGENCY
    assert len(said.escalations) == 1
    assert chat.state.outcome == "seek_advice"


# ---------------------------------------------------------------- idle restart


@pytest.fixture
def chat_idle_after(conversation: Conversation) -> Callable[[float], Chat]:
    def make(hours: float) -> Chat:
        return Chat(Conversation.build(conversation.knowledge, idle_hours=hours))

    return make


def test_a_dialog_left_idle_for_more_than_a_day_restarts_and_forgets_its_answers(
    chat: Chat,
) -> None:
    chat.reach("confidential", LONGEST_PATH)

    said = chat.later(hours=25).click("confidential", "yes")

    assert "started afresh" in said.replies[0].text
    assert chat.state.answers == ()
    assert "confidential" not in chat.state.answer_map
    assert not chat.state.in_dialog


def test_a_dialog_idle_for_less_than_a_day_carries_on(chat: Chat) -> None:
    chat.reach("confidential", LONGEST_PATH)

    said = chat.later(hours=23).click("confidential", "yes")

    assert said.question == "risk_of_harm"
    assert len(chat.state.answers) == 4 + 1


def test_the_idle_limit_is_configurable(chat_idle_after: Callable[[float], Chat]) -> None:
    chat = chat_idle_after(2)
    chat.reach("legal_duty", LONGEST_PATH)

    kept = chat.later(hours=1.5).send("no")
    chat.later(hours=2.5)
    restarted = chat.send("yes")

    assert kept.question == "legitimate_purpose"
    assert "started afresh" in restarted.replies[0].text
    assert chat.state.answers == ()


def test_an_idle_restart_also_forgets_a_half_written_record(
    chat_idle_after: Callable[[float], Chat],
) -> None:
    chat = chat_idle_after(1)
    chat.decide({"immediate_danger": "no", "legal_duty": "yes"})
    chat.click("record", "start")
    chat.send("CP-2026-0412")

    said = chat.later(hours=3).send("the section 47 request")

    assert "started afresh" in said.text
    assert chat.state == DialogState(last_active=chat.state.last_active)
    assert said.saved == [] and said.escalations == []


def test_an_idle_restart_can_begin_a_new_decision_in_the_same_message(chat: Chat) -> None:
    chat.reach("identifiable", LONGEST_PATH)

    said = chat.later(days=3).send("can I share?")

    assert "started afresh" in said.replies[0].text
    assert said.question == "immediate_danger"
    assert chat.state.answers == ()


def test_a_stale_button_after_an_idle_restart_offers_the_menu(chat: Chat) -> None:
    chat.start()
    chat.later(hours=30)

    said = chat.click("legal_duty", "no")

    assert "started afresh" in said.text
    assert {c.a for c in said.choices} >= {"start"}
