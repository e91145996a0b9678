"""`canishare records status` and `records verify`, as an administrator runs them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.records.db import open_db
from bot.records.deliver import Deliverer, PermanentFailure
from bot.records.store import Delivery, NewRecord, Store

NOW = datetime.now(UTC)


def canishare(
    db: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CANISHARE_", "SLACK_"))}
    clean["CANISHARE_DB_URL"] = f"sqlite:///{db}"
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=clean,
        cwd=db.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def seed(db: Path) -> None:
    async def go() -> None:
        store = Store(await open_db(f"sqlite:///{db}"))
        await store.migrate()
        body = {"id": "R-STATUS01", "created_at": NOW.isoformat(), "outcome": "share"}
        await store.append([NewRecord("decision", body, ("slack:record",))], now=NOW)
        [delivery] = await store.claim_due("w", now=NOW)
        await store.retry_later(delivery.id, "channel_not_found", when=NOW + timedelta(seconds=30))
        await store.close()

    asyncio.run(go())


def test_status_lists_undelivered_records_with_their_last_error(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    seed(db)

    done = canishare(db, "records", "status")

    assert done.returncode == 1
    assert "R-STATUS01" in done.stdout and "slack:record" in done.stdout
    assert "channel_not_found" in done.stdout


def test_status_says_so_when_everything_is_delivered(tmp_path: Path) -> None:
    done = canishare(tmp_path / "empty.db", "records", "status")

    assert done.returncode == 0
    assert "delivered" in done.stdout


def test_verify_passes_then_names_a_tampered_record(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    seed(db)
    assert canishare(db, "records", "verify").returncode == 0

    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE records SET body = replace(body, 'share', 'do_not_share')")

    done = canishare(db, "records", "verify")
    assert done.returncode == 1
    assert "TAMPERED" in done.stdout and "R-STATUS01" in done.stdout


# ---------------------------------------------------------------------- never false reassurance
class RefusingSlack:
    """A platform that refuses every delivery for good, as Slack does for channel_not_found."""

    def __init__(self) -> None:
        self.tries = 0

    async def deliver(self, delivery: Delivery) -> str:
        self.tries += 1
        raise PermanentFailure("Slack chat.postMessage failed: channel_not_found — invite the bot")


class WorkingSlack:
    def __init__(self) -> None:
        self.posted: list[str] = []

    async def deliver(self, delivery: Delivery) -> str:
        self.posted.append(delivery.id)
        return f"C0RECORD01|{len(self.posted)}"


def saved_with_nowhere_to_go(db: Path) -> None:
    async def go() -> None:
        store = Store(await open_db(f"sqlite:///{db}"))
        await store.migrate()
        body = {"id": "R-NOWHERE1", "created_at": NOW.isoformat(), "channel": "slack"}
        why = "no record channel is set up (CANISHARE_RECORD_CHANNEL)"
        await store.append([NewRecord("decision", body, (), no_destination=why)], now=NOW)
        await store.close()

    asyncio.run(go())


def test_a_record_saved_with_no_record_channel_is_listed_as_not_delivered(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    saved_with_nowhere_to_go(db)

    done = canishare(db, "records", "status")

    assert done.returncode == 1
    assert "All records and escalations have been delivered" not in done.stdout
    assert "NOT DELIVERED" in done.stdout and "R-NOWHERE1" in done.stdout
    assert "no record channel is set up" in done.stdout


def test_retry_gives_a_destination_less_record_the_channel_set_up_since(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    saved_with_nowhere_to_go(db)

    still = canishare(db, "records", "retry")
    now_set_up = canishare(
        db,
        "records",
        "retry",
        env={
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": "s",
            "CANISHARE_RECORD_CHANNEL": "C0RECORD01",
        },
    )
    status = canishare(db, "records", "status")

    assert still.returncode == 0 and "still have nowhere to go" in still.stdout
    assert (
        now_set_up.returncode == 0 and "1 record(s) with no destination queued" in now_set_up.stdout
    )
    assert "R-NOWHERE1 → slack:record" in status.stdout and "NOT DELIVERED" not in status.stdout


async def test_a_permanent_failure_is_marked_failed_alerted_once_and_not_retried(
    tmp_path: Path,
) -> None:
    store = Store(await open_db(f"sqlite:///{tmp_path}/p.db"))
    await store.migrate()
    body = {"id": "R-REFUSED1", "created_at": NOW.isoformat(), "outcome": "share"}
    await store.append([NewRecord("decision", body, ("slack:record",))], now=NOW)
    refusing = RefusingSlack()
    later = NOW
    deliverer = Deliverer(store, {"slack": refusing}, lambda: later, alert_after=timedelta(0))

    await deliverer.run_once()
    for minutes in (10, 60, 600):  # hours later, many passes: it is never tried again
        later = NOW + timedelta(minutes=minutes)
        await deliverer.run_once()

    deliveries = {d.target: d for d in await store.deliveries()}
    alerts = await store.records("alert")
    await store.close()
    assert deliveries["slack:record"].status == "failed"
    assert "channel_not_found" in (deliveries["slack:record"].last_error or "")
    assert len(alerts) == 1 and "R-REFUSED1" in alerts[0]["text"]
    assert "records retry" in alerts[0]["text"]
    assert refusing.tries == 2  # the record once, and the alert about it once (also refused)
    assert deliveries["slack:alert"].status == "failed"


def test_status_shows_a_failed_delivery_with_its_reason_and_what_to_do(tmp_path: Path) -> None:
    db = tmp_path / "f.db"

    async def go() -> None:
        store = Store(await open_db(f"sqlite:///{db}"))
        await store.migrate()
        body = {"id": "R-REFUSED2", "created_at": NOW.isoformat(), "outcome": "share"}
        await store.append([NewRecord("decision", body, ("slack:record",))], now=NOW)
        await Deliverer(store, {"slack": RefusingSlack()}, lambda: NOW).run_once()
        await store.close()

    asyncio.run(go())

    done = canishare(db, "records", "status")

    assert done.returncode == 1
    [line] = [line for line in done.stdout.splitlines() if "R-REFUSED2 → slack:record" in line]
    assert "FAILED" in line and "channel_not_found" in line and "records retry" in line


async def test_retry_after_the_fix_delivers_a_failed_record_once(tmp_path: Path) -> None:
    db = tmp_path / "fixed.db"
    store = Store(await open_db(f"sqlite:///{db}"))
    await store.migrate()
    body = {"id": "R-REFUSED3", "created_at": NOW.isoformat(), "outcome": "share"}
    await store.append([NewRecord("decision", body, ("slack:record",))], now=NOW)
    await Deliverer(store, {"slack": RefusingSlack()}, lambda: NOW).run_once()
    await store.close()

    retried = await asyncio.to_thread(canishare, db, "records", "retry")
    store = Store(await open_db(f"sqlite:///{db}"))
    working = WorkingSlack()
    later = datetime.now(UTC) + timedelta(seconds=1)
    delivered = await Deliverer(store, {"slack": working}, lambda: later).run_once()
    await store.close()

    assert retried.returncode == 0 and "1 failed delivery(ies) queued again" in retried.stdout
    assert delivered >= 1
    assert working.posted.count("R-REFUSED3:slack:record") == 1
