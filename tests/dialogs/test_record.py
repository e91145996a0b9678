"""Which record fields each outcome needs, and how each field is checked."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.core.conversation import Conversation
from bot.dialogs.flow import OUTCOMES
from bot.dialogs.record import (
    RecordWords,
    check_field,
    defaults_for,
    fields_for,
    shares_personal_data,
)

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


Check = Callable[[str, str], tuple[str | None, str | None]]


@pytest.fixture(scope="module")
def check(conversation: Conversation) -> Check:
    words = RecordWords(conversation.words)

    def run(field_id: str, value: str) -> tuple[str | None, str | None]:
        return check_field(
            field_id,
            value,
            words=words,
            pii=conversation.pii,
            say_pii=conversation.say.pii_blocked,
        )

    return run


@pytest.mark.parametrize(
    ("field_id", "value", "clean"),
    [
        ("case_reference", "  CP-2026-0412 ", "CP-2026-0412"),
        ("lawful_basis", "public_task", "public_task"),
        ("special_category", "schedule1_para18", "schedule1_para18"),
        ("with_whom", "Children's Social Care, duty social worker", None),
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
