"""Typed answers to each question, read the way people write them — clauses, reasons, negation,
contrast, situations instead of yes/no — through the real dialog at that question. An answer that
cannot be placed is asked again, never guessed. (The phrasings are the team's own and the issue's
examples; figures on whole sets written by others are in docs/benchmarks.md.)"""

from __future__ import annotations

import pytest

from benchmarks.search_eval import dialog_answer
from bot.core.conversation import Conversation

ANSWERS = [
    # the examples
    ("immediate_danger", "nah not right now i dont think, shes in class", "no"),
    ("confidential", "she told me in confidence and asked me not to tell anyone", "yes"),
    ("consent", "dad won't agree to it", "refused"),
    # each question, written as people write
    ("immediate_danger", "no because he's already been seen by the GP and he's at home", "no"),
    ("immediate_danger", "yes, her stepdad is waiting outside the gate", "yes"),
    ("immediate_danger", "he's not in danger, he's in maths", "no"),
    ("legal_duty", "no, police asked but there's no warrant or order", "no"),
    ("legal_duty", "yes - a court order for the records", "yes"),
    ("legitimate_purpose", "it's so social care can keep her safe", "yes"),
    ("legitimate_purpose", "honestly just gossip from the other parents", "no"),
    ("identifiable", "no names but she's the only one in a wheelchair", "yes"),
    ("identifiable", "nope, just numbers for the whole year group", "no"),
    ("confidential", "definitely not secret, she announced it in assembly", "no"),
    ("confidential", "it's from her GP record", "yes"),
    ("risk_of_harm", "i wouldnt say there's no risk", "yes"),
    ("risk_of_harm", "no, it's a sports injury, the physio confirmed it", "no"),
    ("adult_wishes", "yes but there's a baby in the house", "no"),
    ("adult_wishes", "she's 24, has capacity, and it's only herself she's hurting", "yes"),
    ("person", "a 6 year old", "child_under_12"),
    ("person", "elderly man, advanced dementia, no capacity for this", "adult_lacking_capacity"),
    ("consent", "he said no at first then came round and said ok", "given"),
    ("consent", "havent had the chance to ask yet", "not_asked"),
    ("seeking_consent_safe", "asking him would tip him off", "no"),
    ("seeking_consent_safe", "no reason why not, she's the one who asked for help", "yes"),
    ("public_interest", "probably not, it's just a feeling", "no"),
    ("public_interest", "yes, there are younger kids in the house", "yes"),
    ("lawful_basis", "we're a charity so legit interests", "legitimate_interests"),
    ("lawful_basis", "6(1)(e)", "public_task"),
    ("special_category", "none, no health or anything like that", "none"),
    ("special_category", "he explicitly agreed in writing", "explicit_consent"),
    ("record_confirm", "looks good, save it", "save"),
    ("record_confirm", "all fine except the case ref", "edit"),
    ("record_field", "the reasons bit", "reasons"),
    ("record_field", "the third one", "with_whom"),
    ("record_field", "number 1", "case_reference"),
]

ASKED_AGAIN = [
    ("consent", "no"),  # refused, or not asked yet?
    ("consent", "mum said yes but dad said absolutely not"),
    ("risk_of_harm", "what kind of harm do you mean?"),
    ("seeking_consent_safe", "safe for who?"),
    ("identifiable", "would a first name count"),
    ("record_field", "2 and 3"),
    ("lawful_basis", "whatever the council uses"),
]


@pytest.mark.parametrize(("question", "typed", "answer"), ANSWERS)
def test_a_typed_answer_is_understood_at_its_question(
    conversation: Conversation, question: str, typed: str, answer: str
) -> None:
    assert dialog_answer(conversation, question, typed) == answer


@pytest.mark.parametrize(("question", "typed"), ASKED_AGAIN)
def test_an_answer_that_cannot_be_placed_is_asked_again(
    conversation: Conversation, question: str, typed: str
) -> None:
    assert dialog_answer(conversation, question, typed) is None
