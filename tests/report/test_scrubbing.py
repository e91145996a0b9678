"""Unanswered questions kept for the knowledge maintainers never keep a personal detail:
what might identify someone becomes "[removed]", and when in doubt nothing is kept."""

from __future__ import annotations

import pytest

from bot.app import Core
from bot.report.gaps import MAX_KEPT_CHARS, REMOVED, Scrubber


@pytest.fixture(scope="module")
def scrubber(core: Core) -> Scrubber:
    return Scrubber.build(core.conversation.pii, core.knowledge.kb)


@pytest.mark.parametrize(
    "text",
    [
        "how do I reset my password?",
        "what time does the canteen open",
        "what does GDPR say about cctv",
        "can I claim mileage for a home visit",
    ],
)
def test_a_question_with_nothing_personal_is_kept_as_typed(scrubber: Scrubber, text: str) -> None:
    assert scrubber.scrub(text) == text


def test_a_name_in_one_example_phrasing_is_no_everyday_word(scrubber: Scrubber) -> None:
    # the knowledge base's phrasings tell fictional stories ("mr henshaw wandered off"): a
    # surname one of them uses is still removed from a practitioner's question
    assert scrubber.scrub("can we tell Henshaw's daughter") == f"can we tell {REMOVED} daughter"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("the boy Tom said he was hungry", "the boy [removed] said he was hungry"),
        ("can I ring 07700 900123 about the rota", "can I ring [removed] about the rota"),
        ("my email is jo.b@example.org", "my email is [removed]"),
        ("who is the DSL at Zorblax school", "who is the DSL at [removed] school"),
        ("is CP-2026-0412 still open on the system", "is [removed] still open on the system"),
        ("born 03/04/2015 what do i do", "born [removed] what do i do"),
        ("can I tell mrs quent's sister", None),
    ],
)
def test_what_might_identify_someone_is_removed(
    scrubber: Scrubber, text: str, kept: str | None
) -> None:
    scrubbed = scrubber.scrub(text)

    if kept is not None:
        assert scrubbed == kept
    assert scrubbed is None or "quent" not in scrubbed.lower()


@pytest.mark.parametrize(
    "text",
    [
        "Sarah Wilson 07700900123 SW1A 1AA",  # mostly personal: nothing useful left
        "Mr Quent phoned about CP-2026-0412",
        "what about 12 Acacia Avenue LS1 4AB",
        "x" * (MAX_KEPT_CHARS + 1),  # a long message is a case story, not a gap
        "",
        "   ",
    ],
)
def test_when_in_doubt_nothing_is_kept(scrubber: Scrubber, text: str) -> None:
    assert scrubber.scrub(text) is None


def test_invisible_characters_cannot_hide_a_name_or_number(scrubber: Scrubber) -> None:
    hidden = "can I tell T\u200bom's mum, her number is 0770\u00ad0 900123"

    scrubbed = scrubber.scrub(hidden)

    assert scrubbed is None or ("Tom" not in scrubbed and "900123" not in scrubbed)
    assert scrubbed is None or "\u200b" not in scrubbed


def test_whatever_is_kept_passes_the_personal_details_check(core: Core, scrubber: Scrubber) -> None:
    samples = [
        "Ask Dr Zorblax whether Amelia can go home",
        "ring Kayleigh on +44 7700 900123",
        "call me at 07700 900 123 or email kim@example.org",
        "nhs number 943 476 5919 what now",
        "she lives at 4 Fernhill Close near the park",
        "DOB 12 March 2014 please help",
    ]
    for text in samples:
        scrubbed = scrubber.scrub(text)
        if scrubbed is not None:
            assert core.conversation.pii.find(scrubbed.replace(REMOVED, "")) == [], scrubbed
