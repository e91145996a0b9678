"""The decision flow against the design's precedence table: one test per rule and per outcome,
and every combination of answers against an independent copy of the table."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from bot.dialogs.flow import (
    ALL_QUESTIONS,
    DECISION_QUESTION_IDS,
    OUTCOMES,
    PERSON,
    QUESTIONS,
    RULES,
    SHARING_OUTCOMES,
    Rule,
    _check,
    decided_by,
    deciding_answers,
    next_question,
    next_step,
    outcome_for,
    questions_that_matter,
)

# A plain path to each point in the flow; each rule's test starts from one and varies one answer.
NO_DANGER = {"immediate_danger": "no"}
NO_DUTY = {**NO_DANGER, "legal_duty": "no"}
PURPOSE = {**NO_DUTY, "legitimate_purpose": "yes"}
IDENTIFIABLE = {**PURPOSE, "identifiable": "yes"}
CONFIDENTIAL = {**IDENTIFIABLE, "confidential": "yes"}
AT_RISK = {**CONFIDENTIAL, "risk_of_harm": "yes"}
NO_RISK = {**CONFIDENTIAL, "risk_of_harm": "no"}
UNSURE_RISK = {**CONFIDENTIAL, "risk_of_harm": "unsure"}
CAPABLE_ADULT_AT_RISK = {**AT_RISK, "person": "adult", "adult_wishes": "yes"}
CHILDREN_AND_LACKING_CAPACITY = (
    "child_under_12",
    "child_12_15",
    "young_person_16_17",
    "adult_lacking_capacity",
)

# Answers to other questions: used to show a rule wins "whatever else is answered".
EVERYTHING_ELSE = [
    {"legal_duty": "yes", "legitimate_purpose": "no", "identifiable": "no", "consent": "refused"},
    {"legal_duty": "no", "legitimate_purpose": "unsure", "confidential": "no"},
    {"risk_of_harm": "yes", "adult_wishes": "no", "consent": "given", "public_interest": "no"},
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
        not_their_own = a.get("person") in CHILDREN_AND_LACKING_CAPACITY
        wishes = "no" if not_their_own else a["adult_wishes"]
        if wishes == "no":
            return "share_without_consent"
        if wishes == "unsure":
            return "seek_advice"
    if a["consent"] == "given":
        return "share"
    if a["consent"] == "not_asked" and a["seeking_consent_safe"] == "yes":
        return "ask_consent"
    if a["public_interest"] == "yes":
        return "share_without_consent"
    if a["public_interest"] == "unsure":
        return "seek_advice"
    return "seek_advice" if a["risk_of_harm"] == "unsure" else "do_not_share"


def every_combination() -> itertools.product[tuple[str, ...]]:
    return itertools.product(*(q.answers for q in QUESTIONS))


# ---------------------------------------------------------------- one test per precedence rule


def test_rule_1_immediate_danger_is_an_emergency_whatever_else_is_answered() -> None:
    for others in [{}, *EVERYTHING_ELSE]:
        assert outcome_for({**others, "immediate_danger": "yes"}) == "emergency"


def test_rule_2_a_legal_duty_or_court_order_means_must_share() -> None:
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
    for rest in (
        {"risk_of_harm": "yes", "adult_wishes": "no"},
        {"risk_of_harm": "no", "consent": "given"},
    ):
        assert outcome_for({**unsure, **rest}) == outcome_for({**CONFIDENTIAL, **rest})


def test_rule_6_risk_of_harm_asks_whether_a_capable_adult_decides_for_themselves() -> None:
    assert outcome_for(AT_RISK) is None
    assert next_question(AT_RISK) == "adult_wishes"


def test_rule_6_risk_of_harm_to_others_or_no_capable_adult_means_share_without_consent() -> None:
    answers = {**AT_RISK, "adult_wishes": "no"}

    assert outcome_for(answers) == "share_without_consent"
    assert decided_by(answers) == "adult_wishes=no"


def test_rule_6_unsure_whether_a_capable_adult_decides_means_seek_advice() -> None:
    assert outcome_for({**AT_RISK, "adult_wishes": "unsure"}) == "seek_advice"


def test_rule_6_a_capable_adult_at_risk_only_to_themselves_keeps_their_say() -> None:
    answers = {**AT_RISK, "adult_wishes": "yes"}

    assert outcome_for(answers) is None
    assert next_question(answers) == "consent"
    assert outcome_for({**answers, "consent": "given"}) == "share"
    refused = {**answers, "consent": "refused"}
    assert outcome_for({**refused, "public_interest": "no"}) == "do_not_share"
    assert outcome_for({**refused, "public_interest": "yes"}) == "share_without_consent"


@pytest.mark.parametrize("person", CHILDREN_AND_LACKING_CAPACITY)
def test_rule_6_a_child_or_an_adult_who_may_lack_capacity_is_never_asked_for_their_wishes(
    person: str,
) -> None:
    answers = {**AT_RISK, "person": person}

    assert next_question(answers) is None
    assert outcome_for(answers) == "share_without_consent"
    assert decided_by(answers) == f"person={person}"
    assert "adult_wishes" not in questions_that_matter(answers)


@pytest.mark.parametrize("person", ["adult", "skip"])
def test_rule_6_an_adult_or_a_skipped_person_question_asks_about_their_wishes(person: str) -> None:
    assert next_question({**AT_RISK, "person": person}) == "adult_wishes"


@pytest.mark.parametrize("risk", ["no", "unsure"])
def test_adult_wishes_is_asked_only_when_there_is_a_risk_of_harm(risk: str) -> None:
    answers = {**CONFIDENTIAL, "risk_of_harm": risk, "person": "adult"}

    assert next_question(answers) == "consent"
    path = questions_that_matter({**answers, "consent": "refused", "public_interest": "yes"})
    assert "adult_wishes" not in path


def test_an_answer_to_adult_wishes_off_the_risk_path_changes_nothing() -> None:
    for wishes in ("yes", "no", "unsure"):
        answers = {**NO_RISK, "adult_wishes": wishes, "consent": "refused", "public_interest": "no"}

        assert outcome_for(answers) == "do_not_share"


def test_rule_7_consent_given_means_share() -> None:
    assert outcome_for({**NO_RISK, "consent": "given"}) == "share"


def test_rule_7_unsure_about_risk_of_harm_goes_on_to_consent() -> None:
    assert next_question(UNSURE_RISK) == "consent"
    assert outcome_for({**UNSURE_RISK, "consent": "given"}) == "share"


def test_rule_8_consent_not_asked_and_safe_to_ask_means_ask_consent() -> None:
    answers = {**NO_RISK, "consent": "not_asked", "seeking_consent_safe": "yes"}

    assert outcome_for(answers) == "ask_consent"


def test_rule_8_an_unsure_risk_can_still_end_at_ask_consent() -> None:
    answers = {**UNSURE_RISK, "consent": "not_asked", "seeking_consent_safe": "yes"}

    assert outcome_for(answers) == "ask_consent"


@pytest.mark.parametrize("safe", ["no", "unsure"])
def test_rule_8_not_sure_whether_asking_is_safe_counts_as_unsafe(safe: str) -> None:
    answers = {**NO_RISK, "consent": "not_asked", "seeking_consent_safe": safe}

    assert next_question(answers) == "public_interest"
    for public_interest in ("yes", "no", "unsure"):
        unsafe = {**answers, "seeking_consent_safe": "no", "public_interest": public_interest}
        assert outcome_for({**answers, "public_interest": public_interest}) == outcome_for(unsafe)


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


@pytest.mark.parametrize("consent", ["refused", "not_asked"])
def test_rule_9_an_unsure_risk_never_ends_in_do_not_share_without_advice(consent: str) -> None:
    answers = {
        **UNSURE_RISK,
        "consent": consent,
        "seeking_consent_safe": "no",
        "public_interest": "no",
    }

    assert outcome_for(answers) == "seek_advice"
    assert decided_by(answers) == "public_interest=no"


def test_rule_9_a_capable_adults_refusal_is_respected_when_the_public_interest_is_not_met() -> None:
    answers = {**CAPABLE_ADULT_AT_RISK, "consent": "refused", "public_interest": "no"}

    assert outcome_for(answers) == "do_not_share"


def test_no_unsure_risk_path_ends_in_do_not_share() -> None:
    for combo in every_combination():
        answers = dict(zip(DECISION_QUESTION_IDS, combo, strict=True))
        if answers["risk_of_harm"] == "unsure" and answers["legitimate_purpose"] == "yes":
            assert outcome_for(answers) != "do_not_share", answers


# ---------------------------------------------------------------- one test per outcome

SHORTEST_PATH = {
    "emergency": {"immediate_danger": "yes"},
    "must_share": {**NO_DANGER, "legal_duty": "yes"},
    "do_not_share": {**NO_DUTY, "legitimate_purpose": "no"},
    "seek_advice": {**NO_DUTY, "legitimate_purpose": "unsure"},
    "share_anonymised": {**PURPOSE, "identifiable": "no"},
    "share": {**IDENTIFIABLE, "confidential": "no"},
    "share_without_consent": {**AT_RISK, "adult_wishes": "no"},
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
    for combo in every_combination():
        answers = dict(zip(DECISION_QUESTION_IDS, combo, strict=True))
        for person in (None, *PERSON.answers, "skip"):
            with_person = answers if person is None else {**answers, "person": person}

            assert outcome_for(with_person) == expected_outcome(with_person), with_person
            checked += 1

    assert checked == 2 * 2 * 3 * 2 * 3 * 3 * 3 * 3 * 3 * 3 * 7


def test_every_outcome_is_decided_by_an_answer_with_a_because_key() -> None:
    keys = deciding_answers()
    for combo in every_combination():
        answers = dict(zip(DECISION_QUESTION_IDS, combo, strict=True))
        for person in (None, "child_12_15", "adult"):
            with_person = answers if person is None else {**answers, "person": person}
            outcome = outcome_for(with_person)

            assert outcome is not None
            assert decided_by(with_person) in keys[outcome], with_person


# ---------------------------------------------------------------- only questions that matter


def test_the_ten_decision_questions_keep_their_contract_ids_and_answers() -> None:
    assert {q.id: q.answers for q in QUESTIONS} == {
        "immediate_danger": ("yes", "no"),
        "legal_duty": ("yes", "no"),
        "legitimate_purpose": ("yes", "no", "unsure"),
        "identifiable": ("yes", "no"),
        "confidential": ("yes", "no", "unsure"),
        "risk_of_harm": ("yes", "no", "unsure"),
        "adult_wishes": ("yes", "no", "unsure"),
        "consent": ("given", "refused", "not_asked"),
        "seeking_consent_safe": ("yes", "no", "unsure"),
        "public_interest": ("yes", "no", "unsure"),
    }
    assert ALL_QUESTIONS["person"].optional


def test_the_first_question_is_always_immediate_danger() -> None:
    assert next_question({}) == "immediate_danger"


def test_no_question_is_left_once_the_outcome_is_decided() -> None:
    for answers in SHORTEST_PATH.values():
        assert next_question(answers) is None
        assert next_step(answers) is None


def test_the_person_question_is_asked_once_before_adult_wishes_or_consent() -> None:
    assert next_step(AT_RISK) == "person"
    assert next_step(NO_RISK) == "person"
    assert next_step(UNSURE_RISK) == "person"
    assert next_step({**AT_RISK, "person": "skip"}) == "adult_wishes"
    assert next_step({**CAPABLE_ADULT_AT_RISK}) == "consent"
    assert next_step({**NO_RISK, "person": "child_12_15"}) == "consent"
    assert next_step(CONFIDENTIAL) == "risk_of_harm"


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
    for combo in every_combination():
        answers = dict(zip(DECISION_QUESTION_IDS, combo, strict=True))
        path = questions_that_matter(answers)

        assert path == sorted(path, key=order.__getitem__)
        assert outcome_for({q: answers[q] for q in path}) == outcome_for(answers)


# ---------------------------------------------------------------- the table is checked when built


@pytest.mark.parametrize(
    ("broken", "problem"),
    [
        (lambda rules: rules[:-1], "every decision question"),
        (lambda rules: (*rules[:2], rules[3], rules[2], *rules[4:]), "design order"),
        (
            lambda rules: (*rules[:-1], replace(rules[-1], decides={"yes": "share"})),
            "last rule must decide every answer",
        ),
        (
            lambda rules: (Rule("immediate_danger", {"maybe": "emergency"}), *rules[1:]),
            "is not possible",
        ),
        (
            lambda rules: (Rule("immediate_danger", {"yes": "party"}), *rules[1:]),
            "is not possible",
        ),
        (
            lambda rules: (
                replace(rules[0], only_if=("consent", "given")),
                *rules[1:],
            ),
            "later question",
        ),
    ],
)
def test_an_impossible_table_is_refused_when_it_is_built(broken, problem: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=problem):
        _check(broken(RULES))
