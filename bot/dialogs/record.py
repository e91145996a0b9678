"""The decision record: which fields to gather for an outcome, and how each is checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.pii import PersonalDetails
from bot.core.replies import Choice, Form, FormField, Reply, ReplyKind
from bot.dialogs.flow import SHARE_ANONYMISED, SHARING_OUTCOMES
from bot.knowledge.words import RECORD_FIELDS, Words

CHOICE_FIELDS = ("lawful_basis", "special_category")
TEXT_FIELDS = ("case_reference", "what", "with_whom", "purpose", "reasons")
NOT_APPLICABLE = "not_applicable"


def shares_personal_data(outcome: str) -> bool:
    """Outcomes where personal information goes to someone: these need a lawful basis."""
    return outcome in SHARING_OUTCOMES and outcome != SHARE_ANONYMISED


def fields_for(outcome: str) -> tuple[str, ...]:
    """The record fields asked for this outcome, in order."""
    if shares_personal_data(outcome):
        return RECORD_FIELDS
    return tuple(f for f in RECORD_FIELDS if f not in CHOICE_FIELDS)


def defaults_for(outcome: str) -> dict[str, str]:
    """Values filled in without asking: nothing personal shared needs no lawful basis."""
    if shares_personal_data(outcome):
        return {}
    return {"lawful_basis": NOT_APPLICABLE, "special_category": "none"}


@dataclass(frozen=True)
class RecordWords:
    words: Words

    @property
    def raw(self) -> Mapping[str, Any]:
        return self.words.record()

    def field(self, field_id: str) -> Mapping[str, Any]:
        f: Mapping[str, Any] = self.raw["fields"][field_id]
        return f

    def prompt(self, field_id: str, outcome: str) -> str:
        prompt = self.field(field_id)["prompt"]
        if isinstance(prompt, Mapping):
            return str(prompt["shared" if outcome in SHARING_OUTCOMES else "not_shared"])
        return str(prompt)

    def options(self, field_id: str) -> Mapping[str, str]:
        o: Mapping[str, str] = self.field(field_id).get("options", {})
        return o

    def label(self, field_id: str) -> str:
        return str(self.field(field_id)["label"])

    def max_length(self, field_id: str) -> int:
        return int(self.field(field_id).get("max_length", 1000))

    def intro(self, outcome: str) -> str:
        return str(self.raw["intro"]["shared" if outcome in SHARING_OUTCOMES else "not_shared"])

    def suggestion(self, outcome: str) -> str:
        return str(self.words.outcome(outcome)["lawful_basis"])

    def ask(self, field_id: str, outcome: str) -> Reply:
        """The chat question for one record field (choices for lawful basis and special data)."""
        f = self.field(field_id)
        note = str(f.get("hint", ""))
        choices: tuple[Choice, ...] = ()
        if field_id in CHOICE_FIELDS:
            options = dict(self.options(field_id))
            if field_id == "lawful_basis":
                suggested = self.suggestion(outcome)
                note = f"{note} {str(f['suggested']).format(suggestion=options[suggested])}"
                options = {suggested: options[suggested], **options}  # suggested first
            choices = tuple(Choice(label, field_id, value) for value, label in options.items())
        return Reply(
            kind=ReplyKind.QUESTION,
            title=self.label(field_id),
            text=self.prompt(field_id, outcome),
            note=note.strip(),
            choices=choices,
            question_id=field_id,
        )

    def form(
        self,
        outcome: str,
        values: Mapping[str, str],
        errors: Mapping[str, str] | None = None,
    ) -> Form:
        fields = []
        suggested = self.suggestion(outcome)
        for field_id in fields_for(outcome):
            f = self.field(field_id)
            options: tuple[tuple[str, str], ...] = ()
            if field_id in CHOICE_FIELDS:
                opts = dict(self.options(field_id))
                if field_id == "lawful_basis":
                    opts = {suggested: f"{opts[suggested]} (suggested)", **opts}
                options = tuple(opts.items())
            fields.append(
                FormField(
                    id=field_id,
                    label=self.label(field_id),
                    hint=self.prompt(field_id, outcome)
                    if field_id in TEXT_FIELDS
                    else str(f.get("hint", "")),
                    multiline=bool(f.get("multiline", False)),
                    options=options,
                    max_length=self.max_length(field_id),
                )
            )
        prefill = dict(values)
        if shares_personal_data(outcome):
            prefill.setdefault("lawful_basis", suggested)
        return Form(
            id="record",
            title=str(self.raw["form"]["title"]),
            submit_label=str(self.raw["form"]["submit"]),
            fields=tuple(fields),
            values=prefill,
            errors=dict(errors or {}),
            intro=self.intro(outcome),
        )


def check_field(
    field_id: str,
    value: str,
    *,
    words: RecordWords,
    pii: PersonalDetails,
    say_pii: Any,
) -> tuple[str | None, str | None]:
    """Return (clean value, None) or (None, error message) for one record field."""
    value = (value or "").strip()
    label = words.label(field_id)
    messages = words.words
    if field_id in CHOICE_FIELDS:
        if value not in words.options(field_id):
            key = (
                "record_lawful_basis_unknown"
                if field_id == "lawful_basis"
                else ("record_special_unknown")
            )
            return None, messages.text(key)
        return value, None
    if not value:
        return None, messages.text("record_required", label=label.lower())
    limit = words.max_length(field_id)
    if len(value) > limit:
        return None, messages.text("record_too_long", label=label, max=limit)
    kinds = pii.find(value)
    if kinds:
        return None, str(say_pii(kinds))
    return value, None


def summary_lines(record: Mapping[str, Any], words: RecordWords) -> list[str]:
    """The record as readable 'Label: value' lines."""
    lines = [
        f"Record: {record.get('id', '(not saved yet)')}",
        f"Outcome: {words.words.outcome(str(record['outcome']))['title']}",
        f"Information shared: {'yes' if record.get('shared') else 'no'}",
    ]
    for field_id in RECORD_FIELDS:
        value = record.get(field_id)
        if value in (None, ""):
            continue
        if field_id in CHOICE_FIELDS:
            value = words.options(field_id).get(str(value), value)
        lines.append(f"{words.label(field_id)}: {value}")
    return lines


def confirm_reply(record: Mapping[str, Any], words: RecordWords) -> Reply:
    c = words.raw["confirm"]
    return Reply(
        kind=ReplyKind.SUMMARY,
        title=str(c["title"]),
        text="",
        bullets=tuple(summary_lines(record, words)),
        choices=(
            Choice(str(c["save"]), "record", "save", "primary"),
            Choice(str(c["edit"]), "record", "edit"),
        ),
        record=dict(record),
    )
