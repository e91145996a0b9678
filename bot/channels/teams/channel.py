"""Microsoft Teams: Bot Framework activities in, Adaptive Cards out, on the shared core.

`POST /api/messages` is our own small aiohttp handler around `CloudAdapter.process_activity`:
the stock `process()` answers an invoke that has a body with a 500 and lets many
authentication failures out as 500s. Here every authentication failure is a 401 that changes
nothing, and an invoke gets its body back.

The route exists only when Teams is configured (`MicrosoftAppId`: every request must carry a
Bot Framework token whose `serviceurl` claim is the activity's serviceUrl) or when
`CANISHARE_TEAMS_DEV=1` asks for unauthenticated local development, which answers only
activities whose serviceUrl is on this machine. Either way a request is capped at what Teams
itself could send, before any parsing.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from types import SimpleNamespace
from typing import Any, Final

import jwt
from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
)
from botframework.connector.auth import AuthenticationConstants
from msrest.serialization import Model

from bot.channels.base import may_hold_surrogates, valid_text
from bot.channels.teams import extension, render
from bot.channels.teams.connector import (
    CachingAuthentication,
    describe,
    send_timeout_for,
    speed_up_msrest,
    tune_client,
    with_retries,
)
from bot.channels.teams.sender import (
    Poster,
    References,
    SentCards,
    TeamsSender,
    card_message,
    is_loopback_url,
)
from bot.core.replies import Choice, Inbound, Reply, ReplyKind
from bot.dialogs.flow import ALL_QUESTIONS
from bot.dialogs.state import DialogState
from bot.knowledge.words import ChannelWords
from bot.records.db import StoreUnavailable
from bot.records.deliver import Sender
from bot.service import Bot
from bot.settings import Settings

log = logging.getLogger("canishare.teams")

ROUTE: Final = "/api/messages"
CHANNEL: Final = "teams"
PERSONAL: Final = "personal"
CHAT_LINK: Final = "https://teams.microsoft.com/l/chat/0/0?users=28:{app_id}"
# Test hook: point JWT validation at local OpenID metadata (the SDK's own setting name).
OPENID_OVERRIDE: Final = "CANISHARE_TEST_TEAMS_OPENID_METADATA_URL"
NEW_CHANNEL_EVENTS: Final = frozenset({"channelCreated", "channelRestored"})
ADAPTIVE_CARD_ACTION: Final = "adaptiveCard/action"
COMPOSE_QUERY: Final = "composeExtension/query"
MESSAGE_RESPONSE: Final = "application/vnd.microsoft.activity.message"
CARD_RESPONSE: Final = "application/vnd.microsoft.card.adaptive"
# What Teams itself can send: a message is at most about 28 KB, and an activity carries it
# with some metadata (and sometimes an HTML copy). Anything larger is not from Teams.
MAX_BODY_BYTES: Final = 256 * 1024
MAX_TEXT_CHARACTERS: Final = 28_000
PURGE_EVERY_SECONDS: Final = 6 * 3600.0
# The manifest's command list puts these words in the compose box; the core already reads
# "share" and "help", and "myth" on its own means the list of myths.
# A mention is `<at>name</at>`; the name holds no "<", so this is linear in the text (a lazy
# `.*?` took seconds on a message of many unclosed tags).
AT_TAG: Final = re.compile(r"<at\b[^<>]*>[^<]*</at>", re.IGNORECASE)
COMMAND_CHOICES: Final = {"myth": ("menu", "myths"), "myths": ("menu", "myths")}


# ---------------------------------------------------------------------- translation
def is_personal(activity: Activity) -> bool:
    conversation = activity.conversation
    return bool(conversation and conversation.conversation_type == PERSONAL)


def channel_data(activity: Activity, *path: str) -> str:
    """A string from Teams' channelData (e.g. "team", "id"), or "" when it is not there."""
    value: Any = activity.channel_data
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, str) else ""


def tenant_of(activity: Activity) -> str:
    conversation = activity.conversation
    if conversation is not None and conversation.tenant_id:
        return str(conversation.tenant_id)
    return channel_data(activity, "tenant", "id")


