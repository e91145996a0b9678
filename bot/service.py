"""The application service: runs one turn against the store, with retries on conflicts.

Channels call `Bot.handle(inbound)`; it loads the conversation's state, runs the pure core,
and commits the new state with any records and their deliveries in one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.conversation import Conversation, new_id
from bot.core.effects import Asked, Escalate, SaveRecord
from bot.core.pii import clean_text
from bot.core.replies import Inbound, Reply, ReplyKind
from bot.dialogs.record import summary_lines
from bot.dialogs.state import DialogState
from bot.knowledge.search import Lookup
from bot.ratelimit import RateLimiter
from bot.records.db import StoreUnavailable
from bot.records.store import NewRecord, Question, Store
from bot.report.gaps import Scrubber
from bot.settings import Settings

log = logging.getLogger("canishare")
MAX_CONFLICT_RETRIES = 10  # another replica changed the conversation meanwhile: run it again
RATE_LIMITED_CHANNELS = frozenset({"slack", "teams"})  # the console and decide are local
UNANSWERED = "none"  # the answer id of a question the bot could not answer
# A failed write keeps the store reported unhealthy this long, unless a later write succeeds.
STORE_FAILURE_MEMORY = timedelta(seconds=60)
NO_RECORD_CHANNEL = (
    "no record channel is set up (CANISHARE_RECORD_CHANNEL for Slack, "
    "CANISHARE_TEAMS_RECORD_CONVERSATION for Teams); run 'canishare records retry' once one is"
)
NO_LEADS_CHANNEL = (
    "no safeguarding leads channel is set up (CANISHARE_LEADS_CHANNEL for Slack, "
    "CANISHARE_TEAMS_LEADS_CONVERSATION for Teams); run 'canishare records retry' once one is"
)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Handled:
    """What a turn produced for the channel to show. `store_failed` means nothing of this turn
    was saved (the replies then say so and ask the person to try again)."""

    replies: list[Reply]
    duplicate: bool = False
    records: list[dict[str, Any]] = field(default_factory=list)
    store_failed: bool = False


def clean_value(value: Any) -> Any:
    """A record value as it is stored: every string cleaned (`clean_text`) and kept to one
    line, so no field can forge a line of its own ("• Lawful basis: …") in a posted record."""
    if isinstance(value, str):
        return clean_text(value, one_line=True)
    if isinstance(value, Mapping):
        return {clean_value(k): clean_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_value(v) for v in value]
    return value


def clean_inbound(inbound: Inbound) -> Inbound:
    """What a person sent, with the characters that hide text (zero-width, soft hyphens,
    bidi overrides, controls) removed and compatibility forms unified (NFKC), before the core
    checks or stores any of it."""
    text = clean_text(inbound.text) if inbound.text else inbound.text
    form = {k: clean_text(v) for k, v in inbound.form.items()} if inbound.form else inbound.form
    name = clean_text(inbound.user_name, one_line=True)
    if text == inbound.text and form == inbound.form and name == inbound.user_name:
        return inbound
    return dataclasses.replace(inbound, text=text, form=form, user_name=name)


def targets_for(kind: str, channel: str, settings: Settings) -> tuple[str, ...]:
    """Where a record of `kind` ("decision" or "escalation") made on `channel` goes: that
    platform's record (or leads) channel, else whichever one is set up; () when none is."""
    what = "leads" if kind == "escalation" else "record"
    if what == "record":
        slack = bool(settings.slack_enabled and settings.record_channel)
        teams = bool(settings.teams_record_conversation)
    else:
        slack = bool(settings.slack_enabled and settings.leads_channel)
        teams = bool(settings.teams_leads_conversation)
    if channel == "slack" and slack:
        return (f"slack:{what}",)
    if channel == "teams" and teams:
        return (f"teams:{what}",)
    if slack:
        return (f"slack:{what}",)
    if teams:
        return (f"teams:{what}",)
    return ()


@dataclass
class StoreHealth:
    """The last time a turn could not write to the store, until a later write succeeds."""

    failed_at: datetime | None = None
    reason: str = ""

    def failed(self, reason: str, now: datetime) -> None:
        self.failed_at, self.reason = now, reason

    def succeeded(self) -> None:
        self.failed_at, self.reason = None, ""

    def problem(self, now: datetime) -> str | None:
        if self.failed_at is None or now - self.failed_at > STORE_FAILURE_MEMORY:
            return None
        return self.reason


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


SERVICE_WORDS = (
    ("couldnt_save",),
    ("busy",),
    ("record_saved_undelivered", "title"),
    ("record_saved_undelivered", "text"),
    ("record_saved_undelivered", "why"),
    ("escalation", "sent"),
    ("escalation", "not_sent_title"),
    ("escalation", "no_leads_channel"),
)


