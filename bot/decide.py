"""`canishare decide`: drive the real decision dialog from a file of facts, turn by turn.

Each question the dialog asks is answered from the facts by its id, exactly as a person
would click the button (or type, when the fact is written in words). The run ends at the
outcome, or — when the facts hold a `record` object — completes the record step and saves it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.core.replies import Inbound, Reply, ReplyKind
from bot.dialogs.flow import ALL_QUESTIONS, DECISION_QUESTION_IDS, SKIP
from bot.dialogs.record import CHOICE_FIELDS
from bot.knowledge.words import RECORD_FIELDS
from bot.service import Bot

MAX_TURNS = 80
RECORD_ALIASES = {
    "case_ref": "case_reference",
    "reference": "case_reference",
    "case": "case_reference",
    "what_shared": "what",
    "information": "what",
    "what_information": "what",
    "with": "with_whom",
    "recipient": "with_whom",
    "shared_with": "with_whom",
    "why": "purpose",
    "basis": "lawful_basis",
    "legal_basis": "lawful_basis",
    "special_category_condition": "special_category",
    "reason": "reasons",
}


class DecideError(ValueError):
    """The facts cannot drive the dialog; the message says which fact and why."""


@dataclass
class DecideRun:
    transcript: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    outcome: str = ""
    record: dict[str, Any] | None = None
    answers: list[dict[str, str]] = field(default_factory=list)

    def result(self) -> dict[str, Any]:
        record = self.record or {
            "id": None,
            "outcome": self.outcome,
            "answers": self.answers,
            "saved": False,
        }
        return {"outcome": self.outcome, "asked": self.asked, "record": record}


def _answer_text(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return ""
    return str(value).strip()


def _record_facts(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise DecideError("facts: 'record' must be an object of record fields")
    out: dict[str, str] = {}
    for key, value in raw.items():
        name = RECORD_ALIASES.get(str(key), str(key))
        if name not in RECORD_FIELDS:
            known = ", ".join(RECORD_FIELDS)
            raise DecideError(f"facts: record field '{key}' is not known (known: {known})")
        out[name] = _answer_text(value)
    return out


class _Driver:
    def __init__(self, bot: Bot, facts: Mapping[str, Any], say: Callable[[str], None]) -> None:
        self.bot = bot
        self.facts = facts
        self.say = say
        self.run = DecideRun()
        self.conversation = f"decide:{uuid.uuid4().hex[:12]}"
        self.record = _record_facts(facts["record"]) if "record" in facts else None

    def show(self, replies: list[Reply]) -> None:
        from bot.channels.console import render

        for r in replies:
            text = render(r, numbered=False)
            self.run.transcript.append(text)
            self.say("bot: " + text.replace("\n", "\n     "))

    async def send(
        self, *, text: str | None = None, choice: tuple[str, str] | None = None
    ) -> list[Reply]:
        label = text if text is not None else f"[{choice[0]} = {choice[1]}]" if choice else ""
        self.say(f"you: {label}")
        inbound = Inbound(
            self.conversation, "decide", "decide", datetime.now(UTC), text=text, choice=choice
        )
        replies = (await self.bot.handle(inbound)).replies
        self.show(replies)
        return replies

    async def drive(self) -> DecideRun:
        replies = await self.send(choice=("menu", "start"))
        recording = False
        for _ in range(MAX_TURNS):
            outcome = next((r for r in replies if r.outcome), None)
            saved = next(
                (
                    r
                    for r in replies
                    if r.kind == ReplyKind.SUMMARY and r.record and r.record.get("id")
                ),
                None,
            )
            if saved is not None:
                self.run.record = dict(saved.record or {})
                return self.run
            if outcome is not None and not recording:
                self.run.outcome = outcome.outcome
                if self.record is None:
                    return self.run
                recording = True
                replies = await self.send(choice=("record", "start"))
                continue
            question = next((r for r in reversed(replies) if r.question_id), None)
            confirm = next((r for r in replies if r.kind == ReplyKind.SUMMARY), None)
            if confirm is not None:
                replies = await self.send(choice=("record", "save"))
            elif question is None:
                raise DecideError(f"the dialog stopped without a question: {replies[-1].text}")
            elif question.question_id in ALL_QUESTIONS:
                replies = await self.answer_question(question.question_id, replies)
            else:
                replies = await self.answer_field(question.question_id, replies)
        raise DecideError(f"the dialog did not finish within {MAX_TURNS} turns")

    async def answer_question(self, qid: str, before: list[Reply]) -> list[Reply]:
        spec = ALL_QUESTIONS[qid]
        if qid not in self.facts:
            if spec.optional:
                self.run.answers.append({"q": qid, "a": SKIP})
                return await self.send(choice=(qid, SKIP))
            raise DecideError(
                f"facts: no answer for question '{qid}' "
                f"(expected one of: {', '.join(spec.answers)})"
            )
        value = _answer_text(self.facts[qid])
        if qid in DECISION_QUESTION_IDS and qid not in self.run.asked:
            self.run.asked.append(qid)
        if value in spec.answers or (spec.optional and value == SKIP):
            replies = await self.send(choice=(qid, value))
        else:
            replies = await self.send(text=value)
        # Taken as an answer, the dialog moves on to an outcome or a question not yet answered;
        # anything else (a re-ask, a myth answer, "back", "stop", nothing) is not an answer.
        asked_next = next((r.question_id for r in reversed(replies) if r.question_id), None)
        answered = {a["q"] for a in self.run.answers} | {qid}
        if not any(r.outcome for r in replies) and (asked_next is None or asked_next in answered):
            raise DecideError(
                f"facts: '{qid}' = {self.facts[qid]!r} is not an answer the dialog "
                f"understands (expected one of: {', '.join(spec.answers)})"
            )
        self.run.answers.append({"q": qid, "a": value})
        return replies

    async def answer_field(self, field_id: str, before: list[Reply]) -> list[Reply]:
        assert self.record is not None
        if field_id not in self.record:
            if field_id == "special_category":
                return await self.send(choice=(field_id, "none"))
            raise DecideError(f"facts: record needs '{field_id}' for this outcome")
        value = self.record[field_id]
        if field_id in CHOICE_FIELDS and value in self.bot.conversation.rec.options(field_id):
            replies = await self.send(choice=(field_id, value))
        else:
            replies = await self.send(text=value)
        problem = next((r for r in replies if r.kind == ReplyKind.WARNING), None)
        if problem is not None or any(r.question_id == field_id for r in replies):
            reason = problem.text if problem else "the dialog did not accept it"
            raise DecideError(f"facts: record field '{field_id}': {reason}")
        return replies


async def decide(bot: Bot, facts: Mapping[str, Any], say: Callable[[str], None]) -> DecideRun:
    """Run the dialog against the facts; raises DecideError with a clear message."""
    if not isinstance(facts, Mapping):
        raise DecideError("facts: the file must hold one JSON object of question id: answer")
    driver = _Driver(bot, facts, say)
    run = await driver.drive()
    run.answers = [{"q": q, "a": a} for q, a in ((a["q"], a["a"]) for a in run.answers)]
    return run
