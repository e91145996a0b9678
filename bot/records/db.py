"""A tiny async database layer with two dialects: SQLite (embedded) and PostgreSQL (asyncpg).

SQL is written once with `?` placeholders; the PostgreSQL adapter rewrites them to `$n`.
Each `transaction()` is all-or-nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import random
import re
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

Row = dict[str, Any]


class StoreUnavailable(Exception):
    """The database refused or failed an operation (disk full, read-only file, connection
    lost…). Whatever the transaction held was rolled back: nothing half-written remains."""


def _postgres_errors() -> tuple[type[BaseException], ...]:
    import asyncpg  # only loaded for PostgreSQL deployments

    return (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


def describe_store_error(exc: BaseException) -> str:
    """One line naming what the database said, for logs and `/healthz` (no traceback)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


class Tx(Protocol):
    dialect: str

    async def execute(self, sql: str, *args: Any) -> int: ...
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...
    async def fetchone(self, sql: str, *args: Any) -> Row | None: ...


class Db(Protocol):
    dialect: str

    def transaction(self) -> Any: ...
    def read(self) -> Any: ...
    async def close(self) -> None: ...


class SqliteTx:
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, *args: Any) -> int:
        return self.conn.execute(sql, args).rowcount

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        cur = self.conn.execute(sql, args)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None


OPEN_RETRY_SECONDS = 10.0


def _open_sqlite(path: str) -> sqlite3.Connection:
    """Connect and switch to WAL. Two processes switching a new file at the same moment can
    deadlock on its lock, and SQLite then fails one at once rather than wait (the busy timeout
    does not apply), so that one closes and tries again for up to OPEN_RETRY_SECONDS."""
    deadline = time.monotonic() + OPEN_RETRY_SECONDS
    while True:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout={int(OPEN_RETRY_SECONDS * 1000)}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            return conn
        except sqlite3.OperationalError as exc:
            conn.close()
            busy = (exc.sqlite_errorcode & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() >= deadline:
                raise
            time.sleep(random.uniform(0.01, 0.05))
        except BaseException:
            conn.close()
            raise


class SqliteDb:
    """One connection per process; writers take the database lock at BEGIN IMMEDIATE, so
    several processes sharing the file still see each transaction whole."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.conn = _open_sqlite(path)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(
                f"cannot open the SQLite database {path}: {describe_store_error(exc)}"
            ) from exc
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqliteTx]:
        async with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield SqliteTx(self.conn)
                except BaseException:
                    self._rollback()
                    raise
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise StoreUnavailable(describe_store_error(exc)) from exc

    def _rollback(self) -> None:
        # SQLite may already have rolled back by itself (e.g. on a full disk)
        if self.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[SqliteTx]:
        """For one SELECT: a single statement is its own consistent read, so it needs neither
        BEGIN IMMEDIATE (the write lock) nor COMMIT."""
        async with self._lock:
            try:
                yield SqliteTx(self.conn)
            except sqlite3.Error as exc:
                raise StoreUnavailable(describe_store_error(exc)) from exc

    async def close(self) -> None:
        self.conn.close()


@lru_cache(maxsize=512)
def to_dollar(sql: str) -> str:
    """Rewrite `?` placeholders as `$1, $2, …` (our SQL never has `?` inside strings)."""
    count = 0

    def number(_: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"${count}"

    return re.sub(r"\?", number, sql)


class PostgresTx:
    dialect = "postgresql"

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def execute(self, sql: str, *args: Any) -> int:
        status = await self.conn.execute(to_dollar(sql), *args)
        tail = str(status).rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return [dict(r) for r in await self.conn.fetch(to_dollar(sql), *args)]

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        row = await self.conn.fetchrow(to_dollar(sql), *args)
        return dict(row) if row is not None else None


class PostgresDb:
    dialect = "postgresql"

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    @classmethod
    async def connect(cls, url: str, *, min_size: int = 1, max_size: int = 10) -> PostgresDb:
        import asyncpg  # imported here: SQLite deployments never load it

        options: dict[str, Any] = {}
        if "reset" in inspect.signature(asyncpg.create_pool).parameters:  # asyncpg >= 0.30
            options["reset"] = _keep_session
        refused: tuple[type[BaseException], ...] = (ValueError, *_postgres_errors())
        try:
            pool = await asyncpg.create_pool(
                url, min_size=min_size, max_size=max_size, timeout=CONNECT_TIMEOUT, **options
            )
        except refused as exc:
            raise StoreUnavailable(
                f"cannot connect to PostgreSQL at {safe_url(url)}: {describe_store_error(exc)}"
            ) from exc
        return cls(pool)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresTx]:
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                yield PostgresTx(conn)
        except _postgres_errors() as exc:
            raise StoreUnavailable(describe_store_error(exc)) from exc

    @asynccontextmanager
    async def read(self) -> AsyncIterator[PostgresTx]:
        """For one SELECT: a single statement runs in its own transaction, so BEGIN and
        COMMIT would only add two round trips."""
        try:
            async with self.pool.acquire() as conn:
                yield PostgresTx(conn)
        except _postgres_errors() as exc:
            raise StoreUnavailable(describe_store_error(exc)) from exc

    async def close(self) -> None:
        await self.pool.close()


async def _keep_session(_: Any) -> None:
    """Connections go back to the pool as they are: asyncpg still rolls back any open
    transaction, and we never change session state (no SET, LISTEN, cursors or session advisory
    locks; migrations take a transaction-scoped lock), so its default `RESET ALL`-style query
    would be one more round trip for every transaction, for nothing."""


CONNECT_TIMEOUT = 10.0  # seconds to reach PostgreSQL before giving up


def safe_url(url: str) -> str:
    """A database URL without its password, fit for a log line."""
    return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", url)


async def open_db(url: str) -> SqliteDb | PostgresDb:
    """Open the database named by CANISHARE_DB_URL."""
    if url.startswith("sqlite:///"):
        return SqliteDb(url.removeprefix("sqlite:///") or ":memory:")
    if url.startswith(("postgresql://", "postgres://")):
        return await PostgresDb.connect(url)
    raise ValueError(f"unsupported database URL scheme: {url.split('://')[0]}")
