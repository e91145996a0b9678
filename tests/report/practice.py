"""Practitioners and leads using the real bot (`Bot.handle` with clicks, typed lines and the
record form, `Bot.claim`), so the report is tested on records made the way people make them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.replies import Inbound
from bot.dialogs.flow import ALL_QUESTIONS, SKIP
from bot.service import Bot, Handled

# Fictional facts that reach each outcome (design.md's precedence table).
FACTS: Mapping[str, Mapping[str, str]] = {
    "emergency": {"immediate_danger": "yes"},
    "must_share": {"immediate_danger": "no", "legal_duty": "yes"},
    "do_not_share": {"immediate_danger": "no", "legal_duty": "no", "legitimate_purpose": "no"},
    "seek_advice": {"immediate_danger": "no", "legal_duty": "no", "legitimate_purpose": "unsure"},
    "share_anonymised": {
        "immediate_danger": "no",
        "legal_duty": "no",
        "legitimate_purpose": "yes",
        "identifiable": "no",
    },
    "share": {
        "immediate_danger": "no",
        "legal_duty": "no",
        "legitimate_purpose": "yes",
        "identifiable": "yes",
        "confidential": "no",
    },
    "share_without_consent": {
        "immediate_danger": "no",
        "legal_duty": "no",
        "legitimate_purpose": "yes",
        "identifiable": "yes",
        "confidential": "yes",
        "risk_of_harm": "yes",
        "adult_wishes": "no",
    },
    "ask_consent": {
        "immediate_danger": "no",
        "legal_duty": "no",
        "legitimate_purpose": "yes",
        "identifiable": "yes",
        "confidential": "yes",
        "risk_of_harm": "no",
        "consent": "not_asked",
        "seeking_consent_safe": "yes",
    },
}


def record_form(case_reference: str, **changes: str) -> dict[str, str]:
    """A complete record form, as a practitioner fills it in (no names: a case reference)."""
    return {
        "case_reference": case_reference,
        "what": "Concerns raised at the after-school club this week",
        "with_whom": "Children's social care, duty social worker",
        "purpose": "So social care can assess the risk at home",
        "lawful_basis": "public_task",
        "special_category": "none",
        "reasons": "Weighed the risk of harm against the duty of confidence",
        **changes,
    }


class Clock:
    """The bot's clock, moved on by the test (deliveries and claims are stamped with it)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, when: datetime) -> Clock:
        self.now = when
        return self

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Practitioner:
    """One practitioner's private conversation with the bot, over a channel."""

    bot: Bot
    user: str
    channel: str = "slack"

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.user}"

    def _inbound(self, **what: Any) -> Inbound:
        return Inbound(self.key, self.user, self.channel, self.bot.clock(), forms=True, **what)

    async def send(self, text: str) -> Handled:
        return await self.bot.handle(self._inbound(text=text))

    async def click(self, q: str, a: str) -> Handled:
        return await self.bot.handle(self._inbound(choice=(q, a)))

    async def submit(self, form: Mapping[str, str]) -> Handled:
        return await self.bot.handle(self._inbound(form=dict(form)))

    async def decide(self, outcome: str) -> Handled:
        """Start the decision and click the answers that lead to `outcome`."""
        facts = FACTS[outcome]
        handled = await self.click("menu", "start")
        for _ in range(len(ALL_QUESTIONS) + 1):
            reached = [r.outcome for r in handled.replies if r.outcome]
            if reached:
                assert reached == [outcome], f"reached {reached}, expected {outcome}"
                return handled
            asked = [r.question_id for r in handled.replies if r.question_id]
            qid = asked[-1] if asked else None
            assert qid in ALL_QUESTIONS, f"expected a question, got {handled.replies}"
            handled = await self.click(qid, facts.get(qid, SKIP))
        raise AssertionError("the dialog did not reach an outcome")

    async def record(self, outcome: str, case_reference: str, **changes: str) -> dict[str, Any]:
        """Reach `outcome`, then fill in and save the record form; the record as saved."""
        await self.decide(outcome)
        await self.click("record", "start")
        handled = await self.submit(record_form(case_reference, **changes))
        assert len(handled.records) == 1, f"the record was not saved: {handled.replies}"
        return handled.records[0]

    async def ask_for_advice(self, case_reference: str, question: str) -> dict[str, Any]:
        """Reach "seek advice", then send the leads a request for advice; the escalation."""
        await self.decide("seek_advice")
        await self.click("escalate", "start")
        await self.send(case_reference)
        handled = await self.send(question)
        assert len(handled.records) == 1, f"no request for advice was sent: {handled.replies}"
        return handled.records[0]


def day(d: int, hour: int = 10, minute: int = 0, *, month: int = 11) -> datetime:
    """A moment in 2026 (November unless said), UTC."""
    return datetime(2026, month, d, hour, minute, tzinfo=UTC)
