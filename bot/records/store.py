"""The store: dialog state, the tamper-evident record log, escalations and the delivery outbox.

One implementation over two dialects (SQLite by default, PostgreSQL for replicas). A turn's
new dialog state, any records it produced and their pending deliveries are written in one
transaction, so a crash at any moment loses nothing and duplicates nothing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.records.db import Db, Row, Tx

GENESIS = "0" * 64

MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE conversations (
                key TEXT PRIMARY KEY, state TEXT NOT NULL, version BIGINT NOT NULL,
                updated_at TEXT NOT NULL)""",
            "CREATE INDEX conversations_updated ON conversations (updated_at)",
            """CREATE TABLE records (
                seq BIGINT PRIMARY KEY, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
                created_at TEXT NOT NULL, body TEXT NOT NULL, prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL)""",
            """CREATE TABLE chain_head (
                id INTEGER PRIMARY KEY, last_seq BIGINT NOT NULL, last_hash TEXT NOT NULL)""",
            f"INSERT INTO chain_head (id, last_seq, last_hash) VALUES (1, 0, '{GENESIS}')",
            """CREATE TABLE escalations (
                id TEXT PRIMARY KEY, case_reference TEXT NOT NULL, practitioner TEXT NOT NULL,
                channel TEXT NOT NULL, conversation TEXT NOT NULL, created_at TEXT NOT NULL,
                claimed_by TEXT, claimed_by_name TEXT, claimed_at TEXT, body TEXT NOT NULL)""",
            """CREATE TABLE outbox (
                id TEXT PRIMARY KEY, record_id TEXT NOT NULL, target TEXT NOT NULL,
                payload TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
                next_attempt_at TEXT NOT NULL, last_error TEXT, locked_by TEXT,
                locked_until TEXT, created_at TEXT NOT NULL, delivered_at TEXT,
                external_ref TEXT, alerted_at TEXT)""",
            "CREATE INDEX outbox_due ON outbox (status, next_attempt_at)",
            """CREATE TABLE processed_events (
                event_id TEXT PRIMARY KEY, received_at TEXT NOT NULL)""",
            """CREATE TABLE kv (
                name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL)""",
        ),
    ),
    (
        2,
        (
            # the leads' monitoring report: how often each answer was given per UTC day,
            # never who asked or what they typed
            """CREATE TABLE question_counts (
                day TEXT NOT NULL, answer_id TEXT NOT NULL, asked BIGINT NOT NULL,
                PRIMARY KEY (day, answer_id))""",
            # only when CANISHARE_KEEP_UNANSWERED_DAYS is set: questions the bot could not
            # answer, scrubbed of personal details, kept by day only (no time, no person)
            """CREATE TABLE unanswered_questions (
                id TEXT PRIMARY KEY, day TEXT NOT NULL, text TEXT NOT NULL)""",
            "CREATE INDEX unanswered_questions_day ON unanswered_questions (day)",
        ),
    ),
    # `records status` and the senders look deliveries up by record, and the health check
    # counts them by status
    (3, ("CREATE INDEX outbox_record ON outbox (record_id)",)),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]
NO_DESTINATION = "no_destination"  # outbox status of a record saved with nowhere to go
FAILED = "failed"  # outbox status of a delivery the platform refused for good
HEALTH_PROBE_PADDING = "x" * 1024  # a probe about the size of a small record


_COUNT_UPSERT = (
    " ON CONFLICT (day, answer_id) DO UPDATE SET asked = question_counts.asked + excluded.asked"
)
_COUNT_ONE = "INSERT INTO question_counts (day, answer_id, asked) VALUES (?, ?, ?)" + _COUNT_UPSERT
_COUNT_IF_WRITTEN = (
    "INSERT INTO question_counts (day, answer_id, asked) SELECT ?, ?, CAST(? AS BIGINT) FROM w"
    + _COUNT_UPSERT
)


