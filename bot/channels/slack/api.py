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
from typing import Any, Final

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings

IN_TURN_TRIES: Final = 3  # one try and two retries for a reply the person is waiting for
MAX_RETRY_AFTER: Final = 30.0  # longer waits are not worth holding a reply for
DEFAULT_RETRY_AFTER: Final = 1.0
SDK_LOGGER: Final = "slack_sdk.web.async_base_client"  # the clients' default logger


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


def in_turn_client(settings: Settings) -> AsyncWebClient:
    """For replies during a turn: up to three tries on 429, 5xx and dropped connections."""
    retries = IN_TURN_TRIES - 1
    return AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        logger=sdk_logger(),
        retry_handlers=[
            RateLimitRetry(retries),
            ServerErrorRetry(retries),
            AsyncConnectionErrorRetryHandler(max_retry_count=retries),
        ],
    )


def outbox_client(settings: Settings) -> AsyncWebClient:
    """For outbox deliveries: no client retries; failures go back to the Deliverer."""
    return AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=15,
        logger=sdk_logger(),
        retry_handlers=[],
    )


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


def is_transient(exc: SlackApiError) -> bool:
    """Worth trying again later: rate limits and Slack's own server errors."""
    status = status_of(exc)
    return status == 429 or status >= 500
