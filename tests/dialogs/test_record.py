"""Which record fields each outcome needs, and how each field is checked: personal details per
field, case references, and the lawful bases open to each kind of organisation."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bot.core.conversation import Conversation
from bot.dialogs.flow import OUTCOMES
from bot.dialogs.personal_details import looks_like_a_reference
from bot.dialogs.record import defaults_for, fields_for, shares_personal_data
from bot.knowledge.base import KNOWLEDGE_DIR, KnowledgeError, load_knowledge

EVERY_FIELD = (
    "case_reference",
    "what",
    "with_whom",
    "purpose",
    "lawful_basis",
    "special_category",
    "reasons",
)
WITHOUT_BASIS = ("case_reference", "what", "with_whom", "purpose", "reasons")
CONSENT_GIVEN = {"consent": "given"}
NO_CONSENT = {"consent": "refused"}


@pytest.mark.parametrize(
    ("outcome", "fields"),
    [
        ("emergency", EVERY_FIELD),
        ("must_share", EVERY_FIELD),
        ("share", EVERY_FIELD),
        ("share_without_consent", EVERY_FIELD),
        ("share_anonymised", WITHOUT_BASIS),
        ("do_not_share", WITHOUT_BASIS),
        ("seek_advice", WITHOUT_BASIS),
        ("ask_consent", WITHOUT_BASIS),
    ],
)
def test_a_lawful_basis_is_asked_only_when_personal_information_is_shared(
    outcome: str, fields: tuple[str, ...]
) -> None:
    assert fields_for(outcome) == fields
    assert shares_personal_data(outcome) is (fields == EVERY_FIELD)


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_fields_not_asked_are_filled_with_not_applicable(outcome: str) -> None:
    defaults = defaults_for(outcome)

    assert set(defaults) == set(EVERY_FIELD) - set(fields_for(outcome))
    if defaults:
        assert defaults == {"lawful_basis": "not_applicable", "special_category": "none"}


Check = Callable[..., tuple[str | None, str | None]]


def checker(conversation: Conversation) -> Check:
    def run(
        field_id: str, value: str, answers: dict[str, str] | None = None
    ) -> tuple[str | None, str | None]:
        return conversation.kit.fields.check(field_id, value, answers=answers or NO_CONSENT)

    return run


@pytest.fixture(scope="module")
def check(conversation: Conversation) -> Check:
    return checker(conversation)


def as_organisation(conversation: Conversation, org_type: str) -> Conversation:
    """The same core for an organisation of another kind."""
    kb = dataclasses.replace(conversation.knowledge.kb, organisation_type=org_type)
    knowledge = dataclasses.replace(conversation.knowledge, kb=kb)
    return Conversation(knowledge, conversation.pii)


@pytest.mark.parametrize(
    ("field_id", "value", "clean"),
    [
        ("case_reference", "  CP-2026-0412 ", "CP-2026-0412"),
        ("case_reference", "EH/2026/99", None),
        ("lawful_basis", "public_task", "public_task"),
        ("special_category", "schedule1_para18", "schedule1_para18"),
        ("with_whom", "Children's Social Care, duty social worker", None),
        ("with_whom", "our DSL Mrs Patel", None),
        ("with_whom", "Dr Okafor, community paediatrician", None),
        ("with_whom", "Mrs Patel, the headteacher", None),
        ("with_whom", "PC Hughes, child abuse investigation team", None),
        ("reasons", "Advice from our DSL Mrs Patel: refer today", None),
    ],
)
def test_good_values_are_accepted_trimmed(
    check: Check, field_id: str, value: str, clean: str | None
) -> None:
    assert check(field_id, value) == (clean or value, None)


@pytest.mark.parametrize(
    ("field_id", "value", "error"),
    [
        ("case_reference", "", "Please give case reference."),
        ("case_reference", "C" * 61, "too long"),
        ("case_reference", "Jess Smith", "a name"),
        ("reasons", "Called 07700 900123", "a phone number"),
        ("lawful_basis", "because I said so", "lawful bases"),
        ("special_category", "maybe", "options listed"),
    ],
)
def test_bad_values_are_refused_with_a_reason(
    check: Check, field_id: str, value: str, error: str
) -> None:
    clean, message = check(field_id, value)

    assert clean is None
    assert message is not None and error in message


# ---------------------------------------------------------------- personal details, per field


@pytest.mark.parametrize(
    ("field_id", "value", "found"),
    [
        ("with_whom", "Mrs Patel", "“Mrs Patel” looks like a name"),
        ("with_whom", "the dad, Mr Okafor", "“Mr Okafor” looks like a name"),
        ("with_whom", "Duty social worker on 07700 900123", "“07700 900123” looks like a phone"),
        ("what", "Notes our DSL Mrs Patel made about the child", "“Mrs Patel” looks like a name"),
        ("case_reference", "Dr Okafor", "“Dr Okafor” looks like a name"),
        ("purpose", "So Jess Smith's mum gets support", "“Jess Smith's” looks like a name"),
    ],
)
def test_a_personal_detail_is_named_precisely_with_the_field_it_is_in(
    check: Check, conversation: Conversation, field_id: str, value: str, found: str
) -> None:
    clean, message = check(field_id, value)

    assert clean is None and message is not None
    assert found in message
    assert f"In “{conversation.rec.label(field_id)}”" in message


def test_a_professional_name_is_allowed_only_right_beside_their_role(check: Check) -> None:
    assert check("with_whom", "our DSL Mrs Patel")[1] is None
    assert check("with_whom", "Talked to the DSL about Liam")[1] is not None
    assert check("with_whom", "Discussed with Mrs Okafor")[1] is not None


def test_with_whom_asks_for_agency_and_role_when_it_refuses_a_name(check: Check) -> None:
    _, message = check("with_whom", "Mrs Patel")

    assert message is not None and "agency and role" in message


@pytest.mark.parametrize(
    "typed",
    [
        "Should I share the attendance log? Please call me on 01632 960 123",
        "Can you ring me back on 07700 900123 before 3pm",
        "Is this a legitimate purpose? my mobile is 07700 900123",
        "Our DSL Mrs Patel suggested I ask you about the request",
    ],
)
def test_a_call_back_number_and_a_named_professional_belong_in_a_request_to_a_lead(
    conversation: Conversation, typed: str
) -> None:
    assert conversation.kit.policy.findings("question", typed) == []


@pytest.mark.parametrize(
    "typed",
    [
        "Mum (07700 900123) wants to know why we called",
        "Should I ring dad on 07700 900123",
        "Kacper Nowak told me something worrying",
    ],
)
def test_a_familys_details_do_not_belong_in_a_request_to_a_lead(
    conversation: Conversation, typed: str
) -> None:
    assert conversation.kit.policy.findings("question", typed) != []


@pytest.mark.parametrize(
    "value",
    ["CP-2026-0412", "EH/2026/99", "DA-SVC-2026-311", "12345678", "MASH 2026 0031", "Ref: 4471"],
)
def test_a_case_reference_looks_like_one(value: str) -> None:
    assert looks_like_a_reference(value)


@pytest.mark.parametrize(
    "value",
    ["dunno we haven't got one yet", "none", "n/a", "not sure", "the boy in year 4", "TBC", "?"],
)
def test_words_are_not_a_case_reference(check: Check, value: str) -> None:
    clean, message = check("case_reference", value)

    assert not looks_like_a_reference(value)
    assert clean is None and message is not None
    assert "doesn't look like a case reference" in message


# ---------------------------------------------------------------- lawful bases


def test_every_basis_label_that_public_authorities_cannot_use_says_so(
    conversation: Conversation,
) -> None:
    options = conversation.rec.all_options("lawful_basis")

    for basis in ("legitimate_interests", "recognised_legitimate_interests"):
        assert "not for public authorities" in options[basis]


def test_a_public_authority_is_never_offered_legitimate_interests(
    conversation: Conversation,
) -> None:
    council = as_organisation(conversation, "public_authority")

    offered = council.rec.options("lawful_basis")
    clean, message = checker(council)("lawful_basis", "recognised_legitimate_interests")

    assert "legitimate_interests" not in offered
    assert "recognised_legitimate_interests" not in offered
    assert clean is None and message is not None
    assert "not open to a public authority" in message
    assert "public task" in message
    assert council.rec.suggestion("share_without_consent") == "public_task"


@pytest.mark.parametrize("org_type", ["voluntary", "private"])
def test_a_voluntary_or_private_body_is_pointed_at_recognised_legitimate_interests(
    conversation: Conversation, org_type: str
) -> None:
    charity = as_organisation(conversation, org_type)

    assert charity.rec.suggestion("share_without_consent") == "recognised_legitimate_interests"
    assert charity.rec.suggestion("share") == "recognised_legitimate_interests"
    assert charity.rec.suggestion("must_share") == "legal_obligation"
    assert checker(charity)("lawful_basis", "legitimate_interests") == (
        "legitimate_interests",
        None,
    )


def test_an_organisation_that_has_not_said_what_it_is_gets_public_task_with_the_labels(
    conversation: Conversation,
) -> None:
    assert conversation.words.organisation_type == "unknown"
    assert conversation.rec.suggestion("share_without_consent") == "public_task"
    assert "recognised_legitimate_interests" in conversation.rec.options("lawful_basis")


def test_the_organisation_type_is_read_from_the_organisation_file(tmp_path: Path) -> None:
    raw = yaml.safe_load((KNOWLEDGE_DIR / "organisation.yaml").read_text(encoding="utf-8"))
    org = tmp_path / "org.yaml"
    org.write_text(yaml.safe_dump({**raw, "type": "voluntary"}), encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**raw, "type": "charity"}), encoding="utf-8")

    assert load_knowledge(organisation_file=org).organisation_type == "voluntary"
    with pytest.raises(KnowledgeError, match="public_authority, voluntary, private"):
        load_knowledge(organisation_file=bad)


# ---------------------------------------------------------------- special category data


def test_paragraph_18_is_not_offered_or_taken_when_consent_was_given(
    conversation: Conversation, check: Check
) -> None:
    offered = conversation.rec.options("special_category", CONSENT_GIVEN)
    clean, message = check("special_category", "schedule1_para18", CONSENT_GIVEN)

    assert "schedule1_para18" not in offered
    assert "explicit_consent" in offered
    assert clean is None and message is not None
    assert "without consent" in message
    assert check("special_category", "schedule1_para18", NO_CONSENT) == ("schedule1_para18", None)


def test_the_special_category_hint_mentions_criminal_offence_data(
    conversation: Conversation,
) -> None:
    hint = str(conversation.rec.field("special_category")["hint"])

    assert "criminal offence data" in hint and "Art 10" in hint
