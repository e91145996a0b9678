"""Whole conversations with the core, by buttons and by free text, as a practitioner has them."""

from __future__ import annotations

import pytest

from bot.core.conversation import Conversation
from bot.core.replies import Inbound, ReplyKind
from bot.dialogs.flow import DECISION_QUESTION_IDS, OUTCOMES, SHARING_OUTCOMES, outcome_for
from bot.dialogs.state import DialogState
from tests.dialogs.test_flow import SHORTEST_PATH
from tests.transcript import Chat

NO_RISK_TO_CONSENT = {
    "immediate_danger": "no",
    "legal_duty": "no",
    "legitimate_purpose": "yes",
    "identifiable": "yes",
    "confidential": "yes",
    "risk_of_harm": "no",
}


# ---------------------------------------------------------------- starting


@pytest.mark.parametrize(
    "opening", ["can I share?", "I have a concern", "Can I share this", "decide"]
)
def test_the_usual_openings_start_the_decision_at_immediate_danger(
    chat: Chat, opening: str
) -> None:
    said = chat.send(opening)

    assert said.question == "immediate_danger"
    assert chat.state.step == "q:immediate_danger"


def test_each_question_has_buttons_carrying_its_id_and_answer_and_a_why_line(chat: Chat) -> None:
    said = chat.start()

    question = said.of_kind(ReplyKind.QUESTION)[0]
    assert [c.value for c in question.choices] == [
        {"q": "immediate_danger", "a": "yes"},
        {"q": "immediate_danger", "a": "no"},
    ]
    assert question.note.startswith("Why am I asked this?")
    assert question.sources and question.sources[0].title


# ---------------------------------------------------------------- whole conversations


def test_a_conversation_by_buttons_reaches_share_without_consent(chat: Chat) -> None:
    said = chat.decide({**NO_RISK_TO_CONSENT, "consent": "refused", "public_interest": "yes"})

    assert said.outcome == "share_without_consent"
    assert chat.asked == [*DECISION_QUESTION_IDS[:6], "person", "consent", "public_interest"]
    assert "Share appropriately" in said.text
    assert chat.state.step == "outcome"


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_each_outcome_is_reached_in_chat_asking_only_the_questions_that_matter(
    chat: Chat, outcome: str
) -> None:
    facts = SHORTEST_PATH[outcome]

    said = chat.decide(facts)

    assert said.outcome == outcome
    assert [q for q in chat.asked if q != "person"] == list(facts)
    assert chat.state.answer_map.items() >= facts.items()


def test_anonymous_information_ends_without_asking_whether_it_is_confidential(chat: Chat) -> None:
    said = chat.decide(SHORTEST_PATH["share_anonymised"])

    assert said.outcome == "share_anonymised"
    assert "confidential" not in chat.asked


def test_consent_given_ends_without_asking_about_safety_or_public_interest(chat: Chat) -> None:
    said = chat.decide({**NO_RISK_TO_CONSENT, "consent": "given"})

    assert said.outcome == "share"
    assert "seeking_consent_safe" not in chat.asked
    assert "public_interest" not in chat.asked


def test_a_conversation_in_free_text_reaches_the_same_outcome_as_the_buttons(chat: Chat) -> None:
    lines = ["can I share", "no", "nope", "yep", "yes", "yes", "not sure", "she's 14"]
    for line in lines:
        chat.send(line)
    chat.send("she said no")

    said = chat.send("yes")

    assert said.outcome == "share_without_consent"
    assert chat.state.answers == (
        ("immediate_danger", "no"),
        ("legal_duty", "no"),
        ("legitimate_purpose", "yes"),
        ("identifiable", "yes"),
        ("confidential", "yes"),
        ("risk_of_harm", "unsure"),
        ("person", "child_12_15"),
        ("consent", "refused"),
        ("public_interest", "yes"),
    )


def test_mum_agreed_is_consent_given(chat: Chat) -> None:
    for line in ["I have a concern", "no", "no way", "yeah", "yes", "yes", "no"]:
        chat.send(line)
    chat.send("skip")

    said = chat.send("mum agreed")

    assert said.outcome == "share"
    assert chat.state.answer_map["consent"] == "given"


