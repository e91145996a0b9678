"""Bot Framework plumbing the SDK's defaults get wrong for us: connector clients reused rather
than rebuilt every turn, bounded retries with backoff, and a cheap msrest fix.

Measured on this machine (see the platform notes): a stock CloudAdapter builds two msrest clients
per turn, and each one spends milliseconds rebuilding a retry-status list; it also never retries
a 429 or 5xx from the connector. Everything here is SDK glue; no dialog logic.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)
from msrest.exceptions import ClientRequestError

log = logging.getLogger("canishare.teams")
T = TypeVar("T")

SEND_TIMEOUT_SECONDS: Final = 15.0  # one connector call; Teams itself gives a turn 15 s
# A proactive post must give up well before its outbox lease ends, or another replica could
# take the delivery over while this one is still sending it.
LEASE_SHARE: Final = 0.5
REPLY_ATTEMPTS: Final = 4
REPLY_BUDGET_SECONDS: Final = 10.0  # never keep a turn waiting longer than this on retries
FIRST_BACKOFF_SECONDS: Final = 0.5
MAX_CACHED_CLIENTS: Final = 64
TRANSIENT_STATUS: Final = frozenset({408, 425, 429, 500, 502, 503, 504})


def speed_up_msrest() -> None:
    """Make msrest's retry-policy set-up cheap, once per process.

    `ClientRetryPolicy()` builds its status list with `i not in safe_codes` over a ~500-item
    list for 999 codes — about 4 ms per client. A frozenset of the same codes gives the same list.
    """
    from msrest.universal_http.requests import ClientRetryPolicy

    codes = ClientRetryPolicy.safe_codes
    if not isinstance(codes, frozenset):
        ClientRetryPolicy.safe_codes = frozenset(codes)  # type: ignore[assignment]


def deadline_for(lease_seconds: float) -> float:
    """How long one outbox delivery may take: under half the delivery lease."""
    return max(0.1, min(lease_seconds * LEASE_SHARE, 2 * SEND_TIMEOUT_SECONDS))


def send_timeout_for(lease_seconds: float) -> float:
    """The socket timeout of one connector call: a delivery may make two (the token and the
    post), and both must end inside its deadline."""
    return min(SEND_TIMEOUT_SECONDS, deadline_for(lease_seconds) / 2)


def tune_client(client: Any, timeout: float | None = None) -> Any:
    """Give a connector client a timeout and no transport-level retries: ours are bounded and
    honour Retry-After, and stacking both would multiply the waits."""
    config = client.config
    config.connection.timeout = SEND_TIMEOUT_SECONDS if timeout is None else timeout
    policy = config.retry_policy
    policy.retries = 0
    # the requests session already holds this very Retry object, so change it in place
    policy.policy.status_forcelist = frozenset()
    return client


class CachingConnectorFactory(ConnectorFactory):  # type: ignore[misc]
    """Hands out one connector client per (serviceUrl, audience) instead of one per turn.

    The credentials inside are reused too, so an AAD token is fetched once an hour rather than
    once per turn. Entries are capped, since without auth anyone can name a serviceUrl.
    """

    def __init__(self, inner: ConnectorFactory, timeout: float | None = None) -> None:
        self._inner = inner
        self._timeout = timeout
        self._clients: OrderedDict[tuple[str, str], Any] = OrderedDict()

    async def create(self, service_url: str, audience: str | None = None) -> Any:
        key = (service_url or "", audience or "")
        client = self._clients.get(key)
        if client is not None:
            self._clients.move_to_end(key)
            return client
        client = tune_client(await self._inner.create(service_url, audience), self._timeout)
        self._clients[key] = client
        while len(self._clients) > MAX_CACHED_CLIENTS:
            _, old = self._clients.popitem(last=False)
            await close_client(old)
        return client

    async def close(self) -> None:
        while self._clients:
            _, client = self._clients.popitem()
            await close_client(client)


async def close_client(client: Any) -> None:
    try:
        await client.__aexit__(None, None, None)
    except Exception:  # closing is best effort: the process is going anyway
        log.debug("closing a connector client failed", exc_info=True)


def app_id_of(identity: ClaimsIdentity | None) -> str:
    """The bot's app id from a claims identity, as the SDK reads it (audience, else appid)."""
    if identity is None:
        return ""
    claims = identity.claims or {}
    return str(
        claims.get(AuthenticationConstants.AUDIENCE_CLAIM)
        or claims.get(AuthenticationConstants.APP_ID_CLAIM)
        or ""
    )


