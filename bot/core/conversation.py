"""The conversation core: one pure step per turn.

`Conversation.step(state, inbound)` routes what a person did. Danger now always wins; a few
commands work everywhere ("stop", "help", "menu"); otherwise the dialog the person is in
(bot/dialogs/decision.py, record.py, escalation.py — each a table of rows) takes it, or a
dialog's entry point starts one; and a question is answered from the knowledge base, then the
dialog resumes. It returns the new state, the replies and any effects (records, escalations,
questions answered) for the shell to persist. No I/O and no platform knowledge here, so any
replica can run it and tests can drive it directly.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Final

from bot.core.effects import Asked, Effect
from bot.core.pii import PersonalDetails
from bot.core.replies import Choice, Inbound, Reply, ReplyKind
from bot.dialogs.answers import DANGER_QUESTION, AnswerParser
from bot.dialogs.decision import Decision
from bot.dialogs.escalation import Escalation
from bot.dialogs.flow import FLOW_VERSION
from bot.dialogs.kit import Kit
from bot.dialogs.machine import CLICK, COMMAND, FORM, TEXT, Event, Machine, Turn, Unplaced
from bot.dialogs.record import Record
from bot.dialogs.record_fields import RecordWords
from bot.dialogs.say import DIALOG, ENTRY, MENU, MORE, Say
from bot.dialogs.state import OUTCOME, DialogState, ask_step, valid_step
from bot.knowledge.lookup import DANGER_CERTAIN, Knowledge
from bot.knowledge.search import Lookup
from bot.knowledge.text import fold
from bot.knowledge.words import Words

__all__ = ["FLOW_VERSION", "Conversation", "Turn", "answer_labels", "new_id"]

MAX_MESSAGE: Final = 4000
# While a record or a request for advice is being written, only these words act as commands;
# anything else ("share", "decision", "go") is what the person wants written down.
COMMANDS_WHILE_WRITING: Final = frozenset({"back", "restart", "help", "why", "stop"})
QUESTION_WORDS: Final = frozenset(
    {"what", "whats", "how", "why", "when", "who", "whom", "which", "where", "is", "are", "am"}
    | {"can", "could", "do", "does", "did", "should", "shall", "may", "must", "will", "would"}
    | {"if"}
)
ANSWERED_NONE: Final = "none"
ANSWERED_EMERGENCY: Final = "emergency"
DANGER_STEP: Final = ask_step(DANGER_QUESTION)
NO_DANGER: Final = "no"


def new_id(prefix: str) -> str:
    """A short, unguessable, readable id such as R-7KQ2M9XA4C."""
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    return prefix + "-" + "".join(secrets.choice(alphabet) for _ in range(10))


def reads_like_a_question(text: str) -> bool:
    """ "is consent always needed?", "what if mum finds out" — not "maybe later"."""
    words = fold(text).split()
    return "?" in text or (len(words) >= 3 and words[0] in QUESTION_WORDS)


@dataclass
class Conversation:
    """Everything a step needs, built once at start-up from the knowledge base."""

    knowledge: Knowledge
    pii: PersonalDetails
    idle_hours: float = 24.0
    ids: Callable[[str], str] = new_id
    words: Words = field(init=False)
    kit: Kit = field(init=False)
    decision: Decision = field(init=False)
    record: Record = field(init=False)
    escalation: Escalation = field(init=False)

    def __post_init__(self) -> None:
        self.words = Words(self.knowledge.kb)
        self.kit = Kit.build(self.words, self.pii, self.ids, known=self.knowledge.common_words)
        self.decision = Decision(self.kit, unknown=self._unknown_click)
        self.record = Record(self.kit, resume=self.current, unknown=self._unknown_click)
        self.escalation = Escalation(self.kit, resume=self.current)
        _check_dialogs(self.dialogs)

    @property
    def say(self) -> Say:
        return self.kit.say

    @property
    def rec(self) -> RecordWords:
        return self.kit.rec

    @property
    def parser(self) -> AnswerParser:
        return self.kit.parser

    @property
    def dialogs(self) -> tuple[Machine, ...]:
        """Every dialog, in the order their entry points are tried."""
        return (self.escalation.table, self.record.table, self.decision.table)

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
        if self.expired(state, inbound.now):
            state = DialogState()
            prefix.append(self.say.info("idle_restart"))
        state, updated = self.decision.reconcile(state)
        if updated:
            return Turn(state.touched(inbound.now), prefix + updated)
        turn = self._route(state, inbound)
        return Turn(turn.state.touched(inbound.now), prefix + turn.replies, turn.effects)

    def expired(self, state: DialogState, now: datetime) -> bool:
        return state.in_dialog and state.idle_for_hours(now) > self.idle_hours

    def welcome(self, state: DialogState, now: datetime) -> list[Reply]:
        """What a channel shows when a person opens the chat: the welcome and menu, or the
        offer to carry on with a dialog found in progress (one left too long is not offered:
        the next turn starts afresh)."""
        return self.say.welcome(DialogState() if self.expired(state, now) else state)

    def current(self, state: DialogState) -> list[Reply]:
        """Re-show whatever the person was in the middle of, in whichever dialog."""
        for dialog in self.dialogs:
            if dialog.owns(state):
                return dialog.current(state)
        return []

    def reminder(self, state: DialogState) -> list[Reply]:
        """After an answer or the help: the question waiting, or at an outcome already shown
        in full, its headline and buttons only (the emergency steps are not repeated under
        every quick answer)."""
        if state.step == OUTCOME and state.outcome:
            return [self.say.outcome_reminder(state.outcome)]
        return self.current(state)

    # ------------------------------------------------------------------ routing
    def _route(self, state: DialogState, inbound: Inbound) -> Turn:
        if not inbound.private:
            return self._shared_channel(state, inbound)
        if inbound.form is not None:
            return self._dispatch(state, Event(FORM, inbound, form=inbound.form))
        if inbound.choice is not None:
            q, a = inbound.choice
            if q == DIALOG:
                return self._dispatch(state, Event(COMMAND, inbound, key=a))
            return self._dispatch(state, Event(CLICK, inbound, key=q, value=a))
        return self._text(state, inbound, inbound.text or "")

    def _text(self, state: DialogState, inbound: Inbound, text: str) -> Turn:
        if len(text) > MAX_MESSAGE:
            return Turn(state, [self.say.info("too_long", max=MAX_MESSAGE)])
        if not text.strip():
            return Turn(state, self.current(state) if state.in_dialog else self.say.menu())
        # a message that is exactly a known answer or command ("no", "she said no") holds
        # no emergency wording and no personal details, so both scans are skipped on the
        # most common turn
        known = self.kit.parser.is_known_reply(text)
        writing = self._writing(state)
        event = self._classify(state, inbound, text, writing=writing)
        danger = None if known else self.knowledge.assess(text)
        # At a decision question the words are first an answer ("yes, he has bruises"): only
        # danger beyond doubt goes straight to the emergency route; words the question cannot
        # take are checked again in full (see _unplaced). Writing up the record of a decision
        # made, the words tell what happened ("vital interests, she was unconscious"): the
        # same bar. (A request to a lead is about a concern now: checked in full.)
        asking = self.record.table.owns(state) or (
            self.decision.table.owns(state) and state.step.startswith("q:")
        )
        if danger is not None and asking:
            # A plain answer outweighs a story the model finds urgent ("… so no, not at this
            # moment"; "yes, he picks her up from youth club"), unless, at a question about
            # something else, the story says it is now in so many words ("yes defo - and
            # he's waiting outside the gates for her now").
            elsewhere = not writing and state.step != DANGER_STEP
            said_now = elsewhere and self.knowledge.signals.says_now(fold(text))
            plain = not said_now and self.kit.parser.answers_plainly(text)
            # At a question about something else, danger the model is all but sure of, said
            # to be happening now in so many words, is not hidden by the answer beside it
            # ("no consent. the victim has just called, he is outside her door now").
            now = (
                danger.beyond_doubt
                or (danger.told_as_now and not plain)
                or (said_now and danger.now and danger.probability >= DANGER_CERTAIN)
                # writing up the record, the guidance is shown and nothing else changes: a
                # story said in so many words to be happening now, that the model is all but
                # sure of ("save, but she's just rung, he's back and hitting her"), shows it
                or (
                    writing
                    and danger.now
                    and danger.time.strong
                    and danger.probability >= DANGER_CERTAIN
                )
            )
        else:
            now = danger is not None and danger.now
        if now:
            if not writing:
                turn = self.decision.emergency(state)
                return Turn(turn.state, turn.replies, [Asked(ANSWERED_EMERGENCY)])
            # Writing up a record or a request for advice: show the guidance, but keep the
            # decision and take the words as written ("emergency duty team" is a recipient).
            guidance = self.say.entry(
                self.knowledge.kb.entries["emergency"], full=False, in_dialog=True
            )
            turn = self._dispatch(state, event)
            return Turn(turn.state, [guidance, *turn.replies], turn.effects)
        if danger is not None and event.kind == TEXT and not (danger.now or danger.maybe):
            event = replace(event, calm=True)
        turn = self._dispatch(state, event)
        if event.kind != TEXT or writing or known:
            return turn
        kinds = self.pii.find(text, inbound.now.date())
        found = self.kit.policy.findings("message", text, inbound.now.date()) if kinds else []
        warning = [self.say.pii_warning(kinds, found)] if kinds else []
        return Turn(turn.state, warning + turn.replies, turn.effects)

    def _writing(self, state: DialogState) -> bool:
        """Writing a record or a request to a lead: typed words are what is written down."""
        return self.record.table.owns(state) or self.escalation.table.owns(state)

    def _classify(self, state: DialogState, inbound: Inbound, text: str, *, writing: bool) -> Event:
        if writing and self.kit.cancel.exact(text):
            return Event(COMMAND, inbound, key="cancel")
        command = self.kit.parser.command(text)
        if command is not None and not (writing and command not in COMMANDS_WHILE_WRITING):
            return Event(COMMAND, inbound, key=command)
        return Event(TEXT, inbound, value=text)

    def _dispatch(self, state: DialogState, event: Event) -> Turn:
        """Everywhere commands first; then the current dialog's rows; then any dialog's
        entry points; then the current dialog's fallbacks; else the core's own answer."""
        handled = self._everywhere(state, event)
        if handled is not None:
            return handled
        active = next((d for d in self.dialogs if d.owns(state)), None)
        result = active.rows(state, event) if active else None
        for dialog in self.dialogs:
            if result is not None:
                break
            result = dialog.enter(state, event)
        if result is None and active is not None:
            result = active.fallback(state, event)
        if isinstance(result, Unplaced):
            return self._unplaced(state, event, result)
        return result if result is not None else self._otherwise(state, event)

    def _everywhere(self, state: DialogState, event: Event) -> Turn | None:
        """Commands and buttons that mean the same in every dialog."""
        say = self.say
        if event.kind == COMMAND:
            if event.key == "stop":
                return Turn(DialogState(), [say.info("stopped")])
            if event.key == "help":
                return Turn(state, [say.help(), *self.reminder(state)])
            if event.key == "menu":
                return Turn(state, say.menu())
            if event.key == "myths":
                return self._answer_then_resume(state, [say.myths()])
            if event.key == "resume":
                return Turn(state, self.current(state) if state.in_dialog else say.menu())
        if event.kind == CLICK and event.key == MENU:
            rules = self.knowledge.kb.entries.get("topic.golden-rules")
            if event.value == "golden_rules" and rules is not None:
                return self._answer_then_resume(
                    state, [say.entry(rules, in_dialog=state.in_dialog)]
                )
            if event.value == "myths":
                return self._answer_then_resume(state, [say.myths()])
            if event.value == "help":
                return Turn(state, [say.help(), *self.reminder(state)])
        if event.kind == CLICK and event.key in (ENTRY, MORE):
            entry = self.knowledge.kb.entries.get(event.value)
            if entry is None:
                return self._unknown_click(state)
            reply = (
                say.more(entry)
                if event.key == MORE
                else say.entry(entry, in_dialog=state.in_dialog)
            )
            return self._answer_then_resume(state, [reply])
        return None

    def _otherwise(self, state: DialogState, event: Event) -> Turn:
        """Nothing in any dialog took it."""
        if event.kind == TEXT:
            return self._lookup(state, event.value)
        if event.kind == CLICK:
            if event.key == MENU:
                return Turn(state, self.say.menu())
            return self._unknown_click(state)
        if event.kind == FORM:
            return Turn(state, [self.say.info("record_nothing_to_record")])
        if event.key == "back":
            return Turn(state, [self.say.info("nothing_to_undo"), *self.current(state)])
        if event.key == "why":
            return Turn(state, [self.say.help(), *self.reminder(state)])
        return Turn(state, self.say.menu())

    def _unknown_click(self, state: DialogState) -> Turn:
        current = self.current(state) if state.in_dialog else self.say.menu()
        return Turn(state, [self.say.info("reask"), *current])

    # ------------------------------------------------------------------ questions
    def _unplaced(self, state: DialogState, event: Event, unplaced: Unplaced) -> Turn:
        """Words a dialog could not take as an answer: a question is answered, then the
        dialog resumes; anything else is asked again."""
        danger = None if self._writing(state) else self.knowledge.assess(event.value)
        # Once the person has said nobody is in danger now, a later story of the risk they are
        # weighing ("the stepdad is the one abusing him") is that risk, not a new emergency,
        # unless it says the danger is now ("… and he's at the door now"): it is asked again
        # with the one-line safety note.
        # At the danger question, someone asking what counts as immediate ("like tonight or
        # this minute?", "… he's due back tonight") is shown what it means — harm before advice
        # could be had; choose Yes if it might be — and asked again, with the safety note; the
        # time words are in the question about the question, so only wording that settles it,
        # or a story close to an emergency and told as now, still goes straight to the route.
        meaning = state.step == DANGER_STEP and self.kit.parser.asks_what_it_means(event.value)
        settled = meaning or state.answer_map.get(DANGER_QUESTION) == NO_DANGER
        if danger is None or not danger.now:
            urgent = False
        elif meaning:
            urgent = danger.decisive or danger.told_as_now
        elif settled:
            urgent = danger.said_to_be_now or (
                danger.wording and self.knowledge.signals.says_now(fold(event.value))
            )
        else:
            urgent = True
        if urgent:
            turn = self.decision.emergency(state)
            return Turn(turn.state, turn.replies, [Asked(ANSWERED_EMERGENCY)])
        noted = danger is not None and (danger.now or danger.maybe)
        reask = self._noted(unplaced.reask) if noted else unplaced.reask
        if not reads_like_a_question(event.value):
            return reask
        found = self.knowledge.ask(event.value)
        if found.kind == "emergency":
            if settled:
                return reask
            turn = self.decision.emergency(state)
            return Turn(turn.state, turn.replies, [Asked(ANSWERED_EMERGENCY)])
        asked = self._asked(found, event.value)
        if found.entry is None:
            return Turn(reask.state, reask.replies, [*reask.effects, asked])
        turn = self._answer_then_resume(state, self.say.answer(found, in_dialog=True))
        return Turn(turn.state, turn.replies, [asked])

    def _noted(self, turn: Turn) -> Turn:
        """The turn with the one-line safety note first (999 / social care now)."""
        return Turn(turn.state, [self.say.info("safety_note"), *turn.replies], turn.effects)

    def _lookup(self, state: DialogState, text: str) -> Turn:
        found = self.knowledge.ask(text)
        if found.kind == "emergency":
            turn = self.decision.emergency(state)
            return Turn(turn.state, turn.replies, [Asked(ANSWERED_EMERGENCY)])
        asked = [self._asked(found, text)]
        replies = self.say.answer(found, in_dialog=state.in_dialog)
        if found.entry is None:
            return Turn(state, replies, asked)
        turn = self._answer_then_resume(state, replies)
        return Turn(turn.state, turn.replies, asked)

    def _asked(self, found: Lookup, text: str) -> Effect:
        """For the leads' report: which answer a typed question got. The words go with an
        unanswered one only: the store keeps them (scrubbed of personal details) only where
        the deployment has chosen to."""
        if found.entry is not None:
            return Asked(found.entry.id)
        return Asked(ANSWERED_NONE, text.strip())

    def _answer_then_resume(self, state: DialogState, replies: Sequence[Reply]) -> Turn:
        if not state.in_dialog:
            return Turn(state, list(replies))
        resume = Reply(kind=ReplyKind.INFO, text=self.words.text("resume"))
        return Turn(state, [*replies, resume, *self.reminder(state)])

    # ------------------------------------------------------------------ shared channels
    def _shared_channel(self, state: DialogState, inbound: Inbound) -> Turn:
        """In a shared channel: general answers only, never a case; offer to go private."""
        text = inbound.text or ""
        if len(text) > MAX_MESSAGE:  # refused unread, as in a DM: reading it costs the loop
            return Turn(state, [self.say.info("too_long", max=MAX_MESSAGE)])
        kb = self.knowledge.kb
        offer = Reply(
            kind=ReplyKind.INFO,
            text=self.words.text("no_case_here"),
            choices=(Choice(self.words.text("offer_dm"), MENU, "start", "primary"),),
        )
        if inbound.choice is not None:
            q, a = inbound.choice
            entry = kb.entries.get(a) if q in (ENTRY, MORE) else None
            if entry is None:
                return Turn(state, [offer])
            reply = self.say.more(entry) if q == MORE else self.say.entry(entry, in_dialog=True)
            return Turn(state, [reply, offer])
        if not text.strip():
            return Turn(state, [offer])
        if self.knowledge.is_emergency(text):
            return Turn(
                state, [self.say.entry(kb.entries["emergency"]), offer], [Asked(ANSWERED_EMERGENCY)]
            )
        found = self.knowledge.ask(text)
        if found.kind == "emergency" and found.entry is not None:
            return Turn(state, [self.say.entry(found.entry), offer], [Asked(ANSWERED_EMERGENCY)])
        asked = [self._asked(found, text)]
        if found.entry is None:
            return Turn(state, [offer], asked)
        return Turn(state, [*self.say.answer(found, in_dialog=True), offer], asked)


def _check_dialogs(dialogs: Sequence[Machine]) -> None:
    """Each step belongs to one dialog, and every one is a step the saved state accepts."""
    owner: dict[str, str] = {}
    for dialog in dialogs:
        for step in dialog.steps:
            if not valid_step(step):
                raise ValueError(f"dialog {dialog.name!r}: step {step!r} cannot be saved")
            if step in owner:
                raise ValueError(f"step {step!r} is in both {owner[step]!r} and {dialog.name!r}")
            owner[step] = dialog.name


def answer_labels(words: Words, answers: Sequence[Mapping[str, str]]) -> list[str]:
    """Readable 'question — answer' lines for an escalation or a record summary."""
    lines = []
    for item in answers:
        q = words.question(item["q"])
        lines.append(f"{q['text']} — {q['choices'].get(item['a'], item['a'])}")
    return lines
