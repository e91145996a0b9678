"""The Slack Web API clients: one shared aiohttp session, bounded retries for 429 and 5xx.

slack_sdk's own rate-limit handler cannot read a fractional `Retry-After` and nothing retries
server errors by default, so both handlers live here. Replies inside a turn retry a few times;
outbox deliveries do not retry in the client — the Deliverer reschedules them instead.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.settings import Settings

IN_TURN_TRIES: Final = 3  # one try and two retries for a reply the person is waiting for
MAX_RETRY_AFTER: Final = 30.0  # longer waits are not worth holding a reply for
DEFAULT_RETRY_AFTER: Final = 1.0
SDK_LOGGER: Final = "slack_sdk.web.async_base_client"  # the clients' default logger
IN_TURN_CALL_SECONDS: Final = 10.0
OUTBOX_CALL_SECONDS: Final = 15.0
CONNECT_SECONDS: Final = 5.0
# Slack's errors that no retry can fix: someone has to change a setting, the token or the channel
PERMANENT_ERRORS: Final = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "team_access_not_granted",
        "restricted_action",
    }
)


def retry_after_seconds(
    headers: Mapping[str, Any] | None, default: float = DEFAULT_RETRY_AFTER
) -> float:
    """Seconds from a Retry-After header (whole or fractional); `default` when absent or odd."""
    if not headers:
        return default
    for name, raw in headers.items():
        if str(name).lower() != "retry-after":
            continue
        value = raw[0] if isinstance(raw, list | tuple) and raw else raw
        try:
            seconds = float(str(value).strip())
        except ValueError:
            return default
        return seconds if seconds >= 0 and seconds == seconds else default  # NaN check
    return default


class RateLimitRetry(AsyncRetryHandler):
    """Retry a 429 after Retry-After (fractional values included) plus a little jitter."""

    def __init__(self, max_retry_count: int, max_wait: float = MAX_RETRY_AFTER) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code == 429

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        wait = retry_after_seconds(response.headers if response is not None else None)
        await asyncio.sleep(min(wait, self.max_wait) + random.random() * 0.1)
        state.increment_current_attempt()


class ServerErrorRetry(AsyncRetryHandler):
    """Retry 5xx answers with exponential backoff and jitter (0.25 s, 0.5 s, …)."""

    def __init__(self, max_retry_count: int, base: float = 0.25) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.base = base

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code >= 500

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        wait = self.base * 2**state.current_attempt
        await asyncio.sleep(wait * (0.75 + random.random() / 2))
        state.increment_current_attempt()


class WebApiHealth:
    """What the last Web API calls said: for `/healthz` and the start-up lines."""

    def __init__(self) -> None:
        self.last_success: datetime | None = None
        self.last_failure: datetime | None = None
        self.last_error = ""

    @property
    def connected(self) -> bool | None:
        """True when the last call reached Slack, False when it did not, None before any call."""
        if self.last_success is None and self.last_failure is None:
            return None
        if self.last_failure is None:
            return True
        return self.last_success is not None and self.last_success > self.last_failure

    def reached(self) -> None:
        self.last_success = datetime.now(UTC)

    def unreachable(self, exc: BaseException) -> None:
        self.last_failure = datetime.now(UTC)
        self.last_error = describe_outage(exc)

    def report(self) -> dict[str, Any]:
        return {
            "connected": self.connected,
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "last_failure": self.last_failure.isoformat() if self.last_failure else None,
            "last_error": self.last_error or None,
        }


def describe_outage(exc: BaseException) -> str:
    """One line for a call that never got Slack's answer."""
    if isinstance(exc, TimeoutError):
        return "Slack did not answer in time"
    return f"Slack could not be reached ({type(exc).__name__}: {exc})"[:300]


class TrackedWebClient(AsyncWebClient):
    """An AsyncWebClient that notes whether each call reached Slack (an error answer such as
    `channel_not_found` still means Slack is up; a refused connection or a timeout does not)."""

    health: WebApiHealth

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        try:
            response = await super().api_call(api_method, **kwargs)
        except SlackApiError:
            self.health.reached()
            raise
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            self.health.unreachable(exc)
            raise
        self.health.reached()
        return response


