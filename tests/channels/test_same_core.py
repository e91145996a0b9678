"""One conversation script, played through Slack and through Teams on the same server: the
same questions, the same outcome, the same record — the channels only translate."""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import Core
from bot.settings import load_settings
from tests.channels.slack.conftest import (
    LEADS_CHANNEL,
    RECORD_CHANNEL,
    SlackHarness,
    environment,
    start_harness,
)
from tests.channels.teams.conftest import PERSONAL_KEY, payload
from tests.fakes.bf_connector import FakeConnector
from tests.fakes.slack_api import FakeSlack

# (kind, value): "text" is typed; "click" carries {"q", "a"} as a button or card submit.
SCRIPT: list[tuple[str, Any]] = [
    ("text", "can I share?"),
    ("click", ("immediate_danger", "no")),
    ("text", "nope"),
    ("click", ("legitimate_purpose", "yes")),
    ("text", "yes"),
    ("text", "not sure"),
    ("click", ("risk_of_harm", "no")),
    ("click", ("person", "child_12_15")),
    ("text", "she said no"),
    ("click", ("public_interest", "yes")),
]
RECORD = {
    "case_reference": "CP-2026-0777",
    "what": "The pupil's account and the attendance pattern this term",
    "with_whom": "Children's social care, duty social worker",
    "purpose": "So social care can decide whether to assess",
    "lawful_basis": "public_task",
    "special_category": "none",
    "reasons": "Refused consent, but the public interest in protecting the pupil outweighs it",
}
SAME = ("outcome", "decided_by", "shared", "answers", "flow_version", "knowledge_version", *RECORD)
_ids = itertools.count(9000)


@pytest.fixture
async def both(
    tmp_path: Path, core: Core, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[SlackHarness, FakeConnector]]:
    slack = FakeSlack(private_channels={RECORD_CHANNEL, LEADS_CHANNEL})
    await slack.start()
    connector = FakeConnector()
    await connector.start()
    settings = load_settings(
        environ=environment(slack, tmp_path, CANISHARE_TEAMS_DEV="1"), dotenv=None
    )
    harness, runner = await start_harness(settings, core, slack, monkeypatch)
    yield harness, connector
    await harness.http.close()
    await runner.cleanup()
    await connector.stop()
    await slack.stop()


async def teams_send(harness: SlackHarness, connector: FakeConnector, **changes: Any) -> None:
    name = "personal_card_submit" if "value" in changes else "personal_message"
    activity = copy.deepcopy(payload(name))
    activity.update(serviceUrl=connector.url, id=str(next(_ids)), **changes)
    url = harness.url.replace("/slack/events", "/api/messages")
    async with harness.http.post(url, json=activity) as resp:
        assert resp.status == 200


async def play_slack(harness: SlackHarness) -> None:
    for kind, value in SCRIPT:
        if kind == "text":
            assert await harness.dm(value) == 200
        else:
            status, _ = await harness.click(*value)
            assert status == 200
    status, _ = await harness.click("record", "start")
    assert status == 200
    status, body = await harness.submit(RECORD)
    assert status == 200, body


async def play_teams(harness: SlackHarness, connector: FakeConnector) -> None:
    for kind, value in SCRIPT:
        if kind == "text":
            await teams_send(harness, connector, text=value)
        else:
            await teams_send(harness, connector, value={"q": value[0], "a": value[1]})
    await teams_send(harness, connector, value={"q": "record", "a": "start"})
    await teams_send(harness, connector, value={"q": "record", "a": "submit", **RECORD})


async def test_one_script_through_slack_and_teams_gives_the_same_outcome_and_record(
    both: tuple[SlackHarness, FakeConnector],
) -> None:
    harness, connector = both

    await play_slack(harness)
    await play_teams(harness, connector)

    records = await harness.bot.store.records("decision")
    by_channel = {r["channel"]: r for r in records}
    assert set(by_channel) == {"slack", "teams"}, records
    slack, teams = by_channel["slack"], by_channel["teams"]
    assert {k: slack[k] for k in SAME} == {k: teams[k] for k in SAME}
    assert slack["outcome"] == "share_without_consent"
    assert [a["q"] for a in slack["answers"]] == [
        "immediate_danger",
        "legal_duty",
        "legitimate_purpose",
        "identifiable",
        "confidential",
        "risk_of_harm",
        "person",
        "consent",
        "public_interest",
    ]
    assert teams["conversation"] == PERSONAL_KEY
    assert json.dumps(slack["answers"]) == json.dumps(teams["answers"])
