"""The store behaviour the dialog relies on, on the embedded SQLite default."""

from __future__ import annotations

import multiprocessing
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.records.db import SqliteDb, StoreUnavailable, open_db
from bot.records.store import SCHEMA_VERSION, NewRecord, Store
from tests.transcript import START

KEY = "console:U-PRACTITIONER-1"


async def open_store(path: Path) -> Store:
    store = Store(await open_db(f"sqlite:///{path}"))
    await store.migrate()
    return store


@pytest.fixture
async def sqlite_store(db_file: Path) -> AsyncIterator[Store]:
    opened = await open_store(db_file)
    try:
        yield opened
    finally:
        await opened.close()


def decision(record_id: str, outcome: str = "share") -> NewRecord:
    body = {"id": record_id, "created_at": START.isoformat(), "outcome": outcome}
    return NewRecord("decision", body, ("slack:record",))


async def test_migrating_twice_is_harmless(sqlite_store: Store) -> None:
    assert await sqlite_store.migrate() == SCHEMA_VERSION


async def test_an_unknown_conversation_has_no_state(sqlite_store: Store) -> None:
    assert await sqlite_store.load_state(KEY) == (None, 0)


async def test_each_commit_saves_the_state_and_moves_the_version_on(sqlite_store: Store) -> None:
    first = await sqlite_store.commit_turn(KEY, '{"n": 1}', 0, now=START)
    second = await sqlite_store.commit_turn(KEY, '{"n": 2}', first.version, now=START)

    assert (first.status, second.status) == ("ok", "ok")
    assert await sqlite_store.load_state(KEY) == ('{"n": 2}', 2)


async def test_a_commit_from_a_stale_version_is_a_conflict_and_changes_nothing(
    sqlite_store: Store,
) -> None:
    await sqlite_store.commit_turn(KEY, '{"n": 1}', 0, now=START)
    await sqlite_store.commit_turn(KEY, '{"n": 2}', 1, now=START)

    stale = await sqlite_store.commit_turn(
        KEY, '{"n": "stale"}', 1, now=START, records=[decision("R-1")]
    )

    assert stale.status == "conflict"
    assert await sqlite_store.load_state(KEY) == ('{"n": 2}', 2)
    assert await sqlite_store.records() == [], "a conflicting turn's records are not written"


async def test_a_second_first_commit_for_the_same_conversation_is_a_conflict(
    sqlite_store: Store,
) -> None:
    await sqlite_store.commit_turn(KEY, '{"n": 1}', 0, now=START)

    assert (
        await sqlite_store.commit_turn(KEY, '{"n": "other"}', 0, now=START)
    ).status == "conflict"


async def test_a_repeated_event_is_a_duplicate(sqlite_store: Store) -> None:
    await sqlite_store.commit_turn(KEY, '{"n": 1}', 0, now=START, event_id="Ev-1")

    repeated = await sqlite_store.commit_turn(KEY, '{"n": 2}', 1, now=START, event_id="Ev-1")

    assert repeated.status == "duplicate"
    assert await sqlite_store.event_seen("Ev-1")
    assert await sqlite_store.load_state(KEY) == ('{"n": 1}', 1)


async def test_records_are_kept_in_order_with_their_deliveries_and_an_intact_chain(
    sqlite_store: Store,
) -> None:
    await sqlite_store.commit_turn(KEY, "{}", 0, now=START, records=[decision("R-1")])
    await sqlite_store.commit_turn(
        KEY, "{}", 1, now=START, records=[decision("R-2", "do_not_share")]
    )

    records = await sqlite_store.records("decision")

    assert [r["id"] for r in records] == ["R-1", "R-2"]
    assert (await sqlite_store.record("R-2") or {})["outcome"] == "do_not_share"
    assert [d.record_id for d in await sqlite_store.undelivered()] == ["R-1", "R-2"]
    assert await sqlite_store.verify() == []


async def test_state_and_records_survive_closing_the_database(db_file: Path) -> None:
    first = await open_store(db_file)
    await first.commit_turn(KEY, '{"step": "q:consent"}', 0, now=START, records=[decision("R-1")])
    await first.close()

    second = await open_store(db_file)
    try:
        state = await second.load_state(KEY)
        records = await second.records()
    finally:
        await second.close()

    assert state == ('{"step": "q:consent"}', 1)
    assert [r["id"] for r in records] == ["R-1"]


async def test_idle_conversations_are_purged_but_recent_ones_kept(sqlite_store: Store) -> None:
    await sqlite_store.commit_turn("old", "{}", 0, now=START)
    await sqlite_store.commit_turn("recent", "{}", 0, now=START + timedelta(hours=30))

    await sqlite_store.purge_idle(before=START + timedelta(hours=24))

    assert await sqlite_store.load_state("old") == (None, 0)
    assert (await sqlite_store.load_state("recent"))[1] == 1


def _open_at_once(path: str, ready: Any, said: Any) -> None:
    ready.wait(timeout=10)
    try:
        SqliteDb(path).conn.close()
        said.put("opened")
    except StoreUnavailable as exc:
        said.put(str(exc))


def test_processes_opening_a_new_store_at_the_same_moment_all_open_it(tmp_path: Path) -> None:
    # e.g. `serve` starting while a lead runs `report`: two processes switching a new file to
    # WAL together can deadlock, and SQLite fails one at once whatever the busy timeout
    forked = multiprocessing.get_context("fork")
    refused = []
    for attempt in range(25):
        path = str(tmp_path / f"new-{attempt}.db")
        ready, said = forked.Barrier(6), forked.Queue()
        processes = [
            forked.Process(target=_open_at_once, args=(path, ready, said)) for _ in range(6)
        ]
        for process in processes:
            process.start()
        answers = [said.get(timeout=30) for _ in processes]
        for process in processes:
            process.join(timeout=30)
        refused += [answer for answer in answers if answer != "opened"]
    assert refused == []
