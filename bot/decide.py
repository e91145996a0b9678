"""`canishare decide`: drive the real decision dialog from a file of facts, turn by turn.

Each question the dialog asks is answered from the facts by its id, exactly as a person
would click the button (or type, when the fact is written in words). The run ends at the
outcome, or — when the facts hold a `record` object — completes the record step and saves it.
Facts are checked before the dialog starts: an unknown question id, an answer the dialog
would not understand, or a record value that is not one of the options stops the run with a
message listing what is valid. A dry run does everything on a throw-away store.
"""

from __future__ import annotations

import difflib
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from bot.core.replies import Inbound, Reply, ReplyKind
from bot.dialogs.flow import ALL_QUESTIONS, DECISION_QUESTION_IDS, SKIP
from bot.dialogs.record import CHOICE_FIELDS
from bot.dialogs.state import DialogState
from bot.knowledge.words import RECORD_FIELDS
from bot.service import Bot
from bot.settings import Settings

MAX_TURNS: Final = 80
RECORD: Final = "record"
# Keys a facts file may carry to describe a case; they are not facts and are ignored.
NOTES: Final = frozenset({"case", "description", "guidance", "notes", "comment", "expect"})
RECORD_ALIASES: Final = {
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
    dry_run: bool = False

    def result(self) -> dict[str, Any]:
        """The `--json` line: the outcome, the decision questions asked, and the record as
        saved (answers as `{"q": id, "a": answer id}`); `saved` is false when nothing was."""
        if self.record is not None and not self.dry_run:
            record = self.record
        elif self.record is not None:
            record = {**self.record, "id": None, "saved": False}
        else:
            record = {"id": None, "outcome": self.outcome, "answers": self.answers, "saved": False}
        result = {"outcome": self.outcome, "asked": self.asked, "record": record}
        return {**result, "dry_run": True} if self.dry_run else result


def _answer_text(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None:
        return ""
    return str(value).strip()


def _valid(values: Any) -> str:
    return ", ".join(values)


def _record_facts(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise DecideError("facts: 'record' must be an object of record fields")
    out: dict[str, str] = {}
    for key, value in raw.items():
        name = RECORD_ALIASES.get(str(key), str(key))
        if name not in RECORD_FIELDS:
            raise DecideError(
                f"facts: record field '{key}' is not known (known: {_valid(RECORD_FIELDS)})"
            )
        out[name] = _answer_text(value)
    return out


class _Driver:
    def __init__(self, bot: Bot, facts: Mapping[str, Any], say: Callable[[str], None]) -> None:
        self.bot = bot
        self.facts = facts
        self.say = say
        self.run = DecideRun()
        self.conversation = f"decide:{uuid.uuid4().hex[:12]}"
        self.record = _record_facts(facts[RECORD]) if RECORD in facts else None

    # ------------------------------------------------------------------ before the run
    def check(self) -> None:
        """Refuse facts the dialog could never use, before anything runs."""
        known = [*ALL_QUESTIONS, RECORD]
        for key in self.facts:
            if key in ALL_QUESTIONS or key == RECORD or key in NOTES:
                continue
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise DecideError(
                f"facts: '{key}' is not a question id.{hint} "
                f"Valid ids: {_valid(ALL_QUESTIONS)}, and '{RECORD}' for the record."
            )
        for qid, value in self.facts.items():
            if qid in ALL_QUESTIONS and self.answer_id(qid, _answer_text(value)) is None:
                raise self.not_understood(qid)
        for field_id, value in (self.record or {}).items():
            if field_id in CHOICE_FIELDS and self.option_id(field_id, value) is None:
                options = self.bot.conversation.rec.options(field_id)
                raise DecideError(
                    f"facts: record field '{field_id}' = {value!r} is not one of the options "
                    f"(valid: {_valid(options)})"
                )

    def answer_id(self, qid: str, text: str) -> str | None:
        spec = ALL_QUESTIONS[qid]
        allowed = [*spec.answers, *((SKIP,) if spec.optional else ())]
        if text in allowed:
            return text
        return self.bot.conversation.parser.answer(qid, text, allowed).answer

    def option_id(self, field_id: str, text: str) -> str | None:
        options = list(self.bot.conversation.rec.options(field_id))
        if text in options:
            return text
        return self.bot.conversation.parser.option(field_id, text, options).answer

    def not_understood(self, qid: str) -> DecideError:
        spec = ALL_QUESTIONS[qid]
        return DecideError(
            f"facts: '{qid}' = {self.facts[qid]!r} is not an answer the dialog "
            f"understands (expected one of: {_valid(spec.answers)})"
        )

    # ------------------------------------------------------------------ the run
    def show(self, replies: list[Reply]) -> None:
        from bot.channels.console import render

        for r in replies:
            text = render(r, self.bot.conversation.words.channel, numbered=False)
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
                replies = await self.answer_question(question.question_id)
            else:
                replies = await self.answer_field(question.question_id, replies)
        raise DecideError(f"the dialog did not finish within {MAX_TURNS} turns")

    async def answer_question(self, qid: str) -> list[Reply]:
        spec = ALL_QUESTIONS[qid]
        if qid not in self.facts:
            if spec.optional:
                return await self.send(choice=(qid, SKIP))
            question = self.bot.conversation.words.question(qid)["text"]
            raise DecideError(
                f"facts: no answer for question '{qid}' "
                f"(expected one of: {_valid(spec.answers)}): {question}"
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
        answered = set(DialogState.from_json(await self.saved_state()).answer_map) | {qid}
        if not any(r.outcome for r in replies) and (asked_next is None or asked_next in answered):
            raise self.not_understood(qid)
        return replies

    async def answer_field(self, field_id: str, before: list[Reply]) -> list[Reply]:
        assert self.record is not None
        if field_id not in self.record:
            if field_id == "special_category":
                return await self.send(choice=(field_id, "none"))
            raise DecideError(f"facts: record needs '{field_id}' for this outcome")
        value = self.record[field_id]
        offered = [
            c.a for r in before if r.question_id == field_id for c in r.choices if c.q == field_id
        ]
        if field_id in CHOICE_FIELDS and value in offered:
            replies = await self.send(choice=(field_id, value))
        else:
            replies = await self.send(text=value)
        problem = next((r for r in replies if r.kind == ReplyKind.WARNING), None)
        if problem is not None or any(r.question_id == field_id for r in replies):
            reason = problem.text if problem else "the dialog did not accept it"
            if field_id in CHOICE_FIELDS:
                reason = f"{reason} (valid here: {_valid(offered)})"
            raise DecideError(f"facts: record field '{field_id}': {reason}")
        return replies

    async def saved_state(self) -> str | None:
        raw, _ = await self.bot.store.load_state(self.conversation)
        return raw

    async def answers_as_saved(self) -> list[dict[str, str]]:
        state = DialogState.from_json(await self.saved_state())
        return [{"q": q, "a": a} for q, a in state.answers]


async def decide(bot: Bot, facts: Mapping[str, Any], say: Callable[[str], None]) -> DecideRun:
    """Run the dialog against the facts; raises DecideError with a clear message."""
    if not isinstance(facts, Mapping):
        raise DecideError("facts: the file must hold one JSON object of question id: answer")
    driver = _Driver(bot, facts, say)
    driver.check()
    run = await driver.drive()
    if run.record is None:
        run.answers = await driver.answers_as_saved()
    return run


async def decide_with(
    settings: Settings,
    facts: Mapping[str, Any],
    say: Callable[[str], None],
    *,
    dry_run: bool = False,
) -> DecideRun:
    """Open the store (a throw-away one for a dry run), run `decide`, and close it again."""
    from bot.app import build_bot, require_writable

    with tempfile.TemporaryDirectory(prefix="canishare-dry-run-") as scratch:
        if dry_run:
            settings = replace(settings, db_url=f"sqlite:///{Path(scratch) / 'dry-run.db'}")
        bot = await build_bot(settings)
        try:
            if not dry_run:
                await require_writable(bot.store, settings)
            run = await decide(bot, facts, say)
        finally:
            await bot.store.close()
    if dry_run:
        run.dry_run = True
        say("Dry run: nothing was saved or sent. The record shown is what would have been saved.")
    return run
