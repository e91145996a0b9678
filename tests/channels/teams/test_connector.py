"""Connector plumbing: the msrest speed-up, client reuse, and bounded retries."""

from __future__ import annotations

from typing import Any

import pytest

from bot.channels.teams import connector
from bot.channels.teams.connector import (
    CachingConnectorFactory,
    is_transient,
    retry_after_seconds,
    speed_up_msrest,
    with_retries,
)


class Response:
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self.headers = headers or {}


class HttpError(Exception):
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.response = Response(status, headers)


def test_the_msrest_speed_up_keeps_exactly_the_same_retry_codes() -> None:
    from msrest.universal_http.requests import ClientRetryPolicy

    before = [i for i in range(999) if i not in list(ClientRetryPolicy.safe_codes)]

    speed_up_msrest()
    speed_up_msrest()

    assert isinstance(ClientRetryPolicy.safe_codes, frozenset)
    assert ClientRetryPolicy().policy.status_forcelist == before


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (HttpError(500), True),
        (HttpError(503), True),
        (HttpError(429), True),
        (HttpError(403), False),
        (HttpError(404), False),
        (TimeoutError(), True),
        (ConnectionResetError(), True),
        (ValueError("a bug"), False),
    ],
)
def test_only_throttling_server_errors_and_lost_connections_are_retried(
    error: Exception, transient: bool
) -> None:
    assert is_transient(error) is transient


@pytest.mark.parametrize(("header", "seconds"), [("3", 3.0), ("0.5", 0.5), ("soon", None)])
def test_retry_after_is_read_in_seconds(header: str, seconds: float | None) -> None:
    assert retry_after_seconds(HttpError(429, {"Retry-After": header})) == seconds


async def test_retries_stop_after_the_allowed_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connector, "FIRST_BACKOFF_SECONDS", 0.001)
    calls = 0

    async def failing() -> None:
        nonlocal calls
        calls += 1
        raise HttpError(500)

    with pytest.raises(HttpError):
        await with_retries(failing, attempts=3)

    assert calls == 3


async def test_a_permanent_failure_is_not_retried() -> None:
    calls = 0

    async def forbidden() -> None:
        nonlocal calls
        calls += 1
        raise HttpError(403)

    with pytest.raises(HttpError):
        await with_retries(forbidden)

    assert calls == 1


async def test_a_retry_after_beyond_the_budget_gives_up_at_once() -> None:
    calls = 0

    async def throttled() -> None:
        nonlocal calls
        calls += 1
        raise HttpError(429, {"Retry-After": "60"})

    with pytest.raises(HttpError):
        await with_retries(throttled, budget=5.0)

    assert calls == 1


async def test_connector_clients_are_made_once_per_service_url() -> None:
    made: list[str] = []

    class Inner:
        async def create(self, service_url: str, audience: str | None = None) -> Any:
            made.append(service_url)
            from botframework.connector.aio import ConnectorClient
            from botframework.connector.auth import MicrosoftAppCredentials

            return ConnectorClient(MicrosoftAppCredentials.empty(), base_url=service_url)

    factory = CachingConnectorFactory(Inner())

    first = await factory.create("https://smba.example/uk/", "aud")
    again = await factory.create("https://smba.example/uk/", "aud")
    other = await factory.create("https://smba.example/emea/", "aud")
    await factory.close()

    assert first is again and first is not other
    assert made == ["https://smba.example/uk/", "https://smba.example/emea/"]
    assert first.config.connection.timeout == connector.SEND_TIMEOUT_SECONDS
    assert first.config.retry_policy.policy.total == 0
