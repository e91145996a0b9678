"""The Teams outbox sender: decision records, escalations, claims and alerts, posted
proactively with conversation references kept in the store (so a restart loses nothing).

A delivery that cannot be posted raises, and the Deliverer tries again later; a 429 becomes
`RetryAfter` with the connector's own wait; a fault no retry can mend (401, 403, 404) becomes
`PermanentFailure`, naming the fault and the fix. Every delivery ends inside its deadline,
shorter than the outbox lease.

What is kept per conversation is small and bounded: a reference holds ids and the serviceUrl
only (no names), channels are remembered only when they are the configured record or leads
conversation, and old entries are purged (`purge`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
)

from bot.channels.teams import render
from bot.channels.teams.connector import (
    deadline_for,
    describe,
    failure_status,
    permanent_fault,
    retry_after_seconds,
)
from bot.core.conversation import Conversation, answer_labels
from bot.dialogs.record import summary_lines
from bot.records.deliver import PermanentFailure, RetryAfter
from bot.records.store import Delivery, Store
from bot.report.summary import posted_text
from bot.settings import Settings

REF_PREFIX: Final = "teams:ref:"
CARDS_PREFIX: Final = "teams:cards:"
MAX_REMEMBERED: Final = 10_000
MAX_ID_LENGTH: Final = 512  # Teams ids are well under 200 characters
MAX_SENT_KEPT: Final = 3  # messages with live choices kept per personal chat
REFRESH_AFTER: Final = timedelta(hours=12)  # a reference in use is re-stamped, so no purge takes it
REFERENCE_DAYS: Final = 90  # a chat unheard from this long is forgotten
THROTTLED_WAIT_SECONDS: Final = 5.0  # when a 429 comes without Retry-After
LOOPBACK_NAMES: Final = frozenset({"localhost"})


class MissingReference(RuntimeError):
    """The bot has no conversation reference for where a delivery must go."""


class DeliveryFailed(RuntimeError):
    """The connector refused a delivery; the Deliverer will try again."""


def reference_key(conversation: str) -> str:
    """Store key of a reference: a channel's conversation id, or a personal chat's key."""
    return REF_PREFIX + conversation


def is_loopback_url(url: str | None) -> bool:
    """Whether a serviceUrl points at this machine (127.0.0.0/8, ::1 or localhost)."""
    try:
        host = urlsplit(str(url or "")).hostname or ""
    except ValueError:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def slim_reference(reference: ConversationReference) -> ConversationReference | None:
    """Only what posting later needs — ids, tenant and serviceUrl, no names — or None when a
    part is missing or longer than Teams would ever send."""
    conversation = reference.conversation
    bot = reference.bot
    user = reference.user
    parts = [
        reference.service_url,
        conversation.id if conversation else None,
        bot.id if bot else None,
    ]
    if not all(isinstance(p, str) and 0 < len(p) <= MAX_ID_LENGTH for p in parts):
        return None
    extra = [
        conversation.tenant_id if conversation else None,
        conversation.conversation_type if conversation else None,
        user.id if user else None,
        user.aad_object_id if user else None,
    ]
    if any(x is not None and (not isinstance(x, str) or len(x) > MAX_ID_LENGTH) for x in extra):
        return None
    return ConversationReference(
        activity_id=None,
        bot=ChannelAccount(id=bot.id),
        channel_id="msteams",
        conversation=ConversationAccount(
            id=conversation.id,
            is_group=bool(conversation.is_group) or None,
            conversation_type=conversation.conversation_type,
            tenant_id=conversation.tenant_id,
        ),
        service_url=reference.service_url,
        user=ChannelAccount(id=user.id, aad_object_id=user.aad_object_id) if user else None,
    )


class References:
    """Conversation references in the store, written when they change (or are getting old)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._known: OrderedDict[str, tuple[str, datetime]] = OrderedDict()

    async def save(
        self, conversation: str, reference: ConversationReference, *, now: datetime
    ) -> bool:
        """Keep a (slimmed) reference; False when it is not one worth keeping."""
        slim = slim_reference(reference)
        if slim is None:
            return False
        key = reference_key(conversation)
        value = json.dumps(slim.serialize(), sort_keys=True)
        known = self._known.get(key)
        if known is not None and known[0] == value and now - known[1] < REFRESH_AFTER:
            return True
        await self.store.kv_set(key, value, now=now)
        self._known[key] = (value, now)
        self._known.move_to_end(key)
        while len(self._known) > MAX_REMEMBERED:
            self._known.popitem(last=False)
        return True

    async def load(self, conversation: str) -> ConversationReference | None:
        raw = await self.store.kv_get(reference_key(conversation))
        if not raw:
            return None
        reference: ConversationReference = ConversationReference().deserialize(json.loads(raw))
        return reference

    async def purge(self, *, now: datetime, keep: Sequence[str], idle_hours: float) -> int:
        """Forget chats unheard from for `REFERENCE_DAYS` (never the conversations in `keep`)
        and the cards of messages older than the idle time; return how many went."""
        self._known.clear()
        references = await self.store.kv_purge(
            REF_PREFIX,
            before=now - timedelta(days=REFERENCE_DAYS),
            keep=[reference_key(k) for k in keep],
        )
        cards = await self.store.kv_purge(CARDS_PREFIX, before=now - timedelta(hours=idle_hours))
        return references + cards


