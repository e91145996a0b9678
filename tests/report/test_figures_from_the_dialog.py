"""The report's numbers equal what was saved, with records made through the real dialog."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from bot.report.figures import gather, moment
from bot.report.period import Period
from bot.service import Bot
from bot.settings import Settings
from tests.fakes.slack_api import FakeSlack
from tests.report.practice import Clock, day, make_a_month

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))


def in_november(stamped: str) -> bool:
    when = moment(stamped)
    return when is not None and NOVEMBER.holds(when)


async def test_decisions_in_the_json_are_the_saved_records_of_the_period(
    bot: Bot, clock: Clock, settings: Settings, fake_slack: FakeSlack
) -> None:
    await make_a_month(bot, clock, settings, fake_slack)

    report = (await gather(bot.store, NOVEMBER, now=day(2, month=12))).to_json()

    saved = [r for r in await bot.store.records("decision") if in_november(r["created_at"])]
    decisions = report["decisions"]
    assert decisions["total"] == len(saved) == 6
    assert {k: v for k, v in decisions["by_outcome"].items() if v} == dict(
        Counter(r["outcome"] for r in saved)
    )
    assert decisions["by_outcome"]["seek_advice"] == 0  # listed, with nothing in it
    assert decisions["shared"] == sum(r["shared"] for r in saved) == 4
    assert decisions["not_shared"] == 2
    assert [(w["week"], w["total"], w["shared"]) for w in decisions["by_week"]] == [
        ("2026-W44", 0, 0),
        ("2026-W45", 2, 1),
        ("2026-W46", 2, 2),
        ("2026-W47", 1, 1),
        ("2026-W48", 1, 0),
        ("2026-W49", 0, 0),
    ]
    assert [w["partial"] for w in decisions["by_week"]] == [True, False, False, False, False, True]


async def test_escalations_count_claimed_unclaimed_and_the_median_wait(
    bot: Bot, clock: Clock, settings: Settings, fake_slack: FakeSlack
) -> None:
    await make_a_month(bot, clock, settings, fake_slack)

    escalations = (await gather(bot.store, NOVEMBER, now=day(2, month=12))).to_json()["escalations"]

    raised = [r for r in await bot.store.records("escalation") if in_november(r["created_at"])]
    assert escalations["total"] == len(raised) == 3
    assert escalations["claimed"] == 2
    assert escalations["unclaimed"] == 1
    assert escalations["median_minutes_to_claim"] == 51.0  # waits of 12 and 90 minutes
    bands = {b["band"]: b["count"] for b in escalations["time_to_claim"]}
    assert bands == {"under_15m": 1, "15m_to_1h": 0, "1h_to_4h": 1, "4h_to_1d": 0, "over_1d": 0}


async def test_deliveries_pending_and_failed_are_what_the_outbox_holds(
    bot: Bot, clock: Clock, settings: Settings, fake_slack: FakeSlack
) -> None:
    await make_a_month(bot, clock, settings, fake_slack)

    deliveries = (await gather(bot.store, NOVEMBER, now=day(2, month=12))).to_json()["deliveries"]

    held = [d for d in await bot.store.deliveries() if in_november(d.created_at)]
    state: dict[str, Any] = Counter(
        "delivered" if d.status == "delivered" else "failed" if d.last_error else "pending"
        for d in held
    )
    assert deliveries == {
        "pending": state["pending"],
        "failed": state["failed"],
        "delivered": state["delivered"],
    }
    assert deliveries["failed"] == 5  # the record channel is public: every record refused
    assert deliveries["pending"] >= 1  # the record saved after the deliverer ran
    assert deliveries["delivered"] >= 3  # the three requests for advice reached the leads


async def test_an_empty_period_has_every_key_with_zero_counts(bot: Bot) -> None:
    report = (await gather(bot.store, NOVEMBER, now=day(2, month=12))).to_json()

    assert report["period"] == {"since": "2026-11-01", "until": "2026-11-30"}
    assert report["decisions"]["total"] == 0
    assert set(report["decisions"]["by_outcome"].values()) == {0}
    assert len(report["decisions"]["by_week"]) == 6
    assert report["escalations"] == {
        "total": 0,
        "claimed": 0,
        "unclaimed": 0,
        "median_minutes_to_claim": None,
        "time_to_claim": [
            {"band": b, "count": 0}
            for b in ("under_15m", "15m_to_1h", "1h_to_4h", "4h_to_1d", "over_1d")
        ],
    }
    assert report["deliveries"] == {"pending": 0, "failed": 0, "delivered": 0}
    assert report["questions"]["asked"] == report["questions"]["unanswered"] == 0
    assert report["questions"]["top"] == []
