"""The knowledge base says what the late-2026 legal review says it must, in words that fit a chat.

These checks read the YAML the way a safeguarding lead would: is each new entry there and sourced,
is every answer short and right on its own, is law that has not started described as coming, and
does each correction from the review ("Corrections and additions from a legal review" in the
guidance digest) show in the words the bot actually sends?
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.knowledge import load_knowledge
from bot.knowledge.base import Entry, KnowledgeBase
from bot.knowledge.lookup import Knowledge

LEGAL_REVIEW = date(2026, 12, 1)  # every entry was re-checked against the review on this date
ANSWER_CHARS = 200
NOT_IN_FORCE = re.compile(r"not (yet )?in force", re.IGNORECASE)
GOLDEN_RULE_CHARS = 110

# Each new entry, with the documents (and a word from the section) it must cite.
NEW_ENTRIES: dict[str, tuple[tuple[str, str], ...]] = {
    "topic.fgm-reporting": (("fgm-act-2003", "5B"), ("fgm-procedural", "")),
    "topic.allegations-against-staff": (
        ("working-together-2023", "LADO"),
        ("kcsie", "Part four"),
        ("svga-2006", "35"),
    ),
    "topic.police-requests": (("dpa-2018", "Schedule 2 paragraph 2"),),
    "topic.adults-at-risk": (
        ("care-act-2014", "42"),
        ("care-act-2014", "45"),
        ("care-act-guidance", "14"),
        ("making-safeguarding-personal", ""),
        ("dpa-2018", "19"),
    ),
    "topic.parental-responsibility": (("children-act-1989", "parental responsibility"),),
    "topic.transferring-cp-files": (("kcsie", "child protection files"),),
    "topic.subject-access-requests": (
        ("uk-gdpr", "Article 15"),
        ("dpa-2018", "Schedule 3"),
        ("dpa-2018", "rights of others"),
    ),
    "topic.marac-clares-law-mappa": (("safelives-marac", ""), ("dvds-guidance", ""), ("mappa", "")),
    "topic.prevent-channel": (("ctsa-2015", "26"), ("channel-guidance", "")),
    "topic.new-information-sharing-duty": (("cwsa-2026", "16LA"),),
    "topic.mandatory-reporting-csa": (("crime-policing-act-2026", "child sexual abuse"),),
    "topic.criminal-offence-data": (
        ("uk-gdpr", "Article 10"),
        ("dpa-2018", "10(5)"),
        ("dpa-2018", "paragraph 36"),
    ),
    "topic.recognised-legitimate-interests": (("uk-gdpr", "6(1)(ea)"), ("ico-rli", "")),
}
# An entry the review extended rather than added, with the documents it must now cite.
UPDATED_ENTRIES: dict[str, tuple[tuple[str, str], ...]] = {
    "topic.outside-england": (
        ("sswba-2014", "128"),
        ("scotland-child-protection", ""),
        ("dpa-2018", "208"),
        ("cla-ni-1967", "5"),
    ),
}

# Law passed or proposed but not started: the entry about it, and the words that name it.
NOT_YET_IN_FORCE = {
    "topic.new-information-sharing-duty": "Children's Wellbeing and Schools Act",
    "topic.mandatory-reporting-csa": "Crime and Policing",
}

# Items the digest marks *verify*: the entry's notes must flag them for the reviewer.
VERIFY_FLAGGED = (
    "myth.punished-for-sharing",
    "topic.fgm-reporting",
    "topic.criminal-offence-data",
    "topic.prevent-channel",
    "topic.new-information-sharing-duty",
    "topic.mandatory-reporting-csa",
)

DOCUMENTS_THE_REVIEW_NEEDS = (
    "care-act-guidance",
    "kcsie",
    "working-together-2023",
    "fgm-act-2003",
    "fgm-procedural",
    "dpa-2018",
    "uk-gdpr",
    "ico-rli",
    "cwsa-2026",
    "crime-policing-act-2026",
)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def shown(entry: Entry) -> str:
    """What the bot sends: the one-line answer, and the explanation and points behind "More"."""
    return " ".join((entry.answer, entry.explanation, *entry.points))


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if s]


def cites(kb: KnowledgeBase, entry: Entry, doc_id: str, section_word: str) -> bool:
    title = kb.sources[doc_id].title
    return any(
        s.title == title and section_word.lower() in s.section.lower() for s in entry.sources
    )


def without_verdict(answer: str) -> str:
    """A myth's answer may open with a one-word verdict ("No.", "Not so:"); it is not a sentence."""
    return re.sub(r"^(No|Not so)[.:,]\s*", "", answer)


