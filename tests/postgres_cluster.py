"""A throw-away PostgreSQL cluster for tests, started with the initdb/pg_ctl on the machine.

`CANISHARE_TEST_POSTGRES_URL` points tests at an existing server instead. Outside CI, tests
skip with the reason when neither is available; in CI (CI=true) they fail instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres_user(cmd: list[str]) -> list[str]:
    """initdb refuses to run as root: run the server as the `postgres` user when we are root."""
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("running as root and runuser is not available to drop privileges")
    return [runuser, "-u", "postgres", "--", *cmd]


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL tests must run in CI: {reason}")
    pytest.skip(reason)


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """Yield a URL of a fresh cluster's `postgres` database; stop and remove it afterwards.

    The cluster lives in its own temporary folder that the `postgres` user can reach (pytest's
    own temporary folders are private to root)."""
    existing = os.environ.get("CANISHARE_TEST_POSTGRES_URL")
    if existing:
        yield existing
        return
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not initdb or not pg_ctl:
        unavailable("initdb/pg_ctl not found and CANISHARE_TEST_POSTGRES_URL not set")
    assert initdb and pg_ctl
    base = Path(tempfile.mkdtemp(prefix="canishare-pg-"))
    data = base / "pgdata"
    sockets = base / "pgsock"
    data.mkdir(parents=True)
    sockets.mkdir()
    if os.geteuid() == 0:
        os.chmod(base, 0o755)
        shutil.chown(data, "postgres", "postgres")
        shutil.chown(sockets, "postgres", "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres_user(
            [initdb, "-D", str(data), "-U", "canishare", "--auth=trust", "-E", "UTF8", "--no-sync"]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = (
        f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        _as_postgres_user(
            [
                pg_ctl,
                "-D",
                str(data),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
                "-l",
                str(data / "server.log"),
            ]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        yield f"postgresql://canishare@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(base, ignore_errors=True)


async def fresh_database(server_url: str) -> str:
    """Create an empty database on the server and return its URL."""
    import asyncpg

    name = "t_" + uuid.uuid4().hex[:12]
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return server_url.rsplit("/", 1)[0] + "/" + name