def _check_words(conversation: Conversation) -> None:
    """The messages the service itself says must exist (a missing one stops start-up)."""
    from bot.knowledge.base import KnowledgeError

    for path in SERVICE_WORDS:
        node: Any = conversation.words.raw.get("messages", {})
        for key in path:
            node = node.get(key) if isinstance(node, Mapping) else None
        if not isinstance(node, str) or not node.strip():
            raise KnowledgeError(
                "bot/knowledge/dialog/messages.yaml",
                ".".join(path),
                "missing (the service says it)",
            )


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
        self.store_health = StoreHealth()
        _check_words(conversation)
        self._locks = KeyedLocks()
        self._scrubber: Scrubber | None = None

    # ------------------------------------------------------------------ targets
    def record_targets(self, channel: str) -> tuple[str, ...]:
        """Where a decision record goes: the record channel of the platform it came from,
        else whichever record channel is configured."""
        return targets_for("decision", channel, self.settings)

    def leads_targets(self, channel: str) -> tuple[str, ...]:
        return targets_for("escalation", channel, self.settings)

    # ------------------------------------------------------------------ turns
    async def handle(self, inbound: Inbound, *, event_id: str | None = None) -> Handled:
        """Run one turn. A repeated `event_id` (a platform retry) is answered with nothing.
        When the store cannot be read or written, nothing of the turn is kept and the person
        is asked to try again (the event is not marked handled, so a retry runs it)."""
        inbound = clean_inbound(inbound)
        try:
            # Turns of one conversation queue up in this process; across replicas the store's
            # version check decides, and the loser runs its turn again on the new state.
            async with self._locks.hold(inbound.conversation):
                handled = await self._run_turn(inbound, event_id)
        except StoreUnavailable as exc:
            self.store_health.failed(str(exc), self.clock())
            log.error("could not save a turn of %s: the store said: %s", inbound.channel, exc)
            text = self.conversation.words.text("couldnt_save")
            return Handled([Reply(kind=ReplyKind.WARNING, text=text)], store_failed=True)
        return handled

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
                self.store_health.succeeded()  # a write went through: the store takes writes
                replies = self._honest(turn.replies, records)
                return Handled(replies, records=[dict(r.body) for r in records])
            log.info("state of %s changed meanwhile; running the turn again", inbound.conversation)
        busy = Reply(kind=ReplyKind.INFO, text=self.conversation.words.text("busy"))
        return Handled([busy])

    def _over_limit(self, inbound: Inbound) -> bool:
        return inbound.channel in RATE_LIMITED_CHANNELS and not self.limiter.allow(inbound.user)

    def _new_record(self, effect: SaveRecord | Escalate, channel: str) -> NewRecord:
        """Every record passes here: its text is cleaned before it is hashed and stored."""
        if isinstance(effect, SaveRecord):
            body = clean_value(effect.record)
            return NewRecord(
                "decision", body, self.record_targets(channel), no_destination=NO_RECORD_CHANNEL
            )
        return NewRecord(
            "escalation",
            clean_value(effect.escalation),
            self.leads_targets(channel),
            escalation=True,
            no_destination=NO_LEADS_CHANNEL,
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

    def _honest(self, replies: list[Reply], records: list[NewRecord]) -> list[Reply]:
        """The turn's replies, saying what was stored (the cleaned record) and where it is:
        a record with nowhere to go is "saved, not delivered", never "it will be delivered";
        an escalation with no leads channel is one message saying so, not "it has gone"."""
        out = list(replies)
        for record in records:
            if record.kind == "decision":
                out = [self._summary_as_saved(r, record) for r in out]
            elif record.kind == "escalation" and not record.targets:
                out = self._escalation_not_sent(out, record)
        return out

    def _summary_as_saved(self, reply: Reply, record: NewRecord) -> Reply:
        shown = reply.record
        if reply.kind != ReplyKind.SUMMARY or not shown or shown.get("id") != record.body["id"]:
            return reply
        saved = dict(record.body)
        bullets = tuple(summary_lines(saved, self.conversation.rec))
        if record.targets:
            return dataclasses.replace(reply, bullets=bullets, record=saved)
        words = self.conversation.words.message("record_saved_undelivered")
        text = str(words["text"]).format(record_id=saved["id"], why=words["why"])
        return dataclasses.replace(  # still the SUMMARY: channels know a record was saved
            reply,
            title=str(words["title"]),
            text=text,
            bullets=bullets,
            record=saved,
        )

    def _escalation_not_sent(self, replies: list[Reply], record: NewRecord) -> list[Reply]:
        say = self.conversation.say
        escalation_id = record.body["id"]
        sent = say.escalation("sent", escalation_id=escalation_id)
        honest = Reply(
            kind=ReplyKind.WARNING,
            title=say.escalation("not_sent_title"),
            text=say.escalation("no_leads_channel", escalation_id=escalation_id),
            bullets=self.conversation.knowledge.kb.contact_lines(
                ["safeguarding_lead", "childrens_front_door", "adults_front_door"]
            ),
        )
        if not any(r.text == sent for r in replies):
            return [*replies, honest]
        return [honest if r.text == sent else r for r in replies]

    # ------------------------------------------------------------------ escalation claims
    async def claim(self, escalation_id: str, lead: str, lead_name: str) -> ClaimResult | None:
        """A lead takes an escalation: first click wins; the others and the practitioner are
        told who has it (through the outbox, so the news is never lost). When the store cannot
        take the claim, nothing is claimed and the result says to try again."""
        lead_name = clean_text(lead_name, one_line=True)
        try:
            return await self._claim(escalation_id, lead, lead_name)
        except StoreUnavailable as exc:
            self.store_health.failed(str(exc), self.clock())
            log.error("could not save a claim of %s: the store said: %s", escalation_id, exc)
            text = self.conversation.words.text("couldnt_save")
            return ClaimResult(False, "", {}, text)

    async def _claim(self, escalation_id: str, lead: str, lead_name: str) -> ClaimResult | None:
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
