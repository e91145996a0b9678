"""The decision flow as a table: the nine questions, their answers and the outcome rules.

`outcome_for(answers)` applies the precedence table from the design; `next_question(answers)`
names the one question that can still change the outcome. Both are pure and tiny, so they
can be read beside the guidance and tested from tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

YES, NO, UNSURE = "yes", "no", "unsure"
GIVEN, REFUSED, NOT_ASKED = "given", "refused", "not_asked"


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    answers: tuple[str, ...]
    optional: bool = False  # context questions: never change the outcome, may be skipped


QUESTIONS: Final[tuple[Question, ...]] = (
    Question("immediate_danger", (YES, NO)),
    Question("legal_duty", (YES, NO)),
    Question("legitimate_purpose", (YES, NO, UNSURE)),
    Question("identifiable", (YES, NO)),
    Question("confidential", (YES, NO, UNSURE)),
    Question("risk_of_harm", (YES, NO, UNSURE)),
    Question("consent", (GIVEN, REFUSED, NOT_ASKED)),
    Question("seeking_consent_safe", (YES, NO)),
    Question("public_interest", (YES, NO, UNSURE)),
)
DECISION_QUESTION_IDS: Final = tuple(q.id for q in QUESTIONS)

# Context question: who the information is about, to tailor consent guidance. Skippable.
PERSON = Question(
    "person",
    ("child_under_12", "child_12_15", "young_person_16_17", "adult", "adult_lacking_capacity"),
    optional=True,
)
SKIP = "skip"
ALL_QUESTIONS: Final = {q.id: q for q in (*QUESTIONS, PERSON)}

EMERGENCY = "emergency"
MUST_SHARE = "must_share"
DO_NOT_SHARE = "do_not_share"
SEEK_ADVICE = "seek_advice"
SHARE_ANONYMISED = "share_anonymised"
SHARE = "share"
SHARE_WITHOUT_CONSENT = "share_without_consent"
ASK_CONSENT = "ask_consent"
OUTCOMES: Final = (
    EMERGENCY,
    MUST_SHARE,
    DO_NOT_SHARE,
    SEEK_ADVICE,
    SHARE_ANONYMISED,
    SHARE,
    SHARE_WITHOUT_CONSENT,
    ASK_CONSENT,
)
SHARING_OUTCOMES: Final = frozenset(
    {EMERGENCY, MUST_SHARE, SHARE_ANONYMISED, SHARE, SHARE_WITHOUT_CONSENT}
)

Answers = Mapping[str, str]


def outcome_for(answers: Answers) -> str | None:
    """The outcome the precedence table gives, or None while a deciding answer is missing."""
    decided = _walk(answers)
    return decided if decided in OUTCOMES else None


def next_question(answers: Answers) -> str | None:
    """The next decision question whose answer can still change the outcome (None when decided)."""
    step = _walk(answers)
    return None if step in OUTCOMES else step


def questions_that_matter(answers: Answers) -> list[str]:
    """The decision questions on the path the answers take, in the order they are asked."""
    path: list[str] = []
    partial: dict[str, str] = {}
    while (step := _walk(partial)) not in OUTCOMES:
        path.append(step)
        if step not in answers:
            break
        partial[step] = answers[step]
    return path


def _walk(a: Answers) -> str:
    """Follow the precedence rules; return an outcome, or the id of the question needed next."""
    rules: tuple[tuple[str, Mapping[str, str]], ...] = (
        ("immediate_danger", {YES: EMERGENCY}),
        ("legal_duty", {YES: MUST_SHARE}),
        ("legitimate_purpose", {NO: DO_NOT_SHARE, UNSURE: SEEK_ADVICE}),
        ("identifiable", {NO: SHARE_ANONYMISED}),
        ("confidential", {NO: SHARE}),  # unsure is treated as yes: carry on
        ("risk_of_harm", {YES: SHARE_WITHOUT_CONSENT}),
        ("consent", {GIVEN: SHARE}),
    )
    for qid, decides in rules:
        if qid not in a:
            return qid
        if a[qid] in decides:
            return decides[a[qid]]
    if a["consent"] == NOT_ASKED:
        if "seeking_consent_safe" not in a:
            return "seeking_consent_safe"
        if a["seeking_consent_safe"] == YES:
            return ASK_CONSENT
    if "public_interest" not in a:
        return "public_interest"
    return {YES: SHARE_WITHOUT_CONSENT, NO: DO_NOT_SHARE}.get(a["public_interest"], SEEK_ADVICE)