class SentCards:
    """The cards of the last few messages with choices in each personal chat, so that a click
    can retire the message it came from ("You answered: …")."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def remember(
        self, conversation: str, activity_id: str, cards: Sequence[render.Card], *, now: datetime
    ) -> None:
        if not activity_id or len(activity_id) > MAX_ID_LENGTH:
            return
        kept = await self._load(conversation)
        kept.pop(activity_id, None)
        kept[activity_id] = list(cards)
        while len(kept) > MAX_SENT_KEPT:
            kept.pop(next(iter(kept)))
        await self.store.kv_set(CARDS_PREFIX + conversation, json.dumps(kept), now=now)

    async def take_others(
        self, conversation: str, keep: Sequence[str], *, now: datetime
    ) -> dict[str, list[render.Card]]:
        """The kept messages other than `keep`, which are then forgotten."""
        kept = await self._load(conversation)
        others = {k: v for k, v in kept.items() if k not in keep and isinstance(v, list)}
        if others:
            left = {k: v for k, v in kept.items() if k in keep}
            await self.store.kv_set(CARDS_PREFIX + conversation, json.dumps(left), now=now)
        return others

    async def _load(self, conversation: str) -> dict[str, Any]:
        raw = await self.store.kv_get(CARDS_PREFIX + conversation)
        try:
            kept = json.loads(raw) if raw else {}
        except ValueError:
            return {}
        return kept if isinstance(kept, dict) else {}


@dataclass
class ConnectorHealth:
    """The last connector failure, for `/healthz` (cleared by the next success)."""

    last_error: str = ""
    failed_at: float = 0.0

    def failed(self, description: str) -> None:
        self.last_error, self.failed_at = description, time.time()

    def succeeded(self) -> None:
        self.last_error, self.failed_at = "", 0.0


def card_message(cards: list[render.Card], summary: str = "") -> Activity:
    return Activity(
        type=ActivityTypes.message,
        attachments=[Attachment(content_type=render.CONTENT_TYPE, content=c) for c in cards],
        attachment_layout="list" if len(cards) > 1 else None,
        summary=summary or None,
    )


class Poster:
    """Proactive posts and updates through the adapter, as new top-level messages.

    Unauthenticated (local development) it only ever calls a loopback serviceUrl.
    """

    def __init__(self, adapter: CloudAdapter, app_id: str, *, loopback_only: bool) -> None:
        self.adapter = adapter
        self.app_id = app_id
        self.loopback_only = loopback_only

    def _check(self, reference: ConversationReference) -> None:
        if self.loopback_only and not is_loopback_url(reference.service_url):
            raise PermanentFailure(
                "Teams runs unauthenticated (CANISHARE_TEAMS_DEV) and so posts only to a "
                f"loopback serviceUrl, not {reference.service_url!r}: set MicrosoftAppId to "
                "post to Teams"
            )

    async def post(self, reference: ConversationReference, activity: Activity) -> str:
        """Post `activity` to the referenced conversation; return the new message's id."""
        self._check(reference)
        sent: list[str] = []

        async def send(context: TurnContext) -> None:
            context.activity.id = None  # otherwise it would go as a reply to a made-up id
            response = await context.send_activity(activity)
            sent.append(str(getattr(response, "id", "") or ""))

        await self.adapter.continue_conversation(reference, send, self.app_id)
        return sent[0] if sent else ""

    async def update(
        self, reference: ConversationReference, activity_id: str, activity: Activity
    ) -> None:
        """Replace a message the bot posted earlier, for everyone who sees it."""
        self._check(reference)

        async def update(context: TurnContext) -> None:
            context.activity.id = None
            activity.id = activity_id
            await context.update_activity(activity)

        await self.adapter.continue_conversation(reference, update, self.app_id)


