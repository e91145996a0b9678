"""The record dialog: the decision record, field by field in chat or as one form, checked,
shown back, then saved.

    state      rows (what the person does → what happens)
    ─────────  ──────────────────────────────────────────────────────────────────────────
    entry      "Record this decision" / "record it" / "yes" at the outcome → the first field
               (or the whole form, where the channel can show one)
               the form submitted → checked field by field; saved, or shown back with errors
               a "which part?" button → that field, then back to the check
    field      the words (or a lawful-basis / special-category button) → the next field,
               or the check; personal details, or a case reference that isn't one, are
               refused with what was found and where; a choice not understood is Unplaced
    confirm    "save" → saved (the end) · "change something" → which part? · the name of a
               part ("change the reasons") → that field
    which part the part's name or number, typed ("the reasons bit", "3") or clicked → that field
    fallbacks  "cancel" / the Cancel button (on every field and the check in chat) → the
               record is dropped, the outcome kept · "back" → previous field
    end        saved: a SaveRecord effect, and the conversation starts afresh
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any

from bot.core.effects import SaveRecord
from bot.core.replies import Choice, Reply, ReplyKind
from bot.dialogs.answers import asks_back
from bot.dialogs.flow import FLOW_VERSION, SHARING_OUTCOMES
from bot.dialogs.kit import Kit
from bot.dialogs.machine import (
    ANY,
    Event,
    Machine,
    Result,
    Turn,
    Unplaced,
    on_click,
    on_command,
    on_form,
    on_text,
)
from bot.dialogs.record_fields import (
    CHOICE_FIELDS,
    PARA_18,
    TEXT_FIELDS,
    RecordWords,
    confirm_reply,
    defaults_for,
    fields_for,
    names_para_18,
    shares_personal_data,
    summary_lines,
)
from bot.dialogs.say import DIALOG, ESCALATE, RECORD
from bot.dialogs.state import CONFIRM, OUTCOME, WHICH_PART, DialogState, record_step
from bot.knowledge.text import fold
from bot.knowledge.words import RECORD_FIELDS

__all__ = [
    "CHOICE_FIELDS",
    "TEXT_FIELDS",
    "Record",
    "RecordWords",
    "confirm_reply",
    "defaults_for",
    "fields_for",
    "shares_personal_data",
    "summary_lines",
]

EXCEPT = re.compile(r"\b(except|apart from|other than|but|only|just)\b")  # "fine except the ref"
FIELD = "field"
CONFIRMING = "confirm"
CHOOSING = "which part"
EDIT_FIELD = "record_field"  # {"q": "record_field", "a": <field id>}: change that field


def state_of(step: str) -> str | None:
    if step == CONFIRM:
        return CONFIRMING
    if step == WHICH_PART:
        return CHOOSING
    if step.startswith("rec:") and step[4:] in RECORD_FIELDS:
        return FIELD
    return None


def _yes_at_the_outcome(kit: Kit) -> Callable[[DialogState, Event], bool]:
    def check(state: DialogState, event: Event) -> bool:
        return state.step == OUTCOME and kit.parser.common(event.value).answer == "yes"

    return check


def _choice_button(state: DialogState, event: Event) -> bool:
    return event.key in CHOICE_FIELDS


class Record:
    """The record dialog's rows, and the steps it is made of."""

    def __init__(
        self,
        kit: Kit,
        *,
        resume: Callable[[DialogState], list[Reply]],
        unknown: Callable[[DialogState], Turn],
    ) -> None:
        self.kit = kit
        self.rec = kit.rec
        self.resume = resume  # re-show whatever the person is in the middle of, in any dialog
        self.unknown = unknown
        self.table = Machine(
            name="record",
            entry_points=(
                on_click(RECORD, self.action),
                on_command("record", self.start),
                on_text(self.start, when=_yes_at_the_outcome(kit)),
                on_form(self.submit),
                on_click(EDIT_FIELD, self.edit),
            ),
            states={
                FIELD: (
                    on_click(ANY, self.clicked, when=_choice_button),
                    on_text(self.typed),
                ),
                CONFIRMING: (on_text(self.typed_at_check),),
                CHOOSING: (on_text(self.typed_part),),
            },
            fallbacks=(
                on_command("cancel", self.cancel),
                on_command("back", self.back),
            ),
            state_of=state_of,
            steps=(*(record_step(f) for f in RECORD_FIELDS), CONFIRM, WHICH_PART),
            current=self.current,
        )

    # ------------------------------------------------------------------ entry points
    def action(self, state: DialogState, event: Event) -> Result:
        """The record's buttons: start, save, change something, cancel."""
        if not state.outcome:
            return self.nothing_to_record(state)
        if event.value == "start":
            return self.start(state, event)
        if event.value == "save" and state.step in (CONFIRM, WHICH_PART):
            return self.save(state, event, state.record)
        if event.value == "edit" and state.step in (CONFIRM, WHICH_PART):
            return self.which_part(state)
        if event.value == "cancel":
            return self.cancel(state, event)
        return Turn(state, self.resume(state))

    def start(self, state: DialogState, event: Event) -> Turn:
        if not state.outcome:
            return self.nothing_to_record(state)
        if event.inbound.forms:
            form = self.rec.form(state.outcome, state.record, answers=state.answer_map)
            return Turn(state, [Reply(kind=ReplyKind.FORM, text=form.intro, form=form)])
        first = fields_for(state.outcome)[0]
        asking = state.with_(step=record_step(first), record=dict(state.record))
        intro = Reply(kind=ReplyKind.INFO, text=self.rec.intro(state.outcome))
        return Turn(asking, [intro, self.ask(asking, first)])

    def nothing_to_record(self, state: DialogState) -> Turn:
        say = self.kit.say
        return Turn(state, [say.info("record_nothing_to_record"), *say.menu()])

    def edit(self, state: DialogState, event: Event) -> Turn:
        field_id = event.value
        if not state.outcome or field_id not in fields_for(state.outcome):
            return self.unknown(state)
        editing = state.with_(step=record_step(field_id), return_to=CONFIRM)
        return Turn(editing, [self.ask(editing, field_id)])

    def which_part(self, state: DialogState) -> Turn:
        choosing = state.with_(step=WHICH_PART)
        return Turn(choosing, [self.which_question(choosing)])

    def which_question(self, state: DialogState) -> Reply:
        choices = tuple(Choice(self.rec.label(f), EDIT_FIELD, f) for f in fields_for(state.outcome))
        return Reply(
            kind=ReplyKind.QUESTION,
            text=self.kit.words.text("which_part"),
            choices=choices,
            question_id=EDIT_FIELD,
        )

    def typed_part(self, state: DialogState, event: Event) -> Result:
        """ "the reasons bit", "3", "who I shared with": the part to change, by name or by its
        place in the list; anything else is asked again."""
        order = list(fields_for(state.outcome))
        parsed = self.kit.parser.option(EDIT_FIELD, event.value, order)
        if parsed.answer is not None:
            return self.edit(state, Event(event.kind, event.inbound, EDIT_FIELD, parsed.answer))
        confirm = self.kit.parser.option("record_confirm", event.value, ["save", "edit"])
        if confirm.answer == "save":
            return self.save(state, event, state.record)
        return Turn(state, [self.kit.reask(), self.which_question(state)])

    # ------------------------------------------------------------------ fields
    def clicked(self, state: DialogState, event: Event) -> Turn:
        return self.value(state, event, event.key, event.value)

    def typed(self, state: DialogState, event: Event) -> Result:
        field_id = state.step[4:]
        if field_id not in CHOICE_FIELDS:
            return self.value(state, event, field_id, event.value)
        options = list(self.rec.all_options(field_id))
        parsed = self.kit.parser.option(field_id, event.value, options)
        if parsed.answer is None:
            return Unplaced(Turn(state, [self.kit.reask(), self.ask(state, field_id)]))
        if parsed.answer == PARA_18 and parsed.weak and not names_para_18(event.value):
            # "yes" or "health" says there is special category data, not which condition
            # ("shared to protect the kids without asking" says which: answers.yaml's phrases)
            which = self.kit.say.info("record_special_which")
            return Turn(state, [which, self.ask(state, field_id)])
        return self.value(state, event, field_id, parsed.answer)

    def value(self, state: DialogState, event: Event, field_id: str, value: str) -> Turn:
        if state.step != record_step(field_id):
            return Turn(state, [self.kit.reask(), *self.resume(state)])
        clean, error = self.kit.fields.check(
            field_id, value, answers=state.answer_map, today=event.inbound.now.date()
        )
        if error is not None or clean is None:
            warning = self.kit.say.warning("", error or "")
            return Turn(state, [warning, self.ask(state, field_id)])
        record = {**state.record, field_id: clean}
        remaining = [f for f in fields_for(state.outcome) if f not in record]
        if not remaining:  # also after an edit; an old "which part?" button can't skip fields
            done = state.with_(record=record, step=CONFIRM, return_to="")
            return Turn(done, [self.check(done)])
        nxt = state.with_(record=record, step=record_step(remaining[0]))
        return Turn(nxt, [self.ask(nxt, remaining[0])])

    def typed_at_check(self, state: DialogState, event: Event) -> Result:
        parsed = self.kit.parser.option("record_confirm", event.value, ["save", "edit"])
        part = self.kit.parser.option(EDIT_FIELD, event.value, list(fields_for(state.outcome)))
        naming = part.answer is not None and not event.value.strip().isdigit()
        if (
            naming
            and not asks_back(event.value)
            and (parsed.answer != "save" or EXCEPT.search(fold(event.value)))
        ):
            # "change the reasons", "all fine except the case ref": straight to that part
            assert part.answer is not None
            return self.edit(state, Event(event.kind, event.inbound, EDIT_FIELD, part.answer))
        if parsed.answer is None:
            return Turn(state, [self.kit.reask(), *self.current(state)])
        return self.action(state, Event(event.kind, event.inbound, RECORD, parsed.answer))

    # ------------------------------------------------------------------ the form
    def submit(self, state: DialogState, event: Event) -> Turn:
        if not state.outcome:
            return Turn(state, [self.kit.say.info("record_nothing_to_record")])
        values = {k: str(v) for k, v in event.form.items() if isinstance(k, str)}
        clean: dict[str, str] = {}
        errors: dict[str, str] = {}
        for field_id in fields_for(state.outcome):
            value, error = self.kit.fields.check(
                field_id,
                values.get(field_id, ""),
                answers=state.answer_map,
                today=event.inbound.now.date(),
            )
            if error is not None or value is None:
                errors[field_id] = error or ""
            else:
                clean[field_id] = value
        if errors:
            kept = {k: v[:2000] for k, v in values.items() if k in fields_for(state.outcome)}
            form = self.rec.form(state.outcome, kept, errors, answers=state.answer_map)
            text = self.kit.words.text("record_not_saved_yet")
            return Turn(state, [Reply(kind=ReplyKind.FORM, text=text, form=form)])
        return self.save(state, event, clean)

    # ------------------------------------------------------------------ fallbacks
    def cancel(self, state: DialogState, event: Event) -> Turn:
        """Drop the record being written; the decision and its outcome stay."""
        w = self.kit.words
        kept = state.with_(step=OUTCOME, record={}, return_to="")
        cancelled = Reply(
            kind=ReplyKind.INFO,
            text=w.text("record_cancelled"),
            choices=(
                Choice(w.text("record_offer"), RECORD, "start", "primary"),
                Choice(w.text("escalate_offer"), ESCALATE, "start"),
                Choice(w.text("restart_offer"), DIALOG, "restart"),
            ),
        )
        return Turn(kept, [cancelled])

    def back(self, state: DialogState, event: Event) -> Turn:
        order = fields_for(state.outcome)
        current = state.step[4:]
        if state.step == WHICH_PART:
            back = state.with_(step=CONFIRM)
            return Turn(back, [self.kit.say.info("went_back"), *self.current(back)])
        if state.step != CONFIRM and current in order and order.index(current) > 0:
            previous = state.with_(step=record_step(order[order.index(current) - 1]))
            return Turn(previous, [self.kit.say.info("went_back"), *self.current(previous)])
        return Turn(state, [self.kit.say.info("nothing_to_undo"), *self.current(state)])

    # ------------------------------------------------------------------ the end
    def save(self, state: DialogState, event: Event, fields: Mapping[str, str]) -> Turn:
        inbound = event.inbound
        values = {**defaults_for(state.outcome), **fields}
        record: dict[str, Any] = {
            "id": self.kit.ids("R"),
            "created_at": inbound.now.isoformat(),
            "practitioner": inbound.user,
            "channel": inbound.channel,
            "conversation": inbound.conversation,
            "answers": [{"q": q, "a": a} for q, a in state.answers],
            "outcome": state.outcome,
            "decided_by": state.decided_by,
            "shared": state.outcome in SHARING_OUTCOMES,
            "case_reference": values.get("case_reference", ""),
            "what": values.get("what", ""),
            "with_whom": values.get("with_whom", ""),
            "purpose": values.get("purpose", ""),
            "lawful_basis": values.get("lawful_basis", ""),
            "special_category": values.get("special_category", "none"),
            "reasons": values.get("reasons", ""),
            "flow_version": FLOW_VERSION,
            "knowledge_version": self.kit.knowledge_version,
        }
        saved = self.kit.words.message("record_saved")
        summary = Reply(
            kind=ReplyKind.SUMMARY,
            title=str(saved["title"]),
            text=str(saved["text"]).format(record_id=record["id"]),
            bullets=tuple(summary_lines(record, self.rec)),
            record=record,
            choices=(Choice(self.kit.words.text("restart_offer"), DIALOG, "restart"),),
        )
        return Turn(DialogState(), [summary], [SaveRecord(record)])  # the end: start afresh

    # ------------------------------------------------------------------ showing where we are
    def ask(self, state: DialogState, field_id: str) -> Reply:
        """A record field in chat, with a Cancel choice beside its own (a form has its own)."""
        asked = self.rec.ask(field_id, state.outcome, state.answer_map)
        return dataclasses.replace(asked, choices=(*asked.choices, self.cancel_choice()))

    def cancel_choice(self) -> Choice:
        return Choice(self.rec.cancel_label, RECORD, "cancel")

    def check(self, state: DialogState) -> Reply:
        """The record shown back before it is saved: save, change something, or cancel."""
        shown = confirm_reply(self.draft(state), self.rec)
        return dataclasses.replace(shown, choices=(*shown.choices, self.cancel_choice()))

    def current(self, state: DialogState) -> list[Reply]:
        if state.step == CONFIRM:
            return [self.check(state)]
        if state.step == WHICH_PART:
            return [self.check(state), self.which_question(state)]
        if state_of(state.step) == FIELD:
            return [self.ask(state, state.step[4:])]
        return []

    def draft(self, state: DialogState) -> dict[str, Any]:
        fields = {**defaults_for(state.outcome), **state.record}
        return {
            "outcome": state.outcome,
            "shared": state.outcome in SHARING_OUTCOMES,
            **{
                k: fields.get(k, "")
                for k in fields_for(state.outcome) + tuple(defaults_for(state.outcome))
            },
        }