def base_conversation_id(conversation_id: str) -> str:
    """A channel's id without the thread part (`19:x@thread.tacv2;messageid=1` → `19:x@…`)."""
    return conversation_id.split(";", 1)[0]


def conversation_key(activity: Activity) -> str:
    """Where the dialog state of this conversation is kept: a personal chat has its own;
    a channel shares one that never holds a case."""
    conversation_id = activity.conversation.id if activity.conversation else ""
    if not is_personal(activity):
        conversation_id = base_conversation_id(conversation_id)
    return f"teams:{tenant_of(activity)}:{conversation_id}"


def person_of(activity: Activity) -> tuple[str, str]:
    """(stable user id, display name): the AAD object id when Teams sends one."""
    who = activity.from_property or ChannelAccount()
    return str(who.aad_object_id or who.id or ""), str(who.name or "")


def clicked(activity: Activity) -> Mapping[str, Any] | None:
    """The data of an Action.Submit (`{"q", "a"}` plus any form inputs), if this is one."""
    value = activity.value
    if isinstance(value, Mapping) and "q" in value:
        return value
    return None


def executed(activity: Activity) -> tuple[str, Mapping[str, Any]] | None:
    """The verb and data of a Universal Action (an `adaptiveCard/action` invoke), if this is one."""
    if activity.type != ActivityTypes.invoke or activity.name != ADAPTIVE_CARD_ACTION:
        return None
    value = activity.value if isinstance(activity.value, Mapping) else {}
    action = value.get("action")
    if not isinstance(action, Mapping):
        return None
    data = action.get("data")
    return str(action.get("verb") or ""), data if isinstance(data, Mapping) else {}


def too_long(activity: Activity) -> bool:
    """More text than a Teams message can hold."""
    text = activity.text
    return isinstance(text, str) and len(text) > MAX_TEXT_CHARACTERS


def same_service_url(claimed: object, service_url: object) -> bool:
    """Whether a token's `serviceurl` claim names the activity's serviceUrl (ignoring case in
    the scheme and host, and a trailing slash)."""
    if not isinstance(claimed, str) or not isinstance(service_url, str) or not claimed:
        return False

    def normal(url: str) -> str:
        scheme, _, rest = url.strip().partition("://")
        host, slash, path = rest.partition("/")
        return f"{scheme.lower()}://{host.lower()}{slash}{path}".rstrip("/")

    return normal(claimed) == normal(service_url)


async def read_capped(request: web.Request, limit: int) -> bytes | None:
    """The request body, or None when it is longer than `limit` bytes. The server's guard
    has already read it within its own deadline and size cap; this is the Teams cap."""
    if request.content_length is not None and request.content_length > limit:
        return None
    data = await request.read()
    return None if len(data) > limit else data


def typed_text(activity: Activity) -> str:
    """What the person typed, without the @mention of the bot in a channel."""
    text = activity.text if isinstance(activity.text, str) else ""
    if not text or is_personal(activity):
        return text.strip()
    try:
        if activity.recipient is not None:
            text = TurnContext.remove_recipient_mention(activity) or ""
    except (AttributeError, KeyError, TypeError):  # a mention entity Teams would never send
        pass
    return html.unescape(AT_TAG.sub("", text)).strip()


def inbound_for(activity: Activity, now: datetime) -> Inbound:
    """One Teams message (typed, clicked or a submitted form) as a neutral inbound turn."""
    user, name = person_of(activity)
    common: dict[str, Any] = {
        "conversation": conversation_key(activity),
        "user": user,
        "channel": CHANNEL,
        "now": now,
        "private": is_personal(activity),
        "forms": True,
        "user_name": name,
    }
    data = clicked(activity)
    if data is not None:
        q, a = str(data.get("q", "")), str(data.get("a", ""))
        if (q, a) == (render.RECORD_SUBMIT["q"], render.RECORD_SUBMIT["a"]):
            form = {
                str(k): "" if v is None else str(v) for k, v in data.items() if k not in ("q", "a")
            }
            return Inbound(form=form, **common)
        return Inbound(choice=(q, a), **common)
    text = typed_text(activity)
    command = COMMAND_CHOICES.get(text.lower()) if common["private"] else None
    if command is not None:
        return Inbound(choice=command, **common)
    return Inbound(text=text, **common)