class CachingAuthentication(BotFrameworkAuthentication):  # type: ignore[misc]
    """Wraps the SDK's authentication so every turn shares connector and token clients."""

    def __init__(self, inner: BotFrameworkAuthentication, timeout: float | None = None) -> None:
        self._inner = inner
        self.timeout = timeout
        self._factories: dict[str, CachingConnectorFactory] = {}
        self._token_clients: dict[str, UserTokenClient] = {}

    def _factory(self, identity: ClaimsIdentity | None, made: ConnectorFactory | None) -> Any:
        app_id = app_id_of(identity)
        factory = self._factories.get(app_id)
        if factory is None:
            factory = CachingConnectorFactory(
                made or self._inner.create_connector_factory(identity), self.timeout
            )
            self._factories[app_id] = factory
        return factory

    async def authenticate_request(self, activity: Any, auth_header: str) -> Any:
        result: AuthenticateRequestResult = await self._inner.authenticate_request(
            activity, auth_header
        )
        if result.connector_factory is not None:
            result.connector_factory = self._factory(
                result.claims_identity, result.connector_factory
            )
        return result

    async def authenticate_streaming_request(self, auth_header: str, channel_id_header: str) -> Any:
        return await self._inner.authenticate_streaming_request(auth_header, channel_id_header)

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> Any:
        return self._factory(claims_identity, None)

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> Any:
        # only sign-in prompts use it, but CloudAdapter builds one per turn unless we keep it
        app_id = app_id_of(claims_identity)
        client = self._token_clients.get(app_id)
        if client is None:
            client = await self._inner.create_user_token_client(claims_identity)
            self._token_clients[app_id] = client
        return client

    def create_bot_framework_client(self) -> Any:
        return self._inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return str(self._inner.get_originating_audience())

    async def authenticate_channel_request(self, auth_header: str) -> Any:
        return await self._inner.authenticate_channel_request(auth_header)

    async def close(self) -> None:
        for factory in self._factories.values():
            await factory.close()


# ---------------------------------------------------------------------- failures and retries
def failure_status(exc: BaseException) -> int | None:
    """The HTTP status a connector call failed with, if it got that far."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    return status if isinstance(status, int) else None


def retry_after_seconds(exc: BaseException) -> float | None:
    """The connector's Retry-After, in seconds, if it sent one."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is None:
        return None
    try:
        raw = headers.get("Retry-After")
    except Exception:
        return None
    try:
        seconds = float(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None
    return seconds if seconds is not None and seconds >= 0 else None


def is_transient(exc: BaseException) -> bool:
    """Worth another try: throttling, a server error, a timeout or a dropped connection."""
    status = failure_status(exc)
    if status is not None:
        return status in TRANSIENT_STATUS
    return isinstance(exc, ClientRequestError | TimeoutError | ConnectionError)


def describe(exc: BaseException) -> str:
    status = failure_status(exc)
    if status is not None:
        return f"the Teams connector answered HTTP {status}"
    if isinstance(exc, TimeoutError):
        return "the Teams connector did not answer in time"
    return f"{type(exc).__name__}: {exc}"[:300]


def credentials_refused(exc: BaseException) -> bool:
    """Azure AD would not give the bot a token (a wrong or expired secret, a wrong tenant)."""
    return "AADSTS" in str(exc) or "invalid_client" in str(exc)


def permanent_fault(exc: BaseException, where: str) -> str | None:
    """What is wrong and how to fix it, when retrying a connector call cannot help; else None.

    Args:
        where: the setting or conversation the call was for, named in the message.
    """
    status = failure_status(exc)
    if status == 401 or credentials_refused(exc):
        return (
            "Teams refused the bot's credentials"
            + (f" (HTTP {status})" if status else "")
            + ": check MicrosoftAppId, MicrosoftAppPassword (a client secret expires), "
            "MicrosoftAppType and MicrosoftAppTenantId against the Azure Bot resource"
        )
    if status == 403:
        return (
            f"Teams would not let the bot post to {where} (HTTP 403): the app was probably "
            "removed from that team or chat; add it again, then run 'canishare records status'"
        )
    if status == 404:
        return (
            f"Teams does not know the conversation {where} (HTTP 404): check the conversation "
            "id in the setting, and that the channel still exists and the app is in its team"
        )
    return None


def backoff(attempt: int) -> float:
    return FIRST_BACKOFF_SECONDS * 2.0 ** (attempt - 1) * (0.8 + random.random() * 0.4)


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int = REPLY_ATTEMPTS,
    budget: float = REPLY_BUDGET_SECONDS,
) -> T:
    """Run a connector call, retrying transient failures with backoff (or as long as
    Retry-After asks), at most `attempts` times and within `budget` seconds."""
    deadline = time.monotonic() + budget
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except Exception as exc:
            if attempt >= attempts or not is_transient(exc):
                raise
            wait = retry_after_seconds(exc)
            wait = backoff(attempt) if wait is None else wait
            if time.monotonic() + wait > deadline:
                raise
            log.info("Teams connector call failed (%s); trying again in %.1fs", describe(exc), wait)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
