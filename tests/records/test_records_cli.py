"""`canishare records status` and `records verify`, as an administrator runs them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.records.db import open_db
from bot.records.store import NewRecord, Store

NOW = datetime.now(UTC)


def canishare(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CANISHARE_", "SLACK_"))}
    env["CANISHARE_DB_URL"] = f"sqlite:///{db}"
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
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
