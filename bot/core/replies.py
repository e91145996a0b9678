"""Platform-neutral values that flow between the core and the channels.

A channel turns what a person did into an `Inbound`, hands it to the core, and renders the
`Reply` values it gets back as Block Kit, an Adaptive Card or plain text. Nothing here knows
which platform it is on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class ReplyKind(StrEnum):
    """What a reply is for; renderers choose a look from it."""

    ANSWER = "answer"  # a knowledge entry (myth or topic)
    EMERGENCY = "emergency"  # immediate-danger guidance: always rendered first and loud
    QUESTION = "question"  # a decision or record question waiting for an answer
    OUTCOME = "outcome"  # the decision the guidance gives
    INFO = "info"  # plain information (welcome, help, confirmations)
    WARNING = "warning"  # e.g. personal details spotted in a message
    MENU = "menu"  # what the bot can do
    FORM = "form"  # the record form, for channels that can show one
    SUMMARY = "summary"  # a saved decision record shown back


@dataclass(frozen=True, slots=True)
class Choice:
    """A button. `q` and `a` are the data it carries: a question id and an answer id."""

    label: str
    q: str
    a: str
    style: str = "default"  # "default" | "primary" | "danger"

    @property
    def value(self) -> dict[str, str]:
        return {"q": self.q, "a": self.a}


@dataclass(frozen=True, slots=True)
class Source:
    """Where an answer comes from: a document title and the section within it."""

    title: str
    section: str
    short: str = ""  # the document's short name, for chat where space is tight

    def cite(self, *, short: bool = False) -> str:
        name = self.short if short and self.short else self.title
        return f"{name} — {self.section}" if self.section else name


@dataclass(frozen=True, slots=True)
class FormField:
    """One input of the record form."""

    id: str
    label: str
    hint: str = ""
    multiline: bool = False
    required: bool = True
    options: tuple[tuple[str, str], ...] = ()  # (value, label) pairs for a select
    max_length: int = 1000
    placeholder: str = ""  # what a select says before a choice, e.g. "Choose the lawful basis"
    # (value, short label) pairs for options whose label is too long for a select (Slack: 75
    # characters); a short label must keep the legal condition whole, e.g. "Sch 1 para 18"
    short_labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Form:
    """The record form, with the values so far and an error message per field id."""

    id: str
    title: str
    submit_label: str
    fields: tuple[FormField, ...]
    values: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    intro: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """One message from the bot. Renderers show whatever parts are set."""

    kind: ReplyKind
    text: str
    title: str = ""
    bullets: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    choices: tuple[Choice, ...] = ()
    note: str = ""  # a quieter line, e.g. "Why am I asked this?"
    more: str = ""  # the fuller explanation, shown behind "More" where the channel can
    question_id: str = ""
    outcome: str = ""
    entry_id: str = ""
    form: Form | None = None
    record: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a person did: typed text, clicked a choice, or submitted the form.

    `conversation` is the key the dialog state is stored under; `private` is False in a
    shared channel, where the core never discusses a case.
    """

    conversation: str
    user: str
    channel: str
    now: datetime
    text: str | None = None
    choice: tuple[str, str] | None = None
    form: Mapping[str, str] | None = None
    private: bool = True
    forms: bool = False  # the channel can show the record form as one form
    user_name: str = ""