def test_havent_asked_yet_and_safe_to_ask_advises_asking_for_consent_by_age(chat: Chat) -> None:
    for line in ["can I share", "no", "no", "yes", "yes", "yes", "dunno", "a toddler"]:
        chat.send(line)
    chat.send("haven't asked yet")

    said = chat.send("yes it's safe")

    assert said.outcome == "ask_consent"
    assert "parental responsibility" in said.text
    assert "under 12" in said.text


def test_consent_advice_for_an_adult_who_may_lack_capacity(chat: Chat) -> None:
    said = chat.decide(
        {
            **NO_RISK_TO_CONSENT,
            "person": "adult_lacking_capacity",
            "consent": "not_asked",
            "seeking_consent_safe": "yes",
        }
    )

    assert said.outcome == "ask_consent"
    assert "best interests" in said.text


# ---------------------------------------------------------------- re-asking, never guessing


@pytest.mark.parametrize("typed", ["banana", "yes and no", "🙂", "maybe later, who knows"])
def test_an_answer_that_cannot_be_placed_gets_a_short_reask_with_the_buttons(
    chat: Chat, typed: str
) -> None:
    chat.start()
    chat.send("no")
    before = chat.state

    said = chat.send(typed)

    assert said.replies[0].text.startswith("Sorry, I didn't catch that.")
    assert said.question == "legal_duty"
    assert said.buttons_for("legal_duty") == ["yes", "no"]
    assert chat.state.answers == before.answers
    assert chat.state.step == before.step


def test_no_at_the_consent_question_asks_whether_they_said_no_or_were_not_asked(
    chat: Chat,
) -> None:
    chat.reach("consent", NO_RISK_TO_CONSENT)

    said = chat.send("no")

    assert "said no" in said.text and "haven't asked" in said.text
    assert said.question == "consent"
    assert said.buttons_for("consent") == ["given", "refused", "not_asked"]
    assert "consent" not in chat.state.answer_map


@pytest.mark.parametrize("typed", ["not sure", "I don't know", "no idea"])
def test_not_sure_about_immediate_danger_is_asked_again_leaning_to_yes(
    chat: Chat, typed: str
) -> None:
    chat.start()

    said = chat.send(typed)

    assert said.outcome is None
    assert said.question == "immediate_danger"
    assert "choose Yes" in said.text
    assert chat.state.answers == ()


def test_not_sure_about_a_legal_duty_is_not_taken_as_yes(chat: Chat) -> None:
    chat.start()
    chat.send("no")

    said = chat.send("not sure")

    assert said.outcome is None
    assert said.question == "legal_duty"
    assert "legal_duty" not in chat.state.answer_map


def test_a_button_for_a_question_not_yet_asked_is_not_taken_as_an_answer(chat: Chat) -> None:
    chat.start()

    said = chat.click("consent", "given")

    assert said.question == "immediate_danger"
    assert chat.state.answers == ()


@pytest.mark.parametrize(
    "choice", [("legal_duty", "perhaps"), ("nonsense", "x"), ("entry", "myth.unknown")]
)
def test_an_unknown_button_is_answered_with_a_reask(chat: Chat, choice: tuple[str, str]) -> None:
    chat.start()
    chat.click("immediate_danger", "no")

    said = chat.click(*choice)

    assert said.question == "legal_duty"
    assert chat.state.answers == (("immediate_danger", "no"),)


# ---------------------------------------------------------------- commands at any step


def test_back_undoes_the_last_answer_and_asks_that_question_again(chat: Chat) -> None:
    chat.start()
    chat.send("no")
    chat.send("no")

    said = chat.send("back")

    assert said.question == "legal_duty"
    assert chat.state.answers == (("immediate_danger", "no"),)
    assert chat.state.step == "q:legal_duty"


