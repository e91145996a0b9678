"""Store fixtures: one contract suite runs against SQLite and a throw-away PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.records.db import open_db
from bot.records.store import Store
from tests.postgres_cluster import fresh_database, postgres_cluster


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    with postgres_cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    server = request.getfixturevalue("postgres_server")
    return await fresh_database(server)


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    s = Store(await open_db(store_url))
    await s.migrate()
    yield s
    await s.close()