def stamp(when: datetime) -> str:
    """A sortable UTC timestamp with a fixed width (text sorts as time in both dialects)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(body: Mapping[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(
    seq: int, prev_hash: str, kind: str, record_id: str, created_at: str, body: str
) -> str:
    material = f"{seq}|{prev_hash}|{kind}|{record_id}|{created_at}|{body}"
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class NewRecord:
    """A record to append: its kind ('decision', 'escalation', 'claim', 'purge'), and body."""

    kind: str
    body: Mapping[str, Any]
    targets: tuple[str, ...] = ()  # delivery targets, e.g. "slack:record"
    escalation: bool = False
    # with no targets: why not, kept on an outbox row so `records status` lists the record as
    # not delivered (e.g. "no record channel is set up")
    no_destination: str = ""


@dataclass(frozen=True, slots=True)
class Question:
    """A question the bot answered, to be counted by day and answer id — never its text.
    `kept_text` is set only when the deployment keeps unanswered questions (already scrubbed
    of personal details)."""

    answer_id: str
    kept_text: str = ""


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    record_id: str
    target: str
    payload: Mapping[str, Any]
    status: str
    attempts: int
    created_at: str
    last_error: str | None = None
    external_ref: str | None = None
    next_attempt_at: str = ""


@dataclass(frozen=True, slots=True)
class Committed:
    """How a turn's commit went: 'ok', 'conflict' (state changed meanwhile) or 'duplicate'."""

    status: str
    version: int = 0


@dataclass(frozen=True, slots=True)
class Claim:
    won: bool
    claimed_by: str
    claimed_by_name: str
    escalation: Mapping[str, Any]


def _delivery(row: Row) -> Delivery:
    return Delivery(
        id=row["id"],
        record_id=row["record_id"],
        target=row["target"],
        payload=json.loads(row["payload"]),
        status=row["status"],
        attempts=int(row["attempts"]),
        created_at=row["created_at"],
        last_error=row.get("last_error"),
        external_ref=row.get("external_ref"),
        next_attempt_at=row.get("next_attempt_at") or "",
    )