def test_back_at_the_first_question_has_nothing_to_undo(chat: Chat) -> None:
    chat.start()

    said = chat.send("back")

    assert "nothing to go back to" in said.text
    assert said.question == "immediate_danger"


def test_back_from_the_outcome_reopens_the_question_that_decided_it(chat: Chat) -> None:
    chat.decide(SHORTEST_PATH["share_anonymised"])

    said = chat.send("back")
    changed = chat.click("identifiable", "yes")

    assert said.question == "identifiable"
    assert chat.state.outcome == ""
    assert changed.question == "confidential"


def test_clicking_an_earlier_answer_changes_it_and_carries_on_from_there(chat: Chat) -> None:
    chat.decide(SHORTEST_PATH["share"])

    said = chat.click("legitimate_purpose", "no")

    assert said.outcome == "do_not_share"
    assert list(chat.state.answer_map) == ["immediate_danger", "legal_duty", "legitimate_purpose"]


@pytest.mark.parametrize("command", ["start again", "restart", "Start over"])
def test_start_again_clears_every_answer(chat: Chat, command: str) -> None:
    chat.decide(SHORTEST_PATH["seek_advice"])

    said = chat.send(command)

    assert "cleared" in said.text
    assert said.question == "immediate_danger"
    assert chat.state.answers == ()
    assert chat.state.outcome == ""


def test_asking_to_start_mid_dialog_offers_to_carry_on_or_restart(chat: Chat) -> None:
    chat.start()
    chat.send("no")

    said = chat.send("can I share?")

    assert {(c.q, c.a) for c in said.choices} >= {("dialog", "resume"), ("dialog", "restart")}
    assert said.question == "legal_duty"
    assert chat.state.answers == (("immediate_danger", "no"),)


def test_help_explains_the_commands_then_repeats_the_question(chat: Chat) -> None:
    chat.start()
    chat.send("no")

    said = chat.send("help")

    assert said.replies[0].title == "Help"
    assert any(b.startswith("back") for b in said.replies[0].bullets)
    assert said.question == "legal_duty"


def test_why_explains_the_current_question_with_its_source(chat: Chat) -> None:
    chat.start()
    chat.send("no")

    said = chat.send("why?")

    why = said.replies[0]
    assert why.title == "Why am I asked this?"
    assert "statutory" in why.text or "law" in why.text
    assert why.sources
    assert said.question == "legal_duty"


def test_stop_clears_the_answers_and_records_nothing(chat: Chat) -> None:
    chat.decide(SHORTEST_PATH["must_share"])

    said = chat.send("stop")

    assert "nothing was recorded" in said.text
    assert chat.state == DialogState(last_active=chat.state.last_active)
    assert said.effects == []


# ---------------------------------------------------------------- questions asked mid-dialog


def test_a_myth_question_mid_dialog_is_answered_then_the_same_question_resumes(chat: Chat) -> None:
    chat.start()
    chat.send("no")
    before = chat.state

    said = chat.send("is consent always needed?")

    answer = said.replies[0]
    assert answer.kind == ReplyKind.ANSWER
    assert answer.entry_id == "myth.consent-always-needed"
    assert answer.title.startswith("Myth")
    assert said.replies[1].text == "Back to where we were:"
    assert said.question == "legal_duty"
    assert (chat.state.step, chat.state.answers) == (before.step, before.answers)


def test_a_myth_question_at_the_consent_question_does_not_answer_it(chat: Chat) -> None:
    chat.reach("consent", NO_RISK_TO_CONSENT)

    said = chat.send("Is GDPR a barrier to sharing information with the police?")

    assert said.replies[0].entry_id == "myth.gdpr-barrier"
    assert said.question == "consent"
    assert "consent" not in chat.state.answer_map


def test_a_question_after_the_emergency_outcome_is_answered_under_a_short_reminder(
    chat: Chat,
) -> None:
    chat.start()
    chat.send("yes")

    said = chat.send("is gdpr a barrier?")

    assert said.replies[0].entry_id == "myth.gdpr-barrier"
    assert said.replies[-2].text == "Back to where we were:"
    reminder = said.replies[-1]
    assert reminder.kind == ReplyKind.EMERGENCY
    assert "999" in reminder.text
    assert reminder.bullets == () and reminder.sources == ()
    assert {c.q for c in reminder.choices} >= {"record", "escalate"}
    assert chat.state.outcome == "emergency"


