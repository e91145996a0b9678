"""Gathering the decision record in chat and by form: no personal details, nothing lost."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from bot.core.conversation import FLOW_VERSION, Conversation
from bot.core.replies import ReplyKind
from bot.dialogs.state import DialogState
from tests.dialogs.test_flow import SHORTEST_PATH
from tests.transcript import Chat, Said, answers_of

RISK_REFUSED = {
    "immediate_danger": "no",
    "legal_duty": "no",
    "legitimate_purpose": "yes",
    "identifiable": "yes",
    "confidential": "yes",
    "risk_of_harm": "yes",
    "adult_wishes": "no",
}
PUBLIC_INTEREST_NO = {
    **{k: v for k, v in RISK_REFUSED.items() if k != "adult_wishes"},
    "risk_of_harm": "no",
    "consent": "refused",
    "public_interest": "no",
}
SHARED_FIELDS = {
    "case_reference": "CP-2026-0412",
    "what": "The child's account of bruising and the school's chronology of concerns",
    "with_whom": "Children's social care, duty social worker",
    "purpose": "So social care can assess the risk at home",
    "reasons": "Reasonable cause to believe the child is at risk of significant harm",
}
NOT_SHARED_FIELDS = {
    "case_reference": "EH-2026-0099",
    "what": "Parent's mental health history, asked for by the tenancy officer",
    "with_whom": "Housing association, tenancy officer",
    "purpose": "To support a housing application",
    "reasons": "Consent refused and no risk of harm; privacy outweighs the benefit",
}


def fill(chat: Chat, said: Said, fields: dict[str, str], **choices: str) -> list[str]:
    """Answer each record field as it is asked. Returns the field ids asked, in order."""
    asked = []
    while said.question is not None:
        field_id = said.question
        asked.append(field_id)
        if field_id in choices:
            said = chat.click(field_id, choices[field_id])
        else:
            said = chat.send(fields[field_id])
    return asked


def record_by_chat(chat: Chat, fields: dict[str, str], **choices: str) -> list[str]:
    """Click "record" at the outcome, then fill in every field asked."""
    return fill(chat, chat.click("record", "start"), fields, **choices)


# ---------------------------------------------------------------- the record in chat


def test_a_shared_decision_is_recorded_field_by_field_and_saved(
    chat: Chat, conversation: Conversation
) -> None:
    chat.decide(RISK_REFUSED)

    asked = record_by_chat(
        chat, SHARED_FIELDS, lawful_basis="public_task", special_category="schedule1_para18"
    )
    said = chat.click("record", "save")

    assert asked == [
        "case_reference",
        "what",
        "with_whom",
        "purpose",
        "lawful_basis",
        "special_category",
        "reasons",
    ]
    [record] = said.saved
    assert record["id"].startswith("R-")
    assert record["practitioner"] == chat.user
    assert record["channel"] == "console"
    assert record["outcome"] == "share_without_consent"
    assert record["decided_by"] == "adult_wishes=no"
    assert record["shared"] is True
    assert answers_of(record) == [
        *[(q, a) for q, a in RISK_REFUSED.items() if q != "adult_wishes"],
        ("person", "skip"),
        ("adult_wishes", "no"),
    ]
    assert {k: record[k] for k in SHARED_FIELDS} == SHARED_FIELDS
    assert record["lawful_basis"] == "public_task"
    assert record["special_category"] == "schedule1_para18"
    assert record["flow_version"] == FLOW_VERSION
    assert record["knowledge_version"] == conversation.knowledge.kb.version


def test_the_record_time_is_utc(chat: Chat) -> None:
    chat.decide({"immediate_danger": "no", "legal_duty": "yes"})
    record_by_chat(chat, SHARED_FIELDS, lawful_basis="legal_obligation", special_category="none")

    said = chat.click("record", "save")

    created = datetime.fromisoformat(said.saved[0]["created_at"])
    assert created.utcoffset() == timedelta(0)
    assert created == chat.now


def test_the_saved_record_is_shown_back_as_a_readable_summary(chat: Chat) -> None:
    chat.decide(RISK_REFUSED)
    record_by_chat(chat, SHARED_FIELDS, lawful_basis="public_task", special_category="none")

    said = chat.send("save")

    summary = said.of_kind(ReplyKind.SUMMARY)[0]
    assert said.saved[0]["id"] in summary.text
    assert "Case reference: CP-2026-0412" in summary.bullets
    assert "Information shared: yes" in summary.bullets
    assert chat.state == DialogState(last_active=chat.state.last_active)


def test_a_decision_not_to_share_is_recorded_too_without_asking_a_lawful_basis(
    chat: Chat,
) -> None:
    chat.decide(PUBLIC_INTEREST_NO)

    intro = chat.click("record", "start")
    asked = fill(chat, intro, NOT_SHARED_FIELDS)
    said = chat.click("record", "save")

    assert "not to share is recorded too" in intro.text
    assert asked == ["case_reference", "what", "with_whom", "purpose", "reasons"]
    [record] = said.saved
    assert record["outcome"] == "do_not_share"
    assert record["shared"] is False
    assert record["lawful_basis"] == "not_applicable"
    assert record["special_category"] == "none"
    assert record["reasons"] == NOT_SHARED_FIELDS["reasons"]


@pytest.mark.parametrize(
    ("outcome", "suggested"),
    [
        ("emergency", "vital_interests"),
        ("must_share", "legal_obligation"),
        ("share", "public_task"),
        ("share_without_consent", "public_task"),
    ],
)
def test_the_lawful_basis_question_suggests_the_usual_basis_first(
    chat: Chat, outcome: str, suggested: str
) -> None:
    chat.decide(SHORTEST_PATH[outcome])
    chat.click("record", "start")
    for field_id in ("case_reference", "what", "with_whom", "purpose"):
        said = chat.send(SHARED_FIELDS[field_id])

    assert said.question == "lawful_basis"
    assert said.buttons_for("lawful_basis")[0] == suggested
    assert "Suggested for this outcome" in said.text


def test_a_lawful_basis_can_be_typed(chat: Chat) -> None:
    chat.decide(RISK_REFUSED)
    chat.click("record", "start")
    for field_id in ("case_reference", "what", "with_whom", "purpose"):
        chat.send(SHARED_FIELDS[field_id])

    unknown = chat.send("banana")
    kept_out = dict(chat.state.record)
    said = chat.send("public task")

    assert unknown.question == "lawful_basis"
    assert "lawful_basis" not in kept_out
    assert said.question == "special_category"
    assert chat.state.record["lawful_basis"] == "public_task"


def test_the_case_reference_prompt_says_never_to_use_a_name(chat: Chat) -> None:
    chat.decide(RISK_REFUSED)

    said = chat.click("record", "start")

    assert "Please don't use names" in said.text
    assert said.question == "case_reference"
    assert "never the person's name" in said.text


def test_typing_yes_at_the_outcome_starts_the_record(chat: Chat) -> None:
    chat.decide(RISK_REFUSED)

    said = chat.send("yes")

    assert said.question == "case_reference"


def test_back_in_the_record_returns_to_the_previous_field(chat: Chat) -> None:
    chat.decide(RISK_REFUSED)
    chat.click("record", "start")
    chat.send("CP-2026-0412")

    said = chat.send("back")

    assert said.question == "case_reference"
    assert chat.state.step == "rec:case_reference"


def test_a_field_can_be_changed_before_saving(chat: Chat) -> None:
    chat.decide(RISK_REFUSED)
    record_by_chat(chat, SHARED_FIELDS, lawful_basis="public_task", special_category="none")

    which = chat.send("change something")
    chat.click("record_field", "with_whom")
    confirm = chat.send("Police, public protection unit")
    said = chat.click("record", "save")

    assert {c.a for c in which.choices} >= {"case_reference", "with_whom", "reasons"}
    assert confirm.of_kind(ReplyKind.SUMMARY)
    assert said.saved[0]["with_whom"] == "Police, public protection unit"


def test_a_field_too_long_is_asked_again(chat: Chat) -> None:
    chat.decide(RISK_REFUSED)
    chat.click("record", "start")

    said = chat.send("CP-" + "1" * 80)

    assert "too long" in said.text
    assert said.question == "case_reference"
    assert chat.state.record == {}


def test_changing_an_answer_after_starting_the_record_starts_the_record_afresh(
    chat: Chat,
) -> None:
    chat.decide(RISK_REFUSED)
    record_by_chat(
        chat, SHARED_FIELDS, lawful_basis="public_task", special_category="schedule1_para18"
    )

    chat.click("risk_of_harm", "no")
    chat.click("person", "skip")
    chat.click("consent", "refused")
    chat.click("public_interest", "no")
    asked = record_by_chat(chat, NOT_SHARED_FIELDS)
    said = chat.click("record", "save")

    assert asked == ["case_reference", "what", "with_whom", "purpose", "reasons"]
    [record] = said.saved
    assert record["outcome"] == "do_not_share"
    assert record["lawful_basis"] == "not_applicable"
    assert record["special_category"] == "none"
    assert record["what"] == NOT_SHARED_FIELDS["what"]


# ---------------------------------------------------------------- personal details


@pytest.mark.parametrize(
    ("typed", "named"),
    [
        ("Notes from Jess Smith's teacher", "a name"),
        ("Child's DOB 03/04/2015 and the school's concerns", "a date of birth"),
        ("Health records for NHS number 999 765 4323", "an NHS number"),
        ("Home visit notes for NG7 2ZZ", "a postcode"),
        ("Mum's mobile 07700 900123", "a phone number"),
        ("Emails from parent.one@example.org", "an email address"),
    ],
)
def test_personal_details_in_a_record_field_are_flagged_and_the_field_asked_again(
    chat: Chat, typed: str, named: str
) -> None:
    chat.decide(RISK_REFUSED)
    chat.click("record", "start")
    chat.send("CP-2026-0412")

    said = chat.send(typed)

    warning = said.of_kind(ReplyKind.WARNING)
    assert len(warning) == 1
    assert named in warning[0].text
    assert "case reference" in warning[0].text
    assert said.question == "what"
    assert "what" not in chat.state.record
    assert typed not in chat.state.to_json()
    assert said.effects == []


def test_nothing_is_saved_until_personal_details_are_replaced(chat: Chat) -> None:
    chat.decide(RISK_REFUSED)
    chat.click("record", "start")
    flagged = chat.send("Jess Smith")

    replaced = chat.send("CP-2026-0412")

    assert flagged.question == "case_reference"
    assert replaced.question == "what"
    assert chat.state.record == {"case_reference": "CP-2026-0412"}


def test_personal_details_in_every_text_field_are_caught(chat: Chat) -> None:
    chat.decide(RISK_REFUSED)
    said = chat.click("record", "start")
    flagged = []
    while said.question is not None:
        field_id = said.question
        if field_id in ("lawful_basis", "special_category"):
            said = chat.click(field_id, "public_task" if field_id == "lawful_basis" else "none")
            continue
        warned = chat.send(f"Discussed with Mrs Okafor, {field_id}")
        flagged.append(field_id if warned.of_kind(ReplyKind.WARNING) else "")
        said = chat.send(SHARED_FIELDS[field_id])

    assert flagged == ["case_reference", "what", "with_whom", "purpose", "reasons"]
    assert "Okafor" not in chat.state.to_json()


def test_personal_details_typed_during_the_decision_are_warned_about_not_stored(
    chat: Chat,
) -> None:
    chat.start()

    said = chat.send("no, but Jess Smith's mum called 07700 900123")

    [warning] = said.of_kind(ReplyKind.WARNING)
    assert "a name and a phone number (“Jess Smith's”, “07700 900123”)" in warning.text
    assert "Jess" not in chat.state.to_json()


# ---------------------------------------------------------------- the record form


def test_the_record_form_is_offered_where_the_channel_can_show_one(
    new_chat: Callable[..., Chat],
) -> None:
    chat = new_chat(forms=True)
    chat.decide(RISK_REFUSED)

    said = chat.click("record", "start")

    [reply] = said.replies
    assert reply.kind == ReplyKind.FORM and reply.form is not None
    assert [f.id for f in reply.form.fields] == [
        "case_reference",
        "what",
        "with_whom",
        "purpose",
        "lawful_basis",
        "special_category",
        "reasons",
    ]
    assert reply.form.values["lawful_basis"] == "public_task"


def test_the_form_returns_an_inline_error_per_field_then_saves_when_fixed(
    new_chat: Callable[..., Chat],
) -> None:
    chat = new_chat(forms=True)
    chat.decide(RISK_REFUSED)
    chat.click("record", "start")
    bad = {
        **SHARED_FIELDS,
        "case_reference": "Jess Smith",
        "what": "",
        "with_whom": "Social worker on 07700 900123",
        "lawful_basis": "because",
        "special_category": "none",
    }

    rejected = chat.submit(bad)
    fixed = chat.submit(
        {**SHARED_FIELDS, "lawful_basis": "public_task", "special_category": "none"}
    )

    form = rejected.replies[0].form
    assert form is not None
    assert set(form.errors) == {"case_reference", "what", "with_whom", "lawful_basis"}
    assert "a name" in form.errors["case_reference"]
    assert "a phone number" in form.errors["with_whom"]
    assert form.values["purpose"] == SHARED_FIELDS["purpose"], "good answers are kept"
    assert "Not saved yet" in rejected.replies[0].text
    assert rejected.effects == []
    [record] = fixed.saved
    assert record["case_reference"] == "CP-2026-0412"
    assert record["lawful_basis"] == "public_task"


def test_the_form_for_a_decision_not_to_share_has_no_lawful_basis(
    new_chat: Callable[..., Chat],
) -> None:
    chat = new_chat(forms=True)
    chat.decide(PUBLIC_INTEREST_NO)
    form_reply = chat.click("record", "start")

    said = chat.submit({**NOT_SHARED_FIELDS, "lawful_basis": "consent"})

    assert form_reply.replies[0].form is not None
    assert "lawful_basis" not in [f.id for f in form_reply.replies[0].form.fields]
    assert said.saved[0]["lawful_basis"] == "not_applicable"


def test_a_form_sent_before_any_decision_saves_nothing(chat: Chat) -> None:
    said = chat.submit(SHARED_FIELDS)

    assert "no finished decision" in said.text
    assert said.effects == []


def test_an_old_which_part_button_cannot_save_a_record_with_fields_missing(chat: Chat) -> None:
    chat.decide(RISK_REFUSED)
    record_by_chat(chat, SHARED_FIELDS, lawful_basis="public_task", special_category="none")
    chat.send("edit")
    chat.click("dialog", "restart")
    chat.decide(SHORTEST_PATH["share"], first=chat.said[-1])

    chat.click("record_field", "what")  # the button from the earlier "Which part?" list
    said = chat.send("Attendance records for this term")
    while said.question is not None:
        field_id = said.question
        if field_id in ("lawful_basis", "special_category"):
            said = chat.click(field_id, "public_task" if field_id == "lawful_basis" else "none")
        else:
            said = chat.send(SHARED_FIELDS[field_id])
    saved = chat.click("record", "save")

    [record] = saved.saved
    assert all(record[f] for f in SHARED_FIELDS), record
    assert record["what"] == "Attendance records for this term"


@pytest.mark.parametrize("typed", ["share", "decision", "go", "concern", "record"])
def test_a_record_field_that_reads_like_a_command_is_written_down_not_obeyed(
    chat: Chat, typed: str
) -> None:
    chat.decide(RISK_REFUSED)
    chat.click("record", "start")
    chat.send("CP-2026-0412")

    said = chat.send(typed)

    assert said.question == "with_whom"
    assert not said.outcomes


def test_stop_still_works_while_writing_a_record(chat: Chat) -> None:
    chat.decide(RISK_REFUSED)
    chat.click("record", "start")

    said = chat.send("stop")

    assert "nothing was recorded" in said.text
    assert said.question is None


# ---------------------------------------------------------------- cancel


@pytest.mark.parametrize("typed", ["cancel", "never mind", "Cancel the record"])
def test_cancel_while_writing_a_record_drops_the_record_and_keeps_the_outcome(
    chat: Chat, typed: str
) -> None:
    chat.decide(RISK_REFUSED)
    record_by_chat_until(chat, "with_whom")

    said = chat.send(typed)

    assert "cancelled the record" in said.text
    assert said.effects == []
    assert chat.state.step == "outcome"
    assert chat.state.outcome == "share_without_consent"
    assert chat.state.record == {}
    assert ("record", "start") in {(c.q, c.a) for c in said.choices}


def test_a_cancelled_record_can_be_started_again(chat: Chat) -> None:
    chat.decide(RISK_REFUSED)
    record_by_chat_until(chat, "what")
    chat.send("cancel")

    said = chat.click("record", "start")

    assert said.question == "case_reference"


def test_the_record_intro_says_how_to_cancel(chat: Chat) -> None:
    chat.decide(RISK_REFUSED)

    said = chat.click("record", "start")

    assert "Type cancel" in said.text


def test_every_record_question_in_chat_offers_a_cancel_button(chat: Chat) -> None:
    chat.decide(RISK_REFUSED)
    said = chat.click("record", "start")
    cancel = ("record", "cancel")

    offered: dict[str, bool] = {}
    while said.question is not None:
        offered[said.question] = cancel in {(c.q, c.a) for c in said.choices}
        if said.question in ("lawful_basis", "special_category"):
            choice = "public_task" if said.question == "lawful_basis" else "none"
            said = chat.click(said.question, choice)
        else:
            said = chat.send(SHARED_FIELDS[said.question])

    assert offered and all(offered.values()), offered
    assert cancel in {(c.q, c.a) for c in said.choices}  # and the check before saving


@pytest.mark.parametrize("field_id", ["case_reference", "lawful_basis"])
def test_the_cancel_button_drops_the_record_and_keeps_the_outcome(
    chat: Chat, field_id: str
) -> None:
    chat.decide(RISK_REFUSED)
    said = chat.click("record", "start")
    while said.question != field_id:
        said = chat.send(SHARED_FIELDS[str(said.question)])
    [label] = [c.label for c in said.choices if (c.q, c.a) == ("record", "cancel")]

    said = chat.click("record", "cancel")

    assert label == "Cancel this record"
    assert "cancelled the record" in said.text and said.effects == []
    assert chat.state.outcome == "share_without_consent" and chat.state.record == {}
    assert chat.click("record", "start").question == "case_reference"


def test_the_record_form_has_no_extra_cancel_button(new_chat: Callable[..., Chat]) -> None:
    chat = new_chat(forms=True)
    chat.decide(RISK_REFUSED)

    said = chat.click("record", "start")

    assert said.kinds == [ReplyKind.FORM]
    assert ("record", "cancel") not in {(c.q, c.a) for c in said.choices}


def record_by_chat_until(chat: Chat, field_id: str) -> None:
    said = chat.click("record", "start")
    while said.question != field_id:
        assert said.question is not None
        said = chat.send(SHARED_FIELDS[said.question])


# ---------------------------------------------------------------- per-field personal details


def test_a_professionals_name_by_their_role_is_kept_in_with_whom(chat: Chat) -> None:
    chat.decide(RISK_REFUSED)
    record_by_chat_until(chat, "with_whom")

    said = chat.send("our DSL Mrs Patel")

    assert said.question == "purpose"
    assert chat.state.record["with_whom"] == "our DSL Mrs Patel"


def test_a_name_without_a_role_in_with_whom_is_named_with_where_it_was(chat: Chat) -> None:
    chat.decide(RISK_REFUSED)
    record_by_chat_until(chat, "with_whom")

    said = chat.send("Mrs Patel")

    warning = said.of_kind(ReplyKind.WARNING)[0]
    assert "In “With whom (agency and role)”, “Mrs Patel” looks like a name." in warning.text
    assert "agency and role" in warning.text
    assert said.question == "with_whom"


@pytest.mark.parametrize("typed", ["dunno we haven't got one yet", "none yet", "TBC"])
def test_words_that_are_not_a_case_reference_are_asked_again(chat: Chat, typed: str) -> None:
    chat.decide(RISK_REFUSED)
    chat.click("record", "start")

    said = chat.send(typed)

    assert "doesn't look like a case reference" in said.text
    assert said.question == "case_reference"
    assert chat.state.record == {}


# ---------------------------------------------------------------- special category, lawful basis


def reach_field(chat: Chat, field_id: str) -> Said:
    said = chat.click("record", "start")
    while said.question != field_id:
        assert said.question is not None
        if said.question == "lawful_basis":
            said = chat.click("lawful_basis", said.buttons_for("lawful_basis")[0])
        else:
            said = chat.send(SHARED_FIELDS[said.question])
    return said


@pytest.mark.parametrize("typed", ["yes", "health"])
def test_a_bare_yes_at_special_category_asks_which_condition(chat: Chat, typed: str) -> None:
    chat.decide(RISK_REFUSED)
    reach_field(chat, "special_category")

    said = chat.send(typed)

    assert "Which Article 9 condition" in said.text
    assert said.question == "special_category"
    assert "special_category" not in chat.state.record


def test_paragraph_18_typed_by_name_is_taken(chat: Chat) -> None:
    chat.decide(RISK_REFUSED)
    reach_field(chat, "special_category")

    said = chat.send("schedule 1 para 18")

    assert said.question == "reasons"
    assert chat.state.record["special_category"] == "schedule1_para18"


def test_paragraph_18_is_not_offered_when_consent_was_given(chat: Chat) -> None:
    chat.decide({**PUBLIC_INTEREST_NO, "consent": "given"})
    said = reach_field(chat, "special_category")

    refused = chat.click("special_category", "schedule1_para18")

    assert "schedule1_para18" not in said.buttons_for("special_category")
    assert "for sharing without consent" in refused.text
    assert refused.question == "special_category"


def test_the_form_never_fills_in_a_special_category_condition(
    new_chat: Callable[..., Chat],
) -> None:
    chat = new_chat(forms=True)
    chat.decide({**PUBLIC_INTEREST_NO, "consent": "given"})

    said = chat.click("record", "start")

    form = said.replies[0].form
    assert form is not None
    assert "special_category" not in form.values
    special = next(f for f in form.fields if f.id == "special_category")
    assert "schedule1_para18" not in dict(special.options)


def test_a_public_authority_is_not_offered_legitimate_interests_in_chat(
    conversation: Conversation,
) -> None:
    kb = dataclasses.replace(conversation.knowledge.kb, organisation_type="public_authority")
    council = Conversation(dataclasses.replace(conversation.knowledge, kb=kb), conversation.pii)
    chat = Chat(council)
    chat.decide(RISK_REFUSED)
    said = reach_field(chat, "lawful_basis")

    typed = chat.send("recognised legitimate interests")

    assert said.buttons_for("lawful_basis")[0] == "public_task"
    assert "recognised_legitimate_interests" not in said.buttons_for("lawful_basis")
    assert "legitimate_interests" not in said.buttons_for("lawful_basis")
    assert "not open to a public authority" in typed.text
    assert "lawful_basis" not in chat.state.record
