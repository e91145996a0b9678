"""The Slack channel: Events API, slash commands and interactivity, translated for the core.

Every user action becomes an `Inbound` for `Bot.handle`; the replies come back as Block Kit.
A listener runs the turn (milliseconds: the store, no Slack call) before Slack's request is
acknowledged, so whatever Slack was told it delivered is already committed — a crash after
the ack loses nothing, and turns of one person run in the order they arrived. An event the
store holds up past the ack budget is answered 503 (no ack in Socket Mode), so Slack sends it
again rather than being told it arrived; see `_turn_then`. Everything
that calls the Web API (replies, opening a DM, retiring answered buttons) runs afterwards in
tracked background tasks, so Slack gets its answer well within three seconds even when its
Web API is slow or down.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.base import may_hold_surrogates, valid_text
from bot.channels.slack import render
from bot.channels.slack.api import (
    IN_TURN_CALL_SECONDS,
    WebApiHealth,
    api_error,
    client_session,
    describe_outage,
    error_code,
    in_turn_client,
    is_permanent,
    is_unreachable,
    outbox_call_seconds,
    outbox_client,
)
from bot.channels.slack.sender import SlackSender, fix_for
from bot.core.replies import Inbound, Reply, ReplyKind
from bot.dialogs.flow import ALL_QUESTIONS
from bot.dialogs.state import DialogState
from bot.knowledge.words import ChannelWords
from bot.records.db import StoreUnavailable
from bot.records.deliver import PermanentFailure, Sender
from bot.service import Bot, Handled
from bot.settings import Settings

log = logging.getLogger("canishare.slack")

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
DRAIN_SECONDS: Final = 10.0
STARTUP_CHECK_SECONDS: Final = 10.0
IDENTIFY_RETRY_SECONDS: Final = 30.0
ACK_BUDGET_SECONDS: Final = 2.0  # a turn is waited for this long before Slack is answered
# An event not yet saved when the budget runs out is answered with this, so Slack sends it again
SEND_AGAIN: Final = 503
START_SHORTCUT: Final = "start_decision"  # the global shortcut's callback_id (manifest)


def dm_key(team: str, user: str) -> str:
    """The conversation key of a person's direct messages with the bot."""
    return f"slack:{team}:{user}"


def shared_key(team: str, channel: str, user: str) -> str:
    """A separate key for a person in a shared channel, so it never touches their DM dialog."""
    return f"slack:{team}:{channel}:{user}"


# What bolt itself reads without checking types (its matchers and context extraction): a
# signed payload that breaks these is refused with a 400 before it reaches bolt.
_TOP_OBJECTS: Final = frozenset({"event", "view"})  # when present: an object, not even null
_TOP_LISTS: Final = frozenset({"actions", "authorizations", "response_urls"})  # likewise, a list
_OBJECT_FIELDS: Final = frozenset({"container", "state", "message", "previous_message", "item"})
_ID_FIELDS: Final = frozenset({"user", "channel", "team", "enterprise"})  # an id or an object
_LIST_FIELDS: Final = _TOP_LISTS  # at any depth: null or a list of objects
_STRING_FIELDS: Final = frozenset({"type", "action_id", "callback_id", "command"})


def well_formed(body: object) -> bool:
    """Whether a payload has the types bolt relies on, at any depth (checked without
    recursion, so deep nesting cannot exhaust the stack)."""
    if not isinstance(body, dict):
        return False
    if any(k in body and not isinstance(body[k], dict) for k in _TOP_OBJECTS):
        return False
    if any(k in body and not isinstance(body[k], list) for k in _TOP_LISTS):
        return False
    actions = body.get("actions")
    if body.get("type") == "block_actions" and not (
        actions
        and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)
    ):
        return False
    view = body.get("view")
    if body.get("type") in ("view_submission", "view_closed") and not (
        isinstance(view, dict) and isinstance(view.get("type"), str)
    ):
        return False
    pending: list[object] = [body]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if value is None:
                continue
            if key in _OBJECT_FIELDS and not isinstance(value, dict):
                return False
            if key in _ID_FIELDS and not isinstance(value, str | dict):
                return False
            if key in _LIST_FIELDS and not (
                isinstance(value, list) and all(isinstance(v, dict) for v in value)
            ):
                return False
            if key in _STRING_FIELDS and not isinstance(value, str):
                return False
            pending.append(value)
    return True