def test_a_topic_button_mid_dialog_is_answered_then_the_dialog_resumes(chat: Chat) -> None:
    chat.start()

    said = chat.click("menu", "golden_rules")

    assert said.replies[0].entry_id == "topic.golden-rules"
    assert said.question == "immediate_danger"


# ---------------------------------------------------------------- what to do next


@pytest.mark.parametrize("outcome", sorted(SHARING_OUTCOMES - {"emergency", "share_anonymised"}))
def test_sharing_outcomes_end_with_the_share_appropriately_checklist(
    chat: Chat, outcome: str
) -> None:
    said = chat.decide(SHORTEST_PATH[outcome])

    checklist = [r for r in said.replies if r.title == "Share appropriately"]
    assert len(checklist) == 1
    assert any("proportionate" in b for b in checklist[0].bullets)


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_every_outcome_offers_to_record_the_decision_and_to_ask_a_lead(
    chat: Chat, outcome: str
) -> None:
    said = chat.decide(SHORTEST_PATH[outcome])

    offered = {(c.q, c.a) for c in said.choices}
    assert ("record", "start") in offered
    assert ("escalate", "start") in offered
    assert said.replies[0].bullets, "every outcome says what to do next"


def test_seek_advice_offers_to_escalate_to_the_safeguarding_lead(chat: Chat) -> None:
    said = chat.decide(SHORTEST_PATH["seek_advice"])

    assert "safeguarding lead" in said.text
    assert said.choices[1].q == "escalate"


def test_do_not_share_says_what_to_do_instead(chat: Chat) -> None:
    said = chat.decide(SHORTEST_PATH["do_not_share"])

    assert "Record your decision" in said.text
    assert "under review" in said.text
    assert "Share appropriately" not in said.text


def test_the_outcome_names_the_answer_that_decided_it(chat: Chat) -> None:
    said = chat.decide({**NO_RISK_TO_CONSENT, "consent": "refused", "public_interest": "no"})

    assert chat.state.decided_by == "public_interest=no"
    assert "public interest" in said.replies[0].text


def test_the_outcome_in_the_state_is_the_one_the_flow_gives(chat: Chat) -> None:
    chat.decide(
        {
            **NO_RISK_TO_CONSENT,
            "consent": "not_asked",
            "seeking_consent_safe": "no",
            "public_interest": "unsure",
        }
    )

    assert chat.state.outcome == outcome_for(chat.state.answer_map) == "seek_advice"


# ---------------------------------------------------------------- outside the dialog


def test_a_question_outside_safeguarding_gets_the_menu_not_a_made_up_answer(chat: Chat) -> None:
    said = chat.send("what time does the canteen open")

    assert said.replies[0].title.startswith("I can only help with")
    assert ReplyKind.MENU in said.kinds
    assert chat.state.step == "idle"


def test_in_a_shared_channel_no_case_is_discussed(conversation: Conversation) -> None:
    chat = Chat(conversation)
    chat.start()

    turn = conversation.step(
        chat.state,
        Inbound("slack:C1", "U1", "slack", chat.now, text="no", private=False),
    )

    assert turn.state == chat.state
    assert turn.replies[-1].choices[0].value == {"q": "menu", "a": "start"}
    assert "shared channel" in turn.replies[-1].text


def test_a_message_too_long_to_read_is_refused_politely(chat: Chat) -> None:
    chat.start()

    said = chat.send("word " * 1000)

    assert "too long" in said.text
    assert chat.state.step == "q:immediate_danger"


def test_typing_myths_lists_the_common_myths_as_buttons(chat: Chat) -> None:
    said = chat.send("myths")

    assert "myth.consent-always-needed" in {c.a for c in said.choices}