class TeamsSender:
    """Delivers outbox entries whose target starts with "teams:"."""

    def __init__(
        self,
        *,
        poster: Poster,
        references: References,
        store: Store,
        settings: Settings,
        conversation: Conversation,
    ) -> None:
        self.poster = poster
        self.references = references
        self.store = store
        self.settings = settings
        self.conversation = conversation
        self.health = ConnectorHealth()
        self.deadline = deadline_for(settings.delivery_lease_seconds)

    async def deliver(self, delivery: Delivery) -> str:
        """Post one delivery, within its deadline; return "<conversation id>|<activity id>"."""
        try:
            async with asyncio.timeout(self.deadline):  # (wait_for can swallow a cancellation)
                ref = await self._deliver(delivery)
        except TimeoutError:
            fault = (
                f"the Teams connector did not answer within {self.deadline:g}s "
                f"for {delivery.target}"
            )
            self.health.failed(fault)
            raise DeliveryFailed(fault) from None
        except (DeliveryFailed, RetryAfter, PermanentFailure) as exc:
            self.health.failed(str(exc))
            raise
        self.health.succeeded()
        return ref

    async def purge(self, *, now: datetime) -> int:
        """Forget chats long unheard from and old message cards (never the configured record
        and leads channels); return how many entries went."""
        keep = [
            c
            for c in (
                self.settings.teams_record_conversation,
                self.settings.teams_leads_conversation,
            )
            if c
        ]
        return await self.references.purge(now=now, keep=keep, idle_hours=self.settings.idle_hours)

    def _where(self, what: str) -> str:
        """The conversation a delivery goes to, with the setting that names it."""
        if what == "record":
            setting, value = "RECORD", self.settings.teams_record_conversation
        elif what in ("leads", "leads_update", "alert"):
            setting, value = "LEADS", self.settings.teams_leads_conversation
        else:
            return "the practitioner's chat with the bot"
        return f"{value} (CANISHARE_TEAMS_{setting}_CONVERSATION)"

    async def _deliver(self, delivery: Delivery) -> str:
        what = delivery.target.partition(":")[2]
        body: Mapping[str, Any] = delivery.payload.get("record") or {}
        try:
            if what == "record":
                return await self._post(self._channel("record"), self._record_card(body))
            if what == "leads":
                return await self._post(self._channel("leads"), self._escalation_card(body))
            if what == "leads_update":
                return await self._update_escalation(body)
            if what == "notify":
                return await self._notify(body)
            if what == "alert":
                card = render.notice_card(
                    str(body.get("text", "")), bullets=list(body.get("items", [])), loud=True
                )
                return await self._post(self._channel("leads"), card)
            if what == "summary":
                title, text, items = posted_text(body)
                card = render.notice_card(text, title=title, bullets=items)
                return await self._post(self._channel("leads"), card)
        except (MissingReference, DeliveryFailed, RetryAfter, PermanentFailure):
            raise
        except Exception as exc:
            status = failure_status(exc)
            if status == 429:
                wait = retry_after_seconds(exc)
                raise RetryAfter(THROTTLED_WAIT_SECONDS if wait is None else wait) from exc
            fault = permanent_fault(exc, self._where(what))
            if fault is not None:
                raise PermanentFailure(fault) from exc
            raise DeliveryFailed(f"{describe(exc)} for {delivery.target}") from exc
        raise DeliveryFailed(f"unknown Teams target {delivery.target!r}")

    # ------------------------------------------------------------------ where
    def _channel(self, which: str) -> str:
        conversation = (
            self.settings.teams_record_conversation
            if which == "record"
            else self.settings.teams_leads_conversation
        )
        if not conversation:
            name = f"CANISHARE_TEAMS_{which.upper()}_CONVERSATION"
            raise MissingReference(f"{name} is not set")
        return conversation

    async def _reference(
        self, conversation: str, *, personal: bool = False
    ) -> ConversationReference:
        reference = await self.references.load(conversation)
        if reference is None:
            if personal:
                raise MissingReference(
                    f"no personal chat with the practitioner is known yet ({conversation})"
                )
            raise MissingReference(
                f"no conversation reference for {conversation} yet: add the bot to that channel "
                "(or @mention it there once)"
            )
        return reference

    async def _post(self, conversation: str, card: render.Card, *, personal: bool = False) -> str:
        reference = await self._reference(conversation, personal=personal)
        activity_id = await self.poster.post(reference, card_message([card]))
        return f"{reference.conversation.id}|{activity_id}"

    # ------------------------------------------------------------------ what
    def _record_card(self, record: Mapping[str, Any]) -> render.Card:
        words = self.conversation.words
        return render.record_card(
            title=str(words.message("record_saved")["title"]),
            lines=summary_lines(record, self.conversation.rec),
            answers=answer_labels(words, list(record.get("answers", []))),
            words=words.channel,
        )

    def escalation_card(self, escalation: Mapping[str, Any], *, taken_by: str = "") -> render.Card:
        """The leads' card for an escalation (taken by someone, when `taken_by` says so)."""
        return self._escalation_card(escalation, taken_by=taken_by)

    def _escalation_card(self, escalation: Mapping[str, Any], *, taken_by: str = "") -> render.Card:
        say = self.conversation.say
        words = self.conversation.words
        outcome = str(escalation.get("outcome") or "")
        return render.escalation_card(
            escalation,
            title=say.escalation("card_title"),
            answers=answer_labels(words, list(escalation.get("answers", []))),
            outcome_title=str(words.outcome(outcome)["title"]) if outcome else "",
            claim_label=say.escalation("claim_label"),
            taken_by=taken_by,
            words=words.channel,
        )

    async def _update_escalation(self, claim: Mapping[str, Any]) -> str:
        escalation_id = str(claim.get("escalation_id", ""))
        posted = [
            d
            for d in await self.store.deliveries(record_id=escalation_id)
            if d.target == "teams:leads" and d.status == "delivered" and d.external_ref
        ]
        if not posted:
            raise DeliveryFailed(f"the card for {escalation_id} has not been posted yet")
        conversation, _, activity_id = str(posted[0].external_ref).partition("|")
        reference = await self._reference(conversation)
        taken_by = self.conversation.say.escalation("claimed_by", lead=claim.get("lead_name", ""))
        card = self._escalation_card(claim.get("escalation") or {}, taken_by=taken_by)
        await self.poster.update(reference, activity_id, card_message([card]))
        return f"{conversation}|{activity_id}"

    async def _notify(self, claim: Mapping[str, Any]) -> str:
        escalation = claim.get("escalation") or {}
        key = str(escalation.get("conversation", ""))
        card = render.notice_card(str(claim.get("message", "")))
        return await self._post(key, card, personal=True)
