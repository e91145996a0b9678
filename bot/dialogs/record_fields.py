"""The decision record's fields: which are asked for an outcome, what each may hold, and the
words and form that ask for them.

The lawful bases offered depend on the kind of organisation (organisation.yaml `type`): a
public authority is never offered legitimate interests, recognised or not, for its tasks.
Schedule 1 paragraph 18 is for sharing *without* consent, so it is neither offered nor taken
when consent was given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from bot.core.replies import Choice, Form, FormField, Reply, ReplyKind
from bot.dialogs.flow import GIVEN, SHARE_ANONYMISED, SHARING_OUTCOMES
from bot.dialogs.personal_details import FieldPolicy, looks_like_a_reference
from bot.dialogs.say import Say
from bot.knowledge.dialog_words import NOT_FOR_PUBLIC_AUTHORITIES
from bot.knowledge.text import fold
from bot.knowledge.words import RECORD_FIELDS, Words

CHOICE_FIELDS: Final = ("lawful_basis", "special_category")
TEXT_FIELDS: Final = ("case_reference", "what", "with_whom", "purpose", "reasons")
NOT_APPLICABLE: Final = "not_applicable"
PARA_18: Final = "schedule1_para18"
# Typed words that name paragraph 18 itself; a bare "yes" or "health" names no condition.
NAMES_PARA_18: Final = frozenset(
    {"18", "schedule", "sch", "para", "paragraph", "safeguarding", "safeguard"}
    | {"p18", "para18", "sch1"}
)
PUBLIC_AUTHORITY: Final = "public_authority"

Answers = Mapping[str, str]


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


def with_consent(answers: Answers) -> bool:
    return answers.get("consent") == GIVEN


@dataclass(frozen=True)
class RecordWords:
    words: Words

    @property
    def raw(self) -> Mapping[str, Any]:
        return self.words.record()

    @property
    def public_authority(self) -> bool:
        return self.words.organisation_type == PUBLIC_AUTHORITY

    def field(self, field_id: str) -> Mapping[str, Any]:
        f: Mapping[str, Any] = self.raw["fields"][field_id]
        return f

    def prompt(self, field_id: str, outcome: str) -> str:
        prompt = self.field(field_id)["prompt"]
        if isinstance(prompt, Mapping):
            return str(prompt["shared" if outcome in SHARING_OUTCOMES else "not_shared"])
        return str(prompt)

    def all_options(self, field_id: str) -> Mapping[str, str]:
        """Every option the field knows, whoever is asking."""
        o: Mapping[str, str] = self.field(field_id).get("options", {})
        return o

    def options(self, field_id: str, answers: Answers | None = None) -> Mapping[str, str]:
        """The options open to this organisation and this decision, in the file's order."""
        allowed = dict(self.all_options(field_id))
        if field_id == "lawful_basis" and self.public_authority:
            allowed = {k: v for k, v in allowed.items() if k not in NOT_FOR_PUBLIC_AUTHORITIES}
        if field_id == "special_category" and with_consent(answers or {}):
            allowed.pop(PARA_18, None)
        return allowed

    def short_name(self, field_id: str, option: str) -> str:
        """ "Legitimate interests" from "Legitimate interests (Art 6(1)(f)) — …"."""
        label = str(self.all_options(field_id).get(option, option))
        return label.split(" (")[0].split(":")[0].split(" — ")[0]

    def label(self, field_id: str) -> str:
        return str(self.field(field_id)["label"])

    @property
    def cancel_label(self) -> str:
        """The chat record's Cancel button (the record is dropped; the decision stays)."""
        return str(self.raw["cancel_label"])

    def max_length(self, field_id: str) -> int:
        return int(self.field(field_id).get("max_length", 1000))

    def intro(self, outcome: str) -> str:
        return str(self.raw["intro"]["shared" if outcome in SHARING_OUTCOMES else "not_shared"])

    def suggestion(self, outcome: str) -> str:
        """The lawful basis to suggest for this outcome and this kind of organisation."""
        raw = self.words.outcome(outcome)["lawful_basis"]
        if isinstance(raw, Mapping):
            return str(raw[self.words.organisation_type])
        return str(raw)

    def ask(self, field_id: str, outcome: str, answers: Answers | None = None) -> Reply:
        """The chat question for one record field (choices for lawful basis and special data)."""
        f = self.field(field_id)
        note = str(f.get("hint", ""))
        choices: tuple[Choice, ...] = ()
        if field_id in CHOICE_FIELDS:
            options = dict(self.options(field_id, answers))
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
        answers: Answers | None = None,
    ) -> Form:
        fields = []
        suggested = self.suggestion(outcome)
        for field_id in fields_for(outcome):
            f = self.field(field_id)
            options: tuple[tuple[str, str], ...] = ()
            if field_id in CHOICE_FIELDS:
                opts = dict(self.options(field_id, answers))
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
                    placeholder=str(f.get("placeholder", "")),
                    short_labels=tuple((str(k), str(v)) for k, v in (f.get("short") or {}).items()),
                )
            )
        prefill = dict(values)
        if shares_personal_data(outcome):
            prefill.setdefault("lawful_basis", suggested)  # never special_category: see module
        return Form(
            id="record",
            title=str(self.raw["form"]["title"]),
            submit_label=str(self.raw["form"]["submit"]),
            fields=tuple(fields),
            values=prefill,
            errors=dict(errors or {}),
            intro=self.intro(outcome),
        )


@dataclass(frozen=True)
class FieldCheck:
    """Checks one record (or request) field as the person wrote it."""

    words: RecordWords
    policy: FieldPolicy
    say: Say

    def check(
        self, field_id: str, value: str, *, answers: Answers, today: date | None = None
    ) -> tuple[str | None, str | None]:
        """Return (clean value, None) or (None, the message saying what to fix)."""
        value = (value or "").strip()
        messages = self.words.words
        if field_id in CHOICE_FIELDS:
            return self._choice(field_id, value, answers)
        label = self.words.label(field_id)
        if not value:
            return None, messages.text("record_required", label=label.lower())
        limit = self.words.max_length(field_id)
        if len(value) > limit:
            return None, messages.text("record_too_long", label=label, max=limit)
        found = self.policy.findings(field_id, value, today)
        if found:
            return None, self.say.pii_found(label, found, field_id)
        if field_id == "case_reference" and not looks_like_a_reference(value):
            return None, messages.text("case_reference_shape")
        return value, None

    def _choice(self, field_id: str, value: str, answers: Answers) -> tuple[str | None, str | None]:
        messages = self.words.words
        if value in self.words.options(field_id, answers):
            return value, None
        if field_id == "lawful_basis" and value in self.words.all_options(field_id):
            basis = self.words.short_name(field_id, value)
            return None, messages.text("record_lawful_basis_public_authority", basis=basis)
        if field_id == "special_category" and value == PARA_18:
            return None, messages.text("record_special_with_consent")
        key = (
            "record_lawful_basis_unknown"
            if field_id == "lawful_basis"
            else "record_special_unknown"
        )
        return None, messages.text(key)


def names_para_18(text: str) -> bool:
    """The typed words name Schedule 1 paragraph 18 itself, not just "yes" or "health"."""
    return text.strip() == PARA_18 or bool(set(fold(text).split()) & NAMES_PARA_18)


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
            value = words.all_options(field_id).get(str(value), value)
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
