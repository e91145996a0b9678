"""The Slack outbox sender: decision records, escalations, claims and alerts.

Every post carries message metadata naming its delivery, so a retry after a crash between
"posted" and "marked delivered" finds the earlier post in the channel history (every page
back to when the delivery was made) instead of posting twice. A whole delivery has a deadline
well inside the Deliverer's lease. Slack errors no retry can fix raise `PermanentFailure`
naming the fault and the fix; any other exception leaves the delivery pending.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.slack import render
from bot.channels.slack.api import (
    api_error,
    delivery_seconds,
    describe_outage,
    error_code,
    is_permanent,
    is_transient,
    retry_after_seconds,
    status_of,
)
from bot.core.conversation import answer_labels
from bot.dialogs.record import summary_lines
from bot.records.deliver import PermanentFailure, RetryAfter
from bot.records.store import Delivery
from bot.report.summary import posted_text
from bot.service import Bot
from bot.settings import Settings

log = logging.getLogger("canishare.slack")
EVENT_TYPE: Final = "canishare_delivery"
HISTORY_PAGE: Final = 200  # Slack's largest page of conversations.history
HISTORY_MAX_PAGES: Final = 500  # a guard only: the delivery's age bounds the search first
HISTORY_MARGIN_SECONDS: Final = 300.0
DEFAULT_BOT_NAME: Final = "Can I share"


class SlackDeliveryError(Exception):
    """Slack did not take the delivery; it stays pending and is tried again later."""


class RecordChannelRefused(SlackDeliveryError):
    """Records must not go to the record channel as it stands (public, archived, unreadable)."""


class NotReady(SlackDeliveryError):
    """Something this delivery depends on has not been delivered yet."""


def refused_public_channel(channel: str, name: str) -> str:
    where = f"{channel} (#{name})" if name else channel
    return (
        f"CANISHARE_RECORD_CHANNEL {where} is a public channel: decision records are only "
        "posted to a private channel. Records are kept safely in the store and will be "
        "delivered once the channel is private (or the setting names a private channel)."
    )


def refused_unchecked(channel: str, error: str) -> str:
    return (
        f"CANISHARE_RECORD_CHANNEL {channel} could not be confirmed private ({error}); "
        "records are kept safely in the store and retried."
    )


_TOKEN_FAULTS: Final = {
    "invalid_auth": "is not a valid bot token for this workspace",
    "not_authed": "was not sent",
    "token_revoked": "has been revoked (the app was removed or reinstalled)",
    "token_expired": "has expired",
    "account_inactive": "belongs to an app or bot that has been deactivated",
    "team_access_not_granted": "has not been granted access to this workspace",
}


def fix_for(code: str, *, setting: str, channel: str, bot_name: str) -> str:
    """What is wrong and what to do, for a Slack error that retrying cannot fix."""
    invite = f"/invite @{bot_name}"
    if code in _TOKEN_FAULTS:
        return (
            f"Slack refused SLACK_BOT_TOKEN ({code}): the token {_TOKEN_FAULTS[code]}. Copy the "
            "Bot User OAuth Token (xoxb-…) from the app's OAuth & Permissions page into "
            "SLACK_BOT_TOKEN and restart"
        )
    if code == "channel_not_found":
        return (
            f"Slack cannot find {setting} {channel} ({code}): check the channel id, and for a "
            f"private channel invite the bot first ({invite} in that channel)"
        )
    if code == "not_in_channel":
        return f"the bot is not a member of {setting} {channel} ({code}): type {invite} there"
    if code == "is_archived":
        return (
            f"{setting} {channel} is archived ({code}): unarchive it, or set {setting} to an "
            "active private channel"
        )
    if code in ("missing_scope", "no_permission", "restricted_action"):
        return (
            f"Slack refused the bot's post to {setting} {channel} ({code}): reinstall the app "
            "from its manifest so it has the scopes it needs, or ask a workspace admin to allow "
            "the bot to post there"
        )
    return f"Slack refused the delivery to {setting} {channel} ({code})"


def delivery_metadata(delivery: Delivery) -> dict[str, Any]:
    return {
        "event_type": EVENT_TYPE,
        "event_payload": {"delivery_id": delivery.id, "record_id": delivery.record_id},
    }


def epoch_of(stamp: str) -> float | None:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC).timestamp()
    except ValueError:
        return None


_SETTINGS: Final = {
    "record": "CANISHARE_RECORD_CHANNEL",
    "leads": "CANISHARE_LEADS_CHANNEL",
    "leads_update": "CANISHARE_LEADS_CHANNEL",
    "alert": "CANISHARE_LEADS_CHANNEL",
    "notify": "the practitioner's DM",
}


class SlackSender:
    """Posts one outbox delivery to Slack and returns "<channel>|<ts>"."""

    def __init__(self, client: AsyncWebClient, bot: Bot, settings: Settings) -> None:
        self.client = client
        self.bot = bot
        self.settings = settings
        self.bot_name = DEFAULT_BOT_NAME  # the real one comes from auth.test at start-up
        self.channel_state: dict[str, str] = {}  # "record"/"leads" -> "ok" or the fault

    async def deliver(self, delivery: Delivery) -> str:
        """Post the delivery within a deadline inside the lease; map Slack's answer to what
        the Deliverer does next (retry later, wait, or fail permanently)."""
        target = delivery.target.partition(":")[2]
        seconds = delivery_seconds(self.settings)
        try:
            async with asyncio.timeout(seconds):
                ref = await self._deliver(delivery)
        except TimeoutError as exc:
            raise SlackDeliveryError(
                f"Slack did not answer within {seconds:g} s; tried again later (a post that "
                "did go through is found in the channel, not repeated)"
            ) from exc
        except aiohttp.ClientError as exc:
            raise SlackDeliveryError(describe_outage(exc)) from exc
        except SlackApiError as exc:
            self._note(target, api_error(exc))
            raise self._refusal(target, exc) from exc
        except PermanentFailure as exc:
            self._note(target, str(exc))
            raise
        self._note(target, "ok")
        return ref

    def _note(self, target: str, state: str) -> None:
        if target in ("record", "leads"):
            self.channel_state[target] = state

    def _refusal(self, target: str, exc: SlackApiError) -> Exception:
        if status_of(exc) == 429:
            headers = getattr(exc.response, "headers", None)
            return RetryAfter(retry_after_seconds(headers), "Slack rate limit (429)")
        method = str(getattr(exc.response, "api_url", "") or "API").rsplit("/", 1)[-1]
        if is_permanent(exc):
            return PermanentFailure(self.fix(error_code(exc), target))
        return SlackDeliveryError(f"Slack {method} failed: {api_error(exc)}")

    def fix(self, code: str, target: str) -> str:
        channel = {
            "record": self.settings.record_channel,
            "leads": self.settings.leads_channel,
            "leads_update": self.settings.leads_channel,
            "alert": self.settings.leads_channel,
        }.get(target, "")
        setting = _SETTINGS.get(target, "the channel")
        return fix_for(code, setting=setting, channel=channel, bot_name=self.bot_name)

    async def _deliver(self, delivery: Delivery) -> str:
        target = delivery.target.partition(":")[2]
        record: Mapping[str, Any] = delivery.payload.get("record") or {}
        if target == "record":
            return await self._record(delivery, record)
        if target == "leads":
            return await self._escalation(delivery, record)
        if target == "leads_update":
            return await self._claimed(record)
        if target == "notify":
            return await self._notify(delivery, record)
        if target == "alert":
            return await self._alert(delivery, record)
        if target == "summary":
            return await self._summary(delivery, record)
        raise SlackDeliveryError(f"unknown Slack delivery target {delivery.target!r}")

    # ------------------------------------------------------------------ the channels
    async def leads_channel_problem(self) -> str | None:
        """Why escalations cannot go to the leads channel now, or None when the bot can see
        it (a private channel the bot was not invited to is invisible: channel_not_found)."""
        channel = self.settings.leads_channel
        if not channel:
            return None
        try:
            info = await self.client.conversations_info(channel=channel)
        except SlackApiError as exc:
            if is_permanent(exc):
                return self.fix(error_code(exc), "leads")
            raise
        found = info.get("channel") or {}
        if found.get("is_archived"):
            return self.fix("is_archived", "leads")
        if not found.get("is_private") and found.get("is_member") is False:
            return self.fix("not_in_channel", "leads")
        return None

    async def record_channel_problem(self) -> str | None:
        """Why decision records cannot go to the record channel now, or None when it is private."""
        channel = self.settings.record_channel
        if not channel:
            return "CANISHARE_RECORD_CHANNEL is not set; records are kept in the store"
        try:
            info = await self.client.conversations_info(channel=channel)
        except SlackApiError as exc:
            if is_transient(exc):
                raise
            if is_permanent(exc):
                raise PermanentFailure(self.fix(error_code(exc), "record")) from exc
            return refused_unchecked(channel, api_error(exc))
        found = info.get("channel") or {}
        if found.get("is_archived"):
            raise PermanentFailure(self.fix("is_archived", "record"))
        if not found.get("is_private"):
            return refused_public_channel(channel, str(found.get("name", "")))
        return None

    async def _record(self, delivery: Delivery, record: Mapping[str, Any]) -> str:
        problem = await self.record_channel_problem()
        if problem is not None:
            raise RecordChannelRefused(problem)
        conversation = self.bot.conversation
        lines = summary_lines(record, conversation.rec)
        answers = self._answers(record.get("answers") or [])
        text, blocks = render.record_post(record, lines, answers, conversation.words.channel)
        return await self._post_once(self.settings.record_channel, delivery, text, blocks)

    # ------------------------------------------------------------------ escalations
    def _answers(self, answers: Sequence[Mapping[str, str]]) -> list[str]:
        try:
            return answer_labels(self.bot.conversation.words, answers)
        except (KeyError, TypeError):  # an answer from an older flow: show the ids
            return [f"{a.get('q', '')} — {a.get('a', '')}" for a in answers]

    def _card(self, escalation: Mapping[str, Any], claimed_by: str = "") -> tuple[str, list[Any]]:
        say = self.bot.conversation.say
        outcome = str(escalation.get("outcome") or "")
        try:
            outcome_title = (
                str(self.bot.conversation.words.outcome(outcome)["title"]) if outcome else ""
            )
        except KeyError:
            outcome_title = outcome
        return render.escalation_card(
            escalation,
            title=say.escalation("card_title"),
            answers=self._answers(escalation.get("answers") or []),
            outcome_title=outcome_title,
            claim_label=say.escalation("claim_label"),
            claimed_line=say.escalation("claimed_by", lead=claimed_by) if claimed_by else "",
            words=self.bot.conversation.words.channel,
        )

    def _leads_channel(self) -> str:
        if not self.settings.leads_channel:
            raise SlackDeliveryError(
                "CANISHARE_LEADS_CHANNEL is not set; escalations are kept in the store"
            )
        return self.settings.leads_channel

    async def _escalation(self, delivery: Delivery, escalation: Mapping[str, Any]) -> str:
        text, blocks = self._card(escalation)
        return await self._post_once(self._leads_channel(), delivery, text, blocks)

    async def _claimed(self, claim: Mapping[str, Any]) -> str:
        """Update the escalation card so every lead sees who has taken it."""
        escalation_id = str(claim.get("escalation_id", ""))
        card = [
            d
            for d in await self.bot.store.deliveries(record_id=escalation_id)
            if d.target == "slack:leads"
        ]
        if not card:
            return "none"  # the escalation was never posted in Slack: nothing to update
        if card[0].status != "delivered" or not card[0].external_ref:
            raise NotReady(
                f"escalation {escalation_id} is not posted yet; the card is updated after"
            )
        channel, _, ts = card[0].external_ref.partition("|")
        escalation = claim.get("escalation") or {}
        text, blocks = self._card(escalation, claimed_by=str(claim.get("lead_name") or ""))
        await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        return card[0].external_ref

    async def _notify(self, delivery: Delivery, claim: Mapping[str, Any]) -> str:
        """Tell the practitioner, in their DM with the bot, who is taking their request."""
        practitioner = str((claim.get("escalation") or {}).get("practitioner", ""))
        if not practitioner:
            return "none"
        opened = await self.client.conversations_open(users=practitioner)
        channel = str(opened["channel"]["id"])
        text, blocks = render.notice(str(claim.get("message", "")))
        return await self._post_once(channel, delivery, text, blocks)

    async def _alert(self, delivery: Delivery, alert: Mapping[str, Any]) -> str:
        if not self.settings.leads_channel:
            log.error("undelivered records alert (no leads channel set): %s", alert.get("text", ""))
            return "logged"
        items = [str(i) for i in alert.get("items") or []]
        text, blocks = render.alert_post(str(alert.get("text", "")), items)
        return await self._post_once(self.settings.leads_channel, delivery, text, blocks)

    async def _summary(self, delivery: Delivery, summary: Mapping[str, Any]) -> str:
        """The monthly summary for the leads (counts only)."""
        title, text, items = posted_text(summary)
        blocks = [render.header(title), *render.sections(render.escape(text))]
        if items:
            blocks += render.sections(render.bullet_text(items))
        fallback = render.escape(render.clip(f"{title}: {text}", render.MAX_FALLBACK))
        return await self._post_once(self._leads_channel(), delivery, fallback, blocks)

    # ------------------------------------------------------------------ posting exactly once
    async def _post_once(
        self, channel: str, delivery: Delivery, text: str, blocks: list[Any]
    ) -> str:
        ts = await self._earlier_post(channel, delivery) if delivery.attempts > 1 else None
        if ts is None:
            posted = await self.client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                metadata=delivery_metadata(delivery),
                unfurl_links=False,
                unfurl_media=False,
            )
            channel, ts = str(posted.get("channel") or channel), str(posted["ts"])
        return f"{channel}|{ts}"

    async def _earlier_post(self, channel: str, delivery: Delivery) -> str | None:
        """The ts of a post an earlier attempt made for this delivery, if there is one: every
        page of history back to (a margin before) the delivery's creation is searched."""
        since = epoch_of(delivery.created_at)
        kwargs: dict[str, Any] = {
            "channel": channel,
            "limit": HISTORY_PAGE,
            "include_all_metadata": True,
        }
        if since is not None:
            kwargs["oldest"] = f"{since - HISTORY_MARGIN_SECONDS:.6f}"
        cursor = ""
        for _ in range(HISTORY_MAX_PAGES):
            try:
                history = await self.client.conversations_history(**kwargs, cursor=cursor or None)
            except SlackApiError as exc:
                if is_transient(exc) or is_permanent(exc):
                    raise
                log.warning(
                    "cannot read the history of %s to check delivery %s was not posted already "
                    "(%s); posting it",
                    channel,
                    delivery.id,
                    api_error(exc),
                )
                return None
            found = posted_ts(history.get("messages") or [], delivery.id)
            if found is not None:
                return found
            cursor = str((history.get("response_metadata") or {}).get("next_cursor") or "")
            if not history.get("has_more") or not cursor:
                return None
        raise SlackDeliveryError(
            f"more than {HISTORY_MAX_PAGES * HISTORY_PAGE} messages in {channel} since delivery "
            f"{delivery.id} was made; not posting it without knowing it is not there already"
        )


def posted_ts(messages: Sequence[Mapping[str, Any]], delivery_id: str) -> str | None:
    """The ts of our post of `delivery_id` among `messages`, by its metadata."""
    for message in messages:
        meta = message.get("metadata") or {}
        payload = meta.get("event_payload") or {}
        if meta.get("event_type") == EVENT_TYPE and payload.get("delivery_id") == delivery_id:
            return str(message["ts"])
    return None