def event_id_of(activity: Activity) -> str | None:
    if not activity.id or activity.conversation is None:
        return None
    return f"teams:{activity.conversation.id}:{activity.id}"


def channel_reference(activity: Activity, channel_id: str) -> ConversationReference:
    """A reference that posts new top-level messages to a channel (no thread, no user)."""
    return ConversationReference(
        activity_id=None,
        bot=activity.recipient,
        channel_id=activity.channel_id,
        conversation=ConversationAccount(
            id=channel_id,
            is_group=True,
            conversation_type="channel",
            tenant_id=tenant_of(activity) or None,
        ),
        service_url=activity.service_url,
    )


def sdk_configuration(settings: Settings) -> SimpleNamespace:
    """The configuration object botbuilder reads, built from our settings (never the env)."""
    config = SimpleNamespace(
        APP_ID=settings.ms_app_id,
        APP_PASSWORD=settings.ms_app_password,
        # without an app id (local development) the SDK's no-auth mode is its MultiTenant one
        APP_TYPE=settings.ms_app_type if settings.ms_app_id else "MultiTenant",
        APP_TENANTID=settings.ms_app_tenant_id,
    )
    metadata = settings.extra.get(OPENID_OVERRIDE, "")
    if metadata:
        # naming one endpoint switches the SDK to fully parameterised mode: name them all
        config.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL = metadata
        config.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL = metadata
        config.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER = (
            AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
        )
        config.TO_CHANNEL_FROM_BOT_LOGIN_URL = AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL
        config.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE = (
            AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
        )
        config.OAUTH_URL = AuthenticationConstants.OAUTH_URL
        config.CALLER_ID = "urn:botframework:azure"
        config.VALIDATE_AUTHORITY = True
    return config


def well_formed(activity: Activity) -> bool:
    """Enough of an activity to act on and answer: a type, a conversation, a serviceUrl."""
    if not isinstance(activity.type, str) or not activity.type:
        return False
    conversation = activity.conversation
    return (
        conversation is not None
        and isinstance(conversation.id, str)
        and bool(conversation.id)
        and isinstance(activity.service_url, str)
        and activity.service_url.startswith(("https://", "http://"))
    )


def invoke_body(body: Any) -> Any:
    return body.serialize() if isinstance(body, Model) else body  # type: ignore[no-untyped-call]


