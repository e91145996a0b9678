"""The revised decision flow as a practitioner meets it in chat (issue 12): a capable adult's
own wishes, an unsure risk that always ends in advice, "not sure" whether asking is safe, and
outcomes that say where a concern goes."""

from __future__ import annotations

import dataclasses

import pytest

from bot.core.conversation import Conversation
from bot.core.replies import ReplyKind
from bot.dialogs.state import DialogState, ask_step
from tests.transcript import Chat

CONFIDENTIAL = {
    "immediate_danger": "no",
    "legal_duty": "no",
    "legitimate_purpose": "yes",
    "identifiable": "yes",
    "confidential": "yes",
}
AT_RISK = {**CONFIDENTIAL, "risk_of_harm": "yes"}


# ---------------------------------------------------------------- who the person is


def test_who_it_is_about_is_asked_right_after_the_risk_and_can_be_skipped(chat: Chat) -> None:
    said = chat.reach("person", AT_RISK)

    assert said.buttons_for("person")[-1] == "skip"
    assert chat.click("person", "skip").question == "adult_wishes"


@pytest.mark.parametrize(
    ("person", "because"),
    [
        ("child_under_12", "protecting a child comes first"),
        ("young_person_16_17", "still a child in law"),
        ("adult_lacking_capacity", "best interests"),
    ],
)
def test_a_child_or_an_adult_who_may_lack_capacity_at_risk_is_shared_without_asking_wishes(
    chat: Chat, person: str, because: str
) -> None:
    said = chat.decide({**AT_RISK, "person": person})

    assert said.outcome == "share_without_consent"
    assert "adult_wishes" not in chat.asked
    assert because in said.replies[0].text
    assert chat.state.decided_by == f"person={person}"


def test_a_capable_adult_at_risk_only_to_themselves_is_asked_for_consent(chat: Chat) -> None:
    said = chat.decide(
        {
            **AT_RISK,
            "person": "adult",
            "adult_wishes": "yes",
            "consent": "refused",
            "public_interest": "no",
        }
    )

    assert chat.asked[6:] == ["person", "adult_wishes", "consent", "public_interest"]
    assert said.outcome == "do_not_share"


def test_an_adult_with_a_child_at_home_is_shared_without_consent(chat: Chat) -> None:
    said = chat.decide({**AT_RISK, "person": "adult", "adult_wishes": "no"})

    assert said.outcome == "share_without_consent"
    assert "capable adult" in said.replies[0].text


def test_the_adult_wishes_question_lists_what_takes_the_decision_away(chat: Chat) -> None:
    said = chat.reach("adult_wishes", {**AT_RISK, "person": "adult"})

    text = said.of_kind(ReplyKind.QUESTION)[-1].text
    for words in ("child", "serious crime", "coercion", "MARAC", "staff"):
        assert words in text
    assert said.buttons_for("adult_wishes") == ["yes", "no", "unsure"]


def test_not_sure_whether_a_capable_adult_decides_means_get_advice(chat: Chat) -> None:
    said = chat.decide({**AT_RISK, "person": "adult", "adult_wishes": "unsure"})

    assert said.outcome == "seek_advice"


def test_typed_words_answer_the_adult_wishes_question(chat: Chat) -> None:
    chat.reach("adult_wishes", {**AT_RISK, "person": "adult"})

    said = chat.send("nope")

    assert said.outcome == "share_without_consent"
    assert chat.state.answer_map["adult_wishes"] == "no"


# ---------------------------------------------------------------- an unsure risk


def test_an_unsure_risk_with_no_public_interest_ends_in_advice_not_do_not_share(chat: Chat) -> None:
    said = chat.decide(
        {**CONFIDENTIAL, "risk_of_harm": "unsure", "consent": "refused", "public_interest": "no"}
    )

    assert said.outcome == "seek_advice"
    assert "uncertain risk" in said.replies[0].text
    assert ("escalate", "start") in {(c.q, c.a) for c in said.choices}


def test_ask_consent_reached_with_an_unsure_risk_also_says_to_talk_to_the_lead(chat: Chat) -> None:
    said = chat.decide(
        {
            **CONFIDENTIAL,
            "risk_of_harm": "unsure",
            "consent": "not_asked",
            "seeking_consent_safe": "yes",
        }
    )

    assert said.outcome == "ask_consent"
    assert "talk to your safeguarding lead" in said.replies[0].text


def test_ask_consent_with_no_risk_does_not_add_the_unsure_line(chat: Chat) -> None:
    said = chat.decide(
        {
            **CONFIDENTIAL,
            "risk_of_harm": "no",
            "consent": "not_asked",
            "seeking_consent_safe": "yes",
        }
    )

    assert said.outcome == "ask_consent"
    assert "weren't sure about the risk" not in said.replies[0].text


