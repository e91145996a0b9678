"""The decision dialog: the flow's questions, one at a time, only those that can still change
the answer, to an outcome and what to do next.

    state      rows (what the person does → what happens)
    ─────────  ──────────────────────────────────────────────────────────────────────────
    entry      "can I share" / Start button → the first question
               "start again" → the first question, answers cleared
               a button of a question answered earlier → change that answer, carry on
    asking     the question's button → the next question, or the outcome
               typed words the answer parser places → the same; otherwise Unplaced
               (the router answers a question and resumes, or asks again — never a guess)
    decided    a question's button → change that answer, carry on
    fallbacks  "back" → the previous question · "why" → why this question is asked
    end        the outcome; the record and the request to a lead start from there
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core.replies import Choice, Reply, ReplyKind
from bot.dialogs.flow import (
    ALL_QUESTIONS,
    DECIDED_BY_TEXT,
    DECISION_QUESTION_IDS,
    EMERGENCY,
    SKIP,
    walk,
)
from bot.dialogs.flow import next_step as flow_next_step
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
    on_text,
)
from bot.dialogs.say import DIALOG, MENU, question_number
from bot.dialogs.state import OUTCOME, DialogState, ask_step

ASKING = "asking"
DECIDED = "decided"
FIRST = DECISION_QUESTION_IDS[0]


def state_of(step: str) -> str | None:
    if step.startswith("q:") and step[2:] in ALL_QUESTIONS:
        return ASKING
    return DECIDED if step == OUTCOME else None


def _question_button(state: DialogState, event: Event) -> bool:
    return event.key in ALL_QUESTIONS


def _answered_earlier(state: DialogState, event: Event) -> bool:
    return event.key in state.answer_map


class Decision:
    """The decision dialog's rows, and the steps it is made of."""

    def __init__(self, kit: Kit, *, unknown: Callable[[DialogState], Turn]) -> None:
        self.kit = kit
        self.unknown = unknown  # an answer or button that fits nowhere: ask again
        self.table = Machine(
            name="decision",
            entry_points=(
                on_click(MENU, self.start, value="start"),
                on_command("start", self.start_or_offer_to_resume),
                on_command("restart", self.restart),
                on_click(ANY, self.clicked, when=_answered_earlier),
            ),
            states={
                ASKING: (
                    on_click(ANY, self.clicked, when=_question_button),
                    on_text(self.typed),
                ),
                DECIDED: (on_click(ANY, self.clicked, when=_question_button),),
            },
            fallbacks=(
                on_command("back", self.back),
                on_command("why", self.why),
            ),
            state_of=state_of,
            steps=(*(ask_step(q) for q in ALL_QUESTIONS), OUTCOME),
            current=self.current,
        )

    # ------------------------------------------------------------------ entry points
    def start(self, state: DialogState, event: Event | None = None) -> Turn:
        return self.fresh("started")

    def restart(self, state: DialogState, event: Event) -> Turn:
        return self.fresh("restarted")

    def fresh(self, intro: str) -> Turn:
        state = DialogState(step=ask_step(FIRST))
        return Turn(state, [self.kit.say.info(intro), self.question(state, FIRST)])

    def start_or_offer_to_resume(self, state: DialogState, event: Event) -> Turn:
        if state_of(state.step) != ASKING:
            return self.start(state)
        w = self.kit.words
        offer = Reply(
            kind=ReplyKind.INFO,
            text=w.text("resume"),
            choices=(
                Choice(w.text("continue_offer"), DIALOG, "resume"),
                Choice(w.text("restart_offer"), DIALOG, "restart"),
            ),
        )
        return Turn(state, [offer, *self.current(state)])

    # ------------------------------------------------------------------ answers
    def clicked(self, state: DialogState, event: Event) -> Result:
        qid, answer = event.key, event.value
        spec = ALL_QUESTIONS[qid]
        if answer not in spec.answers and not (spec.optional and answer == SKIP):
            return self.unknown(state)
        if state.step == ask_step(qid):
            return self.answer(state, qid, answer)
        answered = [q for q, _ in state.answers]
        if qid in answered:  # an earlier button: change that answer and carry on from there
            keep = state.answers[: answered.index(qid)]
            changed = reset_outcome(state.with_(answers=keep, escalation={}, return_to=""))
            return self.answer(changed, qid, answer)
        return self.unknown(state)

    def typed(self, state: DialogState, event: Event) -> Result:
        qid = state.step[2:]
        spec = ALL_QUESTIONS[qid]
        allowed = [*spec.answers, *((SKIP,) if spec.optional else ())]
        parsed = self.kit.parser.answer(qid, event.value, allowed, calm=event.calm)
        if parsed.answer is not None:
            return self.answer(state, qid, parsed.answer)
        return Unplaced(
            Turn(state, [self.kit.reask(self.hint(qid, event.value)), *self.current(state)])
        )

    def hint(self, qid: str, text: str) -> str:
        """What to say when an answer can't be placed: a nudge suited to what was typed."""
        if self.kit.parser.asks_what_it_means(text):
            return self.kit.say.hint(qid, "help")  # what the question means, in full
        common = self.kit.parser.common(text).answer
        if qid == "consent" and common == "no":
            return self.kit.say.hint(qid, "no_hint")
        if common == "unsure" and "unsure" not in ALL_QUESTIONS[qid].answers:
            return self.kit.say.hint(qid, "unsure_hint")
        return self.kit.words.text("reask_hint")

    def answer(self, state: DialogState, qid: str, answer: str) -> Turn:
        state = state.with_(answers=(*state.answers, (qid, answer)))
        if not state.started_at:
            state = state.with_(started_at=state.last_active)
        return self.go_on(state)

    def go_on(self, state: DialogState) -> Turn:
        """Show the outcome the answers give, or ask the next question."""
        answers = state.answer_map
        where = walk(answers)
        if where.outcome is not None:
            done = state.with_(step=OUTCOME, outcome=where.outcome, decided_by=where.decided_by)
            return Turn(done, self.kit.say.outcome(where.outcome, where.decided_by, answers))
        nxt = flow_next_step(answers) or FIRST
        asking = state.with_(step=ask_step(nxt))
        return Turn(asking, [self.question(asking, nxt)])

    # ------------------------------------------------------------------ fallbacks
    def back(self, state: DialogState, event: Event) -> Turn:
        say = self.kit.say
        if not state.answers:
            return Turn(state, [say.info("nothing_to_undo"), *self.current(state)])
        if state.step == OUTCOME and state.decided_by == DECIDED_BY_TEXT:
            # danger wording decided it, not the last answer: ask about danger again
            back = reset_outcome(state.with_(step=ask_step(FIRST)))
            return Turn(back, [say.info("went_back"), self.question(back, FIRST)])
        qid, _ = state.answers[-1]
        back = reset_outcome(state.with_(answers=state.answers[:-1], step=ask_step(qid)))
        return Turn(back, [say.info("went_back"), self.question(back, qid)])

    def why(self, state: DialogState, event: Event) -> Turn:
        if state_of(state.step) == ASKING:
            return Turn(state, [self.kit.say.why(state.step[2:]), *self.current(state)])
        return Turn(state, [self.kit.say.help(), *self.current(state)])

    # ------------------------------------------------------------------ what the router uses
    def emergency(self, state: DialogState) -> Turn:
        """Danger wording in a message: the emergency outcome, whatever was answered."""
        answers = tuple(a for a in state.answers if a[0] != FIRST)
        done = state.with_(
            step=OUTCOME, outcome=EMERGENCY, decided_by=DECIDED_BY_TEXT, answers=answers
        )
        return Turn(done, self.kit.say.outcome(EMERGENCY, DECIDED_BY_TEXT, done.answer_map))

    def current(self, state: DialogState) -> list[Reply]:
        """Re-show the question waiting for an answer, or the outcome card."""
        if state_of(state.step) == ASKING:
            return [self.question(state, state.step[2:])]
        if state.step == OUTCOME and state.outcome:
            return self.kit.say.outcome(state.outcome, state.decided_by, state.answer_map)[:1]
        return []

    def question(self, state: DialogState, qid: str) -> Reply:
        return self.kit.say.question(qid, question_number(state, qid))

    def reconcile(self, state: DialogState) -> tuple[DialogState, list[Reply]]:
        """A dialog saved under an older version of the flow carries on under this one: a
        question no longer next, or an outcome the answers no longer give, is put right."""
        if state.decided_by == DECIDED_BY_TEXT or not (state.outcome or state_of(state.step)):
            return state, []
        answers = state.answer_map
        where = walk(answers)
        if state.outcome:
            if where.outcome == state.outcome:
                return state, []
        elif state_of(state.step) != ASKING or state.step == ask_step(
            flow_next_step(answers) or FIRST
        ):
            return state, []
        turn = self.go_on(reset_outcome(state).with_(escalation={}, return_to=""))
        return turn.state, [self.kit.say.info("flow_updated"), *turn.replies]


def reset_outcome(state: DialogState) -> DialogState:
    """A record drafted for the old outcome (its lawful basis above all) must not carry over."""
    return state.with_(outcome="", decided_by="", record={})
