"""When the store fails under a running server, over real HTTP on 127.0.0.1 with signed Slack
requests: the person is answered, nothing is reported saved that was not, `/healthz` says 503
(and 200 again once the store is back); and what reaches the record channel is what was
stored, with no forged lines."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import Core
from bot.settings import load_settings
from tests.channels.slack.conftest import (
    RECORD_CHANNEL,
    SlackHarness,
    environment,
    start_harness,
)
from tests.channels.slack.flows import TO_SHARE_WITH_CONSENT, click_through, good_record
from tests.test_service import fill_the_disk, read_only, writable

COULDNT_SAVE = "I couldn't save that — please try again"


@pytest.fixture
async def slack(
    tmp_path: Path, core: Core, fake_slack: Any, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SlackHarness]:
    settings = load_settings(environ=environment(fake_slack, tmp_path), dotenv=None)
    harness, runner = await start_harness(settings, core, fake_slack, monkeypatch)
    yield harness
    await harness.http.close()
    await runner.cleanup()


async def health(slack: SlackHarness) -> tuple[int, dict[str, Any]]:
    url = slack.url.replace("/slack/events", "/healthz")
    async with slack.http.get(url) as resp:
        return resp.status, await resp.json()


async def open_record_form(slack: SlackHarness) -> None:
    await click_through(slack, TO_SHARE_WITH_CONSENT)
    await slack.click("record", "start", trigger_id="trigger.record.1")


async def test_a_dm_the_store_cannot_save_gets_a_reply_saying_so(slack: SlackHarness) -> None:
    await slack.dm("can I share")
    read_only(slack.bot)

    status = await slack.dm("no")

    writable(slack.bot)
    assert status == 200
    assert COULDNT_SAVE in slack.dm_texts()[-1]


async def test_a_record_form_on_a_full_disk_stays_open_with_the_reason_and_saves_later(
    slack: SlackHarness,
) -> None:
    await open_record_form(slack)
    fill_the_disk(slack.bot)

    status, body = await slack.submit(good_record())

    assert status == 200, body
    errors = json.loads(body)
    assert errors["response_action"] == "errors"
    assert COULDNT_SAVE in " ".join(errors["errors"].values())
    assert await slack.bot.store.records("decision") == []
    slack.bot.store.db.conn.execute("PRAGMA max_page_count = 1000000")  # type: ignore[attr-defined]
    status, body = await slack.submit(good_record())
    assert (status, body) == (200, "")
    assert len(await slack.bot.store.records("decision")) == 1


async def test_healthz_is_503_while_the_store_cannot_write_and_200_when_it_can(
    slack: SlackHarness,
) -> None:
    ok_before, before = await health(slack)
    read_only(slack.bot)
    down, during = await health(slack)
    writable(slack.bot)
    ok_after, _ = await health(slack)

    assert (ok_before, down, ok_after) == (200, 503, 200)
    assert during["status"] == "unhealthy" and "readonly" in during["store_error"]
    assert before["status"] in ("ok", "degraded") and before["store"] == "sqlite"


async def test_healthz_reports_each_platform_and_what_is_not_delivered(
    slack: SlackHarness,
) -> None:
    await open_record_form(slack)
    await slack.submit(good_record())

    status, body = await health(slack)

    assert status == 200
    assert set(body["platforms"]) >= {"slack"}
    assert "state" in body["platforms"]["slack"]
    assert body["undelivered"] == 1 and body["deliveries"]["pending"] == 1
    await slack.deliver()
    assert (await health(slack))[1]["undelivered"] == 0


async def test_healthz_stays_200_when_slack_itself_is_down(slack: SlackHarness) -> None:
    await slack.fake.stop()  # Slack's Web API unreachable: a platform outage, not ours

    status, body = await health(slack)

    assert status == 200 and body["status"] in ("ok", "degraded")


async def test_a_forged_line_typed_into_a_record_field_is_not_a_line_in_the_posted_record(
    slack: SlackHarness,
) -> None:
    await open_record_form(slack)
    forged = "Consent given\n• Lawful basis: Legal obligation\n\u202eInformation shared: no"

    await slack.submit(good_record(reasons=forged))
    await slack.deliver()

    [post] = slack.fake.posted(RECORD_CHANNEL)
    posted = post["text"] + json.dumps(post["blocks"], ensure_ascii=False)
    shown = [post["text"], *(str((b.get("text") or {}).get("text", "")) for b in post["blocks"])]
    lines = [line.strip() for text in shown for line in text.splitlines()]
    assert [line for line in lines if line.startswith("• Lawful basis")] == [
        "• Lawful basis: Public task (UK GDPR Art 6(1)(e)) — public bodies' tasks"
    ]
    assert "\u202e" not in posted
    [record] = await slack.bot.store.records("decision")
    assert record["reasons"] == (
        "Consent given • Lawful basis: Legal obligation Information shared: no"
    )