# ---------------------------------------------------------------------- the channel
class TeamsChannel:
    """Routes, the outbox sender and start-up hooks for Microsoft Teams."""

    name = CHANNEL

    def __init__(
        self, bot: Bot, settings: Settings, *, wake: Callable[[], None] = lambda: None
    ) -> None:
        speed_up_msrest()
        self.bot = bot
        self.settings = settings
        self.wake = wake
        self.auth_enabled = settings.teams_auth_enabled
        self.auth = CachingAuthentication(
            ConfigurationBotFrameworkAuthentication(sdk_configuration(settings)),
            timeout=send_timeout_for(settings.delivery_lease_seconds),
        )
        self.adapter = CloudAdapter(self.auth)
        self.references = References(bot.store)
        self.sent = SentCards(bot.store)
        self.chat_link = CHAT_LINK.format(app_id=settings.ms_app_id) if settings.ms_app_id else None
        self._sender = TeamsSender(
            poster=Poster(self.adapter, settings.ms_app_id, loopback_only=not self.auth_enabled),
            references=self.references,
            store=bot.store,
            settings=settings,
            conversation=bot.conversation,
        )
        self.secure_channels = tuple(
            c for c in (settings.teams_record_conversation, settings.teams_leads_conversation) if c
        )
        self._reply_error = ""
        self._purger: asyncio.Task[None] | None = None
        self.searches = extension.SearchCounts(bot.count_answer)

    # ------------------------------------------------------------------ Channel protocol
    @property
    def words(self) -> ChannelWords:
        """The words around the replies (messages.yaml, `channels`)."""
        return self.bot.conversation.words.channel

    @property
    def sender(self) -> Sender:
        return self._sender

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(ROUTE, self.handle_request)
        app[TEAMS_CHANNEL] = self

    async def startup(self) -> None:
        if self.auth_enabled:
            log.info(
                "Teams: on at %s, every request needs a Bot Framework token (%s bot %s)",
                ROUTE,
                self.settings.ms_app_type,
                self.settings.ms_app_id,
            )
        else:
            log.warning(
                "Teams: CANISHARE_TEAMS_DEV=1 and MicrosoftAppId is not set, so %s accepts "
                "requests WITHOUT authentication and replies only to a loopback serviceUrl "
                "(127.0.0.1, ::1, localhost). Use this for local development only.",
                ROUTE,
            )
        for name in self.missing_settings():
            log.warning("Teams: %s is not set, so %s", name, MISSING_EFFECT[name])
        self._purger = asyncio.create_task(self._purge_forever(), name="teams-purge")

    def missing_settings(self) -> list[str]:
        return [
            name
            for name, value in (
                ("CANISHARE_TEAMS_RECORD_CONVERSATION", self.settings.teams_record_conversation),
                ("CANISHARE_TEAMS_LEADS_CONVERSATION", self.settings.teams_leads_conversation),
            )
            if not value
        ]

    def health(self) -> Mapping[str, Any]:
        """Teams for `/healthz`: on, how requests are checked, what is missing, the last fault."""
        last_error = self._sender.health.last_error or self._reply_error
        missing = self.missing_settings()
        return {
            "state": "degraded" if last_error or missing else "ok",
            "configured": self.auth_enabled,
            "auth": (
                f"bot framework tokens ({self.settings.ms_app_type})"
                if self.auth_enabled
                else "none: local development, loopback serviceUrl only"
            ),
            "missing": missing,
            "last_error": last_error or None,
        }

    async def shutdown(self) -> None:
        await self.searches.flush()
        if self._purger is not None:
            self._purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purger
        await self.auth.close()

    async def purge(self) -> int:
        """Forget what is kept about chats long unheard from (never the record and leads
        channels)."""
        return await self._sender.purge(now=self.bot.clock())

    async def _purge_forever(self) -> None:
        while True:
            try:
                await self.purge()
            except Exception as exc:  # the store may be briefly away; the next pass tries again
                log.warning("Teams: purging old conversation references failed: %s", exc)
            await asyncio.sleep(PURGE_EVERY_SECONDS)

    # ------------------------------------------------------------------ HTTP
    async def handle_request(self, request: web.Request) -> web.Response:
        """Authenticate, run the turn, answer: 401 for any auth failure, the body of an invoke."""
        header = request.headers.get("Authorization", "")
        if self.auth_enabled and not header:
            return web.json_response({"error": "unauthorized"}, status=401)  # before any parsing
        if request.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
            return web.json_response({"error": "compressed bodies are not accepted"}, status=415)
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": "expected application/json"}, status=415)
        data = await read_capped(request, MAX_BODY_BYTES)
        if data is None:
            return web.json_response({"error": "too large for a Teams activity"}, status=413)
        try:
            raw = data.decode("utf-8")
            body = json.loads(raw)
            valid = isinstance(body, dict) and (not may_hold_surrogates(raw) or valid_text(body))
            activity = Activity().deserialize(body) if valid else None
        except Exception:
            activity = None
        if activity is None or not well_formed(activity):
            return web.json_response({"error": "expected a Bot Framework activity"}, status=400)
        if too_long(activity):
            return web.json_response({"error": "too long for a Teams message"}, status=413)
        if not self.auth_enabled and not is_loopback_url(activity.service_url):
            log.warning("Teams: refused an activity for a serviceUrl that is not loopback")
            return web.json_response(
                {"error": "local development replies only to a loopback serviceUrl"}, status=403
            )
        authenticated = await self._authenticate(activity, header)
        if authenticated is None:
            return web.json_response({"error": "unauthorized"}, status=401)
        if not await self._from_owner(activity):
            log.warning("Teams: refused an activity in a personal chat from someone else")
            return web.json_response({"error": "not your conversation"}, status=403)
        try:
            invoke = await self.adapter.process_activity(authenticated, activity, self._turn)
        except ConnectorUnavailable as exc:
            # The turn is done and saved; a 5xx would only invite a retry that de-duplication
            # swallows. Say so where an operator looks.
            log.error("Teams: the replies to a turn could not be sent: %s", exc)
            invoke = None
        if isinstance(invoke, InvokeResponse):
            return web.json_response(invoke_body(invoke.body), status=int(invoke.status or 200))
        return web.Response(status=200)

    async def _authenticate(self, activity: Activity, header: str) -> Any:
        """The SDK's authentication result, or None when the request must be refused."""
        if not self.auth_enabled:
            header = ""  # local development: a stray token is ignored rather than a 500
        elif not header:
            return None
        try:
            result = await self.auth.authenticate_request(activity, header)
        except (PermissionError, jwt.PyJWTError, LookupError) as exc:  # a bad token
            log.info("Teams: request refused: %s", type(exc).__name__)
            return None
        except Exception as exc:  # the SDK raises all sorts; all mean 401, some mean look here
            log.warning("Teams: request refused (%s: %s)", type(exc).__name__, exc)
            return None
        identity = getattr(result, "claims_identity", None)
        if identity is None or not identity.is_authenticated:
            return None
        claimed = (identity.claims or {}).get(AuthenticationConstants.SERVICE_URL_CLAIM)
        if self.auth_enabled and not same_service_url(claimed, activity.service_url):
            # A token is for one serviceUrl: replies must never go to one the caller chose.
            log.warning("Teams: request refused: its token is for another serviceUrl")
            return None
        return result

    async def _from_owner(self, activity: Activity) -> bool:
        """A personal chat belongs to the person the bot first heard from in it (its stored
        reference): an activity there from anyone else must not touch their dialog."""
        if not is_personal(activity):
            return True
        reference = await self.references.load(conversation_key(activity))
        owner = reference.user if reference is not None else None
        if owner is None or not owner.id:
            return True
        sender = activity.from_property or ChannelAccount()
        if sender.id != owner.id:
            return False
        return not (
            owner.aad_object_id
            and sender.aad_object_id
            and owner.aad_object_id != sender.aad_object_id
        )

    # ------------------------------------------------------------------ turns
    async def _turn(self, context: TurnContext) -> None:
        activity = context.activity
        await self._remember(activity)
        if activity.type == ActivityTypes.message:
            await self._message(context)
        elif activity.type == ActivityTypes.conversation_update:
            await self._conversation_update(context)
        elif activity.type == ActivityTypes.invoke:
            await self._invoke(context)

    async def _message(self, context: TurnContext) -> None:
        activity = context.activity
        data = clicked(activity)
        if data is not None and data.get("q") == render.CLAIM:
            # a card posted before the claim became an Action.Execute
            text = await self._claim(activity, str(data.get("a", "")))
            if text:
                await self._reply(context, [Reply(kind=ReplyKind.INFO, text=text)], private=False)
            return
        inbound = inbound_for(activity, self.bot.clock())
        handled = await self.bot.handle(inbound, event_id=event_id_of(activity))
        if handled.duplicate:
            return
        if handled.records:
            self.wake()
        if inbound.private and data is not None and activity.reply_to_id:
            if inbound.form is not None and await self._update_form(context, handled.replies):
                return
            live = await self._reply(context, handled.replies, private=True)
            await self._retire(context, data, keep=live)
            return
        live = await self._reply(context, handled.replies, private=inbound.private)
        if inbound.private and live:
            await self._retire(context, None, keep=live)

    async def _claim(self, activity: Activity, escalation_id: str) -> str:
        """Take an escalation for the lead who clicked; what to tell them ("" for nothing)."""
        result = await self._claim_result(activity, escalation_id)
        if isinstance(result, str):
            return result
        if result.won:
            self.wake()  # the card update and the practitioner's note go through the outbox
            return ""
        _, lead_name = person_of(activity)
        lead = lead_name or person_of(activity)[0]
        return "" if result.lead_name == lead else result.message  # same lead again: quiet

    async def _claim_result(self, activity: Activity, escalation_id: str) -> Any:
        """The claim's result, or why it may not be made here (a sentence)."""
        conversation_id = activity.conversation.id if activity.conversation else ""
        leads = self.settings.teams_leads_conversation
        if is_personal(activity) or not leads or base_conversation_id(conversation_id) != leads:
            return self.words.claim_elsewhere
        if not await self._posted_to_teams_leads(escalation_id):
            return self.words.claim_unknown.format(escalation_id=escalation_id)
        lead, lead_name = person_of(activity)
        result = await self.bot.claim(escalation_id, lead, lead_name or lead)
        if result is None:
            return self.words.claim_unknown.format(escalation_id=escalation_id)
        return result

    async def _posted_to_teams_leads(self, escalation_id: str) -> bool:
        """Only a request whose card went to the Teams leads' channel can be taken from it."""
        if not escalation_id or len(escalation_id) > 100:
            return False
        deliveries = await self.bot.store.deliveries(record_id=escalation_id)
        return any(d.target == "teams:leads" for d in deliveries)

    async def _execute_claim(self, activity: Activity, escalation_id: str) -> dict[str, Any]:
        """The invoke answer to a claim: the card as the clicker should now see it (everyone
        else's copy is updated through the outbox), or a short private message."""
        result = await self._claim_result(activity, escalation_id)
        if isinstance(result, str):
            return {"statusCode": 200, "type": MESSAGE_RESPONSE, "value": result}
        if result.won:
            self.wake()
        say = self.bot.conversation.say
        taken_by = say.escalation("claimed_by", lead=result.lead_name)
        _, lead_name = person_of(activity)
        if result.won or result.lead_name == (lead_name or person_of(activity)[0]):
            taken_by = f"{taken_by}. {self.words.claim_yours}"
        else:
            taken_by = result.message
        card = self._sender.escalation_card(result.escalation, taken_by=taken_by)
        return {"statusCode": 200, "type": CARD_RESPONSE, "value": card}

    async def _conversation_update(self, context: TurnContext) -> None:
        activity = context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        bot_added = any(m is not None and m.id == bot_id for m in activity.members_added or [])
        if not is_personal(activity):
            team_id = channel_data(activity, "team", "id")
            channel_id = channel_data(activity, "channel", "id")
            if bot_added and team_id:
                await self._remember_team_channels(context, team_id)
            if channel_data(activity, "eventType") in NEW_CHANNEL_EVENTS and channel_id:
                await self._remember_channel(activity, channel_id)
        if bot_added:
            await self._welcome(context)

    async def _welcome(self, context: TurnContext) -> None:
        """Installed in a personal chat: the welcome, or — when the person has a dialog in
        progress there (installed again, say) — the offer to carry on or start again.
        Installed in a team: the welcome and the offer to go private."""
        say = self.bot.conversation.say
        private = is_personal(context.activity)
        if private:
            replies = await self._personal_welcome(conversation_key(context.activity))
        else:
            words = self.bot.conversation.words
            offer = Reply(
                kind=ReplyKind.INFO,
                text=words.text("no_case_here"),
                choices=(Choice(words.text("offer_dm"), "menu", "start", "primary"),),
            )
            replies = [say.menu(with_welcome=True)[0], offer]
        context.activity.id = None  # a new message, not a reply to the membership event
        await self._reply(context, replies, private=private)

    async def _personal_welcome(self, key: str) -> list[Reply]:
        try:
            raw, _ = await self.bot.store.load_state(key)
        except StoreUnavailable as exc:
            log.warning("Teams: could not read the dialog in progress for a welcome (%s)", exc)
            raw = None
        return self.bot.conversation.welcome(DialogState.from_json(raw), self.bot.clock())

    async def _invoke(self, context: TurnContext) -> None:
        """Answer an invoke: the leads' claim (a Universal Action), a compose-box search;
        anything else gets an empty, well-formed answer."""
        activity = context.activity
        body: dict[str, Any] = {}
        action = executed(activity)
        if action is not None:
            verb, data = action
            if verb == render.CLAIM_VERB and data.get("q") == render.CLAIM:
                body = await self._execute_claim(activity, str(data.get("a", "")))
            else:
                body = {"statusCode": 200, "type": MESSAGE_RESPONSE, "value": ""}
        elif activity.name == COMPOSE_QUERY:
            found = extension.search(activity.value, self.bot.conversation)
            body = found.body
            if found.found is not None:
                self.searches.searched(person_of(activity)[0], found.query, found.found)
        response = InvokeResponse(status=200, body=body)
        await context.send_activity(Activity(type=ActivityTypes.invoke_response, value=response))

    # ------------------------------------------------------------------ replies
    def _cards(self, replies: Sequence[Reply], *, private: bool) -> list[render.Card]:
        link = None if private else self.chat_link
        words = self.bot.conversation.words

        rec = self.bot.conversation.rec

        def required(label: str) -> str:
            return words.text("record_required", label=label.lower())

        def example(field_id: str) -> str:
            try:
                return str(rec.field(field_id).get("hint", ""))
            except (KeyError, AttributeError):
                return ""

        return [
            render.reply_card(
                r,
                words=self.words,
                chat_link=link,
                required=required,
                example=example,
            )
            for r in replies
        ]

    async def _reply(
        self, context: TurnContext, replies: Sequence[Reply], *, private: bool
    ) -> list[str]:
        """Send a turn's replies as one message of cards (more only if too big), with retries;
        in a personal chat, keep the cards of a message with choices (see `_retire`) and
        return the ids of those messages."""
        live: list[str] = []
        if not replies:
            return live
        cards = self._cards(replies, private=private)
        for batch in render.message_batches(cards):
            message = card_message(batch, render.summary_of(replies))
            try:
                sent = await with_retries(partial(context.send_activity, message))
            except Exception as exc:
                self._reply_error = describe(exc)
                raise ConnectorUnavailable(describe(exc)) from exc
            self._reply_error = ""
            if private and render.has_choices(batch):
                message_id = str(getattr(sent, "id", "") or "")
                await self._keep_cards(context.activity, message_id, batch)
                live.append(message_id)
        return live

    async def _keep_cards(
        self, activity: Activity, activity_id: str | None, cards: list[render.Card]
    ) -> None:
        try:
            await self.sent.remember(
                conversation_key(activity), str(activity_id or ""), cards, now=self.bot.clock()
            )
        except Exception as exc:  # only the "You answered" update depends on it
            log.warning("Teams: could not keep a message's cards: %s", exc)

    async def _retire(
        self, context: TurnContext, data: Mapping[str, Any] | None, *, keep: Sequence[str]
    ) -> None:
        """Only the newest message with choices stays live. The clicked message (if `data`)
        shows what was chosen; any other earlier one (answered by typing, or left behind)
        points to the latest. So an old button cannot change an answer unseen."""
        activity = context.activity
        clicked_id = str(activity.reply_to_id or "") if data is not None else ""
        try:
            earlier = await self.sent.take_others(
                conversation_key(activity), keep, now=self.bot.clock()
            )
            for message_id, cards in earlier.items():
                if data is not None and message_id == clicked_id:
                    label = render.clicked_label(cards, data)
                    q = str(data.get("q", ""))
                    said = self.words.answered if q in ALL_QUESTIONS else self.words.chose
                    retired = render.answered(cards, data, said.format(label=label or "—"))
                else:
                    retired = render.superseded(cards, self.words.superseded)
                await self._update(context, message_id, retired, "")
        except Exception as exc:  # the turn is done; only old buttons stay as they were
            log.warning("Teams: could not retire an answered card: %s", describe(exc))

    async def _update_form(self, context: TurnContext, replies: Sequence[Reply]) -> bool:
        """A record form sent back with problems replaces the submitted form in place, rather
        than adding a second form below it. False when it did not."""
        if not any(r.kind == ReplyKind.FORM for r in replies):
            return False
        cards = self._cards(replies, private=True)
        if len(render.message_batches(cards)) != 1:
            return False
        activity = context.activity
        message_id = str(activity.reply_to_id or "")
        try:
            await self._update(context, message_id, cards, render.summary_of(replies))
        except Exception as exc:
            log.info("Teams: could not update the form in place (%s); sending it", describe(exc))
            return False
        await self._keep_cards(activity, message_id, cards)
        return True

    async def _update(
        self, context: TurnContext, message_id: str, cards: list[render.Card], summary: str
    ) -> None:
        message = card_message(cards, summary)
        message.id = message_id
        await with_retries(partial(context.update_activity, message))

    # ------------------------------------------------------------------ references
    async def _remember(self, activity: Activity) -> None:
        """Keep where to post later: each personal chat (so the practitioner can be told who
        took their request), and the record and leads channels — no other channel."""
        if activity.conversation is None or not activity.service_url or activity.recipient is None:
            return
        now = self.bot.clock()
        if is_personal(activity):
            reference = TurnContext.get_conversation_reference(activity)
            reference.activity_id = None
            await self.references.save(conversation_key(activity), reference, now=now)
            return
        channel_id = base_conversation_id(str(activity.conversation.id or ""))
        await self._remember_channel(activity, channel_id)

    async def _remember_channel(self, activity: Activity, channel_id: str) -> None:
        if channel_id in self.secure_channels:
            reference = channel_reference(activity, channel_id)
            await self.references.save(channel_id, reference, now=self.bot.clock())

    async def _remember_team_channels(self, context: TurnContext, team_id: str) -> None:
        """When added to a team, learn all its channels: the record and leads channels need
        not be the General channel, and nobody should have to @mention the bot there first."""
        try:
            from botframework.connector.teams import TeamsConnectorClient

            connector = context.turn_state.get(self.adapter.BOT_CONNECTOR_CLIENT_KEY)
            client = tune_client(
                TeamsConnectorClient(connector.config.credentials, context.activity.service_url),
                send_timeout_for(self.settings.delivery_lease_seconds),
            )
            found = await asyncio.to_thread(client.teams.get_teams_channels, team_id)
            channels = [(str(c.id), str(c.name or "General")) for c in found.conversations or []]
        except Exception as exc:
            log.warning("Teams: could not list the channels of a team: %s", describe(exc))
            return
        for channel_id, _ in channels[:MAX_TEAM_CHANNELS]:
            await self._remember_channel(context.activity, channel_id)
        if set(self.secure_channels) - {c for c, _ in channels}:
            # what an administrator needs to fill in CANISHARE_TEAMS_*_CONVERSATION
            listed = ", ".join(f"{name[:60]!r} = {cid[:100]}" for cid, name in channels[:50])
            log.info("Teams: added to a team whose channels are: %s", listed)


MAX_TEAM_CHANNELS: Final = 1000  # Teams' own limit on a team's channels
MISSING_EFFECT: Final = {
    "CANISHARE_TEAMS_RECORD_CONVERSATION": "decision records made in Teams are saved but "
    "not posted to a Teams channel",
    "CANISHARE_TEAMS_LEADS_CONVERSATION": "requests for advice made in Teams cannot reach "
    "the safeguarding leads in Teams, and no lead can take one there",
}


class ConnectorUnavailable(RuntimeError):
    """Replies could not be sent to the Teams connector, even after retries."""


TEAMS_CHANNEL: Final = web.AppKey("teams_channel", TeamsChannel)
