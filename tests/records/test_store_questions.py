"""Migration 2 (the leads' report): questions are counted per UTC day and answer id in the
same transaction as the turn that answered them — never their text, unless a deployment keeps
unanswered questions — on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from bot.records.store import NewRecord, Question, Store

NOW = datetime(2026, 11, 14, 23, 59, tzinfo=UTC)
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


async def test_a_turn_counts_each_answer_it_gave_under_its_utc_day(store: Store) -> None:
    await store.commit_turn(
        "c1", "{}", 0, now=NOW, questions=[Question("myth.gdpr-barrier"), Question("none")]
    )
    await store.commit_turn("c1", "{}", 1, now=NOW, questions=[Question("myth.gdpr-barrier")])
    await store.commit_turn(
        "c2", "{}", 0, now=NOW + timedelta(minutes=2), questions=[Question("none")]
    )

    counts = await store.question_counts(*NOVEMBER)

    assert counts == [
        ("2026-11-14", "myth.gdpr-barrier", 2),
        ("2026-11-14", "none", 1),
        ("2026-11-15", "none", 1),
    ]


async def test_one_turn_giving_the_same_answer_twice_counts_two(store: Store) -> None:
    await store.commit_turn(
        "c1", "{}", 0, now=NOW, questions=[Question("emergency"), Question("emergency")]
    )

    assert await store.question_counts(*NOVEMBER) == [("2026-11-14", "emergency", 2)]


async def test_a_turn_with_a_record_counts_its_question_in_the_same_commit(store: Store) -> None:
    record = NewRecord("decision", {"id": "R-1", "created_at": NOW.isoformat()}, ("slack:record",))

    await store.commit_turn(
        "c1", "{}", 0, now=NOW, records=[record], questions=[Question("topic.lawful-basis")]
    )

    assert await store.question_counts(*NOVEMBER) == [("2026-11-14", "topic.lawful-basis", 1)]
    assert [r["id"] for r in await store.records()] == ["R-1"]


async def test_a_turn_that_lost_the_race_counts_nothing(store: Store) -> None:
    await store.commit_turn("c1", "{}", 0, now=NOW)

    lost = await store.commit_turn("c1", "{}", 0, now=NOW, questions=[Question("none")])

    assert lost.status == "conflict"
    assert await store.question_counts(*NOVEMBER) == []


async def test_a_platform_retry_of_the_same_event_counts_once(store: Store) -> None:
    first = await store.commit_turn(
        "c1", "{}", 0, now=NOW, event_id="Ev1", questions=[Question("myth.gut-instinct")]
    )
    retry = await store.commit_turn(
        "c1", "{}", 1, now=NOW, event_id="Ev1", questions=[Question("myth.gut-instinct")]
    )

    assert (first.status, retry.status) == ("ok", "duplicate")
    assert await store.question_counts(*NOVEMBER) == [("2026-11-14", "myth.gut-instinct", 1)]


async def test_no_text_is_stored_unless_it_is_given_as_kept(store: Store) -> None:
    await store.commit_turn("c1", "{}", 0, now=NOW, questions=[Question("none")])
    await store.commit_turn(
        "c1", "{}", 1, now=NOW, questions=[Question("none", "how do I book a room")]
    )

    assert await store.unanswered_questions() == [("2026-11-14", "how do I book a room")]


async def test_questions_answered_outside_a_turn_are_counted_too(store: Store) -> None:
    await store.count_questions([Question("myth.agreement-required")], now=NOW)
    await store.count_questions([Question("myth.agreement-required")], now=NOW)

    assert await store.question_counts(*NOVEMBER) == [("2026-11-14", "myth.agreement-required", 2)]


async def test_counts_outside_the_days_asked_for_are_left_out(store: Store) -> None:
    await store.count_questions([Question("none")], now=datetime(2026, 10, 31, 23, tzinfo=UTC))
    await store.count_questions([Question("none")], now=datetime(2026, 12, 1, 0, tzinfo=UTC))

    assert await store.question_counts(*NOVEMBER) == []


async def test_kept_questions_older_than_the_cut_off_day_are_purged(store: Store) -> None:
    for when, text in [(NOW - timedelta(days=40), "old one"), (NOW, "new one")]:
        await store.count_questions([Question("none", text)], now=when)

    purged = await store.purge_unanswered(before=(NOW - timedelta(days=30)).date())

    assert purged == 1
    assert await store.unanswered_questions() == [("2026-11-14", "new one")]
    assert await store.purge_unanswered(before=None) == 1
    assert await store.unanswered_questions() == []


async def test_append_once_appends_once_however_many_try_at_the_same_time(store: Store) -> None:
    def summary() -> list[NewRecord]:
        body = {"id": "S-2026-11", "created_at": NOW.isoformat()}
        return [NewRecord("summary", body, ("slack:summary",))]

    won = await asyncio.gather(
        *(store.append_once("summary:2026-11", summary(), now=NOW) for _ in range(4))
    )

    assert sorted(won) == [False, False, False, True]
    assert [r["id"] for r in await store.records("summary")] == ["S-2026-11"]
    assert [d.target for d in await store.deliveries()] == ["slack:summary"]
    assert await store.verify() == []


async def test_the_report_reads_records_escalations_and_deliveries_of_a_period(
    store: Store,
) -> None:
    def decision(record_id: str, when: datetime) -> NewRecord:
        body = {"id": record_id, "created_at": when.isoformat(), "outcome": "share"}
        return NewRecord("decision", body, ("slack:record",))

    def escalation(record_id: str, when: datetime) -> NewRecord:
        body = {"id": record_id, "created_at": when.isoformat(), "case_reference": "CP-1"}
        return NewRecord("escalation", body, ("slack:leads",), escalation=True)

    inside, before = NOW, NOW - timedelta(days=30)
    await store.append([decision("R-1", inside), escalation("E-1", inside)], now=inside)
    await store.append([decision("R-0", before), escalation("E-0", before)], now=before)
    await store.claim_escalation("E-1", "U0LEAD", "Lead", now=inside + timedelta(minutes=5))
    [due] = [d for d in await store.claim_due("w", now=inside) if d.record_id == "R-1"]
    await store.retry_later(due.id, "refused", when=inside + timedelta(minutes=1))

    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    records = await store.records_created("decision", since="2026-11-01", before="2026-12-01")
    escalations = await store.escalation_times(since="2026-11-01", before="2026-12-01")
    states = await store.delivery_states(since=start, before=end)

    assert [r["id"] for r in records] == ["R-1"]
    assert [(created[:10], claimed is not None) for created, claimed in escalations] == [
        ("2026-11-14", True)
    ]
    assert sorted(states) == [("pending", False, 1), ("pending", True, 1)]
