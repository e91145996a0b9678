"""Microsoft Teams: Bot Framework activities in, Adaptive Cards out, on the shared core.

`POST /api/messages` is our own small aiohttp handler around `CloudAdapter.process_activity`:
the stock `process()` answers an invoke that has a body with a 500 and lets many
authentication failures out as 500s. Here every authentication failure is a 401 that changes
nothing, and an invoke gets its body back.
"""

from __future__ import annotations

import asyncio
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
from bot.channels.teams import render
from bot.channels.teams.connector import (
    CachingAuthentication,
    describe,
    speed_up_msrest,
    tune_client,
    with_retries,
)
from bot.channels.teams.sender import Poster, References, TeamsSender, card_message
from bot.core.replies import Choice, Inbound, Reply, ReplyKind
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
CLAIM_ELSEWHERE: Final = "Requests can only be taken in the safeguarding leads' channel."
CLAIM_UNKNOWN: Final = "I can't find request {escalation_id}."
ADAPTIVE_CARD_ACTION: Final = "adaptiveCard/action"
# The manifest's command list puts these words in the compose box; the core already reads
# "share" and "help", and "myth" on its own means the list of myths.
AT_TAG: Final = re.compile(r"<at>.*?</at>", re.IGNORECASE | re.DOTALL)
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
        APP_TYPE=settings.ms_app_type,
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
            ConfigurationBotFrameworkAuthentication(sdk_configuration(settings))
        )
        self.adapter = CloudAdapter(self.auth)
        self.references = References(bot.store)
        self.chat_link = CHAT_LINK.format(app_id=settings.ms_app_id) if settings.ms_app_id else None
        self._sender = TeamsSender(
            poster=Poster(self.adapter, settings.ms_app_id),
            references=self.references,
            store=bot.store,
            settings=settings,
            conversation=bot.conversation,
        )

    # ------------------------------------------------------------------ Channel protocol
    @property
    def sender(self) -> Sender:
        return self._sender

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(ROUTE, self.handle_request)

    async def startup(self) -> None:
        if not self.auth_enabled:
            log.warning(
                "Teams: MicrosoftAppId is not set, so %s accepts requests WITHOUT "
                "authentication. Use this for local development only.",
                ROUTE,
            )

    def health(self) -> Mapping[str, Any]:
        return {"state": "ok"}

    async def shutdown(self) -> None:
        await self.auth.close()

    # ------------------------------------------------------------------ HTTP
    async def handle_request(self, request: web.Request) -> web.Response:
        """Authenticate, run the turn, answer: 401 for any auth failure, the body of an invoke."""
        header = request.headers.get("Authorization", "")
        if self.auth_enabled and not header:
            return web.json_response({"error": "unauthorized"}, status=401)  # before any parsing
        if "application/json" not in request.headers.get("Content-Type", ""):
            return web.json_response({"error": "expected application/json"}, status=415)
        try:
            raw = await request.text()
            body = json.loads(raw)
            valid = isinstance(body, dict) and (not may_hold_surrogates(raw) or valid_text(body))
            activity = Activity().deserialize(body) if valid else None
        except Exception:
            activity = None
        if activity is None or not well_formed(activity):
            return web.json_response({"error": "expected a Bot Framework activity"}, status=400)
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
            await self._claim(context, str(data.get("a", "")))
            return
        inbound = inbound_for(activity, self.bot.clock())
        handled = await self.bot.handle(inbound, event_id=event_id_of(activity))
        if handled.records:
            self.wake()
        await self._reply(context, handled.replies, private=inbound.private)

    async def _claim(self, context: TurnContext, escalation_id: str) -> None:
        activity = context.activity
        conversation_id = activity.conversation.id if activity.conversation else ""
        leads = self.settings.teams_leads_conversation
        if is_personal(activity) or (leads and base_conversation_id(conversation_id) != leads):
            await self._reply(
                context, [Reply(kind=ReplyKind.INFO, text=CLAIM_ELSEWHERE)], private=False
            )
            return
        lead, lead_name = person_of(activity)
        result = await self.bot.claim(escalation_id, lead, lead_name or lead)
        if result is None:
            text = CLAIM_UNKNOWN.format(escalation_id=escalation_id)
            await self._reply(context, [Reply(kind=ReplyKind.INFO, text=text)], private=False)
        elif result.won:
            self.wake()  # the card update and the practitioner's note go through the outbox
        elif result.lead_name != (lead_name or lead):  # a repeated click by the same lead: quiet
            await self._reply(
                context, [Reply(kind=ReplyKind.INFO, text=result.message)], private=False
            )

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
                await self.references.save(
                    str(channel_id),
                    channel_reference(activity, str(channel_id)),
                    now=self.bot.clock(),
                )
        if bot_added:
            await self._welcome(context)

    async def _welcome(self, context: TurnContext) -> None:
        say = self.bot.conversation.say
        private = is_personal(context.activity)
        if private:
            replies = say.menu(with_welcome=True)
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

    async def _invoke(self, context: TurnContext) -> None:
        """We use Action.Submit, so invokes are not expected; answer each one properly."""
        body: dict[str, Any] = {}
        if context.activity.name == ADAPTIVE_CARD_ACTION:
            body = {
                "statusCode": 200,
                "type": "application/vnd.microsoft.activity.message",
                "value": "",
            }
        response = InvokeResponse(status=200, body=body)
        await context.send_activity(Activity(type=ActivityTypes.invoke_response, value=response))

    # ------------------------------------------------------------------ replies
    async def _reply(
        self, context: TurnContext, replies: Sequence[Reply], *, private: bool
    ) -> None:
        """Send a turn's replies as one message of cards (more only if too big), with retries."""
        if not replies:
            return
        link = None if private else self.chat_link
        cards = [render.reply_card(r, chat_link=link) for r in replies]
        for batch in render.message_batches(cards):
            message = card_message(batch, render.summary_of(replies))
            try:
                await with_retries(partial(context.send_activity, message))
            except Exception as exc:
                raise ConnectorUnavailable(describe(exc)) from exc

    # ------------------------------------------------------------------ references
    async def _remember(self, activity: Activity) -> None:
        """Keep where to post later: every channel the bot hears from, and each personal chat
        (so the practitioner can be told who took their request)."""
        if activity.conversation is None or not activity.service_url or activity.recipient is None:
            return
        now = self.bot.clock()
        if is_personal(activity):
            reference = TurnContext.get_conversation_reference(activity)
            reference.activity_id = None
            await self.references.save(conversation_key(activity), reference, now=now)
            return
        channel_id = base_conversation_id(str(activity.conversation.id or ""))
        if channel_id:
            await self.references.save(channel_id, channel_reference(activity, channel_id), now=now)

    async def _remember_team_channels(self, context: TurnContext, team_id: str) -> None:
        """When added to a team, learn all its channels: the record and leads channels need
        not be the General channel, and nobody should have to @mention the bot there first."""
        try:
            from botframework.connector.teams import TeamsConnectorClient

            connector = context.turn_state.get(self.adapter.BOT_CONNECTOR_CLIENT_KEY)
            client = tune_client(
                TeamsConnectorClient(connector.config.credentials, context.activity.service_url)
            )
            found = await asyncio.to_thread(client.teams.get_teams_channels, team_id)
            channel_ids = [str(c.id) for c in found.conversations or [] if c.id]
        except Exception as exc:
            log.warning("Teams: could not list the channels of a team: %s", describe(exc))
            return
        now = self.bot.clock()
        for channel_id in channel_ids:
            reference = channel_reference(context.activity, channel_id)
            await self.references.save(channel_id, reference, now=now)


class ConnectorUnavailable(RuntimeError):
    """Replies could not be sent to the Teams connector, even after retries."""
