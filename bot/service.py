"""The application service: runs one turn against the store, with retries on conflicts.

Channels call `Bot.handle(inbound)`; it loads the conversation's state, runs the pure core,
and commits the new state with any records and their deliveries in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.core.conversation import Conversation, new_id
from bot.core.effects import Asked, Escalate, SaveRecord
from bot.core.replies import Inbound, Reply, ReplyKind
from bot.dialogs.state import DialogState
from bot.knowledge.search import Lookup
from bot.ratelimit import RateLimiter
from bot.records.store import NewRecord, Question, Store
from bot.report.gaps import Scrubber
from bot.settings import Settings

log = logging.getLogger("canishare")
MAX_CONFLICT_RETRIES = 10  # another replica changed the conversation meanwhile: run it again
RATE_LIMITED_CHANNELS = frozenset({"slack", "teams"})  # the console and decide are local
UNANSWERED = "none"  # the answer id of a question the bot could not answer


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Handled:
    replies: list[Reply]
    duplicate: bool = False
    records: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ClaimResult:
    won: bool
    lead_name: str
    escalation: dict[str, Any]
    message: str


class KeyedLocks:
    """One asyncio lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def platform_of(channel: str) -> str:
    return channel if channel in ("slack", "teams") else ""


class Bot:
    """One core, one store, any channel."""

    def __init__(
        self,
        conversation: Conversation,
        store: Store,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.conversation = conversation
        self.store = store
        self.settings = settings
        self.clock = clock
        self.limiter = RateLimiter(settings.rate_limit_per_minute)
        self._locks = KeyedLocks()
        self._scrubber: Scrubber | None = None

    # ------------------------------------------------------------------ targets
    def record_targets(self, channel: str) -> tuple[str, ...]:
        """Where a decision record goes: the record channel of the platform it came from,
        else whichever record channel is configured."""
        slack = bool(self.settings.slack_enabled and self.settings.record_channel)
        teams = bool(self.settings.teams_record_conversation)
        return self._pick(channel, slack, teams, "record")

    def leads_targets(self, channel: str) -> tuple[str, ...]:
        slack = bool(self.settings.slack_enabled and self.settings.leads_channel)
        teams = bool(self.settings.teams_leads_conversation)
        return self._pick(channel, slack, teams, "leads")

    @staticmethod
    def _pick(channel: str, slack: bool, teams: bool, what: str) -> tuple[str, ...]:
        if channel == "slack" and slack:
            return (f"slack:{what}",)
        if channel == "teams" and teams:
            return (f"teams:{what}",)
        if slack:
            return (f"slack:{what}",)
        if teams:
            return (f"teams:{what}",)
        return ()

    # ------------------------------------------------------------------ turns
    async def handle(self, inbound: Inbound, *, event_id: str | None = None) -> Handled:
        """Run one turn. A repeated `event_id` (a platform retry) is answered with nothing."""
        # Turns of one conversation queue up in this process; across replicas the store's
        # version check decides, and the loser runs its turn again on the new state.
        async with self._locks.hold(inbound.conversation):
            return await self._run_turn(inbound, event_id)

    async def _run_turn(self, inbound: Inbound, event_id: str | None) -> Handled:
        for attempt in range(MAX_CONFLICT_RETRIES):
            if attempt:
                await asyncio.sleep(random.uniform(0.005, 0.02) * attempt)
            raw, version, seen = await self.store.load_turn(inbound.conversation, event_id)
            if seen:
                return Handled([], duplicate=True)
            if attempt == 0 and self._over_limit(inbound):
                text = self.conversation.words.text("rate_limited")
                return Handled([Reply(kind=ReplyKind.INFO, text=text)])
            turn = self.conversation.step(DialogState.from_json(raw), inbound)
            records = [
                self._new_record(e, inbound.channel)
                for e in turn.effects
                if isinstance(e, SaveRecord | Escalate)
            ]
            committed = await self.store.commit_turn(
                inbound.conversation,
                turn.state.to_json(),
                version,
                now=self.clock(),
                records=records,
                event_id=event_id,
                questions=[self._question(e) for e in turn.effects if isinstance(e, Asked)],
            )
            if committed.status == "duplicate":
                return Handled([], duplicate=True)
            if committed.status == "ok":
                replies = turn.replies + self._notes_for(records)
                return Handled(replies, records=[dict(r.body) for r in records])
            log.info("state of %s changed meanwhile; running the turn again", inbound.conversation)
        busy = Reply(
            kind=ReplyKind.INFO,
            text="Two of your messages arrived at once. Please send that one again.",
        )
        return Handled([busy])

    def _over_limit(self, inbound: Inbound) -> bool:
        return inbound.channel in RATE_LIMITED_CHANNELS and not self.limiter.allow(inbound.user)

    def _new_record(self, effect: SaveRecord | Escalate, channel: str) -> NewRecord:
        if isinstance(effect, SaveRecord):
            return NewRecord("decision", effect.record, self.record_targets(channel))
        return NewRecord(
            "escalation", effect.escalation, self.leads_targets(channel), escalation=True
        )

    # ------------------------------------------------------------------ questions counted
    async def count_question(self, answer_id: str, text: str = "") -> bool:
        """Count a question answered outside a dialog turn (Slack /myth, the Teams message
        extension) for the leads' report: its answer id, "emergency", or "none" with the text
        (kept, scrubbed, only when CANISHARE_KEEP_UNANSWERED_DAYS is set). Counting never
        stands in the way of an answer: a store failure is logged and False returned."""
        try:
            await self.store.count_questions(
                [self._question(Asked(answer_id, text))], now=self.clock()
            )
        except Exception as exc:
            log.warning("could not count a question for the report: %s", exc)
            return False
        return True

    async def count_answer(self, question: str, result: Lookup) -> None:
        """`count_question` for a knowledge lookup's result (a channel can spawn it as is)."""
        if result.entry is None:
            await self.count_question(UNANSWERED, question)
        else:
            await self.count_question(result.entry.id)

    def _question(self, asked: Asked) -> Question:
        if asked.answer_id != UNANSWERED or self.settings.keep_unanswered_days <= 0:
            return Question(asked.answer_id)
        if self._scrubber is None:
            self._scrubber = Scrubber.build(self.conversation.pii, self.conversation.knowledge.kb)
        return Question(asked.answer_id, self._scrubber.scrub(asked.text) or "")

    def _notes_for(self, records: list[NewRecord]) -> list[Reply]:
        """Tell the practitioner when an escalation has nowhere to go yet."""
        notes = []
        for r in records:
            if r.kind == "escalation" and not r.targets:
                say = self.conversation.say
                notes.append(
                    Reply(
                        kind=ReplyKind.WARNING,
                        text=say.escalation("no_leads_channel", escalation_id=r.body["id"]),
                        bullets=self.conversation.knowledge.kb.contact_lines(
                            ["safeguarding_lead", "childrens_front_door", "adults_front_door"]
                        ),
                    )
                )
        return notes

    # ------------------------------------------------------------------ escalation claims
    async def claim(self, escalation_id: str, lead: str, lead_name: str) -> ClaimResult | None:
        """A lead takes an escalation: first click wins; the others and the practitioner are
        told who has it (through the outbox, so the news is never lost)."""
        now = self.clock()
        claim = await self.store.claim_escalation(escalation_id, lead, lead_name, now=now)
        if claim is None:
            return None
        say = self.conversation.say
        esc = dict(claim.escalation)
        name = claim.claimed_by_name or claim.claimed_by
        if not claim.won:
            return ClaimResult(False, name, esc, say.escalation("already_claimed", lead=name))
        platform = platform_of(str(esc.get("channel", ""))) or "slack"
        message = say.escalation(
            "claimed",
            lead=name,
            escalation_id=escalation_id,
            case_reference=esc.get("case_reference", ""),
        )
        body = {
            "id": new_id("C"),
            "created_at": now.isoformat(),
            "escalation_id": escalation_id,
            "lead": lead,
            "lead_name": name,
            "escalation": esc,
            "message": message,
        }
        targets = [t.replace(":leads", ":leads_update") for t in self.leads_targets(platform)]
        if platform_of(str(esc.get("channel", ""))):
            targets.append(f"{platform}:notify")
        await self.store.append([NewRecord("claim", body, tuple(targets))], now=now)
        return ClaimResult(True, name, esc, message)
