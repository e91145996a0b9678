"""The decision flow against the design's precedence table: one test per rule and per outcome."""

from __future__ import annotations

import itertools

import pytest

from bot.dialogs.flow import (
    DECISION_QUESTION_IDS,
    OUTCOMES,
    QUESTIONS,
    SHARING_OUTCOMES,
    next_question,
    outcome_for,
    questions_that_matter,
)

# A plain path to each point in the flow; each rule's test starts from one and varies one answer.
NO_DANGER = {"immediate_danger": "no"}
NO_DUTY = {**NO_DANGER, "legal_duty": "no"}
PURPOSE = {**NO_DUTY, "legitimate_purpose": "yes"}
IDENTIFIABLE = {**PURPOSE, "identifiable": "yes"}
CONFIDENTIAL = {**IDENTIFIABLE, "confidential": "yes"}
NO_RISK = {**CONFIDENTIAL, "risk_of_harm": "no"}

# Every answer to every question: used to show a rule wins "whatever else is answered".
EVERYTHING_ELSE = [
    {"legal_duty": "yes", "legitimate_purpose": "no", "identifiable": "no", "consent": "refused"},
    {"legal_duty": "no", "legitimate_purpose": "unsure", "confidential": "no"},
    {"risk_of_harm": "yes", "consent": "given", "public_interest": "no"},
    {"consent": "not_asked", "seeking_consent_safe": "yes", "public_interest": "unsure"},
]


def expected_outcome(a: dict[str, str]) -> str:
    """The design's precedence table, written out independently of bot/dialogs/flow.py."""
    if a["immediate_danger"] == "yes":
        return "emergency"
    if a["legal_duty"] == "yes":
        return "must_share"
    if a["legitimate_purpose"] == "no":
        return "do_not_share"
    if a["legitimate_purpose"] == "unsure":
        return "seek_advice"
    if a["identifiable"] == "no":
        return "share_anonymised"
    if a["confidential"] == "no":
        return "share"
    if a["risk_of_harm"] == "yes":
        return "share_without_consent"
    if a["consent"] == "given":
        return "share"
    if a["consent"] == "not_asked" and a["seeking_consent_safe"] == "yes":
        return "ask_consent"
    return {"yes": "share_without_consent", "no": "do_not_share", "unsure": "seek_advice"}[
        a["public_interest"]
    ]


# ---------------------------------------------------------------- one test per precedence rule


def test_rule_1_immediate_danger_is_an_emergency_whatever_else_is_answered() -> None:
    for others in [{}, *EVERYTHING_ELSE]:
        assert outcome_for({**others, "immediate_danger": "yes"}) == "emergency"


def test_rule_2_a_statutory_duty_or_court_order_means_must_share() -> None:
    for others in [{}, *EVERYTHING_ELSE]:
        assert outcome_for({**others, **NO_DANGER, "legal_duty": "yes"}) == "must_share"


def test_rule_3_no_legitimate_purpose_means_do_not_share() -> None:
    assert outcome_for({**NO_DUTY, "legitimate_purpose": "no"}) == "do_not_share"


def test_rule_3_unsure_of_the_purpose_means_seek_advice() -> None:
    assert outcome_for({**NO_DUTY, "legitimate_purpose": "unsure"}) == "seek_advice"


def test_rule_3_no_purpose_is_not_rescued_by_risk_of_harm_or_consent() -> None:
    answers = {**NO_DUTY, "legitimate_purpose": "no", "risk_of_harm": "yes", "consent": "given"}

    assert outcome_for(answers) == "do_not_share"


def test_rule_4_information_that_identifies_nobody_can_be_shared_anonymised() -> None:
    answers = {**PURPOSE, "identifiable": "no", "confidential": "yes", "consent": "refused"}

    assert outcome_for(answers) == "share_anonymised"


def test_rule_5_information_that_is_not_confidential_can_be_shared() -> None:
    answers = {**IDENTIFIABLE, "confidential": "no", "consent": "refused"}

    assert outcome_for(answers) == "share"


def test_rule_5_unsure_if_confidential_is_treated_as_confidential() -> None:
    unsure = {**IDENTIFIABLE, "confidential": "unsure"}

    assert outcome_for(unsure) is None
    assert next_question(unsure) == "risk_of_harm"
    for rest in ({"risk_of_harm": "yes"}, {"risk_of_harm": "no", "consent": "given"}):
        assert outcome_for({**unsure, **rest}) == outcome_for({**CONFIDENTIAL, **rest})


def test_rule_6_risk_of_harm_means_share_without_consent() -> None:
    assert outcome_for({**CONFIDENTIAL, "risk_of_harm": "yes"}) == "share_without_consent"


def test_refused_consent_with_risk_of_harm_still_shares() -> None:
    answers = {**CONFIDENTIAL, "risk_of_harm": "yes", "consent": "refused"}

    assert outcome_for(answers) == "share_without_consent"


def test_rule_7_consent_given_means_share() -> None:
    assert outcome_for({**NO_RISK, "consent": "given"}) == "share"


def test_rule_7_unsure_about_risk_of_harm_goes_on_to_consent() -> None:
    unsure = {**CONFIDENTIAL, "risk_of_harm": "unsure"}

    assert next_question(unsure) == "consent"
    assert outcome_for({**unsure, "consent": "given"}) == "share"


def test_rule_8_consent_not_asked_and_safe_to_ask_means_ask_consent() -> None:
    answers = {**NO_RISK, "consent": "not_asked", "seeking_consent_safe": "yes"}

    assert outcome_for(answers) == "ask_consent"


