"""A transcript driver for the pure core: send a line or click a button, then read the replies.

Shaped like botbuilder's `TestAdapter` (`send(...)` then assert on the reply), but synchronous,
because `Conversation.step` is pure: no store, no network, no event loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.conversation import Conversation
from bot.core.effects import Effect, Escalate, SaveRecord
from bot.core.replies import Choice, Inbound, Reply, ReplyKind
from bot.dialogs.flow import ALL_QUESTIONS, SKIP
from bot.dialogs.state import DialogState

START = datetime(2026, 11, 14, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Said:
    """What the bot said in one turn, with readable accessors for assertions."""

    replies: list[Reply]
    effects: list[Effect]

    @property
    def kinds(self) -> list[ReplyKind]:
        return [r.kind for r in self.replies]

    @property
    def text(self) -> str:
        """Everything written, one block: titles, texts, bullets and notes."""
        parts: list[str] = []
        for r in self.replies:
            parts.extend([r.title, r.text, *r.bullets, r.note])
        return "\n".join(p for p in parts if p)

    @property
    def question(self) -> str | None:
        """The id of the question (or record field) now waiting for an answer."""
        asked = [r.question_id for r in self.replies if r.question_id]
        return asked[-1] if asked else None

    @property
    def outcomes(self) -> list[str]:
        return [r.outcome for r in self.replies if r.outcome]

    @property
    def outcome(self) -> str | None:
        found = self.outcomes
        assert len(found) <= 1, f"more than one outcome in a turn: {found}"
        return found[0] if found else None

    @property
    def choices(self) -> list[Choice]:
        return [c for r in self.replies for c in r.choices]

    def buttons_for(self, question_id: str) -> list[str]:
        return [c.a for c in self.choices if c.q == question_id]

    def of_kind(self, kind: ReplyKind) -> list[Reply]:
        return [r for r in self.replies if r.kind == kind]

    @property
    def saved(self) -> list[Mapping[str, Any]]:
        return [e.record for e in self.effects if isinstance(e, SaveRecord)]

    @property
    def escalations(self) -> list[Mapping[str, Any]]:
        return [e.escalation for e in self.effects if isinstance(e, Escalate)]


@dataclass
class Chat:
    """One practitioner's private conversation with the core."""

    conversation: Conversation
    user: str = "U-PRACTITIONER-1"
    channel: str = "console"
    key: str = "console:U-PRACTITIONER-1"
    now: datetime = START
    forms: bool = False
    state: DialogState = field(default_factory=DialogState)
    said: list[Said] = field(default_factory=list)

    def _step(self, **what: Any) -> Said:
        inbound = Inbound(self.key, self.user, self.channel, self.now, forms=self.forms, **what)
        turn = self.conversation.step(self.state, inbound)
        self.state = turn.state
        said = Said(turn.replies, turn.effects)
        self.said.append(said)
        return said

    def send(self, text: str) -> Said:
        """Type a line."""
        return self._step(text=text)

    def click(self, q: str, a: str) -> Said:
        """Press a button carrying {"q": q, "a": a}."""
        return self._step(choice=(q, a))

    def submit(self, form: Mapping[str, str]) -> Said:
        """Submit the record form."""
        return self._step(form=form)

    def later(self, **delta: float) -> Chat:
        """Let time pass before the next turn."""
        self.now = self.now + timedelta(**delta)
        return self

    def start(self) -> Said:
        return self.click("menu", "start")

    def decide(self, facts: Mapping[str, str], *, first: Said | None = None) -> Said:
        """Answer each question asked with its button from `facts` until the outcome.

        The optional `person` question is skipped unless the facts name it. Asking a question
        the facts lack fails the test: that is how tests check which questions are asked.
        """
        said = first or self.start()
        for _ in range(len(ALL_QUESTIONS) + 1):
            if said.outcome is not None:
                return said
            qid = said.question
            assert qid in ALL_QUESTIONS, f"expected a question, got: {said.text}"
            if qid == "person" and qid not in facts:
                said = self.click(qid, SKIP)
                continue
            assert qid in facts, f"the dialog asked {qid!r}, which these facts do not answer"
            said = self.click(qid, facts[qid])
        raise AssertionError("the dialog did not reach an outcome")

    def reach(self, question_id: str, facts: Mapping[str, str]) -> Said:
        """Start and answer by buttons from `facts` until `question_id` is asked."""
        said = self.start()
        for _ in range(len(ALL_QUESTIONS) + 1):
            if said.question == question_id:
                return said
            qid = said.question
            assert qid in ALL_QUESTIONS, f"expected a question, got: {said.text}"
            said = self.click(qid, facts.get(qid, SKIP))
        raise AssertionError(f"the dialog never asked {question_id!r}")

    @property
    def asked(self) -> list[str]:
        """Every question id asked so far, in order, once each."""
        seen: list[str] = []
        for said in self.said:
            for r in said.replies:
                is_question = r.kind == ReplyKind.QUESTION and r.question_id in ALL_QUESTIONS
                if is_question and r.question_id not in seen:
                    seen.append(r.question_id)
        return seen


def answers_of(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(a["q"], a["a"]) for a in record["answers"]]


def decision_ids(ids: Sequence[str]) -> list[str]:
    return [q for q in ids if q in ALL_QUESTIONS and not ALL_QUESTIONS[q].optional]
