"""Practitioners and leads using the real bot (`Bot.handle` with clicks, typed lines and the
record form, `Bot.claim`), so the report is tested on records made the way people make them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.slack.sender import SlackSender
from bot.core.replies import Inbound
from bot.dialogs.flow import ALL_QUESTIONS, SKIP
from bot.records.deliver import Deliverer
from bot.service import Bot, Handled
from bot.settings import Settings
from tests.fakes.slack_api import FakeSlack

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


# Typed questions over the month (counted as answers given outside a turn, until the router
# emits Asked effects itself).
QUESTIONS = [
    (day(2, 9), "is consent always needed?"),
    (day(2, 11), "is GDPR a barrier to sharing information?"),
    (day(5, 9), "is consent always needed before I share?"),
    (day(5, 15), "what is the capital of France?"),
    (day(12, 10), "do we need an information sharing agreement before we share?"),
    (day(12, 11), "do I need consent to share?"),
    (day(19, 10), "what is our lawful basis for sharing?"),
    (day(19, 12), "how do I reset my password?"),
    (day(26, 10), "can I share without consent?"),
]


async def make_a_month(bot: Bot, clock: Clock, settings: Settings, fake: FakeSlack) -> None:
    """A month of fictional practice: decisions, requests for advice, claims, deliveries."""
    teacher = Practitioner(bot, "U0TEACH001")
    nurse = Practitioner(bot, "U0NURSE001")
    clock.at(day(31, 23, 59, month=10))
    await teacher.record("share", "CP-2026-0001")  # the day before the period
    clock.at(day(30, 9, month=10))
    late = await nurse.ask_for_advice("CP-2026-0002", "Should the housing officer be told?")
    clock.advance(minutes=5)
    await bot.claim(late["id"], "U0LEAD0001", "Lead One")
    for when, who, outcome, ref in [
        (day(2), teacher, "share_without_consent", "CP-2026-0101"),
        (day(3), teacher, "do_not_share", "CP-2026-0102"),
        (day(9), nurse, "emergency", "CP-2026-0103"),
        (day(10), teacher, "share", "CP-2026-0104"),
        (day(17, 16, 30), nurse, "must_share", "CP-2026-0105"),
    ]:
        clock.at(when)
        await who.record(outcome, ref)
    clock.at(day(4, 10))
    first = await nurse.ask_for_advice("CP-2026-0201", "Is the GP request legitimate?")
    clock.advance(minutes=12)
    await bot.claim(first["id"], "U0LEAD0002", "Lead Two")
    clock.at(day(11, 14))
    second = await teacher.ask_for_advice("CP-2026-0202", "Can the club tell the school?")
    clock.advance(minutes=90)
    await bot.claim(second["id"], "U0LEAD0001", "Lead One")
    await bot.claim(second["id"], "U0LEAD0002", "Lead Two")  # too late: already claimed
    clock.at(day(20, 8))
    await nurse.ask_for_advice("CP-2026-0203", "Does the consent of the mother matter here?")

    for when, question in QUESTIONS:
        clock.at(when)
        await bot.count_answer(question, bot.conversation.knowledge.ask(question))

    clock.at(day(25, 12))
    sender = SlackSender(
        AsyncWebClient(token=settings.slack_bot_token, base_url=fake.api_url), bot, settings
    )
    deliverer = Deliverer(bot.store, {"slack": sender}, clock)
    for _ in range(10):  # bounded: each pass delivers what is due
        if await deliverer.run_once() == 0:
            break
    clock.at(day(26, 9))
    await teacher.record("ask_consent", "CP-2026-0106")  # not tried yet: pending
    clock.at(day(1, 0, 0, month=12))
    await nurse.record("seek_advice", "CP-2026-0107")  # the day after the period