@pytest.mark.parametrize(
    ("public_interest", "outcome"),
    [("yes", "share_without_consent"), ("no", "do_not_share"), ("unsure", "seek_advice")],
)
def test_rule_9_refused_consent_is_weighed_against_the_public_interest(
    public_interest: str, outcome: str
) -> None:
    answers = {**NO_RISK, "consent": "refused", "public_interest": public_interest}

    assert outcome_for(answers) == outcome


@pytest.mark.parametrize(
    ("public_interest", "outcome"),
    [("yes", "share_without_consent"), ("no", "do_not_share"), ("unsure", "seek_advice")],
)
def test_rule_9_unsafe_to_ask_for_consent_is_weighed_against_the_public_interest(
    public_interest: str, outcome: str
) -> None:
    answers = {
        **NO_RISK,
        "consent": "not_asked",
        "seeking_consent_safe": "no",
        "public_interest": public_interest,
    }

    assert outcome_for(answers) == outcome


# ---------------------------------------------------------------- one test per outcome

SHORTEST_PATH = {
    "emergency": {"immediate_danger": "yes"},
    "must_share": {**NO_DANGER, "legal_duty": "yes"},
    "do_not_share": {**NO_DUTY, "legitimate_purpose": "no"},
    "seek_advice": {**NO_DUTY, "legitimate_purpose": "unsure"},
    "share_anonymised": {**PURPOSE, "identifiable": "no"},
    "share": {**IDENTIFIABLE, "confidential": "no"},
    "share_without_consent": {**CONFIDENTIAL, "risk_of_harm": "yes"},
    "ask_consent": {**NO_RISK, "consent": "not_asked", "seeking_consent_safe": "yes"},
}


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_every_outcome_is_reached_by_its_shortest_path(outcome: str) -> None:
    answers = SHORTEST_PATH[outcome]

    assert outcome_for(answers) == outcome
    assert questions_that_matter(answers) == list(answers)


def test_the_design_names_exactly_eight_outcomes() -> None:
    assert set(OUTCOMES) == set(SHORTEST_PATH)
    sharing = {"emergency", "must_share", "share_anonymised", "share", "share_without_consent"}
    assert sharing == SHARING_OUTCOMES


def test_every_complete_set_of_answers_gives_the_outcome_the_design_table_gives() -> None:
    checked = 0
    for combo in itertools.product(*(q.answers for q in QUESTIONS)):
        answers = dict(zip(DECISION_QUESTION_IDS, combo, strict=True))

        assert outcome_for(answers) == expected_outcome(answers), answers
        checked += 1

    assert checked == 2 * 2 * 3 * 2 * 3 * 3 * 3 * 2 * 3


# ---------------------------------------------------------------- only questions that matter


def test_the_nine_decision_questions_keep_their_contract_ids_and_answers() -> None:
    assert {q.id: q.answers for q in QUESTIONS} == {
        "immediate_danger": ("yes", "no"),
        "legal_duty": ("yes", "no"),
        "legitimate_purpose": ("yes", "no", "unsure"),
        "identifiable": ("yes", "no"),
        "confidential": ("yes", "no", "unsure"),
        "risk_of_harm": ("yes", "no", "unsure"),
        "consent": ("given", "refused", "not_asked"),
        "seeking_consent_safe": ("yes", "no"),
        "public_interest": ("yes", "no", "unsure"),
    }


def test_the_first_question_is_always_immediate_danger() -> None:
    assert next_question({}) == "immediate_danger"


def test_no_question_is_left_once_the_outcome_is_decided() -> None:
    for answers in SHORTEST_PATH.values():
        assert next_question(answers) is None


def test_anonymous_information_ends_without_asking_whether_it_is_confidential() -> None:
    answers = {**PURPOSE, "identifiable": "no"}

    assert "confidential" not in questions_that_matter(answers)
    assert next_question(answers) is None


def test_consent_given_ends_without_asking_about_safety_or_public_interest() -> None:
    path = questions_that_matter({**NO_RISK, "consent": "given"})

    assert "seeking_consent_safe" not in path
    assert "public_interest" not in path


def test_refused_consent_skips_whether_asking_would_be_safe() -> None:
    answers = {**NO_RISK, "consent": "refused"}

    assert next_question(answers) == "public_interest"
    assert "seeking_consent_safe" not in questions_that_matter(answers)


def test_not_asked_consent_asks_whether_asking_would_be_safe_before_public_interest() -> None:
    answers = {**NO_RISK, "consent": "not_asked"}

    assert next_question(answers) == "seeking_consent_safe"
    assert next_question({**answers, "seeking_consent_safe": "no"}) == "public_interest"


def test_answers_off_the_path_do_not_change_which_questions_matter() -> None:
    on_path = {**PURPOSE, "identifiable": "no"}
    with_noise = {**on_path, "confidential": "yes", "consent": "refused"}

    assert questions_that_matter(with_noise) == questions_that_matter(on_path)


def test_questions_that_matter_ends_at_the_first_unanswered_question() -> None:
    assert questions_that_matter({}) == ["immediate_danger"]
    assert questions_that_matter(NO_DUTY) == [
        "immediate_danger",
        "legal_duty",
        "legitimate_purpose",
    ]


def test_every_path_asks_the_questions_in_the_design_order() -> None:
    order = {qid: i for i, qid in enumerate(DECISION_QUESTION_IDS)}
    for combo in itertools.product(*(q.answers for q in QUESTIONS)):
        answers = dict(zip(DECISION_QUESTION_IDS, combo, strict=True))
        path = questions_that_matter(answers)

        assert path == sorted(path, key=order.__getitem__)
        assert outcome_for({q: answers[q] for q in path}) == outcome_for(answers)
