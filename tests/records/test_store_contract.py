"""The store contract, run against every backend (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from bot.records.db import open_db
from bot.records.store import NewRecord, Store

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def decision(record_id: str, *, at: datetime = NOW, targets: tuple[str, ...] = ("slack:record",)):  # type: ignore[no-untyped-def]
    body = {
        "id": record_id,
        "created_at": at.isoformat(),
        "outcome": "share",
        "case_reference": "CP-1",
    }
    return NewRecord("decision", body, targets)


async def test_migrations_run_once_and_again_safely(store: Store) -> None:
    assert await store.migrate() == await store.migrate()


async def test_state_is_saved_with_its_records_in_one_commit(store: Store) -> None:
    done = await store.commit_turn("c1", '{"s":1}', 0, now=NOW, records=[decision("R-1")])

    assert done.status == "ok"
    assert await store.load_state("c1") == ('{"s":1}', 1)
    assert [r["id"] for r in await store.records()] == ["R-1"]
    assert [d.id for d in await store.undelivered()] == ["R-1:slack:record"]


async def test_a_stale_version_is_a_conflict_and_changes_nothing(store: Store) -> None:
    await store.commit_turn("c1", '{"s":1}', 0, now=NOW)
    await store.commit_turn("c1", '{"s":2}', 1, now=NOW)

    late = await store.commit_turn("c1", '{"s":"late"}', 1, now=NOW, records=[decision("R-9")])

    assert late.status == "conflict"
    assert await store.load_state("c1") == ('{"s":2}', 2)
    assert await store.records() == []


async def test_two_first_turns_at_once_only_one_wins(store: Store) -> None:
    a = await store.commit_turn("c1", '{"who":"a"}', 0, now=NOW)
    b = await store.commit_turn("c1", '{"who":"b"}', 0, now=NOW)

    assert sorted([a.status, b.status]) == ["conflict", "ok"]


async def test_a_repeated_event_is_a_duplicate_and_changes_nothing(store: Store) -> None:
    await store.commit_turn("c1", '{"s":1}', 0, now=NOW, event_id="Ev1")

    again = await store.commit_turn(
        "c1", '{"s":2}', 1, now=NOW, event_id="Ev1", records=[decision("R-2")]
    )

    assert again.status == "duplicate"
    assert await store.event_seen("Ev1")
    assert await store.load_state("c1") == ('{"s":1}', 1)
    assert await store.records() == []


async def test_deliveries_are_leased_once_and_retried_later(store: Store) -> None:
    await store.append([decision("R-1")], now=NOW)

    first = await store.claim_due("w1", now=NOW)
    second = await store.claim_due("w2", now=NOW)
    assert [d.id for d in first] == ["R-1:slack:record"] and second == []

    await store.retry_later(first[0].id, "HTTP 503", when=NOW + timedelta(seconds=30))
    assert await store.claim_due("w2", now=NOW + timedelta(seconds=10)) == []
    retried = await store.claim_due("w2", now=NOW + timedelta(seconds=31))
    assert retried[0].attempts == 2

    await store.mark_delivered(retried[0].id, "C1|123.4", now=NOW)
    assert await store.undelivered() == []
    assert (await store.deliveries("R-1"))[0].external_ref == "C1|123.4"


async def test_an_expired_lease_is_picked_up_by_another_worker(store: Store) -> None:
    await store.append([decision("R-1")], now=NOW)
    await store.claim_due("crashed", now=NOW, lease=30)

    taken = await store.claim_due("w2", now=NOW + timedelta(seconds=31))

    assert [d.id for d in taken] == ["R-1:slack:record"]


async def test_a_worker_whose_lease_ran_out_cannot_free_or_fail_what_another_has_taken(
    store: Store,
) -> None:
    await store.append([decision("R-1"), decision("R-2")], now=NOW)
    await store.claim_due("late", now=NOW, lease=30)
    taken = await store.claim_due("w2", now=NOW + timedelta(seconds=31), lease=30)
    assert [d.id for d in taken] == ["R-1:slack:record", "R-2:slack:record"]

    await store.retry_later("R-1:slack:record", "late", when=NOW, worker="late")
    assert await store.release(["R-2:slack:record"], "late") == 0
    await store.mark_delivered("R-2:slack:record", "C1|1.2", now=NOW)
    assert not await store.mark_failed("R-2:slack:record", "channel_not_found", now=NOW)

    assert await store.claim_due("w3", now=NOW + timedelta(seconds=40)) == []  # w2 holds R-1
    [r1, r2] = await store.deliveries()
    assert (r1.status, r1.last_error) == ("pending", None)
    assert r2.status == "delivered"


async def test_a_worker_gives_back_what_it_will_not_try_and_others_take_it_at_once(
    store: Store,
) -> None:
    await store.append([decision("R-1")], now=NOW)
    await store.claim_due("w1", now=NOW, lease=30)

    assert await store.release(["R-1:slack:record"], "w1") == 1

    taken = await store.claim_due("w2", now=NOW + timedelta(seconds=1))
    assert [d.id for d in taken] == ["R-1:slack:record"]


async def test_concurrent_workers_never_lease_the_same_delivery(
    store_url: str, store: Store
) -> None:
    await store.append([decision(f"R-{i}") for i in range(30)], now=NOW)
    others = [Store(await open_db(store_url)) for _ in range(3)]
    try:
        batches = await asyncio.gather(
            *(s.claim_due(f"w{i}", now=NOW, limit=7) for i, s in enumerate([store, *others]))
        )
    finally:
        for s in others:
            await s.close()
    ids = [d.id for batch in batches for d in batch]
    assert len(ids) == len(set(ids)) == 28


async def test_the_chain_verifies_and_names_an_edited_record(store: Store) -> None:
    await store.append([decision("R-1"), decision("R-2"), decision("R-3")], now=NOW)
    assert await store.verify() == []

    async with store.db.transaction() as tx:
        body = json.dumps({"id": "R-2", "outcome": "do_not_share"})
        await tx.execute("UPDATE records SET body = ? WHERE id = ?", body, "R-2")

    problems = await store.verify()
    assert any("R-2" in p and "changed" in p for p in problems)


async def test_the_chain_names_a_deleted_record(store: Store) -> None:
    await store.append([decision("R-1"), decision("R-2"), decision("R-3")], now=NOW)

    async with store.db.transaction() as tx:
        await tx.execute("DELETE FROM records WHERE id = ?", "R-2")

    problems = await store.verify()
    assert any("missing" in p and "R-3" in p for p in problems)


async def test_the_chain_names_reordered_records(store: Store) -> None:
    await store.append([decision("R-1"), decision("R-2"), decision("R-3")], now=NOW)

    async with store.db.transaction() as tx:
        await tx.execute("UPDATE records SET seq = 99 WHERE id = ?", "R-2")
        await tx.execute("UPDATE records SET seq = 2 WHERE id = ?", "R-3")
        await tx.execute("UPDATE records SET seq = 3 WHERE id = ?", "R-2")

    problems = await store.verify()
    assert problems and any("R-3" in p or "R-2" in p for p in problems)


async def test_a_deleted_last_record_is_noticed(store: Store) -> None:
    await store.append([decision("R-1"), decision("R-2")], now=NOW)

    async with store.db.transaction() as tx:
        await tx.execute("DELETE FROM records WHERE id = ?", "R-2")

    assert await store.verify()


async def test_retention_purges_old_records_and_records_the_purge(store: Store) -> None:
    old = NOW - timedelta(days=4000)
    await store.append([decision("R-old", at=old), decision("R-new")], now=NOW)

    gone = await store.purge_records(before=NOW - timedelta(days=2555), now=NOW, purge_id="P-1")

    kinds = [(r["kind"], r["id"]) for r in await store.records()]
    assert gone == 1
    assert kinds == [("decision", "R-new"), ("purge", "P-1")]
    assert await store.verify() == []


async def test_idle_dialog_state_is_purged(store: Store) -> None:
    await store.commit_turn("old", "{}", 0, now=NOW - timedelta(hours=30))
    await store.commit_turn("new", "{}", 0, now=NOW)

    await store.purge_idle(before=NOW - timedelta(hours=24))

    assert await store.load_state("old") == (None, 0)
    assert (await store.load_state("new"))[1] == 1


async def test_the_first_lead_to_claim_wins(store: Store) -> None:
    esc = {
        "id": "E-1",
        "created_at": NOW.isoformat(),
        "case_reference": "CP-7",
        "practitioner": "U1",
        "channel": "slack",
        "conversation": "slack:T:U1",
    }
    await store.append([NewRecord("escalation", esc, ("slack:leads",), escalation=True)], now=NOW)

    first = await store.claim_escalation("E-1", "L1", "Lead One", now=NOW)
    second = await store.claim_escalation("E-1", "L2", "Lead Two", now=NOW + timedelta(seconds=1))

    assert first is not None and first.won
    assert second is not None and not second.won and second.claimed_by_name == "Lead One"
    assert await store.claim_escalation("E-404", "L1", "x", now=NOW) is None


async def test_values_survive_in_the_key_value_table(store: Store) -> None:
    await store.kv_set("teams:ref:19:x", '{"a":1}', now=NOW)
    await store.kv_set("teams:ref:19:x", '{"a":2}', now=NOW)

    assert await store.kv_get("teams:ref:19:x") == '{"a":2}'
    assert await store.kv_get("missing") is None


async def test_a_turn_loads_state_and_learns_of_a_repeat_in_one_read(store: Store) -> None:
    assert await store.load_turn("c1", "Ev1") == (None, 0, False)

    await store.commit_turn("c1", '{"s":1}', 0, now=NOW, event_id="Ev1")

    assert await store.load_turn("c1", "Ev1") == ('{"s":1}', 1, True)
    assert await store.load_turn("c1", None) == ('{"s":1}', 1, False)


async def test_a_repeated_event_without_records_is_a_duplicate_too(store: Store) -> None:
    await store.commit_turn("c1", '{"s":1}', 0, now=NOW, event_id="Ev1")
    await store.commit_turn("c1", '{"s":2}', 1, now=NOW, event_id="Ev2")

    again = await store.commit_turn("c1", '{"s":3}', 2, now=NOW, event_id="Ev2")

    assert again.status == "duplicate"
    assert await store.load_state("c1") == ('{"s":2}', 2)


async def test_a_stale_turn_without_records_is_a_conflict_and_its_event_is_not_kept(
    store: Store,
) -> None:
    await store.commit_turn("c1", '{"s":1}', 0, now=NOW)
    await store.commit_turn("c1", '{"s":2}', 1, now=NOW)

    late = await store.commit_turn("c1", '{"s":"late"}', 1, now=NOW, event_id="Ev9")

    assert late.status == "conflict"
    assert not await store.event_seen("Ev9")  # so the turn can run again on the new state
    assert await store.load_state("c1") == ('{"s":2}', 2)


async def test_the_write_probe_leaves_one_row_per_process_and_the_idle_purge_clears_old_ones(
    store: Store,
) -> None:
    then = datetime(2026, 1, 1, tzinfo=UTC)
    await store.check_writable("host:1", now=then)
    await store.check_writable("host:1", now=then)
    await store.check_writable("host:2", now=then + timedelta(days=3))

    await store.purge_idle(before=then + timedelta(days=1))

    assert await store.kv_get("health:host:1") is None
    assert (await store.kv_get("health:host:2") or "").startswith("2026-01-04")


async def test_delivery_counts_name_pending_failed_and_no_destination(store: Store) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    await store.append(
        [
            NewRecord("decision", {"id": "R-C1"}, ("slack:record",)),
            NewRecord("decision", {"id": "R-C2"}, ("slack:record",)),
            NewRecord("decision", {"id": "R-C3"}, (), no_destination="no record channel"),
        ],
        now=now,
    )
    await store.mark_failed("R-C2:slack:record", "channel_not_found", now=now)

    counts = await store.delivery_counts()

    assert counts == {"pending": 1, "failed": 1, "no_destination": 1}
    assert [d.record_id for d in await store.claim_due("w", now=now)] == ["R-C1"]
