"""The decision flow as a table: the ten questions, their answers and the outcome rules.

`RULES` is the design's precedence table, one row per rule, read top to bottom: the first row
whose answer decides gives the outcome. `outcome_for(answers)` applies it; `next_question`
names the one question that can still change the outcome; `next_step` adds the optional
context question (`person`) where it can tailor what follows. All pure and tiny, so they can
be read beside the guidance and tested from tables. The table is checked when this module is
imported: an impossible row stops start-up, never a chat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

FLOW_VERSION: Final = "flow-2026.12"  # saved in every record; change it when the rules change
YES, NO, UNSURE = "yes", "no", "unsure"
GIVEN, REFUSED, NOT_ASKED = "given", "refused", "not_asked"


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    answers: tuple[str, ...]
    optional: bool = False  # context questions: may be skipped; see `next_step`


QUESTIONS: Final[tuple[Question, ...]] = (
    Question("immediate_danger", (YES, NO)),
    Question("legal_duty", (YES, NO)),
    Question("legitimate_purpose", (YES, NO, UNSURE)),
    Question("identifiable", (YES, NO)),
    Question("confidential", (YES, NO, UNSURE)),
    Question("risk_of_harm", (YES, NO, UNSURE)),
    Question("adult_wishes", (YES, NO, UNSURE)),
    Question("consent", (GIVEN, REFUSED, NOT_ASKED)),
    Question("seeking_consent_safe", (YES, NO, UNSURE)),
    Question("public_interest", (YES, NO, UNSURE)),
)
DECISION_QUESTION_IDS: Final = tuple(q.id for q in QUESTIONS)

# Context question: who the information is about. It tailors the consent advice, and a child,
# a 16–17-year-old or an adult who may lack capacity cannot have the capable adult's say that
# `adult_wishes` asks about, so for them that question is skipped (taken as no).
CHILD_UNDER_12, CHILD_12_15, YOUNG_PERSON_16_17 = (
    "child_under_12",
    "child_12_15",
    "young_person_16_17",
)
ADULT, ADULT_LACKING_CAPACITY = "adult", "adult_lacking_capacity"
PERSON = Question(
    "person",
    (CHILD_UNDER_12, CHILD_12_15, YOUNG_PERSON_16_17, ADULT, ADULT_LACKING_CAPACITY),
    optional=True,
)
NOT_THEIR_OWN_DECISION: Final = frozenset(
    {CHILD_UNDER_12, CHILD_12_15, YOUNG_PERSON_16_17, ADULT_LACKING_CAPACITY}
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
DECIDED_BY_TEXT: Final = "text"  # emergency wording in a message decided, not an answer

Answers = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Unless:
    """A rule's outcomes change when an earlier answer was `answer`."""

    question: str
    answer: str
    decides: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class TakenAs:
    """The rule's question is not asked, and is taken as `answer`, when `question` was
    answered with one of `answers`."""

    question: str
    answers: frozenset[str]
    answer: str


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the precedence table."""

    question: str
    decides: Mapping[str, str] = field(default_factory=dict)  # answer → outcome
    only_if: tuple[str, str] | None = None  # asked only when this earlier answer was given
    unless: Unless | None = None
    taken_as: TakenAs | None = None

    def outcomes(self, answers: Answers) -> Mapping[str, str]:
        u = self.unless
        if u is not None and answers.get(u.question) == u.answer:
            return {**self.decides, **u.decides}
        return self.decides


RULES: Final[tuple[Rule, ...]] = (
    Rule("immediate_danger", {YES: EMERGENCY}),  # 1
    Rule("legal_duty", {YES: MUST_SHARE}),  # 2
    Rule("legitimate_purpose", {NO: DO_NOT_SHARE, UNSURE: SEEK_ADVICE}),  # 3
    Rule("identifiable", {NO: SHARE_ANONYMISED}),  # 4
    Rule("confidential", {NO: SHARE}),  # 5 (unsure is treated as yes: carry on)
    Rule("risk_of_harm"),  # decides nothing alone: yes opens rule 6, unsure changes rule 9
    Rule(  # 6: a capable adult's own wishes count when the risk is to them alone
        "adult_wishes",
        {NO: SHARE_WITHOUT_CONSENT, UNSURE: SEEK_ADVICE},
        only_if=("risk_of_harm", YES),
        taken_as=TakenAs(PERSON.id, NOT_THEIR_OWN_DECISION, NO),
    ),
    Rule("consent", {GIVEN: SHARE}),  # 7
    Rule("seeking_consent_safe", {YES: ASK_CONSENT}, only_if=("consent", NOT_ASKED)),  # 8
    Rule(  # 9: refused, or asking is unsafe or unsure (golden rule 4: unsure risk → advice)
        "public_interest",
        {YES: SHARE_WITHOUT_CONSENT, UNSURE: SEEK_ADVICE, NO: DO_NOT_SHARE},
        unless=Unless("risk_of_harm", UNSURE, {NO: SEEK_ADVICE}),
    ),
)


@dataclass(frozen=True, slots=True)
class Step:
    """Where the table leads: an outcome (with the answer that decided it), or a question."""

    outcome: str | None = None
    decided_by: str = ""  # "question=answer"
    question: str | None = None


def walk(answers: Answers) -> Step:
    """Follow the precedence table as far as the answers go."""
    for rule in RULES:
        if rule.only_if is not None and answers.get(rule.only_if[0]) != rule.only_if[1]:
            continue
        answer = answers.get(rule.question)
        decided_by = f"{rule.question}={answer}"
        taken = rule.taken_as
        if taken is not None and answers.get(taken.question) in taken.answers:
            # not asked; and an answer given anyway (a file of facts) cannot overrule it
            answer, decided_by = taken.answer, f"{taken.question}={answers[taken.question]}"
        if answer is None:
            return Step(question=rule.question)
        outcome = rule.outcomes(answers).get(answer)
        if outcome is not None:
            return Step(outcome, decided_by)
    raise AssertionError("the last rule decides every answer")  # checked at import


def outcome_for(answers: Answers) -> str | None:
    """The outcome the precedence table gives, or None while a deciding answer is missing."""
    return walk(answers).outcome


def decided_by(answers: Answers) -> str:
    """The 'question=answer' that decided the outcome: the key of its "because" line."""
    return walk(answers).decided_by


def next_question(answers: Answers) -> str | None:
    """The next decision question whose answer can still change the outcome (None when decided)."""
    return walk(answers).question


def next_step(answers: Answers) -> str | None:
    """The next question to ask: `next_question`, or first the optional `person` question,
    asked once before `adult_wishes` (it can skip it) or `consent` (it tailors the advice)."""
    question = next_question(answers)
    if question in ("adult_wishes", "consent") and PERSON.id not in answers:
        return PERSON.id
    return question


def questions_that_matter(answers: Answers) -> list[str]:
    """The decision questions on the path the answers take, in the order they are asked."""
    path: list[str] = []
    partial: dict[str, str] = {k: v for k, v in answers.items() if k == PERSON.id}
    while (step := walk(partial)).question is not None:
        path.append(step.question)
        if step.question not in answers:
            break
        partial[step.question] = answers[step.question]
    return path


def deciding_answers() -> dict[str, set[str]]:
    """For each outcome, every 'question=answer' that can decide it (each needs a "because"
    line in outcomes.yaml)."""
    keys: dict[str, set[str]] = {o: set() for o in OUTCOMES}
    keys[EMERGENCY].add(DECIDED_BY_TEXT)
    for rule in RULES:
        for answer, outcome in rule.decides.items():
            keys[outcome].add(f"{rule.question}={answer}")
        if rule.unless is not None:
            for answer, outcome in rule.unless.decides.items():
                keys[outcome].add(f"{rule.question}={answer}")
        if rule.taken_as is not None:
            outcome = rule.decides[rule.taken_as.answer]
            keys[outcome].update(f"{rule.taken_as.question}={a}" for a in rule.taken_as.answers)
    return keys


def _check(rules: tuple[Rule, ...]) -> None:
    """Refuse an impossible table (PTB's ConversationHandler does the same when built)."""
    seen: list[str] = []
    for rule in rules:
        q = ALL_QUESTIONS.get(rule.question)
        if q is None or q.optional:
            raise ValueError(f"rule for unknown decision question {rule.question!r}")
        if rule.question in seen:
            raise ValueError(f"two rules for {rule.question!r}")
        tables = [rule.decides, *([rule.unless.decides] if rule.unless else [])]
        for table in tables:
            for answer, outcome in table.items():
                if answer not in q.answers or outcome not in OUTCOMES:
                    raise ValueError(f"{rule.question}: {answer!r} → {outcome!r} is not possible")
        for earlier in (rule.only_if, (rule.unless.question, "") if rule.unless else None):
            if earlier is not None and earlier[0] not in seen:
                raise ValueError(f"{rule.question} depends on a later question {earlier[0]!r}")
        if rule.taken_as is not None and rule.taken_as.answer not in rule.decides:
            raise ValueError(f"{rule.question}: the answer it is taken as must decide")
        seen.append(rule.question)
    if tuple(seen) != DECISION_QUESTION_IDS:
        raise ValueError("every decision question needs exactly one rule, in the design order")
    if set(rules[-1].decides) != set(ALL_QUESTIONS[rules[-1].question].answers):
        raise ValueError("the last rule must decide every answer, so every path ends")


_check(RULES)
