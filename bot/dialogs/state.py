"""The dialog state: a small value saved as JSON after every turn, so any replica can serve
the next turn and a restart loses nothing. Steps are readable strings, never pickles."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.dialogs.flow import ALL_QUESTIONS
from bot.knowledge.words import RECORD_FIELDS

IDLE = "idle"
OUTCOME = "outcome"
CONFIRM = "rec:confirm"
WHICH_PART = "rec:which"  # "which part?": the record shown back, one part to change
ESC_REFERENCE = "esc:reference"
ESC_QUESTION = "esc:question"
STATE_VERSION = 1
MAX_TEXT = 2000  # no single stored value may grow past this


def ask_step(question_id: str) -> str:
    return f"q:{question_id}"


def record_step(field_id: str) -> str:
    return f"rec:{field_id}"


def valid_step(step: str) -> bool:
    kind, _, name = step.partition(":")
    if step in (IDLE, OUTCOME, CONFIRM, WHICH_PART, ESC_REFERENCE, ESC_QUESTION):
        return True
    return (kind == "q" and name in ALL_QUESTIONS) or (kind == "rec" and name in RECORD_FIELDS)


@dataclass(frozen=True, slots=True)
class DialogState:
    """Where one conversation is. `answers` are (question id, answer id) pairs in order."""

    step: str = IDLE
    answers: tuple[tuple[str, str], ...] = ()
    outcome: str = ""
    decided_by: str = ""  # "question=answer" that decided, or "text" for emergency wording
    record: dict[str, str] = field(default_factory=dict)
    escalation: dict[str, str] = field(default_factory=dict)
    return_to: str = ""  # the step to resume after an escalation or an edit
    started_at: str = ""
    last_active: str = ""

    @property
    def answer_map(self) -> dict[str, str]:
        return dict(self.answers)

    @property
    def in_dialog(self) -> bool:
        return self.step != IDLE

    def with_(self, **changes: Any) -> DialogState:
        return replace(self, **changes)

    def touched(self, now: datetime) -> DialogState:
        return replace(self, last_active=now.isoformat())

    def idle_for_hours(self, now: datetime) -> float:
        if not self.last_active:
            return 0.0
        try:
            last = datetime.fromisoformat(self.last_active)
        except ValueError:
            return float("inf")
        return (now - last).total_seconds() / 3600

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": STATE_VERSION,
                "step": self.step,
                "answers": [list(a) for a in self.answers],
                "outcome": self.outcome,
                "decided_by": self.decided_by,
                "record": self.record,
                "escalation": self.escalation,
                "return_to": self.return_to,
                "started_at": self.started_at,
                "last_active": self.last_active,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, raw: str | None) -> DialogState:
        """Rebuild a state; anything unreadable or inconsistent becomes a fresh state."""
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            return cls._checked(data)
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls()

    @classmethod
    def _checked(cls, data: dict[str, Any]) -> DialogState:
        if data.get("v") != STATE_VERSION or not valid_step(data["step"]):
            raise ValueError("unknown state shape")
        answers = tuple((str(q), str(a)) for q, a in data["answers"])
        for q, a in answers:
            question = ALL_QUESTIONS[q]
            if a not in question.answers and not (question.optional and a == "skip"):
                raise ValueError("unknown answer")

        def texts(d: Any) -> dict[str, str]:
            if not isinstance(d, dict):
                raise TypeError("not a mapping")
            return {str(k): str(v)[:MAX_TEXT] for k, v in d.items()}

        return cls(
            step=data["step"],
            answers=answers,
            outcome=str(data.get("outcome", "")),
            decided_by=str(data.get("decided_by", "")),
            record=texts(data.get("record", {})),
            escalation=texts(data.get("escalation", {})),
            return_to=str(data.get("return_to", "")),
            started_at=str(data.get("started_at", "")),
            last_active=str(data.get("last_active", "")),
        )
