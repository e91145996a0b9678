"""The Teams outbox sender: decision records, escalations, claims and alerts, posted
proactively with conversation references kept in the store (so a restart loses nothing).

A delivery that cannot be posted raises, and the Deliverer tries again later; a 429 becomes
`RetryAfter` with the connector's own wait.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes, Attachment, ConversationReference

from bot.channels.teams import render
from bot.channels.teams.connector import describe, failure_status, retry_after_seconds
from bot.core.conversation import Conversation, answer_labels
from bot.dialogs.record import summary_lines
from bot.records.deliver import RetryAfter
from bot.records.store import Delivery, Store
from bot.report.summary import posted_text
from bot.settings import Settings

REF_PREFIX: Final = "teams:ref:"
MAX_REMEMBERED: Final = 10_000
THROTTLED_WAIT_SECONDS: Final = 5.0  # when a 429 comes without Retry-After


class MissingReference(RuntimeError):
    """The bot has no conversation reference for where a delivery must go."""


class DeliveryFailed(RuntimeError):
    """The connector refused a delivery; the Deliverer will try again."""


def reference_key(conversation: str) -> str:
    """Store key of a reference: a channel's conversation id, or a personal chat's key."""
    return REF_PREFIX + conversation


class References:
    """Conversation references in the store, written only when they change."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._known: OrderedDict[str, str] = OrderedDict()

    async def save(
        self, conversation: str, reference: ConversationReference, *, now: datetime
    ) -> None:
        key = reference_key(conversation)
        value = json.dumps(reference.serialize(), sort_keys=True)
        if self._known.get(key) == value:
            return
        await self.store.kv_set(key, value, now=now)
        self._known[key] = value
        self._known.move_to_end(key)
        while len(self._known) > MAX_REMEMBERED:
            self._known.popitem(last=False)

    async def load(self, conversation: str) -> ConversationReference | None:
        raw = await self.store.kv_get(reference_key(conversation))
        if not raw:
            return None
        reference: ConversationReference = ConversationReference().deserialize(json.loads(raw))
        return reference


def card_message(cards: list[render.Card], summary: str = "") -> Activity:
    return Activity(
        type=ActivityTypes.message,
        attachments=[Attachment(content_type=render.CONTENT_TYPE, content=c) for c in cards],
        attachment_layout="list" if len(cards) > 1 else None,
        summary=summary or None,
    )


class Poster:
    """Proactive posts and updates through the adapter, as new top-level messages."""

    def __init__(self, adapter: CloudAdapter, app_id: str) -> None:
        self.adapter = adapter
        self.app_id = app_id

    async def post(self, reference: ConversationReference, activity: Activity) -> str:
        """Post `activity` to the referenced conversation; return the new message's id."""
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

    async def deliver(self, delivery: Delivery) -> str:
        """Post one delivery; return "<conversation id>|<activity id>"."""
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
        except (MissingReference, DeliveryFailed, RetryAfter):
            raise
        except Exception as exc:
            status = failure_status(exc)
            if status == 429:
                wait = retry_after_seconds(exc)
                raise RetryAfter(THROTTLED_WAIT_SECONDS if wait is None else wait) from exc
            if status is not None:
                raise DeliveryFailed(f"{describe(exc)} for {delivery.target}") from exc
            raise
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
        )

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
