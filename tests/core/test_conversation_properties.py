"""Property: whatever a person types, clicks or submits, the core never raises, the state stays
valid and serialisable, and every finished decision has exactly the outcome the flow gives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.core.conversation import Conversation
from bot.core.effects import Asked, Escalate, SaveRecord
from bot.core.replies import Inbound
from bot.dialogs.flow import ALL_QUESTIONS, OUTCOMES, SKIP, next_step, outcome_for
from bot.dialogs.personal_details import looks_like_a_reference
from bot.dialogs.record import CHOICE_FIELDS, defaults_for, fields_for
from bot.dialogs.state import OUTCOME, DialogState, valid_step
from bot.knowledge.words import RECORD_FIELDS
from tests.transcript import START

PHRASES = [
    "can I share?",
    "I have a concern",
    "yes",
    "no",
    "yep",
    "no way",
    "not sure",
    "dunno",
    "she said no",
    "mum agreed",
    "haven't asked yet",
    "back",
    "start again",
    "help",
    "why",
    "stop",
    "menu",
    "ask my DSL",
    "record it",
    "save",
    "edit",
    "skip",
    "adult",
    "she's 14",
    "is consent always needed?",
    "Is GDPR a barrier to sharing with the police?",
    "he has a knife",
    "Emergency duty team",
    "CP-2026-0412",
    "Jess Smith",
    "DOB 03/04/2015",
    "999 765 4323",
    "NG7 2ZZ",
    "07700 900123",
    "someone@example.org",
    "public task",
    "none",
    "Children's social care, duty social worker",
    "To protect the child",
    "",
]
ODD_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)
TEXTS = st.one_of(
    *[st.sampled_from(PHRASES)] * 4,
    ODD_TEXT,
    st.tuples(st.sampled_from(PHRASES), ODD_TEXT).map(" ".join),
    st.sampled_from(["\x00\x1b[2J", "\u202eevil", "ｙｅｓ", "🙂" * 30, "a" * 4001, "yes\nno"]),
)
VALID_ANSWERS = [
    (q.id, a)
    for q in ALL_QUESTIONS.values()
    for a in (*q.answers, *((SKIP,) if q.optional else ()))
]
OTHER_BUTTONS = [
    ("menu", "start"),
    ("menu", "golden_rules"),
    ("menu", "myths"),
    ("menu", "escalate"),
    ("menu", "help"),
    ("menu", "nonsense"),
    ("dialog", "restart"),
    ("dialog", "resume"),
    ("dialog", "back"),
    ("dialog", "stop"),
    ("record", "start"),
    ("record", "save"),
    ("record", "edit"),
    ("record", "cancel"),
    ("escalate", "start"),
    ("entry", "myth.consent-always-needed"),
    ("entry", "missing"),
    *(("record_field", f) for f in RECORD_FIELDS),
    ("lawful_basis", "public_task"),
    ("lawful_basis", "consent"),
    ("lawful_basis", "bogus"),
    ("special_category", "none"),
    ("special_category", "schedule1_para18"),
]
CLICKS = st.one_of(
    st.sampled_from(VALID_ANSWERS),
    st.sampled_from(OTHER_BUTTONS),
    st.tuples(st.sampled_from(sorted(ALL_QUESTIONS)), ODD_TEXT),
    st.tuples(ODD_TEXT, ODD_TEXT),
)
TURNING_POINTS = st.sampled_from(
    ["back", "he has a knife", "stop", "start again", "help", "why", "ask my DSL", "save", "edit"]
)
GOOD_FORM = {
    "case_reference": "CP-2026-0412",
    "what": "Concerns raised at school this week",
    "with_whom": "Children's social care, duty social worker",
    "purpose": "So social care can assess the risk",
    "lawful_basis": "public_task",
    "special_category": "none",
    "reasons": "Reasonable cause to believe the child is at risk",
}
FORMS = st.one_of(
    st.dictionaries(
        st.one_of(st.sampled_from(RECORD_FIELDS), ODD_TEXT),
        st.one_of(st.sampled_from(PHRASES), ODD_TEXT),
        max_size=8,
    ),
    st.dictionaries(st.sampled_from(RECORD_FIELDS), st.sampled_from(PHRASES), max_size=3).map(
        lambda bad: {**GOOD_FORM, **bad}
    ),
)
OFFERED = st.tuples(st.just("offered"), st.integers(0, 40))
ACTIONS = st.one_of(
    *[OFFERED] * 10,
    *[st.tuples(st.just("text"), TEXTS)] * 3,
    *[st.tuples(st.just("text"), TURNING_POINTS)] * 2,
    *[st.tuples(st.just("click"), CLICKS)] * 2,
    *[st.tuples(st.just("form"), FORMS)] * 2,
    st.tuples(st.just("wait"), st.sampled_from([0.5, 1.0, 23.0, 25.0])),
)
TURNS = st.lists(
    st.tuples(ACTIONS, st.booleans(), st.integers(0, 19)), min_size=5, max_size=50
).map(lambda turns: [(("click", ("menu", "start")), False, 1), *turns])


NO_NO = [("click", ("immediate_danger", "no")), ("click", ("legal_duty", "no"))]


def _turns(*actions: tuple[str, Any]) -> list[tuple[tuple[str, Any], bool, int]]:
    """An explicit example: private messages, no forms."""
    return [(action, False, 1) for action in actions]


def check_state(conversation: Conversation, state: DialogState) -> None:
    assert DialogState.from_json(state.to_json()) == state
    assert valid_step(state.step), state.step
    asked = [q for q, _ in state.answers]
    assert len(asked) == len(set(asked)), "each question is answered once"
    answers = state.answer_map
    if state.step.startswith("q:"):
        assert state.step[2:] == next_step(answers), (state.step, answers)
    if state.step == OUTCOME:
        assert state.outcome in OUTCOMES
    if state.outcome:
        if state.decided_by == "text":
            assert state.outcome == "emergency"
        else:
            assert state.outcome == outcome_for(answers)
        assert set(state.record) <= set(fields_for(state.outcome))
    else:
        assert state.record == {}
        assert not state.step.startswith("rec:")
    for field_id, value in state.record.items():
        if field_id not in CHOICE_FIELDS:
            assert conversation.kit.policy.findings(field_id, value) == [], "no personal details"
        if field_id == "case_reference":
            assert looks_like_a_reference(value)


def check_saved(conversation: Conversation, before: DialogState, record: Any) -> None:
    assert record["outcome"] == before.outcome
    answers = {a["q"]: a["a"] for a in record["answers"]}
    if record["decided_by"] != "text":
        assert outcome_for(answers) == record["outcome"]
    needed = fields_for(record["outcome"])
    assert all(str(record[f]).strip() for f in needed), "every field the outcome needs is filled"
    for field_id, value in defaults_for(record["outcome"]).items():
        assert record[field_id] == value
    for field_id in needed:
        if field_id not in CHOICE_FIELDS:
            assert conversation.kit.policy.findings(field_id, record[field_id]) == []
        elif field_id == "lawful_basis":
            assert record[field_id] in conversation.rec.options(field_id, answers)


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(turns=TURNS)
@example(
    turns=_turns(("click", ("menu", "start")), *NO_NO, ("text", "he has a knife"), ("text", "back"))
)
@example(
    turns=_turns(
        ("click", ("menu", "start")),
        *NO_NO,
        ("click", ("legitimate_purpose", "no")),
        ("click", ("record_field", "what")),  # an old "which part?" button
        ("text", "Attendance records"),
        ("text", "save"),
    )
)
def test_any_sequence_of_inputs_keeps_the_dialog_valid(
    conversation: Conversation, turns: list[tuple[tuple[str, Any], bool, int]]
) -> None:
    state = DialogState()
    now = START
    offered: list[tuple[str, str]] = []
    for (kind, value), forms, shared in turns:
        if kind == "wait":
            now += timedelta(hours=value)
            continue
        if kind == "offered":  # press one of the buttons the bot just showed
            kind, value = ("click", offered[value % len(offered)]) if offered else ("text", "")
        inbound = Inbound(
            "prop:1",
            "U-PROP",
            "console",
            now,
            text=value if kind == "text" else None,
            choice=value if kind == "click" else None,
            form=value if kind == "form" else None,
            forms=forms,
            private=shared != 0,
        )

        turn = conversation.step(state, inbound)

        outcomes = [r.outcome for r in turn.replies if r.outcome]
        assert len(outcomes) <= 1, "a turn shows at most one outcome"
        if outcomes:
            assert turn.state.step == OUTCOME
            assert turn.state.outcome == outcomes[0]
        kept = [e for e in turn.effects if isinstance(e, SaveRecord | Escalate)]
        assert len(kept) <= 1, "a turn saves at most one record or request"
        for effect in turn.effects:
            if isinstance(effect, SaveRecord):
                check_saved(conversation, state, effect.record)
                assert not turn.state.in_dialog
            elif isinstance(effect, Escalate):
                assert effect.escalation["case_reference"] and effect.escalation["question"]
            else:
                assert isinstance(effect, Asked)
                assert effect.text == "" or effect.answer_id == "none"
        check_state(conversation, turn.state)
        state = turn.state
        offered = [(c.q, c.a) for r in turn.replies for c in r.choices]
