"""The conversation core: one pure step per turn.

`Conversation.step(state, inbound)` routes what a person did — to the emergency guidance,
a global command, the decision dialog, the record, an escalation or a knowledge answer —
and returns the new state, the replies and any effects (records, escalations) for the shell
to persist. No I/O and no platform knowledge here, so any replica can run it and tests can
drive it directly.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.effects import Effect, Escalate, SaveRecord
from bot.core.pii import PersonalDetails
from bot.core.replies import Choice, Inbound, Reply, ReplyKind
from bot.dialogs import state as st
from bot.dialogs.answers import AnswerParser
from bot.dialogs.flow import (
    ALL_QUESTIONS,
    DECISION_QUESTION_IDS,
    EMERGENCY,
    PERSON,
    SHARING_OUTCOMES,
    SKIP,
    next_question,
    outcome_for,
)
from bot.dialogs.record import (
    CHOICE_FIELDS,
    RecordWords,
    check_field,
    confirm_reply,
    defaults_for,
    fields_for,
    summary_lines,
)
from bot.dialogs.say import DIALOG, ENTRY, ESCALATE, MENU, RECORD, Say
from bot.dialogs.state import DialogState
from bot.knowledge.lookup import Knowledge
from bot.knowledge.words import Words

FLOW_VERSION = "flow-2026.11"
MAX_MESSAGE = 4000
MID_DIALOG_MIN_SCORE = 0.6  # a question asked mid-dialog is answered only when clearly matched
# While a record or a request for advice is being written, only these words act as commands;
# anything else ("share", "decision", "go") is what the person wants written down.
COMMANDS_WHILE_WRITING = frozenset({"back", "restart", "help", "why", "stop"})


def new_id(prefix: str) -> str:
    """A short, unguessable, readable id such as R-7KQ2M9XA4C."""
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    return prefix + "-" + "".join(secrets.choice(alphabet) for _ in range(10))


@dataclass(frozen=True)
class Turn:
    state: DialogState
    replies: list[Reply]
    effects: list[Effect] = field(default_factory=list)


@dataclass
class Conversation:
    """Everything a step needs, built once at start-up from the knowledge base."""

    knowledge: Knowledge
    pii: PersonalDetails
    idle_hours: float = 24.0
    ids: Callable[[str], str] = new_id
    words: Words = field(init=False)
    say: Say = field(init=False)
    rec: RecordWords = field(init=False)
    parser: AnswerParser = field(init=False)

    def __post_init__(self) -> None:
        self.words = Words(self.knowledge.kb)
        self.say = Say(self.words)
        self.rec = RecordWords(self.words)
        self.parser = AnswerParser(self.words.answers())

    @classmethod
    def build(cls, knowledge: Knowledge, idle_hours: float = 24.0) -> Conversation:
        raw = knowledge.kb.words
        details = raw.get("personal_details") or {}
        return cls(
            knowledge,
            PersonalDetails.from_lists(
                details.get("first_names", []), details.get("not_surnames", [])
            ),
            idle_hours,
        )

    # ------------------------------------------------------------------ entry point
    def step(self, state: DialogState, inbound: Inbound) -> Turn:
        """Handle one thing a person did. Never raises for any input."""
        prefix: list[Reply] = []
        if state.in_dialog and state.idle_for_hours(inbound.now) > self.idle_hours:
            state = DialogState()
            prefix.append(self.say.info("idle_restart"))
        turn = self._route(state, inbound)
        return Turn(turn.state.touched(inbound.now), prefix + turn.replies, turn.effects)

    def _route(self, state: DialogState, inbound: Inbound) -> Turn:
        if not inbound.private:
            return self._shared_channel(state, inbound)
        if inbound.form is not None:
            return self._submit_form(state, inbound)
        if inbound.choice is not None:
            return self._choice(state, inbound, *inbound.choice)
        return self._text(state, inbound, inbound.text or "")

    # ------------------------------------------------------------------ shared channels
    def _shared_channel(self, state: DialogState, inbound: Inbound) -> Turn:
        """In a shared channel: general answers only, never a case; offer to go private."""
        text = inbound.text or ""
        offer = Reply(
            kind=ReplyKind.INFO,
            text=self.words.text("no_case_here"),
            choices=(Choice(self.words.text("offer_dm"), MENU, "start", "primary"),),
        )
        if self.knowledge.is_emergency(text):
            return Turn(state, [self.say.entry(self.knowledge.kb.entries["emergency"]), offer])
        result = self.knowledge.ask(text) if text.strip() else None
        if result is not None and result.entry is not None:
            return Turn(state, [self.say.entry(result.entry, full=False, in_dialog=True), offer])
        return Turn(state, [offer])

    # ------------------------------------------------------------------ clicks
    def _choice(self, state: DialogState, inbound: Inbound, q: str, a: str) -> Turn:
        if q in ALL_QUESTIONS:
            return self._clicked_answer(state, q, a)
        if q == MENU:
            return self._menu(state, inbound, a)
        if q == ENTRY:
            entry = self.knowledge.kb.entries.get(a)
            if entry is None:
                return self._unknown_click(state)
            return self._answer_then_resume(state, self.say.entry(entry, in_dialog=state.in_dialog))
        if q == DIALOG:
            return self._command(state, inbound, a)
        if q == RECORD:
            return self._record_action(state, inbound, a)
        if q == ESCALATE:
            return self._start_escalation(state, inbound)
        if q in CHOICE_FIELDS:
            return self._record_value(state, inbound, q, a)
        if q == "record_field":
            return self._edit_field(state, a)
        return self._unknown_click(state)

    def _unknown_click(self, state: DialogState) -> Turn:
        current = self._current(state) if state.in_dialog else self.say.menu()
        return Turn(state, [self.say.info("reask"), *current])

    def _clicked_answer(self, state: DialogState, q: str, a: str) -> Turn:
        spec = ALL_QUESTIONS[q]
        if a not in spec.answers and not (spec.optional and a == SKIP):
            return self._unknown_click(state)
        answered = [qid for qid, _ in state.answers]
        if state.step == st.ask_step(q):
            return self._answer(state, q, a)
        if q in answered:  # an earlier button: change that answer and carry on from there
            keep = state.answers[: answered.index(q)]
            return self._answer(self._reset_outcome(state.with_(answers=keep)), q, a)
        return self._unknown_click(state)

    def _menu(self, state: DialogState, inbound: Inbound, a: str) -> Turn:
        if a == "start":
            return self._start(DialogState(), [self.say.info("started")])
        if a == "golden_rules" and "topic.golden-rules" in self.knowledge.kb.entries:
            entry = self.knowledge.kb.entries["topic.golden-rules"]
            return self._answer_then_resume(state, self.say.entry(entry, in_dialog=state.in_dialog))
        if a == "myths":
            return self._answer_then_resume(state, self.say.myths())
        if a == "escalate":
            return self._start_escalation(state, inbound)
        if a == "help":
            return Turn(state, [self.say.help(), *self._current(state)])
        return Turn(state, self.say.menu())

    # ------------------------------------------------------------------ typed text
    def _text(self, state: DialogState, inbound: Inbound, text: str) -> Turn:
        if len(text) > MAX_MESSAGE:
            return Turn(state, [self.say.info("too_long", max=MAX_MESSAGE)])
        if not text.strip():
            return Turn(state, self._current(state) if state.in_dialog else self.say.menu())
        # a message that is exactly a known answer or command ("no", "she said no") holds
        # no emergency wording and no personal details, so both scans are skipped on the
        # most common turn
        known = self.parser.is_known_reply(text)
        if not known and self.knowledge.is_emergency(text):
            if not state.step.startswith(("rec:", "esc:")):
                return self._emergency(state)
            # Writing up a record or a request for advice: show the guidance, but keep the
            # decision and take the words as written ("emergency duty team" is a recipient).
            guidance = self.say.entry(
                self.knowledge.kb.entries["emergency"], full=False, in_dialog=True
            )
            turn = self._typed(state, inbound, text, known=False)
            return Turn(turn.state, [guidance, *turn.replies], turn.effects)
        return self._typed(state, inbound, text, known=known)

    def _typed(self, state: DialogState, inbound: Inbound, text: str, *, known: bool) -> Turn:
        command = self.parser.command(text)
        writing = state.step.startswith(("rec:", "esc:"))
        if command is not None and not (writing and command not in COMMANDS_WHILE_WRITING):
            return self._command(state, inbound, command)
        kinds = [] if known else self.pii.find(text, inbound.now.date())
        if state.step.startswith(("rec:", "esc:")):
            return self._typed_field(state, inbound, text, kinds)
        warning = [self.say.pii_warning(kinds)] if kinds else []
        if state.step.startswith("q:"):
            turn = self._typed_answer(state, text)
        elif state.step == st.OUTCOME:
            turn = self._typed_at_outcome(state, inbound, text)
        else:
            turn = self._lookup(state, text)
        return Turn(turn.state, warning + turn.replies, turn.effects)

    def _typed_answer(self, state: DialogState, text: str) -> Turn:
        qid = state.step[2:]
        spec = ALL_QUESTIONS[qid]
        looks_like_question = "?" in text and len(text.split()) > 4
        if looks_like_question:
            answered = self._lookup_mid_dialog(state, text)
            if answered is not None:
                return answered
        parsed = self.parser.answer(qid, text, [*spec.answers, *((SKIP,) if spec.optional else ())])
        if parsed.answer is not None:
            return self._answer(state, qid, parsed.answer)
        if not looks_like_question:
            answered = self._lookup_mid_dialog(state, text)
            if answered is not None:
                return answered
        hint = self.words.text("reask_hint")
        common = self.parser.common(text).answer
        if qid == "consent" and common == "no":
            hint = self.say.hint(qid, "no_hint")
        elif common == "unsure" and "unsure" not in spec.answers:
            hint = self.say.hint(qid, "unsure_hint")
        reask = Reply(kind=ReplyKind.INFO, text=f"{self.words.text('reask')} {hint}")
        return Turn(state, [reask, self._question(state, qid)])

    def _typed_at_outcome(self, state: DialogState, inbound: Inbound, text: str) -> Turn:
        if self.parser.common(text).answer == "yes":
            return self._record_action(state, inbound, "start")
        return self._lookup(state, text)

    def _lookup(self, state: DialogState, text: str) -> Turn:
        if self.parser.groups["commands"].exact(text) == "start":
            return self._start(DialogState(), [self.say.info("started")])
        result = self.knowledge.ask(text)
        if result.kind == "emergency":
            return self._emergency(state)
        if result.entry is None:
            return Turn(state, self.say.none(m.id for m in result.alternatives))
        reply = self.say.entry(result.entry, in_dialog=state.in_dialog)
        return self._answer_then_resume(state, reply)

    def _lookup_mid_dialog(self, state: DialogState, text: str) -> Turn | None:
        if "?" not in text and len(text.split()) < 4:
            return None  # a short non-question is an attempted answer, not a question
        result = self.knowledge.ask(text)
        if result.kind == "emergency":
            return self._emergency(state)
        if result.entry is None or result.score < MID_DIALOG_MIN_SCORE:
            return None
        return self._answer_then_resume(state, self.say.entry(result.entry, in_dialog=True))

    def _answer_then_resume(self, state: DialogState, reply: Reply) -> Turn:
        if not state.in_dialog:
            return Turn(state, [reply])
        resume = Reply(kind=ReplyKind.INFO, text=self.words.text("resume"))
        return Turn(state, [reply, resume, *self._current(state)])

    # ------------------------------------------------------------------ commands
    def _command(self, state: DialogState, inbound: Inbound, command: str) -> Turn:
        if command == "start":
            if state.step.startswith("q:"):
                return Turn(
                    state,
                    [
                        Reply(
                            kind=ReplyKind.INFO,
                            text=self.words.text("resume"),
                            choices=(
                                Choice(self.words.text("continue_offer"), DIALOG, "resume"),
                                Choice(self.words.text("restart_offer"), DIALOG, "restart"),
                            ),
                        ),
                        *self._current(state),
                    ],
                )
            return self._start(DialogState(), [self.say.info("started")])
        if command == "restart":
            return self._start(DialogState(), [self.say.info("restarted")])
        if command == "resume":
            return Turn(state, self._current(state) if state.in_dialog else self.say.menu())
        if command == "stop":
            return Turn(DialogState(), [self.say.info("stopped")])
        if command == "help":
            return Turn(state, [self.say.help(), *self._current(state)])
        if command == "menu":
            return Turn(state, self.say.menu())
        if command == "myths":
            return self._answer_then_resume(state, self.say.myths())
        if command == "why":
            if state.step.startswith("q:"):
                return Turn(state, [self.say.why(state.step[2:]), *self._current(state)])
            return Turn(state, [self.say.help(), *self._current(state)])
        if command == "back":
            return self._back(state)
        if command == "escalate":
            return self._start_escalation(state, inbound)
        if command == "record":
            return self._record_action(state, inbound, "start")
        return Turn(state, self.say.menu())

    def _back(self, state: DialogState) -> Turn:
        if state.step.startswith("rec:") and state.step != st.CONFIRM:
            order = fields_for(state.outcome)
            current = state.step[4:]
            if current in order and order.index(current) > 0:
                previous = order[order.index(current) - 1]
                went = self.say.info("went_back")
                return Turn(
                    state.with_(step=st.record_step(previous)),
                    [went, *self._current(state.with_(step=st.record_step(previous)))],
                )
        if (
            not state.answers
            or state.step in (st.IDLE, st.CONFIRM)
            or state.step.startswith(("esc:", "rec:"))
        ):
            return Turn(state, [self.say.info("nothing_to_undo"), *self._current(state)])
        if state.step == st.OUTCOME and state.decided_by == "text":
            # danger wording decided it, not the last answer: ask about danger again
            qid = DECISION_QUESTION_IDS[0]
            back = self._reset_outcome(state.with_(step=st.ask_step(qid)))
            return Turn(back, [self.say.info("went_back"), self._question(back, qid)])
        qid, _ = state.answers[-1]
        back = self._reset_outcome(state.with_(answers=state.answers[:-1], step=st.ask_step(qid)))
        return Turn(back, [self.say.info("went_back"), self._question(back, qid)])

    # ------------------------------------------------------------------ the decision
    def _start(self, state: DialogState, intro: list[Reply]) -> Turn:
        fresh = DialogState(step=st.ask_step(DECISION_QUESTION_IDS[0]))
        return Turn(fresh, [*intro, self._question(fresh, DECISION_QUESTION_IDS[0])])

    def _answer(self, state: DialogState, qid: str, answer: str) -> Turn:
        state = state.with_(answers=(*state.answers, (qid, answer)))
        if not state.started_at:
            state = state.with_(started_at=state.last_active)
        answers = state.answer_map
        outcome = outcome_for(answers)
        if outcome is not None:
            decided_by = self._decided_by(answers, outcome)
            done = state.with_(step=st.OUTCOME, outcome=outcome, decided_by=decided_by)
            return Turn(done, self.say.outcome(outcome, decided_by, answers.get(PERSON.id)))
        nxt = next_question(answers) or DECISION_QUESTION_IDS[0]
        if nxt == "consent" and PERSON.id not in answers:
            nxt = PERSON.id
        asking = state.with_(step=st.ask_step(nxt))
        return Turn(asking, [self._question(asking, nxt)])

    @staticmethod
    def _decided_by(answers: Mapping[str, str], outcome: str) -> str:
        """The last decision answer on the path: the one the outcome's 'because' line names."""
        last = [q for q in answers if q in DECISION_QUESTION_IDS]
        return f"{last[-1]}={answers[last[-1]]}" if last else outcome

    def _emergency(self, state: DialogState) -> Turn:
        answers = tuple(a for a in state.answers if a[0] != "immediate_danger")
        done = state.with_(step=st.OUTCOME, outcome=EMERGENCY, decided_by="text", answers=answers)
        return Turn(done, self.say.outcome(EMERGENCY, "text", None))

    @staticmethod
    def _reset_outcome(state: DialogState) -> DialogState:
        # a record drafted for the old outcome (its lawful basis above all) must not carry over
        return state.with_(outcome="", decided_by="", record={})

    def _question(self, state: DialogState, qid: str) -> Reply:
        number = sum(1 for q, _ in state.answers if q in DECISION_QUESTION_IDS) + 1
        return self.say.question(qid, number if qid in DECISION_QUESTION_IDS else None)

    def _current(self, state: DialogState) -> list[Reply]:
        """Re-show whatever the person was in the middle of."""
        if state.step.startswith("q:"):
            return [self._question(state, state.step[2:])]
        if state.step == st.OUTCOME:
            return self.say.outcome(
                state.outcome, state.decided_by, state.answer_map.get(PERSON.id)
            )[:1]
        if state.step == st.CONFIRM:
            return [confirm_reply(self._draft(state, None), self.rec)]
        if state.step.startswith("rec:"):
            return [self.rec.ask(state.step[4:], state.outcome)]
        if state.step == st.ESC_REFERENCE:
            return [Reply(kind=ReplyKind.QUESTION, text=self.say.escalation("ask_reference"))]
        if state.step == st.ESC_QUESTION:
            return [Reply(kind=ReplyKind.QUESTION, text=self.say.escalation("ask_question"))]
        return []

    # ------------------------------------------------------------------ the record
    def _record_action(self, state: DialogState, inbound: Inbound, action: str) -> Turn:
        if not state.outcome:
            return Turn(state, [self.say.info("record_nothing_to_record"), *self.say.menu()])
        if action == "start":
            if inbound.forms:
                form = self.rec.form(state.outcome, state.record)
                return Turn(state, [Reply(kind=ReplyKind.FORM, text=form.intro, form=form)])
            first = fields_for(state.outcome)[0]
            asking = state.with_(step=st.record_step(first), record=dict(state.record))
            intro = Reply(kind=ReplyKind.INFO, text=self.rec.intro(state.outcome))
            return Turn(asking, [intro, self.rec.ask(first, state.outcome)])
        if action == "save" and state.step == st.CONFIRM:
            return self._save(state, inbound, state.record)
        if action == "edit" and state.step == st.CONFIRM:
            choices = tuple(
                Choice(self.rec.label(f), "record_field", f) for f in fields_for(state.outcome)
            )
            which = Reply(kind=ReplyKind.QUESTION, text="Which part?", choices=choices)
            return Turn(state, [which])
        if action == "cancel":
            return Turn(state.with_(step=st.OUTCOME), [self.say.info("record_cancelled")])
        return Turn(state, self._current(state))

    def _edit_field(self, state: DialogState, field_id: str) -> Turn:
        if not state.outcome or field_id not in fields_for(state.outcome):
            return self._unknown_click(state)
        editing = state.with_(step=st.record_step(field_id), return_to=st.CONFIRM)
        return Turn(editing, [self.rec.ask(field_id, state.outcome)])

    def _typed_field(
        self, state: DialogState, inbound: Inbound, text: str, kinds: list[str]
    ) -> Turn:
        if state.step.startswith("esc:"):
            return self._escalation_field(state, inbound, text, kinds)
        if state.step == st.CONFIRM:
            parsed = self.parser.option("record_confirm", text, ["save", "edit"])
            if parsed.answer:
                return self._record_action(state, inbound, parsed.answer)
            return Turn(state, [self.say.info("reask"), *self._current(state)])
        field_id = state.step[4:]
        if field_id in CHOICE_FIELDS:
            parsed = self.parser.option(field_id, text, list(self.rec.options(field_id)))
            if parsed.answer is None:
                return Turn(state, [self.say.info("reask"), self.rec.ask(field_id, state.outcome)])
            return self._record_value(state, inbound, field_id, parsed.answer)
        return self._record_value(state, inbound, field_id, text)

    def _record_value(
        self, state: DialogState, inbound: Inbound, field_id: str, value: str
    ) -> Turn:
        if state.step != st.record_step(field_id):
            return Turn(state, [self.say.info("reask"), *self._current(state)])
        clean, error = check_field(
            field_id, value, words=self.rec, pii=self.pii, say_pii=self.say.pii_blocked
        )
        if error is not None:
            return Turn(state, [self.say.warning("", error), self.rec.ask(field_id, state.outcome)])
        record = {**state.record, field_id: str(clean)}
        order = fields_for(state.outcome)
        remaining = [f for f in order if f not in record]
        if not remaining:  # also after an edit; an old "which part?" button can't skip fields
            done = state.with_(record=record, step=st.CONFIRM, return_to="")
            return Turn(done, [confirm_reply(self._draft(done, inbound), self.rec)])
        nxt = state.with_(record=record, step=st.record_step(remaining[0]))
        return Turn(nxt, [self.rec.ask(remaining[0], state.outcome)])

    def _submit_form(self, state: DialogState, inbound: Inbound) -> Turn:
        if not state.outcome:
            return Turn(state, [self.say.info("record_nothing_to_record")])
        values = {k: str(v) for k, v in (inbound.form or {}).items() if isinstance(k, str)}
        clean: dict[str, str] = {}
        errors: dict[str, str] = {}
        for field_id in fields_for(state.outcome):
            value, error = check_field(
                field_id,
                values.get(field_id, ""),
                words=self.rec,
                pii=self.pii,
                say_pii=self.say.pii_blocked,
            )
            if error is not None:
                errors[field_id] = error
            else:
                clean[field_id] = str(value)
        if errors:
            kept = {k: v[:2000] for k, v in values.items() if k in fields_for(state.outcome)}
            form = self.rec.form(state.outcome, kept, errors)
            text = self.words.text("record_not_saved_yet")
            return Turn(state, [Reply(kind=ReplyKind.FORM, text=text, form=form)])
        return self._save(state, inbound, clean)

    def _draft(self, state: DialogState, inbound: Inbound | None) -> dict[str, Any]:
        fields = {**defaults_for(state.outcome), **state.record}
        return {
            "outcome": state.outcome,
            "shared": state.outcome in SHARING_OUTCOMES,
            **{
                k: fields.get(k, "")
                for k in fields_for(state.outcome) + tuple(defaults_for(state.outcome))
            },
        }

    def _save(self, state: DialogState, inbound: Inbound, fields: Mapping[str, str]) -> Turn:
        values = {**defaults_for(state.outcome), **fields}
        record: dict[str, Any] = {
            "id": self.ids("R"),
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
            "knowledge_version": self.knowledge.kb.version,
        }
        saved = self.words.message("record_saved")
        summary = Reply(
            kind=ReplyKind.SUMMARY,
            title=str(saved["title"]),
            text=str(saved["text"]).format(record_id=record["id"]),
            bullets=tuple(summary_lines(record, self.rec)),
            record=record,
            choices=(Choice(self.words.text("restart_offer"), DIALOG, "restart"),),
        )
        return Turn(DialogState(), [summary], [SaveRecord(record)])

    # ------------------------------------------------------------------ escalation
    def _start_escalation(self, state: DialogState, inbound: Inbound) -> Turn:
        back_to = state.step if not state.step.startswith("esc:") else state.return_to
        reference = state.record.get("case_reference", "")
        esc = state.with_(
            escalation={"case_reference": reference} if reference else {}, return_to=back_to
        )
        if reference:
            asking = esc.with_(step=st.ESC_QUESTION)
            return Turn(asking, self._current(asking))
        asking = esc.with_(step=st.ESC_REFERENCE)
        return Turn(asking, self._current(asking))

    def _escalation_field(
        self, state: DialogState, inbound: Inbound, text: str, kinds: list[str]
    ) -> Turn:
        field_id = "case_reference" if state.step == st.ESC_REFERENCE else "question"
        limit = 60 if field_id == "case_reference" else 1000
        text = text.strip()
        if kinds:
            warn = self.say.warning("", self.say.pii_blocked(kinds))
            return Turn(state, [warn, *self._current(state)])
        if not text or len(text) > limit:
            return Turn(state, [self.say.info("reask"), *self._current(state)])
        escalation = {**state.escalation, field_id: text}
        if field_id == "case_reference":
            asking = state.with_(escalation=escalation, step=st.ESC_QUESTION)
            return Turn(asking, self._current(asking))
        return self._send_escalation(state.with_(escalation=escalation), inbound)

    def _send_escalation(self, state: DialogState, inbound: Inbound) -> Turn:
        escalation: dict[str, Any] = {
            "id": self.ids("E"),
            "created_at": inbound.now.isoformat(),
            "practitioner": inbound.user,
            "practitioner_name": inbound.user_name,
            "channel": inbound.channel,
            "conversation": inbound.conversation,
            "case_reference": state.escalation.get("case_reference", ""),
            "question": state.escalation.get("question", ""),
            "answers": [{"q": q, "a": a} for q, a in state.answers],
            "outcome": state.outcome,
        }
        back = (
            state.return_to
            if state.return_to and not state.return_to.startswith("esc:")
            else (st.IDLE)
        )
        resumed = state.with_(step=back, escalation={}, return_to="")
        sent = Reply(
            kind=ReplyKind.INFO,
            title=self.say.escalation("sent_title"),
            text=self.say.escalation("sent", escalation_id=escalation["id"]),
            bullets=self.knowledge.kb.contact_lines(["safeguarding_lead"]),
        )
        follow = self._current(resumed) if resumed.in_dialog else []
        return Turn(resumed, [sent, *follow], [Escalate(escalation)])


def answer_labels(words: Words, answers: Sequence[Mapping[str, str]]) -> list[str]:
    """Readable 'question — answer' lines for an escalation or a record summary."""
    lines = []
    for item in answers:
        q = words.question(item["q"])
        lines.append(f"{q['text']} — {q['choices'].get(item['a'], item['a'])}")
    return lines
