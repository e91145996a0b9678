"""Broken activities (missing fields, wrong types) get a 4xx or a quiet 200, never a 500 and
never an exception in the log. Without an app id nothing stops them reaching the turn code."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest

from tests.channels.teams.conftest import StartTeams, Teams, payload

NAMES = (
    "personal_message",
    "personal_card_submit",
    "personal_install",
    "team_install",
    "channel_mention",
    "leads_card_submit",
    "invoke_adaptive_card_action",
)
PATHS = (
    ("type",),
    ("id",),
    ("text",),
    ("value",),
    ("value", "q"),
    ("value", "a"),
    ("from",),
    ("from", "id"),
    ("recipient",),
    ("recipient", "id"),
    ("conversation",),
    ("conversation", "id"),
    ("conversation", "conversationType"),
    ("conversation", "tenantId"),
    ("channelData",),
    ("channelData", "team"),
    ("channelData", "tenant"),
    ("channelData", "eventType"),
    ("entities",),
    ("membersAdded",),
    ("replyToId",),
    ("name",),
    ("serviceUrl",),
)
BROKEN: tuple[Any, ...] = (None, 0, "", "\x00\u202e", [], {}, [{"type": None}], {"id": None})


def broken(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any] | None:
    out = copy.deepcopy(data)
    target: Any = out
    for key in path[:-1]:
        target = target.get(key) if isinstance(target, dict) else None
    if not isinstance(target, dict) or (path[-1] not in target and len(path) > 1):
        return None
    target[path[-1]] = value
    return out


@pytest.mark.parametrize("name", NAMES)
async def test_broken_activities_never_get_a_500_or_an_exception_in_the_log(
    start_teams: StartTeams, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    teams = await start_teams(CANISHARE_RATE_LIMIT="10000")  # every one reaches the turn code
    base = teams.activity(name)
    statuses: dict[int, int] = {}

    with caplog.at_level(logging.ERROR):
        for path in PATHS:
            for value in BROKEN:
                activity = broken(base, path, value)
                if activity is None:
                    continue
                activity["id"] = teams.activity(name).get("id") if path != ("id",) else value
                status, _ = await teams.post(activity)
                statuses[status] = statuses.get(status, 0) + 1
                assert status < 500, f"{path}={value!r} gave {status}"

    crashes = [r for r in caplog.records if r.exc_info]
    assert crashes == [], [r.getMessage() for r in crashes]
    assert statuses.get(200) and statuses.get(400)


async def test_a_long_message_gets_a_polite_reply(teams: Teams) -> None:
    reply = await teams.say("can I share? " * 2000)

    assert "too long" in reply.text


async def test_more_text_than_a_teams_message_can_hold_is_refused_unread(teams: Teams) -> None:
    status, _ = await teams.post(teams.message("can I share? " * 3000))

    assert status == 413
    assert teams.connector.calls == []


def test_the_payloads_are_shaped_like_teams_sends_them() -> None:
    for name in NAMES:
        data = payload(name)
        assert data["channelId"] == "msteams"
        assert data["recipient"]["id"].startswith("28:")
        assert data["conversation"]["tenantId"]