def text_at(data: Any, *path: str) -> str:
    """The string at `path` in nested JSON objects; "" when anything on the way is missing or
    of another type (a payload is never trusted to have the documented shape)."""
    for key in path:
        data = data.get(key) if isinstance(data, Mapping) else None
    return data if isinstance(data, str) else ""


def team_of(body: Mapping[str, Any]) -> str:
    return (
        text_at(body, "team_id") or text_at(body, "team", "id") or text_at(body, "user", "team_id")
    )


def user_of(body: Mapping[str, Any]) -> tuple[str, str]:
    """(user id, display name) of the person who clicked or submitted."""
    name = text_at(body, "user", "name") or text_at(body, "user", "username")
    return text_at(body, "user", "id"), name


def typed_text(raw: str) -> str:
    """What the person typed: mentions of the bot removed, Slack's escaping undone."""
    return render.unescape(_MENTION.sub(" ", raw)).strip()


def describe(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return api_error(exc)
    if is_unreachable(exc):
        return describe_outage(exc)
    return f"{type(exc).__name__}: {exc}"


def interaction_id(body: Mapping[str, Any]) -> str | None:
    """A key that is the same for a replayed click, submission, command or shortcut and new
    for every real one: Slack gives each interaction its own trigger id (and each click its
    own action_ts). None when the payload carries neither."""
    kind = text_at(body, "type") or ("command" if text_at(body, "command") else "")
    trigger = text_at(body, "trigger_id")
    if trigger:
        return f"slack:{kind}:{trigger}"
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    stamp = text_at(first, "action_ts")
    if stamp:
        return f"slack:{kind}:{text_at(body, 'user', 'id')}:{stamp}"
    return None


@dataclass
class BotIdentity:
    """Who the bot is in the workspace, from auth.test (cached: no call per request)."""

    user_id: str = ""
    bot_id: str = ""
    name: str = ""
    team_id: str = ""


def is_signed_timestamp(value: str) -> bool:
    """A Slack request timestamp is a whole number of seconds (bolt answers 500 otherwise)."""
    return value.isascii() and value.isdigit() and len(value) <= 12


class SlackChannel:
    """Routes, listeners, the outbox sender and the lifecycle of the Slack clients."""

    name = "slack"

    def __init__(
        self, bot: Bot, settings: Settings, wake: Callable[[], None] | None = None
    ) -> None:
        self.bot = bot
        self.settings = settings
        self._wake = wake or (lambda: None)
        self.web_api = WebApiHealth()
        self.client = in_turn_client(settings, self.web_api)
        self._outbox = outbox_client(settings, self.web_api)
        self._sender = SlackSender(self._outbox, bot, settings)
        self._sessions: list[aiohttp.ClientSession] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_send: dict[str, asyncio.Task[None]] = {}  # per person: replies in turn order
        self._dms: dict[str, str] = {}
        self._home: dict[str, Any] | None = None
        self.identity = BotIdentity()
        self._identify_at = -IDENTIFY_RETRY_SECONDS
        self.mode = "socket" if settings.slack_app_token else "http"
        secret = (settings.slack_signing_secret or "").strip()
        self._verifier = SignatureVerifier(secret) if secret else None  # only HTTP needs one

        async def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
            return self.authorization(enterprise_id, team_id)  # bolt reads these names

        self.app = AsyncApp(
            name="canishare",
            # bolt's own client is never used to call Slack (we use self.client); without a
            # token bolt asks `authorize` instead of calling auth.test on the first request,
            # which is what turned every request into a 500 while Slack was unreachable
            client=AsyncWebClient(base_url=settings.slack_api_url),
            authorize=authorize,
            signing_secret=settings.slack_signing_secret,
            # handle_http verifies every signature on the raw bytes before bolt sees the
            # request; bolt checking it again would only repeat the HMAC
            request_verification_enabled=False,
            process_before_response=True,  # we schedule slow work ourselves, and track it
            logger=logging.getLogger("canishare.slack.bolt"),
        )
        self._listen()

    # ------------------------------------------------------------------ Channel protocol
    @property
    def sender(self) -> Sender | None:
        return self._sender

    @property
    def single_try_client(self) -> AsyncWebClient:
        """The client without retries of its own (for callers that back off themselves)."""
        return self._outbox

    def add_routes(self, app: web.Application) -> None:
        app[SLACK_CHANNEL_KEY] = self
        if self.settings.slack_signing_secret:
            app.router.add_post("/slack/events", self.handle_http)
        else:
            log.info("no SLACK_SIGNING_SECRET: POST /slack/events is off (Socket Mode only)")

    async def startup(self) -> None:
        # one session per client, each with deadlines on every request: replies in a turn
        # wait at most 10 s a try; an outbox call ends well inside the delivery lease
        self.client.session = self._new_session(IN_TURN_CALL_SECONDS)
        self._outbox.session = self._new_session(outbox_call_seconds(self.settings))
        if await self.identify():
            await self.check_record_channel()
            await self.check_leads_channel()

    def _new_session(self, total: float) -> aiohttp.ClientSession:
        session = client_session(total)
        self._sessions.append(session)
        return session

    def health(self) -> Mapping[str, Any]:
        """Slack's part of `/healthz`: whether the Web API answers, the channels, the mode."""
        connected = self.web_api.connected
        channels = {
            "record": self._channel_health("record", self.settings.record_channel),
            "leads": self._channel_health("leads", self.settings.leads_channel),
        }
        if connected is False:
            state = "down"
        elif any(c["state"] not in ("ok", "unchecked") for c in channels.values()):
            state = "degraded"
        else:
            state = "ok"
        return {
            "state": state,
            "mode": "socket" if self.mode == "socket" else "http",
            "bot": self.identity.name or None,
            "web_api": self.web_api.report(),
            "record_channel": channels["record"],
            "leads_channel": channels["leads"],
        }

    def _channel_health(self, which: str, channel: str) -> dict[str, Any]:
        if not channel:
            return {"state": "not_configured", "channel": None}
        last = self._sender.channel_state.get(which)
        if last is None:
            return {"state": "unchecked", "channel": channel}
        if last == "ok":
            return {"state": "ok", "channel": channel}
        return {"state": "failing", "channel": channel, "error": last}

    async def shutdown(self) -> None:
        await self.drain(DRAIN_SECONDS)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for session in self._sessions:
            await session.close()
        self._sessions.clear()

    async def identify(self) -> bool:
        """Learn the bot's own ids and name (auth.test); one log line when that fails.
        False only when the token itself was refused."""
        self._identify_at = asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(STARTUP_CHECK_SECONDS):
                found = await self.client.auth_test()
        except SlackApiError as exc:
            code = error_code(exc)
            if is_permanent(exc):
                log.error("%s", fix_for(code, setting="", channel="", bot_name=self.bot_name))
                return False
            log.warning("Slack auth.test failed (%s); will try again", api_error(exc))
            return True
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning(
                "%s at start-up; requests are still acknowledged, replies wait for Slack",
                describe_outage(exc),
            )
            return True
        self.identity = BotIdentity(
            user_id=str(found.get("user_id") or ""),
            bot_id=str(found.get("bot_id") or ""),
            name=str(found.get("user") or ""),
            team_id=str(found.get("team_id") or ""),
        )
        self._sender.bot_name = self.bot_name
        return True

    @property
    def words(self) -> ChannelWords:
        """The words around the replies (messages.yaml, `channels`)."""
        return self.bot.conversation.words.channel

    @property
    def bot_name(self) -> str:
        """The bot's name as people type it after @ (for the /invite hints)."""
        return self.identity.name or self._sender.bot_name

    def authorization(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        """bolt's authorisation from what we already know: no Web API call per request."""
        loop = asyncio.get_running_loop()
        if not self.identity.user_id and loop.time() - self._identify_at > IDENTIFY_RETRY_SECONDS:
            self._identify_at = loop.time()
            self.spawn(self._identify_quietly(), "auth.test")
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id or self.identity.team_id or None,
            bot_user_id=self.identity.user_id or None,
            bot_id=self.identity.bot_id or None,
            bot_token=self.settings.slack_bot_token,
        )

    async def _identify_quietly(self) -> None:
        await self.identify()

    async def check_leads_channel(self) -> None:
        """Tell the admin, in one line, when escalations cannot reach the leads channel."""
        channel = self.settings.leads_channel
        if not channel:
            return
        try:
            async with asyncio.timeout(STARTUP_CHECK_SECONDS):
                problem = await self._sender.leads_channel_problem()
        except Exception as exc:
            log.warning(
                "could not check CANISHARE_LEADS_CHANNEL %s at start-up (%s)",
                channel,
                describe(exc),
            )
            return
        self._sender.channel_state["leads"] = problem or "ok"
        if problem:
            log.error("%s; escalations are kept in the store meanwhile", problem)

    async def check_record_channel(self) -> None:
        """Tell the admin, in one line, when decision records cannot go to the record channel."""
        channel = self.settings.record_channel
        if not channel:
            return
        try:
            async with asyncio.timeout(STARTUP_CHECK_SECONDS):
                problem = await self._sender.record_channel_problem()
        except PermanentFailure as exc:
            self._sender.channel_state["record"] = str(exc)
            log.error("%s", exc)
            return
        except Exception as exc:
            log.warning(
                "could not check CANISHARE_RECORD_CHANNEL %s at start-up (%s); it is checked "
                "again before each record is posted",
                channel,
                describe(exc),
            )
            return
        if problem:
            self._sender.channel_state["record"] = problem
            log.error(problem)
        else:
            self._sender.channel_state["record"] = "ok"
            log.info("record channel %s is private", channel)

    async def drain(self, timeout: float = DRAIN_SECONDS) -> None:
        """Wait (bounded) for the turns already scheduled to finish."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks and loop.time() < deadline:
            await asyncio.wait(set(self._tasks), timeout=max(0.0, deadline - loop.time()))

    # ------------------------------------------------------------------ HTTP
    async def handle_http(self, request: web.Request) -> web.StreamResponse:
        """POST /slack/events: the signature is checked on the raw body before anything is
        parsed (a malformed timestamp or a body that is not UTF-8 is a 401 too); a signed body
        bolt cannot parse is a 400."""
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        try:
            body = (await request.read()).decode("utf-8")
        except UnicodeDecodeError:
            body = None
        if (
            body is None
            or self._verifier is None
            or not is_signed_timestamp(stamp)
            or not self._verifier.is_valid(body, stamp, signature)
        ):
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = AsyncBoltRequest(
                body=body, query=request.query_string, headers=dict(request.headers)
            )
        except Exception:  # bolt parses (JSON, a form, its payload) as it builds the request
            bolt_request = None
        if (
            bolt_request is None
            or not well_formed(bolt_request.body)
            or (may_hold_surrogates(body) and not valid_text(bolt_request.body))
        ):
            return web.json_response({"error": "malformed request"}, status=400)
        response = await self.app.async_dispatch(bolt_request)
        result: web.StreamResponse = await to_aiohttp_response(response)
        return result

    # ------------------------------------------------------------------ listeners
    def _listen(self) -> None:
        self.app.event("message")(self._on_message)
        self.app.event("app_mention")(self._on_mention)
        self.app.event("app_home_opened")(self._on_home_opened)
        self.app.command("/canishare")(self._on_canishare)
        self.app.command("/myth")(self._on_myth)
        self.app.action(re.compile(r"^(choice:\d+|claim|more)$"))(self._on_action)
        self.app.view(render.RECORD_FORM_CALLBACK)(self._on_record_form)
        self.app.shortcut(START_SHORTCUT)(self._on_start_shortcut)

    async def _on_message(self, body: dict[str, Any], event: dict[str, Any]) -> BoltResponse | None:
        if event.get("subtype") or event.get("bot_id") or event.get("channel_type") != "im":
            return None  # edits, deletions, bot posts (ours included): never answered, no loops
        user, channel = text_at(event, "user"), text_at(event, "channel")
        if not user or not channel:
            return None
        self._dms[user] = channel
        inbound = self._inbound(team_of(body), user, text=typed_text(text_at(event, "text")))

        async def reply(handled: Handled) -> None:
            await self.show(handled.replies, channel, conversation=inbound.conversation)

        event_id = text_at(body, "event_id") or None
        return await self._turn_then(inbound, event_id, reply, "message", sent_again=True)

    async def _on_mention(self, body: dict[str, Any], event: dict[str, Any]) -> BoltResponse | None:
        user, channel = text_at(event, "user"), text_at(event, "channel")
        if not user or not channel or event.get("bot_id") or channel.startswith("D"):
            return None
        inbound = Inbound(
            conversation=shared_key(team_of(body), channel, user),
            user=user,
            channel="slack",
            now=self.bot.clock(),
            text=typed_text(text_at(event, "text")),
            private=False,
        )
        thread_ts = text_at(event, "thread_ts") or None

        async def reply(handled: Handled) -> None:
            await self.show(handled.replies, channel, only_for=user, thread_ts=thread_ts)

        event_id = text_at(body, "event_id") or None
        return await self._turn_then(inbound, event_id, reply, "mention", sent_again=True)

    async def _on_home_opened(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        user = text_at(event, "user")
        if user and event.get("tab", "home") == "home":
            self.spawn(self._publish_home(team_of(body), user), "app home")

    async def _on_canishare(self, ack: Any, body: dict[str, Any], command: dict[str, Any]) -> None:
        user = text_at(command, "user_id")
        inbound = self._inbound(
            text_at(command, "team_id"),
            user,
            choice=("menu", "start"),
            user_name=text_at(command, "user_name"),
        )

        async def reply(handled: Handled) -> None:
            await self._show_in_dm(user, handled.replies)

        await self._turn_then(inbound, interaction_id(body), reply, "/canishare")
        await ack(response_type="ephemeral", text=self.words.dm_sent)

    async def _on_start_shortcut(self, ack: Any, body: dict[str, Any]) -> None:
        """The global shortcut "Can I share?": start a decision in the person's DM. (There is
        no message shortcut: it would copy someone's message, names and all, into the bot.)"""
        user, name = user_of(body)
        if not user:
            await ack()
            return
        inbound = self._inbound(team_of(body), user, choice=("menu", "start"), user_name=name)

        async def reply(handled: Handled) -> None:
            await self._show_in_dm(user, handled.replies)

        await self._turn_then(inbound, interaction_id(body), reply, "shortcut")
        await ack()

    async def _on_myth(self, ack: Any, command: dict[str, Any]) -> None:
        question = render.unescape(text_at(command, "text")).strip()
        if not question:
            await ack(response_type="ephemeral", text=self.words.myth_usage)
            return
        replies = self._myth(text_at(command, "user_id"), question)
        text, blocks = render.messages(replies, self.words)[0]
        await ack(response_type="ephemeral", text=text, blocks=blocks)

    async def _on_action(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A button press. The turn is committed before the ack (Slack never sends an
        acknowledged click again), in arrival order; the Web API calls come after."""
        picked = render.parse_value(action.get("value"))
        if picked is None:
            await ack()
            return
        q, a = picked
        if q == render.CLAIM:
            await self._claim(ack, body, a)
            return
        user, name = user_of(body)
        inbound = self._inbound(team_of(body), user, choice=(q, a), user_name=name)

        async def reply(handled: Handled) -> None:
            await self._after_click(body, action, q, handled)

        await self._turn_then(inbound, interaction_id(body), reply, "click")
        await ack()

    async def _on_record_form(self, ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Validate in the ack (errors stay in the modal); post the saved record afterwards."""
        team = team_of(body)
        user, name = user_of(body)
        state = view.get("state")
        values = state.get("values") if isinstance(state, Mapping) else None
        inbound = self._inbound(
            team,
            user,
            form=render.form_values(values if isinstance(values, Mapping) else {}),
            user_name=name,
        )
        handled = await self.bot.handle(inbound, event_id=interaction_id(body))
        if handled.duplicate:
            await ack()  # a replayed submission: the first one was saved, nothing more to do
            return
        blocks = view.get("blocks")
        inputs = [
            text_at(b, "block_id")
            for b in (blocks if isinstance(blocks, list) else [])
            if text_at(b, "type") == "input" and text_at(b, "block_id")
        ]
        errors = form_errors(handled.replies, inputs, self.words)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        if handled.records:
            self._wake()
        # The confirmation goes to the DM of whoever submitted, as Slack reports it: never to a
        # channel named in private_metadata, which a crafted submission could point elsewhere.
        self.spawn(
            self._show_in_dm(user, handled.replies), "record form", after=inbound.conversation
        )

    # ------------------------------------------------------------------ turns
    def _inbound(self, team: str, user: str, **parts: Any) -> Inbound:
        return Inbound(
            conversation=dm_key(team, user),
            user=user,
            channel="slack",
            now=self.bot.clock(),
            private=True,
            forms=True,
            **parts,
        )

    async def _turn_then(
        self,
        inbound: Inbound,
        event_id: str | None,
        then: Callable[[Handled], Coroutine[Any, Any, None]],
        what: str,
        *,
        sent_again: bool = False,
    ) -> BoltResponse | None:
        """Commit the turn before returning, so before Slack's ack, then schedule `then` (the
        Web API calls) in the conversation's order. A turn that fails raises here: Slack gets
        an error, so nothing acknowledged is lost.

        A turn that takes longer than ACK_BUDGET_SECONDS (a store under strain) finishes
        afterwards, and what Slack is told depends on whether Slack would send it again.
        An event (`sent_again`: Slack resends an event until it is acknowledged) is answered
        SEND_AGAIN: it is not acknowledged before it is saved, so a crash meanwhile loses
        nothing, and the copy Slack sends runs as a duplicate (nothing) once the turn is
        saved. A click, command or shortcut is never sent again, so it is acknowledged within
        Slack's three seconds (otherwise the person sees an error while their turn goes on)."""
        turn = asyncio.ensure_future(self._run(inbound, event_id=event_id))
        await asyncio.wait({turn}, timeout=ACK_BUDGET_SECONDS)
        if turn.done():
            handled = turn.result()
            if not handled.duplicate:
                self.spawn(then(handled), what, after=inbound.conversation)
            return None
        if sent_again:
            log.warning(
                "a Slack %s took over %.1f s to save; answered %d so that Slack sends it again "
                "(it still runs once)",
                what,
                ACK_BUDGET_SECONDS,
                SEND_AGAIN,
            )
            finish = self._finish(turn, then, sent_again=True)
            self.spawn(finish, what, after=inbound.conversation)
            return BoltResponse(status=SEND_AGAIN, body="")
        log.warning(
            "a Slack %s took over %.1f s to save; acknowledged first, finished after",
            what,
            ACK_BUDGET_SECONDS,
        )
        self.spawn(self._finish(turn, then), what, after=inbound.conversation)
        return None

    @staticmethod
    async def _finish(
        turn: asyncio.Future[Handled],
        then: Callable[[Handled], Coroutine[Any, Any, None]],
        *,
        sent_again: bool = False,
    ) -> None:
        handled = await turn
        if handled.duplicate:
            return
        if handled.store_failed and sent_again:
            # Slack sends this event again; "please try again" now would make it run twice
            log.warning("a Slack event could not be saved; Slack sends it again")
            return
        await then(handled)

    async def _run(self, inbound: Inbound, *, event_id: str | None = None) -> Handled:
        """Run and commit one turn (no Slack call); wake the deliverer for new records."""
        handled = await self.bot.handle(inbound, event_id=event_id)
        if handled.records:
            self._wake()
        return handled

    async def _after_click(
        self, body: Mapping[str, Any], action: Mapping[str, Any], q: str, handled: Handled
    ) -> None:
        """Retire the clicked buttons, then show the replies in the person's DM (wherever the
        click was: DM, App Home, an ephemeral). "More" keeps its answer in place."""
        if q != render.MORE:
            await self._retire(body, action, q)
        user = text_at(body, "user", "id")
        channel = await self.dm_channel(user)
        await self.show(
            handled.replies,
            channel,
            trigger_id=text_at(body, "trigger_id") or None,
            conversation=dm_key(team_of(body), user),
        )

    async def _retire(self, body: Mapping[str, Any], action: Mapping[str, Any], q: str) -> None:
        """Replace the clicked row of buttons with "You answered: …", so an old button can't
        silently change an answer later. Only our own messages in a DM are edited."""
        container = body.get("container")
        if not isinstance(container, Mapping) or container.get("is_ephemeral"):
            return
        if text_at(container, "type") != "message" or text_at(container, "channel_id")[:1] != "D":
            return
        message = body.get("message")
        blocks = message.get("blocks") if isinstance(message, Mapping) else None
        channel, ts = text_at(container, "channel_id"), text_at(container, "message_ts")
        if not isinstance(blocks, list) or not ts:
            return
        said = self.words.answered if q in ALL_QUESTIONS else self.words.chose
        retired = render.retire_buttons(blocks, text_at(action, "action_id"), said)
        if retired is None:
            return
        text = text_at(message, "text") or self.words.app_name
        try:
            await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=retired)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "could not retire the buttons of a message in %s: %s", channel, describe(exc)
            )

    async def _claim(self, ack: Any, body: Mapping[str, Any], escalation_id: str) -> None:
        user, name = user_of(body)
        result = await self.bot.claim(escalation_id, user, name or user)
        await ack()
        if result is not None and result.won:
            self._wake()  # the card update and the practitioner's note go through the outbox
            return
        text = result.message if result is not None else self.words.request_closed
        channel = text_at(body, "container", "channel_id") or text_at(body, "channel", "id")
        if channel:
            reply = [Reply(kind=ReplyKind.INFO, text=text)]
            self.spawn(self.show(reply, channel, only_for=user), "claim")

    def _myth(self, user: str, question: str) -> list[Reply]:
        """/myth: a knowledge answer presented exactly as in a DM — a safety note first when
        the question might describe danger now, "Did you mean…" when the search is not sure,
        the offer to work through a decision after a case story (rate limited like a turn)."""
        conversation = self.bot.conversation
        if not self.bot.limiter.allow(user):
            return [Reply(kind=ReplyKind.INFO, text=conversation.words.text("rate_limited"))]
        result = conversation.knowledge.ask(question)
        self.spawn(self.bot.count_answer(question, result), "/myth count")
        return conversation.say.answer(result, in_dialog=False)

    # ------------------------------------------------------------------ showing replies
    async def show(
        self,
        replies: Sequence[Reply],
        channel: str,
        *,
        trigger_id: str | None = None,
        conversation: str = "",
        only_for: str | None = None,
        thread_ts: str | None = None,
    ) -> None:
        """Post replies (ephemerally when `only_for` is set); a form opens as a modal."""
        rest: list[Reply] = []
        for reply in replies:
            form = reply.form if reply.kind == ReplyKind.FORM else None
            if (
                form is not None
                and trigger_id
                and await self._open_form(form, trigger_id, conversation, channel)
            ):
                continue
            rest.append(reply)
        for text, blocks in render.messages(rest, self.words):
            try:
                if only_for:
                    await self.client.chat_postEphemeral(
                        channel=channel,
                        user=only_for,
                        text=text,
                        blocks=blocks,
                        thread_ts=thread_ts,
                    )
                else:
                    await self.client.chat_postMessage(
                        channel=channel,
                        text=text,
                        blocks=blocks,
                        unfurl_links=False,
                        unfurl_media=False,
                    )
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                log.error(
                    "could not post a reply in %s: %s (the conversation is saved; the person "
                    "sees the next question when they write again)",
                    channel,
                    describe(exc),
                )
                return

    async def _open_form(self, form: Any, trigger_id: str, conversation: str, channel: str) -> bool:
        metadata = json.dumps({"conversation": conversation, "channel": channel})
        try:
            await self.client.views_open(
                trigger_id=trigger_id, view=render.record_modal(form, metadata, self.words)
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("could not open the record form (%s); offering a button", describe(exc))
            return False
        return True

    async def _show_in_dm(self, user: str, replies: Sequence[Reply]) -> None:
        await self.show(replies, await self.dm_channel(user))

    async def dm_channel(self, user: str) -> str:
        """The id of the person's DM with the bot (opened once, then remembered)."""
        if user not in self._dms:
            opened = await self.client.conversations_open(users=user)
            self._dms[user] = str(opened["channel"]["id"])
        return self._dms[user]

    async def _publish_home(self, team: str, user: str) -> None:
        welcome = await self._welcome_for(dm_key(team, user))
        await self.client.views_publish(user_id=user, view=self.home_view(welcome))

    async def _welcome_for(self, conversation: str) -> list[Reply] | None:
        """The offer to carry on or start again when the person has a dialog in progress in
        their DM (None when they have not, or the store cannot say: the usual welcome then)."""
        try:
            raw, _ = await self.bot.store.load_state(conversation)
        except StoreUnavailable as exc:
            log.warning("App Home: could not read the dialog in progress (%s)", exc)
            return None
        state = DialogState.from_json(raw)
        if not state.in_dialog:
            return None
        return self.bot.conversation.welcome(state, self.bot.clock())

    def home_view(self, welcome: Sequence[Reply] | None = None) -> dict[str, Any]:
        """The App Home tab: the welcome (or `welcome`, the offer to carry on with a dialog in
        progress), the myths, the golden rules and the local contacts."""
        if welcome is None and self._home is not None:
            return self._home
        conversation = self.bot.conversation
        kb = conversation.knowledge.kb
        rules = kb.entries.get("topic.golden-rules")
        view = render.home_view(
            list(welcome) if welcome else conversation.say.menu(with_welcome=True),
            conversation.say.myths(),
            conversation.say.entry(rules, full=False, in_dialog=True) if rules else None,
            kb.contact_lines(kb.contacts),
            kb.organisation,
            words=self.words,
        )
        if welcome is None:
            self._home = view
        return view

    # ------------------------------------------------------------------ background work
    def spawn(self, work: Coroutine[Any, Any, None], what: str, *, after: str = "") -> None:
        """Run `work` after the ack; failures are logged, never lost silently. Work spawned
        with the same `after` key (a conversation) runs one at a time, in the order spawned,
        so one person's replies appear in the order their turns ran."""
        previous = self._last_send.get(after) if after else None
        task = asyncio.create_task(self._guarded(self._after(previous, work), what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if after:
            self._last_send[after] = task
            task.add_done_callback(lambda done: self._forget(after, done))

    def _forget(self, key: str, done: asyncio.Task[None]) -> None:
        if self._last_send.get(key) is done:
            del self._last_send[key]

    @staticmethod
    async def _after(previous: asyncio.Task[None] | None, work: Coroutine[Any, Any, None]) -> None:
        if previous is not None:
            await asyncio.wait({previous})  # its own failure is logged by its own guard
        await work

    @staticmethod
    async def _guarded(work: Coroutine[Any, Any, None], what: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            expected = isinstance(exc, SlackApiError) or is_unreachable(exc)
            log.error(
                "Slack %s failed: %s%s",
                what,
                describe(exc),
                " (the conversation is saved)" if expected else "",
                exc_info=not expected,  # a traceback only for what is a bug, not an outage
            )


SLACK_CHANNEL_KEY = web.AppKey("slack_channel", SlackChannel)  # set by add_routes


def form_errors(
    replies: Sequence[Reply], block_ids: Sequence[str], words: ChannelWords
) -> dict[str, str]:
    """The modal's inline errors for a submission, or {} when the record was saved.

    When the turn did not save (e.g. the person is rate limited) its message is shown on the
    form too, so nothing typed is lost.
    """
    for reply in replies:
        if reply.kind == ReplyKind.FORM and reply.form is not None and reply.form.errors:
            return render.modal_errors(reply.form, block_ids)
    if any(r.kind == ReplyKind.SUMMARY for r in replies) or not replies or not block_ids:
        return {}
    message = " ".join(r.text for r in replies if r.text) or words.form_kept
    return {block_ids[0]: render.clip(message, 2000)}