@pytest.mark.parametrize("entry_id", sorted(NEW_ENTRIES | UPDATED_ENTRIES))
def test_each_new_entry_exists_cites_its_law_and_is_asked_many_ways(
    kb: KnowledgeBase, entry_id: str
) -> None:
    entry = kb.entries[entry_id]

    for doc_id, section_word in (NEW_ENTRIES | UPDATED_ENTRIES)[entry_id]:
        assert cites(kb, entry, doc_id, section_word), (entry_id, doc_id, section_word)
    assert entry.last_reviewed >= LEGAL_REVIEW
    assert len(entry.phrasings) >= 8
    assert len(set(p.lower() for p in entry.phrasings)) == len(entry.phrasings)


@pytest.mark.parametrize("entry_id", sorted(NEW_ENTRIES))
def test_each_new_entry_is_linked_both_ways(kb: KnowledgeBase, entry_id: str) -> None:
    entry = kb.entries[entry_id]

    assert entry.related
    for other in entry.related:
        assert entry_id in kb.entries[other].related, (entry_id, other)


def test_every_entry_was_rechecked_at_the_late_2026_review(kb: KnowledgeBase) -> None:
    behind = [e.id for e in kb.entries.values() if e.last_reviewed < LEGAL_REVIEW]

    assert behind == []


def test_the_documents_the_review_relies_on_are_listed(kb: KnowledgeBase) -> None:
    for doc_id in DOCUMENTS_THE_REVIEW_NEEDS:
        assert doc_id in kb.sources, doc_id
    assert "Data (Use and Access) Act 2025" in kb.sources["uk-gdpr"].title


def test_every_answer_is_one_short_chat_line(kb: KnowledgeBase) -> None:
    for entry in kb.entries.values():
        assert len(entry.answer) <= ANSWER_CHARS, (entry.id, len(entry.answer))
        assert "\n" not in entry.answer, entry.id
        assert len(sentences(without_verdict(entry.answer))) <= 2, entry.id


def test_no_answer_opens_with_a_bare_yes(kb: KnowledgeBase) -> None:
    for entry in kb.entries.values():
        assert not re.match(r"yes\b", entry.answer, re.IGNORECASE), entry.id


def test_a_low_level_worry_about_consent_is_not_answered_yes(kb: KnowledgeBase) -> None:
    result = Knowledge.build(kb).ask("do i need consent if its just a low level worry")

    assert result.entry is not None
    assert not result.entry.answer.lower().startswith("yes")
    assert "no consent" in result.entry.answer.lower() or result.entry.answer.startswith("No")


def test_the_golden_rules_fit_one_chat_screen(kb: KnowledgeBase) -> None:
    rules = kb.entries["topic.golden-rules"]

    assert len(rules.points) == 7
    assert all(len(point) <= GOLDEN_RULE_CHARS for point in rules.points), rules.points
    assert len(rules.answer) <= ANSWER_CHARS
    assert "earlier version" in rules.explanation


def test_the_emergency_guidance_is_loud_and_short(kb: KnowledgeBase) -> None:
    emergency = kb.entries["emergency"]

    assert emergency.answer.startswith("Call 999")
    assert "social care" in emergency.answer
    assert len(emergency.answer) <= ANSWER_CHARS
    assert len(emergency.points) <= 8
    assert all(len(point) <= 120 for point in emergency.points)
    text = shown(emergency)
    assert "0808 800 5000" in text and "0800 1111" in text
    assert not re.search(r"\b\d{1,2}(:\d\d)?\s?(am|pm)\b|24 hours|open (daily|every)", text)


@pytest.mark.parametrize(("entry_id", "law"), sorted(NOT_YET_IN_FORCE.items()))
def test_law_that_has_not_started_is_described_as_coming(
    kb: KnowledgeBase, entry_id: str, law: str
) -> None:
    entry = kb.entries[entry_id]

    assert NOT_IN_FORCE.search(entry.title)
    assert NOT_IN_FORCE.search(entry.answer)
    assert any(NOT_IN_FORCE.search(point) for point in entry.points)
    for other in kb.entries.values():
        if law in shown(other):
            assert NOT_IN_FORCE.search(shown(other)), other.id


