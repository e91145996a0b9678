"""The personal-details detector, from tables: what it must catch and what it must leave alone.

Every identifier here is fictional: NHS numbers in the 999 test range, Ofcom drama phone
numbers, example.org addresses and made-up postcodes.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.conversation import Conversation
from bot.core.pii import PersonalDetails, _nhs_checksum_ok, clean_text

TODAY = date(2026, 11, 14)


@pytest.fixture(scope="module")
def pii(conversation: Conversation) -> PersonalDetails:
    return conversation.pii


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Jess Smith told her teacher", "name"),
        ("spoke to Mrs Okafor at pick-up", "name"),
        ("a boy called Kacper", "name"),
        ("Liam disclosed it at break", "name"),
        ("Discussed with Dr Khan", "name"),
        ("DOB 03/04/2015", "date_of_birth"),
        ("born 3 April 2015", "date_of_birth"),
        ("date of birth 12.01.19", "date_of_birth"),
        ("seen on 03/04/2011 at clinic", "date_of_birth"),
        ("NHS number 999 765 4323", "nhs_number"),
        ("NHS 9991112227", "nhs_number"),
        ("NHS 999 123 4568 (mistyped)", "nhs_number"),
        ("lives at NG7 2ZZ", "postcode"),
        ("postcode ab12cd", "postcode"),
        ("mobile 07700 900123", "phone"),
        ("+44 7700 900123", "phone"),
        ("landline 0113 496 0000", "phone"),
        ("(020) 7946 0999", "phone"),
        ("email parent.one@example.org", "email"),
        ("14 Acacia Road", "address"),
    ],
)
def test_personal_details_are_found(pii: PersonalDetails, text: str, kind: str) -> None:
    assert kind in pii.find(text, TODAY)


@pytest.mark.parametrize(
    "text",
    [
        "Children's Social Care",
        "CP-2026-0412",
        "meeting on 14/11/2026",
        "Strategy meeting held 02/11/2026",
        "Duty social worker, MASH",
        "Section 47 enquiry under the Children Act 1989",
        "Year 6 pupil disclosed bruising to her arm",
        "Police Public Protection Unit",
        "School nurse and GP surgery",
        "Early Help Hub",
        "Head of Year 9",
        "Childline 0800 1111",
        "Referral ref 2026/0412/77",
        "I will ask May whether the plan changed",
        "concerns about neglect raised by the health visitor",
        "",
    ],
)
def test_ordinary_safeguarding_text_is_not_flagged(pii: PersonalDetails, text: str) -> None:
    assert pii.find(text, TODAY) == []


def test_several_kinds_are_reported_once_each_in_a_stable_order(pii: PersonalDetails) -> None:
    text = "Jess Smith, DOB 03/04/2015, 07700 900123, NG7 2ZZ, jess@example.org"

    assert pii.find(text, TODAY) == ["name", "date_of_birth", "phone", "postcode", "email"]


def test_a_recent_date_is_an_event_but_an_old_one_looks_like_a_birth_date(
    pii: PersonalDetails,
) -> None:
    assert pii.find("incident on 01/10/2026", TODAY) == []
    assert pii.find("incident on 01/10/2016", TODAY) == ["date_of_birth"]


def test_first_names_come_from_the_knowledge_base_list() -> None:
    without = PersonalDetails.from_lists([], [])
    with_kacper = PersonalDetails.from_lists(["Kacper"], [])

    assert without.find("spoke with kacper today") == []
    assert with_kacper.find("spoke with kacper today") == ["name"]


@pytest.mark.parametrize(
    ("digits", "valid"), [("9997654323", True), ("9991112227", True), ("9997654324", False)]
)
def test_the_nhs_number_check_digit_is_verified(digits: str, valid: bool) -> None:
    assert _nhs_checksum_ok(digits) is valid


@pytest.mark.parametrize(
    "text", ["max two hours a week", "meeting at Ivy House", "Jade Court family centre"]
)
def test_ordinary_words_that_are_also_names_are_not_flagged(
    pii: PersonalDetails, text: str
) -> None:
    assert pii.find(text, TODAY) == []


# ---------------------------------------------------------------------- hidden characters
ZWSP, SOFT_HYPHEN, ZWJ, WORD_JOINER, BOM, RLO = (
    "\u200b",
    "\u00ad",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u202e",
)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"Je{ZWSP}ss Smith told her teacher", "name"),
        (f"Jess{ZWSP}Smith told her teacher", "name"),  # joined by an invisible space
        (f"spoke to Jess{WORD_JOINER}Smith", "name"),
        (f"Li{SOFT_HYPHEN}am disclosed it at break", "name"),
        (f"spoke to Mrs O{ZWJ}kafor", "name"),
        (f"a boy called K{WORD_JOINER}acper", "name"),
        ("Lіam disclosed it at break", "name"),  # Cyrillic і
        ("Јеѕѕ Ѕmіth told her teacher", "name"),  # Cyrillic Ј, е, ѕ, Ѕ, і
        ("spoke to Мrs Окаfor at pick-up", "name"),  # Cyrillic М, О, к, а
        ("Jéss Smith told her teacher", "name"),  # combining accent
        (f"NHS number 999{ZWSP}765{ZWSP}4323", "nhs_number"),
        (f"NHS 999{SOFT_HYPHEN}111{SOFT_HYPHEN}2227", "nhs_number"),
        ("NHS number ９９９ ７６５ ４３２３", "nhs_number"),  # fullwidth digits
        ("NHS number ٩٩٩ ٧٦٥ ٤٣٢٣", "nhs_number"),  # Arabic-Indic digits
        (f"lives at N{ZWSP}G7 2{SOFT_HYPHEN}ZZ", "postcode"),
        ("lives at ΝG7 2ΖΖ", "postcode"),  # Greek Ν and Ζ
        (f"lives at NG7{RLO} 2ZZ", "postcode"),
        (f"mobile 07700{SOFT_HYPHEN}900{SOFT_HYPHEN}123", "phone"),
        (f"mobile 077{BOM}00 900{ZWJ}123", "phone"),
        ("mobile 07700–900123", "phone"),  # an en dash
        ("email parent.оne@example.org", "email"),  # Cyrillic о
    ],
)
def test_hidden_characters_and_look_alike_letters_do_not_hide_personal_details(
    pii: PersonalDetails, text: str, kind: str
) -> None:
    assert kind in pii.find(text, TODAY)


@pytest.mark.parametrize(
    "text",
    [
        f"Children's{ZWSP} Social Care",
        f"CP-2026-{SOFT_HYPHEN}0412",
        "Сhildren's social care",  # Cyrillic С at the start of an ordinary word
        "Мама сказала, что всё хорошо",  # ordinary Russian
        "مرحبا، هل يمكنني المشاركة؟",
    ],
)
def test_cleaning_does_not_make_ordinary_text_look_personal(
    pii: PersonalDetails, text: str
) -> None:
    assert pii.find(text, TODAY) == []


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (f"Duty{ZWSP} social{SOFT_HYPHEN} worker", "Duty social worker"),
        (RLO + "erac laicos\u202c", "erac laicos"),
        ("\u2066isolate\u2069 and \u200fmarks\u200e", "isolate and marks"),
        ("ﬁrst ｆｕｌｌｗｉｄｔｈ", "first fullwidth"),  # NFKC
        ("bell\x07 escape\x1b[31m", "bell escape[31m"),
        ("tab\there", "tab here"),
    ],
)
def test_stored_text_has_no_invisible_or_direction_changing_characters(
    raw: str, stored: str
) -> None:
    assert clean_text(raw) == stored


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\v", "\f"])
def test_a_one_line_value_cannot_start_a_line_of_its_own(newline: str) -> None:
    forged = f"Consent given{newline}• Lawful basis: Legal obligation"

    cleaned = clean_text(forged, one_line=True)

    assert cleaned == "Consent given • Lawful basis: Legal obligation"
    assert clean_text(forged).splitlines() == ["Consent given", "• Lawful basis: Legal obligation"]
