"""The request to a safeguarding lead: a case reference, then the question, then it is sent.

state      rows (what the person does → what happens)
─────────  ──────────────────────────────────────────────────────────────────────────
entry      "Ask my safeguarding lead" / "ask my DSL" → the case reference (skipped when
           the record already has one)
reference  the words → the question, if they look like a case reference and hold no
           personal details
question   the words → sent (an Escalate effect), then back to where the person was;
           the practitioner's own call-back number and a professional's name by their
           role are fine, a child's or family's details are not
fallbacks  "cancel" / Cancel button → nothing sent, back to where the person was
           "back" → from the question to the case reference
end        back to the step the request was started from
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core.effects import Escalate
from bot.core.replies import Choice, Reply, ReplyKind
from bot.dialogs.kit import Kit
from bot.dialogs.machine import Event, Machine, Turn, on_click, on_command, on_text
from bot.dialogs.personal_details import looks_like_a_reference
from bot.dialogs.say import ESCALATE, MENU
from bot.dialogs.state import ESC_QUESTION, ESC_REFERENCE, IDLE, DialogState

REFERENCE = "reference"
QUESTION = "question"
MAX_REFERENCE = 60
MAX_QUESTION = 1000


def state_of(step: str) -> str | None:
    return {ESC_REFERENCE: REFERENCE, ESC_QUESTION: QUESTION}.get(step)


class Escalation:
    """The escalation dialog's rows, and the steps it is made of."""

    def __init__(self, kit: Kit, *, resume: Callable[[DialogState], list[Reply]]) -> None:
        self.kit = kit
        self.resume = resume  # re-show whatever the person was in the middle of
        self.table = Machine(
            name="escalation",
            entry_points=(
                on_click(ESCALATE, self.start, value="start"),
                on_click(MENU, self.start, value="escalate"),
                on_command("escalate", self.start),
            ),
            states={
                REFERENCE: (on_text(self.reference),),
                QUESTION: (on_text(self.question),),
            },
            fallbacks=(
                on_command("cancel", self.cancel),
                on_click(ESCALATE, self.cancel, value="cancel"),
                on_command("back", self.back),
            ),
            state_of=state_of,
            steps=(ESC_REFERENCE, ESC_QUESTION),
            current=self.current,
        )

    def start(self, state: DialogState, event: Event) -> Turn:
        back_to = state.return_to if state_of(state.step) else state.step
        reference = state.record.get("case_reference", "")
        esc = state.with_(
            escalation={"case_reference": reference} if reference else {}, return_to=back_to
        )
        asking = esc.with_(step=ESC_QUESTION if reference else ESC_REFERENCE)
        return Turn(asking, self.current(asking))

    def reference(self, state: DialogState, event: Event) -> Turn:
        text = event.value.strip()
        if not text or len(text) > MAX_REFERENCE:
            return Turn(state, [self.kit.reask(), *self.current(state)])
        problem = self._problem("case_reference", text, event)
        if problem is None and not looks_like_a_reference(text):
            problem = self.kit.words.text("case_reference_shape")
        if problem is not None:
            return Turn(state, [self.kit.say.warning("", problem), *self.current(state)])
        escalation = {**state.escalation, "case_reference": text}
        asking = state.with_(escalation=escalation, step=ESC_QUESTION)
        return Turn(asking, self.current(asking))

    def question(self, state: DialogState, event: Event) -> Turn:
        text = event.value.strip()
        if not text or len(text) > MAX_QUESTION:
            return Turn(state, [self.kit.reask(), *self.current(state)])
        problem = self._problem("question", text, event)
        if problem is not None:
            return Turn(state, [self.kit.say.warning("", problem), *self.current(state)])
        return self.send(state.with_(escalation={**state.escalation, "question": text}), event)

    def _problem(self, field_id: str, text: str, event: Event) -> str | None:
        found = self.kit.policy.findings(field_id, text, event.inbound.now.date())
        if not found:
            return None
        label = "Case reference" if field_id == "case_reference" else "Your question"
        return self.kit.say.pii_found(label, found, field_id)

    def send(self, state: DialogState, event: Event) -> Turn:
        inbound = event.inbound
        escalation: dict[str, Any] = {
            "id": self.kit.ids("E"),
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
        resumed = self.end(state)
        sent = Reply(
            kind=ReplyKind.INFO,
            title=self.kit.say.escalation("sent_title"),
            text=self.kit.say.escalation("sent", escalation_id=escalation["id"]),
            bullets=self.kit.words.kb.contact_lines(["safeguarding_lead"]),
        )
        follow = self.resume(resumed) if resumed.in_dialog else []
        return Turn(resumed, [sent, *follow], [Escalate(escalation)])

    def cancel(self, state: DialogState, event: Event) -> Turn:
        """Drop the request being written; the decision carries on where it was."""
        resumed = self.end(state)
        cancelled = Reply(kind=ReplyKind.INFO, text=self.kit.say.escalation("cancelled"))
        follow = self.resume(resumed) if resumed.in_dialog else self.kit.say.menu()
        return Turn(resumed, [cancelled, *follow])

    def back(self, state: DialogState, event: Event) -> Turn:
        if state.step == ESC_QUESTION:
            back = state.with_(step=ESC_REFERENCE)
            return Turn(back, [self.kit.say.info("went_back"), *self.current(back)])
        return Turn(state, [self.kit.say.info("nothing_to_undo"), *self.current(state)])

    def end(self, state: DialogState) -> DialogState:
        """Back to the step the request was started from."""
        back = state.return_to if state.return_to and not state_of(state.return_to) else IDLE
        return state.with_(step=back, escalation={}, return_to="")

    def current(self, state: DialogState) -> list[Reply]:
        key = {ESC_REFERENCE: "ask_reference", ESC_QUESTION: "ask_question"}.get(state.step)
        if key is None:
            return []
        cancel = Choice(self.kit.say.escalation("cancel_label"), ESCALATE, "cancel")
        return [
            Reply(
                kind=ReplyKind.QUESTION,
                text=self.kit.say.escalation(key),
                note=self.kit.say.escalation("cancel_hint"),
                choices=(cancel,),
            )
        ]