def test_recognised_legitimate_interests_is_in_force_but_not_for_public_authorities_tasks(
    kb: KnowledgeBase,
) -> None:
    rli = kb.entries["topic.recognised-legitimate-interests"]

    assert "5 Feb 2026" in rli.answer
    assert any(
        re.search(r"public authorities can(no|')t use it for their tasks", s, re.IGNORECASE)
        for s in sentences(rli.answer)
    )
    basis = kb.entries["topic.lawful-basis"].explanation
    assert re.search(r"public authorities .{0,80}cannot use legitimate interests", basis, re.I)


def test_paragraph_18_is_tied_to_sharing_without_consent(kb: KnowledgeBase) -> None:
    answer = kb.entries["topic.special-category-data"].answer
    assert any("without consent" in s and "para 18" in s for s in sentences(answer))
    for entry in kb.entries.values():
        for sentence in sentences(shown(entry)):
            if re.search(r"\b(para|paragraph) 18\b", sentence):
                assert "consent" in sentence, (entry.id, sentence)


def test_no_entry_calls_the_dfe_2024_advice_statutory(kb: KnowledgeBase) -> None:
    assert "non-statutory" in kb.sources["dfe-2024"].title
    for entry in kb.entries.values():
        for sentence in sentences(" ".join((shown(entry), entry.notes))):
            if re.search(r"\badvice\b", sentence):  # the DfE's is "advice"; others are "guidance"
                claim = sentence.replace("statutory duty", "")
                assert not re.search(r"(?<!non-)statutory", claim), (entry.id, sentence)


def test_no_entry_promises_legal_immunity_and_the_ico_fines_organisations(
    kb: KnowledgeBase,
) -> None:
    for entry in kb.entries.values():
        for sentence in sentences(shown(entry)):
            if "immun" in sentence.lower():
                assert re.search(r"\b(no|not)\b", sentence, re.IGNORECASE), (entry.id, sentence)
    punished = kb.entries["myth.punished-for-sharing"]
    assert "no blanket immunity" in punished.answer.lower()
    assert "organisations, not at individual staff" in punished.explanation
    assert "in substance" in punished.explanation  # the Commissioner is paraphrased, not quoted
    assert "honestly held and reasonable" in punished.explanation


def test_proof_is_never_needed_and_a_perceived_risk_is_enough(kb: KnowledgeBase) -> None:
    proof = kb.entries["myth.proof-of-harm-required"]

    assert "perceived risk" in proof.answer and "never needed" in proof.answer
    assert '"reasonable cause to suspect"' in proof.explanation
    assert "reasonable cause to believe" not in proof.answer


def test_sixteen_and_seventeen_year_olds_are_still_children(kb: KnowledgeBase) -> None:
    for entry_id in ("topic.consent-child", "topic.consent-adult-capacity"):
        text = shown(kb.entries[entry_id])
        assert "still children under the Children Act 1989" in text, entry_id
        assert "parental responsibility" in text, entry_id
        assert "overridden where they are at risk" in text, entry_id
    assert "16–17s are still children" in kb.entries["topic.consent-adult-capacity"].answer


def test_caldicott_principle_7_is_about_individual_care(kb: KnowledgeBase) -> None:
    caldicott = kb.entries["topic.caldicott"]

    assert "individual care" in caldicott.answer
    assert "individual care" in caldicott.points[6]
    assert "public interest" in caldicott.answer


def test_bruising_in_a_non_mobile_baby_is_never_low_level(kb: KnowledgeBase) -> None:
    low_level = kb.entries["topic.low-level-concerns"]

    assert "never low-level" in low_level.answer and "not yet mobile" in low_level.answer
    assert "immediate referral" in low_level.explanation
    assert "not yet mobile" in kb.entries["myth.proof-of-harm-required"].explanation


def test_early_help_wording_is_local_not_national(kb: KnowledgeBase) -> None:
    early_help = kb.entries["myth.early-help-consent"].explanation

    assert "differ by area" in early_help
    assert '"Family Help"' in early_help
    assert "just one recording product" in early_help