class Store:
    """All persistence for the bot. Every method is one transaction."""

    def __init__(self, db: Db) -> None:
        self.db = db

    @property
    def dialect(self) -> str:
        return self.db.dialect

    async def close(self) -> None:
        await self.db.close()

    # ------------------------------------------------------------------ migrations
    async def migrate(self) -> int:
        """Apply any migrations not yet applied; safe when several replicas start at once."""
        async with self.db.transaction() as tx:
            if tx.dialect == "postgresql":
                await tx.execute("SELECT pg_advisory_xact_lock(4242001)")
            await tx.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            rows = await tx.fetch("SELECT version FROM schema_migrations")
            done = {int(r["version"]) for r in rows}
            for version, statements in MIGRATIONS:
                if version in done:
                    continue
                for sql in statements:
                    await tx.execute(sql)
                await tx.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    version,
                    stamp(datetime.now(UTC)),
                )
        return SCHEMA_VERSION

    # ------------------------------------------------------------------ dialog state
    async def load_state(self, key: str) -> tuple[str | None, int]:
        async with self.db.read() as tx:
            row = await tx.fetchone("SELECT state, version FROM conversations WHERE key = ?", key)
        return (row["state"], int(row["version"])) if row else (None, 0)

    async def load_turn(self, key: str, event_id: str | None) -> tuple[str | None, int, bool]:
        """A conversation's state and version, and whether `event_id` was already handled,
        in one round trip (the first thing every turn needs)."""
        async with self.db.read() as tx:
            row = await tx.fetchone(
                "SELECT (SELECT state FROM conversations WHERE key = ?) AS state, "
                "(SELECT version FROM conversations WHERE key = ?) AS version, "
                "(SELECT 1 FROM processed_events WHERE event_id = ?) AS seen",
                key,
                key,
                event_id or "",
            )
        assert row is not None
        return row["state"], int(row["version"] or 0), row["seen"] is not None

    async def event_seen(self, event_id: str) -> bool:
        async with self.db.read() as tx:
            row = await tx.fetchone(
                "SELECT 1 AS seen FROM processed_events WHERE event_id = ?", event_id
            )
        return row is not None

    async def commit_turn(
        self,
        key: str,
        state_json: str,
        expected_version: int,
        *,
        now: datetime,
        records: Sequence[NewRecord] = (),
        event_id: str | None = None,
        questions: Sequence[Question] = (),
    ) -> Committed:
        """Save the new state if nobody else changed it since `expected_version`, together
        with the turn's records and their pending deliveries and the count of any question
        it answered, all or nothing."""
        try:
            return await self._commit_turn(
                key,
                state_json,
                expected_version,
                now=now,
                records=records,
                event_id=event_id,
                questions=questions,
            )
        except _Conflict:
            return Committed("conflict")

    async def _commit_turn(
        self,
        key: str,
        state_json: str,
        expected_version: int,
        *,
        now: datetime,
        records: Sequence[NewRecord] = (),
        event_id: str | None = None,
        questions: Sequence[Question] = (),
    ) -> Committed:
        kept = any(q.kept_text for q in questions)
        if not records and not kept and self.dialect == "postgresql":
            return await self._commit_state_in_one_statement(
                key,
                state_json,
                expected_version,
                now=now,
                event_id=event_id,
                counts=_tally(questions),
            )
        async with self.db.transaction() as tx:
            if event_id is not None:
                inserted = await tx.execute(
                    "INSERT INTO processed_events (event_id, received_at) VALUES (?, ?) "
                    "ON CONFLICT (event_id) DO NOTHING",
                    event_id,
                    stamp(now),
                )
                if inserted == 0:
                    return Committed("duplicate")
            if expected_version == 0:
                changed = await tx.execute(
                    "INSERT INTO conversations (key, state, version, updated_at) "
                    "VALUES (?, ?, 1, ?) ON CONFLICT (key) DO NOTHING",
                    key,
                    state_json,
                    stamp(now),
                )
            else:
                changed = await tx.execute(
                    "UPDATE conversations SET state = ?, version = version + 1, updated_at = ? "
                    "WHERE key = ? AND version = ?",
                    state_json,
                    stamp(now),
                    key,
                    expected_version,
                )
            if changed == 0:
                raise _Conflict()
            for record in records:
                await self._append(tx, record, now)
            await self._count(tx, questions, now)
        return Committed("ok", expected_version + 1)

    async def _commit_state_in_one_statement(
        self,
        key: str,
        state_json: str,
        expected_version: int,
        *,
        now: datetime,
        event_id: str | None,
        counts: Mapping[str, int] | None = None,
    ) -> Committed:
        """A turn with no records, as one PostgreSQL statement (one round trip instead of
        four): the state is written only if the version still matches and the event is new,
        and the event (and any question counted) is noted only if the state was written —
        all or nothing."""
        when = stamp(now)
        fresh = "NOT EXISTS (SELECT 1 FROM processed_events WHERE event_id = ?)"
        if expected_version == 0:
            write = (
                "INSERT INTO conversations (key, state, version, updated_at) "
                f"SELECT ?, ?, 1, ? WHERE {fresh} ON CONFLICT (key) DO NOTHING RETURNING 1"
            )
            args: list[Any] = [key, state_json, when, event_id or ""]
        else:
            write = (
                "UPDATE conversations SET state = ?, version = version + 1, updated_at = ? "
                f"WHERE key = ? AND version = ? AND {fresh} RETURNING 1"
            )
            args = [state_json, when, key, expected_version, event_id or ""]
        ctes = [f"w AS ({write})"]
        if event_id is not None:
            ctes.append(
                "e AS (INSERT INTO processed_events (event_id, received_at) "
                "SELECT ?, ? FROM w ON CONFLICT (event_id) DO NOTHING RETURNING 1)"
            )
            args += [event_id, when]
        # data-modifying CTEs run to completion even though the final SELECT ignores them
        for number, (answer_id, times) in enumerate(sorted((counts or {}).items())):
            ctes.append(f"q{number} AS ({_COUNT_IF_WRITTEN})")
            args += [_day(now), answer_id, times]
        sql = "WITH " + ", ".join(ctes) + " SELECT (SELECT count(*) FROM w) AS changed"
        async with self.db.read() as tx:
            row = await tx.fetchone(sql, *args)
        if row is not None and int(row["changed"]) == 1:
            return Committed("ok", expected_version + 1)
        if event_id is not None and await self.event_seen(event_id):
            return Committed("duplicate")
        return Committed("conflict")

    async def append(self, records: Iterable[NewRecord], *, now: datetime) -> None:
        """Append records (and their deliveries) outside a dialog turn."""
        async with self.db.transaction() as tx:
            for record in records:
                await self._append(tx, record, now)

    async def _append(self, tx: Tx, record: NewRecord, now: datetime) -> None:
        lock = " FOR UPDATE" if tx.dialect == "postgresql" else ""
        head = await tx.fetchone(f"SELECT last_seq, last_hash FROM chain_head WHERE id = 1{lock}")
        assert head is not None
        seq = int(head["last_seq"]) + 1
        body = canonical(record.body)
        record_id = str(record.body["id"])
        created = str(record.body.get("created_at") or stamp(now))
        digest = chain_hash(seq, head["last_hash"], record.kind, record_id, created, body)
        await tx.execute(
            "INSERT INTO records (seq, id, kind, created_at, body, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            seq,
            record_id,
            record.kind,
            created,
            body,
            head["last_hash"],
            digest,
        )
        await tx.execute(
            "UPDATE chain_head SET last_seq = ?, last_hash = ? WHERE id = 1", seq, digest
        )
        if record.escalation:
            b = record.body
            await tx.execute(
                "INSERT INTO escalations (id, case_reference, practitioner, channel, "
                "conversation, created_at, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
                record_id,
                str(b.get("case_reference", "")),
                str(b.get("practitioner", "")),
                str(b.get("channel", "")),
                str(b.get("conversation", "")),
                created,
                body,
            )
        payload = canonical({"kind": record.kind, "record": record.body})
        for target in record.targets:
            await tx.execute(
                "INSERT INTO outbox (id, record_id, target, payload, status, attempts, "
                "next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?) "
                "ON CONFLICT (id) DO NOTHING",
                f"{record_id}:{target}",
                record_id,
                target,
                payload,
                stamp(now),
                stamp(now),
            )
        if not record.targets and record.no_destination:
            await tx.execute(
                "INSERT INTO outbox (id, record_id, target, payload, status, attempts, "
                "next_attempt_at, created_at, last_error) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?) "
                "ON CONFLICT (id) DO NOTHING",
                f"{record_id}:none",
                record_id,
                f"none:{record.kind}",
                payload,
                NO_DESTINATION,
                stamp(now),
                stamp(now),
                record.no_destination,
            )

    # ------------------------------------------------------------------ outbox
    async def claim_due(
        self, worker: str, *, now: datetime, limit: int = 20, lease: float = 60.0
    ) -> list[Delivery]:
        """Lease up to `limit` due deliveries to `worker`; others skip them until the lease ends."""
        skip = " FOR UPDATE SKIP LOCKED" if self.dialect == "postgresql" else ""
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? "
                "AND (locked_until IS NULL OR locked_until < ?) "
                f"ORDER BY created_at, id LIMIT ?{skip}",
                stamp(now),
                stamp(now),
                limit,
            )
            until = stamp(now + timedelta(seconds=lease))
            for row in rows:
                await tx.execute(
                    "UPDATE outbox SET locked_by = ?, locked_until = ?, attempts = attempts + 1 "
                    "WHERE id = ?",
                    worker,
                    until,
                    row["id"],
                )
                row["attempts"] = int(row["attempts"]) + 1
        return [_delivery(r) for r in rows]

    async def mark_delivered(self, delivery_id: str, external_ref: str, *, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE outbox SET status = 'delivered', delivered_at = ?, external_ref = ?, "
                "locked_by = NULL, locked_until = NULL, last_error = NULL WHERE id = ?",
                stamp(now),
                external_ref,
                delivery_id,
            )

    async def retry_later(
        self, delivery_id: str, error: str, *, when: datetime, worker: str | None = None
    ) -> None:
        """Note the error and make the delivery due again at `when`. With `worker`, only while
        that worker still holds it: a worker whose lease ran out must not free (or reschedule)
        a delivery another worker has claimed since."""
        fence = " AND locked_by = ?" if worker is not None else ""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE outbox SET next_attempt_at = ?, last_error = ?, locked_by = NULL, "
                f"locked_until = NULL WHERE id = ?{fence}",
                stamp(when),
                error[:500],
                delivery_id,
                *([worker] if worker is not None else []),
            )

    async def release(self, delivery_ids: Sequence[str], worker: str) -> int:
        """Give back deliveries `worker` claimed and will not try now (its lease is running
        out), so any worker can take them at once; those claimed by another since are left
        alone. Returns how many were given back."""
        released = 0
        async with self.db.transaction() as tx:
            for delivery_id in delivery_ids:
                released += await tx.execute(
                    "UPDATE outbox SET locked_by = NULL, locked_until = NULL "
                    "WHERE id = ? AND locked_by = ? AND status = 'pending'",
                    delivery_id,
                    worker,
                )
        return released

    async def mark_failed(self, delivery_id: str, error: str, *, now: datetime) -> bool:
        """The platform refused this delivery for good: stop trying until someone fixes the
        cause and asks for a retry (`canishare records retry`). A delivery another worker has
        delivered meanwhile stays delivered; returns whether it was marked failed."""
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE outbox SET status = ?, last_error = ?, locked_by = NULL, "
                "locked_until = NULL, alerted_at = ? WHERE id = ? AND status = 'pending'",
                FAILED,
                error[:500],
                stamp(now),
                delivery_id,
            )
        return int(changed) > 0

    async def retry_failed(self, *, now: datetime) -> int:
        """Put every failed delivery back in the queue, due now; return how many."""
        async with self.db.transaction() as tx:
            return int(
                await tx.execute(
                    "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, "
                    "alerted_at = NULL, locked_by = NULL, locked_until = NULL WHERE status = ?",
                    stamp(now),
                    FAILED,
                )
            )

    async def retry_pending_now(self, *, now: datetime) -> int:
        """Make every waiting delivery due now (after its cause was fixed); return how many."""
        async with self.db.transaction() as tx:
            return int(
                await tx.execute(
                    "UPDATE outbox SET next_attempt_at = ? WHERE status = 'pending' "
                    "AND next_attempt_at > ?",
                    stamp(now),
                    stamp(now),
                )
            )

    async def give_destinations(
        self, targets_for: Callable[[str, Mapping[str, Any]], tuple[str, ...]], *, now: datetime
    ) -> int:
        """Queue records saved with nowhere to go for the destinations `targets_for(kind,
        record)` now names; return how many records were queued."""
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT id, record_id, payload FROM outbox WHERE status = ? ORDER BY created_at",
                NO_DESTINATION,
            )
            queued = 0
            for row in rows:
                payload = json.loads(row["payload"])
                targets = targets_for(str(payload.get("kind", "")), payload.get("record") or {})
                if not targets:
                    continue
                for target in targets:
                    await tx.execute(
                        "INSERT INTO outbox (id, record_id, target, payload, status, attempts, "
                        "next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?) "
                        "ON CONFLICT (id) DO NOTHING",
                        f"{row['record_id']}:{target}",
                        row["record_id"],
                        target,
                        row["payload"],
                        stamp(now),
                        stamp(now),
                    )
                await tx.execute("DELETE FROM outbox WHERE id = ?", row["id"])
                queued += 1
        return queued

    async def delivery_counts(self) -> dict[str, int]:
        """How many deliveries are in each state other than delivered (for `/healthz`)."""
        async with self.db.read() as tx:
            rows = await tx.fetch(
                "SELECT status, count(*) AS n FROM outbox WHERE status <> 'delivered' "
                "GROUP BY status"
            )
        counts = {"pending": 0, FAILED: 0, NO_DESTINATION: 0}
        counts.update({str(r["status"]): int(r["n"]) for r in rows})
        return counts

    async def check_writable(self, worker: str, *, now: datetime) -> None:
        """Write (and commit) a small row, as a record would be: raises StoreUnavailable when
        the database cannot take writes (read-only file, full disk, lost connection)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO kv (name, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at",
                f"health:{worker}",
                f"{stamp(now)} {HEALTH_PROBE_PADDING}",
                stamp(now),
            )

    async def undelivered(self) -> list[Delivery]:
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT * FROM outbox WHERE status <> 'delivered' ORDER BY created_at, id"
            )
        return [_delivery(r) for r in rows]

    async def deliveries(self, record_id: str | None = None) -> list[Delivery]:
        async with self.db.transaction() as tx:
            if record_id is None:
                rows = await tx.fetch("SELECT * FROM outbox ORDER BY created_at, id")
            else:
                rows = await tx.fetch(
                    "SELECT * FROM outbox WHERE record_id = ? ORDER BY id", record_id
                )
        return [_delivery(r) for r in rows]

    async def overdue_unalerted(self, older_than: datetime) -> list[Delivery]:
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT * FROM outbox WHERE status = 'pending' AND created_at < ? "
                "AND alerted_at IS NULL AND target NOT LIKE '%:alert' ORDER BY created_at",
                stamp(older_than),
            )
        return [_delivery(r) for r in rows]

    async def mark_alerted(self, delivery_ids: Sequence[str], *, now: datetime) -> None:
        async with self.db.transaction() as tx:
            for delivery_id in delivery_ids:
                await tx.execute(
                    "UPDATE outbox SET alerted_at = ? WHERE id = ?", stamp(now), delivery_id
                )

    # ------------------------------------------------------------------ records
    async def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Record bodies in log order (optionally of one kind)."""
        async with self.db.transaction() as tx:
            if kind is None:
                rows = await tx.fetch("SELECT kind, body FROM records ORDER BY seq")
            else:
                rows = await tx.fetch(
                    "SELECT kind, body FROM records WHERE kind = ? ORDER BY seq", kind
                )
        return [{"kind": r["kind"], **json.loads(r["body"])} for r in rows]

    async def record(self, record_id: str) -> dict[str, Any] | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchone("SELECT kind, body FROM records WHERE id = ?", record_id)
        return {"kind": row["kind"], **json.loads(row["body"])} if row else None

    async def verify(self) -> list[str]:
        """Walk the hash chain; name every record that was edited, deleted or reordered."""
        async with self.db.transaction() as tx:
            rows = await tx.fetch("SELECT * FROM records ORDER BY seq")
            head = await tx.fetchone("SELECT last_seq, last_hash FROM chain_head WHERE id = 1")
        problems: list[str] = []
        prev_hash = GENESIS
        prev_seq = 0
        anchor_checked = False
        for row in rows:
            seq = int(row["seq"])
            if not anchor_checked and row["kind"] != "purge" and seq != 1 and prev_seq == 0:
                anchor = _purge_anchor(rows)
                if anchor is not None and anchor[0] == seq - 1:
                    prev_seq, prev_hash = anchor
            anchor_checked = True
            if seq != prev_seq + 1:
                problems.append(
                    f"records {prev_seq + 1}–{seq - 1} are missing (before record {row['id']})"
                )
            elif row["prev_hash"] != prev_hash:
                problems.append(f"record {row['id']} (#{seq}) does not follow the record before it")
            expected = chain_hash(
                seq, row["prev_hash"], row["kind"], row["id"], row["created_at"], row["body"]
            )
            if expected != row["hash"]:
                problems.append(f"record {row['id']} (#{seq}) was changed after it was written")
            prev_seq, prev_hash = seq, row["hash"]
        if head is not None and rows and int(head["last_seq"]) != prev_seq:
            problems.append(f"records after #{prev_seq} are missing (the log ended early)")
        if head is not None and rows and head["last_hash"] != prev_hash:
            problems.append("the last record does not match the chain head")
        return problems

    # ------------------------------------------------------------------ escalations
    async def claim_escalation(
        self, escalation_id: str, lead: str, lead_name: str, *, now: datetime
    ) -> Claim | None:
        """First lead to claim wins; later claims learn who has it. None if unknown."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE escalations SET claimed_by = ?, claimed_by_name = ?, claimed_at = ? "
                "WHERE id = ? AND claimed_by IS NULL",
                lead,
                lead_name,
                stamp(now),
                escalation_id,
            )
            row = await tx.fetchone("SELECT * FROM escalations WHERE id = ?", escalation_id)
        if row is None:
            return None
        return Claim(
            won=row["claimed_by"] == lead and row["claimed_at"] == stamp(now),
            claimed_by=row["claimed_by"],
            claimed_by_name=row["claimed_by_name"] or "",
            escalation=json.loads(row["body"]),
        )

    async def escalation(self, escalation_id: str) -> dict[str, Any] | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchone("SELECT * FROM escalations WHERE id = ?", escalation_id)
        return dict(row) if row else None

    # ------------------------------------------------------------------ key/value
    async def kv_get(self, name: str) -> str | None:
        async with self.db.transaction() as tx:
            row = await tx.fetchone("SELECT value FROM kv WHERE name = ?", name)
        return row["value"] if row else None

    async def kv_set(self, name: str, value: str, *, now: datetime) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO kv (name, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at",
                name,
                value,
                stamp(now),
            )

    # ------------------------------------------------------------------ monitoring (issue 14)
    async def count_questions(self, questions: Sequence[Question], *, now: datetime) -> None:
        """Count questions answered outside a dialog turn (Slack /myth, Teams search)."""
        if not questions:
            return
        async with self.db.transaction() as tx:
            await self._count(tx, questions, now)

    async def _count(self, tx: Tx, questions: Sequence[Question], now: datetime) -> None:
        day = _day(now)
        for answer_id, times in sorted(_tally(questions).items()):
            await tx.execute(_COUNT_ONE, day, answer_id, times)
        for q in questions:
            if q.kept_text:
                await tx.execute(
                    "INSERT INTO unanswered_questions (id, day, text) VALUES (?, ?, ?)",
                    secrets.token_hex(8),
                    day,
                    q.kept_text,
                )

    async def question_counts(self, first_day: date, last_day: date) -> list[tuple[str, str, int]]:
        """(day, answer id, times asked) for every day from `first_day` to `last_day`."""
        async with self.db.read() as tx:
            rows = await tx.fetch(
                "SELECT day, answer_id, asked FROM question_counts WHERE day >= ? AND day <= ? "
                "ORDER BY day, answer_id",
                first_day.isoformat(),
                last_day.isoformat(),
            )
        return [(r["day"], r["answer_id"], int(r["asked"])) for r in rows]

    async def unanswered_questions(self) -> list[tuple[str, str]]:
        """(day, scrubbed text) of the unanswered questions kept, newest first."""
        async with self.db.read() as tx:
            rows = await tx.fetch(
                "SELECT day, text FROM unanswered_questions ORDER BY day DESC, text"
            )
        return [(r["day"], r["text"]) for r in rows]

    async def purge_unanswered(self, *, before: date | None) -> int:
        """Delete kept unanswered questions from before `before` (all of them when None)."""
        async with self.db.transaction() as tx:
            if before is None:
                return int(await tx.execute("DELETE FROM unanswered_questions"))
            return int(
                await tx.execute(
                    "DELETE FROM unanswered_questions WHERE day < ?", before.isoformat()
                )
            )

    async def records_created(self, kind: str, *, since: str, before: str) -> list[dict[str, Any]]:
        """Bodies of records of one kind whose `created_at` text sorts in [since, before)."""
        async with self.db.read() as tx:
            rows = await tx.fetch(
                "SELECT body FROM records WHERE kind = ? AND created_at >= ? AND created_at < ? "
                "ORDER BY seq",
                kind,
                since,
                before,
            )
        return [json.loads(r["body"]) for r in rows]

    async def escalation_times(self, *, since: str, before: str) -> list[tuple[str, str | None]]:
        """(created_at, claimed_at or None) of escalations created in [since, before)."""
        async with self.db.read() as tx:
            rows = await tx.fetch(
                "SELECT created_at, claimed_at FROM escalations "
                "WHERE created_at >= ? AND created_at < ? ORDER BY created_at",
                since,
                before,
            )
        return [(r["created_at"], r["claimed_at"]) for r in rows]

    async def delivery_states(
        self, *, since: datetime, before: datetime
    ) -> list[tuple[str, bool, int]]:
        """(status, whether the last attempt failed, how many) of deliveries made in the
        period, leaving out the monthly summaries themselves."""
        async with self.db.read() as tx:
            rows = await tx.fetch(
                "SELECT status, CASE WHEN last_error IS NULL THEN 0 ELSE 1 END AS erred, "
                "COUNT(*) AS n FROM outbox WHERE created_at >= ? AND created_at < ? "
                "AND target NOT LIKE '%:summary' GROUP BY status, erred ORDER BY status, erred",
                stamp(since),
                stamp(before),
            )
        return [(r["status"], bool(r["erred"]), int(r["n"])) for r in rows]

    async def append_once(self, key: str, records: Iterable[NewRecord], *, now: datetime) -> bool:
        """Append records only if `key` was never used before: however many replicas try at
        once, one wins (the key is taken in the same transaction). True if this call did."""
        async with self.db.transaction() as tx:
            taken = await tx.execute(
                "INSERT INTO kv (name, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO NOTHING",
                key,
                stamp(now),
                stamp(now),
            )
            if taken == 0:
                return False
            for record in records:
                await self._append(tx, record, now)
        return True

    async def installed_at(self) -> str | None:
        """When the store was first set up (its first migration), as a stamp."""
        async with self.db.read() as tx:
            row = await tx.fetchone("SELECT MIN(applied_at) AS at FROM schema_migrations")
        return row["at"] if row else None

    async def kv_purge(self, prefix: str, *, before: datetime, keep: Iterable[str] = ()) -> int:
        """Delete the entries named `prefix…` untouched since `before`, except those in `keep`."""
        kept = set(keep)
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT name FROM kv WHERE substr(name, 1, ?) = ? AND updated_at < ?",
                len(prefix),
                prefix,
                stamp(before),
            )
            names = [str(r["name"]) for r in rows if r["name"] not in kept]
            for name in names:
                await tx.execute("DELETE FROM kv WHERE name = ?", name)
        return len(names)

    # ------------------------------------------------------------------ retention
    async def purge_idle(self, *, before: datetime) -> int:
        """Delete dialog state untouched since `before` (partial answers are not kept)."""
        async with self.db.transaction() as tx:
            states = await tx.execute(
                "DELETE FROM conversations WHERE updated_at < ?", stamp(before)
            )
            await tx.execute("DELETE FROM processed_events WHERE received_at < ?", stamp(before))
            await tx.execute(  # health probes of processes long gone
                "DELETE FROM kv WHERE name LIKE 'health:%' AND updated_at < ?", stamp(before)
            )
        return int(states)

    async def purge_records(self, *, before: datetime, now: datetime, purge_id: str) -> int:
        """Delete delivered records older than `before`, and record the purge in the log."""
        async with self.db.transaction() as tx:
            rows = await tx.fetch(
                "SELECT seq, hash FROM records WHERE created_at < ? AND kind <> 'purge' "
                "ORDER BY seq",
                stamp(before),
            )
            # only a leading run can go, so the chain keeps one unbroken tail
            first = await tx.fetchone("SELECT MIN(seq) AS s FROM records")
            expected = int(first["s"]) if first and first["s"] is not None else 1
            cut: list[Row] = []
            for row in rows:
                if int(row["seq"]) != expected:
                    break
                cut.append(row)
                expected += 1
            if not cut:
                return 0
            last = cut[-1]
            await tx.execute("DELETE FROM records WHERE seq <= ?", int(last["seq"]))
            await tx.execute(
                "DELETE FROM outbox WHERE status = 'delivered' AND created_at < ?", stamp(before)
            )
            await tx.execute(  # records that never had anywhere to go, purged just now
                "DELETE FROM outbox WHERE status = ? AND record_id NOT IN (SELECT id FROM records)",
                NO_DESTINATION,
            )
            await self._append(
                tx,
                NewRecord(
                    "purge",
                    {
                        "id": purge_id,
                        "created_at": stamp(now),
                        "purged_through_seq": int(last["seq"]),
                        "anchor_hash": last["hash"],
                        "count": len(cut),
                        "older_than": stamp(before),
                    },
                ),
                now,
            )
        return len(cut)


def _day(when: datetime) -> str:
    """The UTC day a question is counted under."""
    return when.astimezone(UTC).date().isoformat()


def _tally(questions: Iterable[Question]) -> dict[str, int]:
    """How many times each answer id was given (one upsert per id, never one row twice)."""
    counts: dict[str, int] = {}
    for q in questions:
        counts[q.answer_id] = counts.get(q.answer_id, 0) + 1
    return counts


def _purge_anchor(rows: Sequence[Row]) -> tuple[int, str] | None:
    """The (seq, hash) of the last purged record, from the newest purge entry."""
    for row in reversed(rows):
        if row["kind"] == "purge":
            body = json.loads(row["body"])
            return int(body["purged_through_seq"]), str(body["anchor_hash"])
    return None


class _Conflict(Exception):
    """Raised inside a transaction to roll it back when the state version moved on."""