def outbox_call_seconds(settings: Settings) -> float:
    """The deadline of one outbox call: well inside the delivery lease, so a hung call can
    never outlive the lease and let another replica post the same delivery."""
    return max(0.5, min(OUTBOX_CALL_SECONDS, settings.delivery_lease_seconds / 4))


def delivery_seconds(settings: Settings) -> float:
    """The deadline of a whole delivery (a channel check, history pages and the post)."""
    return max(1.0, settings.delivery_lease_seconds * 0.6)


def client_session(total: float) -> aiohttp.ClientSession:
    """A shared session whose every request has a deadline. slack_sdk applies its own
    `timeout` only to sessions it creates; a session handed to it keeps aiohttp's 300 s."""
    timeout = aiohttp.ClientTimeout(total=total, sock_connect=min(CONNECT_SECONDS, total))
    return aiohttp.ClientSession(timeout=timeout)


class ProportionalJitter(Jitter):
    """±25 % of the wait (the SDK's default adds up to a whole second to every retry)."""

    def recalculate(self, duration: float) -> float:
        return duration * (0.75 + random.random() / 2)


def _tracked(health: WebApiHealth | None, client: TrackedWebClient) -> TrackedWebClient:
    client.health = health or WebApiHealth()
    return client


def in_turn_client(settings: Settings, health: WebApiHealth | None = None) -> TrackedWebClient:
    """For replies during a turn: up to three tries on 429, 5xx and dropped connections."""
    retries = IN_TURN_TRIES - 1
    client = TrackedWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=int(IN_TURN_CALL_SECONDS),
        logger=sdk_logger(),
        retry_handlers=[
            RateLimitRetry(retries),
            ServerErrorRetry(retries),
            # a dropped or refused connection: 0.25 s, then 0.5 s
            AsyncConnectionErrorRetryHandler(
                max_retry_count=retries,
                interval_calculator=BackoffRetryIntervalCalculator(0.25, ProportionalJitter()),
            ),
        ],
    )
    return _tracked(health, client)


def outbox_client(settings: Settings, health: WebApiHealth | None = None) -> TrackedWebClient:
    """For outbox deliveries: no client retries; failures go back to the Deliverer."""
    client = TrackedWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=max(1, int(outbox_call_seconds(settings))),
        logger=sdk_logger(),
        retry_handlers=[],
    )
    return _tracked(health, client)


def sdk_logger() -> logging.Logger:
    """slack_sdk's own client logger, with its level set when nobody has set it.

    The SDK decides whether to build its debug lines with `logger.level <= DEBUG` rather than
    `isEnabledFor(DEBUG)`, so on a logger left at NOTSET it formats every request and response
    (every block of every reply) on each call, only for `debug()` to drop the text. Setting the
    level to the effective one (INFO under `serve`) skips that work and logs exactly what was
    logged before; to see those debug lines, set this logger to DEBUG.
    """
    logger = logging.getLogger(SDK_LOGGER)
    if logger.level == logging.NOTSET:
        logger.setLevel(logger.getEffectiveLevel())
    return logger


def api_error(exc: SlackApiError) -> str:
    """Slack's error code (e.g. 'channel_not_found'), or the HTTP status when there is none."""
    response = exc.response
    data = getattr(response, "data", None)
    if isinstance(data, Mapping) and data.get("error"):
        needed = f" (needs {data['needed']})" if data.get("needed") else ""
        return f"{data['error']}{needed}"
    return f"HTTP {getattr(response, 'status_code', '?')}"


def status_of(exc: SlackApiError) -> int:
    return int(getattr(exc.response, "status_code", 0) or 0)


def error_code(exc: SlackApiError) -> str:
    """Slack's bare error code ('' when the answer had none)."""
    data = getattr(exc.response, "data", None)
    return str(data.get("error") or "") if isinstance(data, Mapping) else ""


def is_permanent(exc: SlackApiError) -> bool:
    """Slack refused for a reason that retrying cannot fix."""
    return error_code(exc) in PERMANENT_ERRORS


def is_unreachable(exc: BaseException) -> bool:
    """Slack could not be reached or did not answer in time: an outage, not a bug."""
    return isinstance(exc, aiohttp.ClientError | TimeoutError | ConnectionError)


def is_transient(exc: SlackApiError) -> bool:
    """Worth trying again later: rate limits and Slack's own server errors."""
    status = status_of(exc)
    return status == 429 or status >= 500