def test_article_6_is_placed_in_uk_gdpr_not_the_data_protection_act(kb: KnowledgeBase) -> None:
    for entry in kb.entries.values():
        assert not re.search(r"Article 6 of the (DPA|Data Protection Act)", shown(entry)), entry.id
    assert "UK GDPR Article 6" in kb.entries["topic.lawful-basis"].answer


def test_the_scottish_twelve_and_over_rule_is_dpa_section_208(kb: KnowledgeBase) -> None:
    for entry in kb.entries.values():
        if re.search(r"\b12 (and|or) over\b", shown(entry)):
            assert re.search(r"section 208|s\.208", shown(entry)), entry.id
    assert "rule of thumb" in kb.entries["topic.consent-child"].explanation


def test_criminal_offence_data_needs_an_article_10_condition(kb: KnowledgeBase) -> None:
    offence = kb.entries["topic.criminal-offence-data"]

    assert "Article 10" in offence.answer
    assert "alleged offences" in offence.explanation
    assert "Birmingham Children's Trust" in offence.explanation


def test_a_police_request_is_not_an_order_and_rests_on_schedule_2(kb: KnowledgeBase) -> None:
    police = kb.entries["topic.police-requests"]

    assert "isn't an order" in police.answer and "Sch 2 para 2" in police.answer
    assert "exemption, not a lawful basis" in police.explanation


def test_the_section_47_duty_binds_councils_housing_and_nhs_not_schools(
    kb: KnowledgeBase,
) -> None:
    duty = kb.entries["topic.statutory-duty"]

    assert "councils, housing and NHS bodies, not schools" in duty.answer
    assert "GP practices" in duty.explanation and "the police or charities" in duty.explanation


def test_fgm_reporting_is_a_personal_duty_to_the_police(kb: KnowledgeBase) -> None:
    fgm = kb.entries["topic.fgm-reporting"]

    assert "101" in fgm.answer and "themselves" in fgm.answer and "999" in fgm.answer
    assert "does not discharge" in fgm.explanation
    assert "under 18" in fgm.answer


def test_allegations_go_to_the_lado_within_one_working_day(kb: KnowledgeBase) -> None:
    allegations = kb.entries["topic.allegations-against-staff"]

    assert "LADO" in allegations.answer and "one working day" in allegations.answer
    assert "Disclosure and Barring Service" in allegations.explanation


def test_a_capable_adults_wishes_are_weighed_and_when_they_give_way(kb: KnowledgeBase) -> None:
    adults = kb.entries["topic.adults-at-risk"]

    for words in ("section 42", "section 45", "Making Safeguarding Personal", "paragraph 19"):
        assert words in adults.explanation, words
    for reason in ("children", "serious crime", "coercion", "MARAC", "staff", "court order"):
        assert reason in adults.explanation, reason


def test_outside_england_names_each_nations_own_duty(kb: KnowledgeBase) -> None:
    text = shown(kb.entries["topic.outside-england"])

    for words in (
        "section 130",
        "section 128",
        "section 208",
        "Criminal Law Act (Northern Ireland) 1967",
        "2021 (updated 2023)",
    ):
        assert words in text, words


def test_moving_a_child_protection_file_follows_kcsie(kb: KnowledgeBase) -> None:
    answer = kb.entries["topic.transferring-cp-files"].answer

    for words in ("5 days", "separately", "securely", "receipt"):
        assert words in answer, words


def test_a_parents_subject_access_request_respects_the_childs_right(kb: KnowledgeBase) -> None:
    sar = kb.entries["topic.subject-access-requests"]

    assert "child's" in sar.answer and "serious harm" in sar.answer
    assert "one month" in sar.explanation and "other people" in sar.explanation


def test_parental_responsibility_covers_each_kind_of_carer(kb: KnowledgeBase) -> None:
    points = " ".join(kb.entries["topic.parental-responsibility"].points)

    for carer in ("Step-parent", "Foster carer", "Special guardian", "Separated parents"):
        assert carer in points, carer


@pytest.mark.parametrize("entry_id", VERIFY_FLAGGED)
def test_items_the_digest_marks_verify_are_flagged_for_the_reviewer(
    kb: KnowledgeBase, entry_id: str
) -> None:
    assert "VERIFY" in kb.entries[entry_id].notes


def test_the_nspcc_helpline_hours_are_left_for_checking(kb: KnowledgeBase) -> None:
    assert "opening hours" in kb.entries["emergency"].notes