# ---------------------------------------------------------------- is it safe to ask?


@pytest.mark.parametrize("typed", ["not sure", "dunno", "I don't know"])
def test_not_sure_whether_asking_is_safe_counts_as_unsafe(chat: Chat, typed: str) -> None:
    chat.reach(
        "seeking_consent_safe", {**CONFIDENTIAL, "risk_of_harm": "no", "consent": "not_asked"}
    )

    said = chat.send(typed)

    assert chat.state.answer_map["seeking_consent_safe"] == "unsure"
    assert said.question == "public_interest"


def test_the_not_sure_button_says_it_is_treated_as_unsafe(chat: Chat) -> None:
    said = chat.reach(
        "seeking_consent_safe", {**CONFIDENTIAL, "risk_of_harm": "no", "consent": "not_asked"}
    )

    unsure = next(
        c for c in said.choices if c.value == {"q": "seeking_consent_safe", "a": "unsure"}
    )
    assert "not safe" in unsure.label


# ---------------------------------------------------------------- the words of the questions


def test_the_risk_question_uses_the_2024_threshold(chat: Chat) -> None:
    said = chat.reach("risk_of_harm", CONFIDENTIAL)

    question = said.of_kind(ReplyKind.QUESTION)[-1]
    assert "perceived risk" in question.text
    why = chat.send("why")
    assert "don't need proof" in why.text
    assert "reasonable cause to suspect" in why.text.lower()


def test_the_legal_duty_question_says_whose_duty_it_is(chat: Chat) -> None:
    chat.reach("legal_duty", CONFIDENTIAL)

    why = chat.send("why")

    for words in ("s.47", "councils", "not schools", "FGM", "101"):
        assert words in why.text


# ---------------------------------------------------------------- where a concern goes


def test_share_says_where_a_safeguarding_concern_goes(chat: Chat) -> None:
    said = chat.decide({**CONFIDENTIAL, "confidential": "no"})

    assert said.outcome == "share"
    assert "safeguarding lead (DSL)" in said.text
    assert "front door" in said.text


def test_share_anonymised_says_an_identified_child_needs_identifying_details(chat: Chat) -> None:
    said = chat.decide({**CONFIDENTIAL, "identifiable": "no"})

    assert said.outcome == "share_anonymised"
    assert "can't protect an identified child" in said.text
    assert "must be shared" in said.text


def test_a_16_or_17_year_old_is_told_to_be_a_child_in_the_consent_advice(chat: Chat) -> None:
    said = chat.decide(
        {
            **CONFIDENTIAL,
            "risk_of_harm": "no",
            "person": "young_person_16_17",
            "consent": "not_asked",
            "seeking_consent_safe": "yes",
        }
    )

    assert "still children under the Children Act 1989" in said.text


# ---------------------------------------------------------------- answers typed mid-dialog


def test_a_typed_answer_is_taken_first_even_with_a_question_mark(chat: Chat) -> None:
    chat.reach("legal_duty", CONFIDENTIAL)

    said = chat.send("no, not that I know of?")

    assert chat.state.answer_map["legal_duty"] == "no"
    assert said.question == "legitimate_purpose"


def test_a_question_that_is_not_an_answer_is_answered_then_the_question_resumes(chat: Chat) -> None:
    chat.reach("consent", {**CONFIDENTIAL, "risk_of_harm": "no", "person": "adult"})

    said = chat.send("what if the information is not confidential at all?")

    assert said.replies[0].kind == ReplyKind.ANSWER
    assert said.question == "consent"
    assert "consent" not in chat.state.answer_map


# ---------------------------------------------------------------- a dialog saved by an older flow


def test_a_decision_saved_under_the_old_flow_carries_on_under_the_new_one(
    conversation: Conversation,
) -> None:
    old = DialogState(
        step="outcome",
        answers=tuple(AT_RISK.items()),
        outcome="share_without_consent",
        decided_by="risk_of_harm=yes",
        last_active="2026-11-14T09:00:00+00:00",
    )
    chat = Chat(conversation, state=old)

    said = chat.click("record", "start")

    assert "updated" in said.replies[0].text
    assert chat.state.step == ask_step("person")
    assert chat.state.outcome == ""


def test_a_decision_saved_under_this_flow_is_left_alone(chat: Chat) -> None:
    chat.decide({**AT_RISK, "adult_wishes": "no"})
    before = dataclasses.replace(chat.state)

    said = chat.click("record", "start")

    assert said.question == "case_reference"
    assert chat.state.outcome == before.outcome
