"""Records survive crashes and replicas: SIGKILL at any moment, two servers on one database."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from bot.records.db import open_db
from bot.records.store import NewRecord, Store
from tests.channels.slack.conftest import RECORD_CHANNEL, SECRET, payload, signature
from tests.fakes.slack_api import FakeSlack
from tests.postgres_cluster import fresh_database
from tests.system.conftest import Replica, free_port, replica_env

RECORDS = 16


def decision_body(n: int) -> dict[str, Any]:
    return {
        "id": f"R-CRASH{n:04d}",
        "created_at": datetime.now(UTC).isoformat(),
        "practitioner": "U0USER001",
        "channel": "slack",
        "conversation": "slack:T0TEAM001:U0USER001",
        "answers": [{"q": "immediate_danger", "a": "no"}, {"q": "legal_duty", "a": "yes"}],
        "outcome": "must_share",
        "decided_by": "legal_duty=yes",
        "shared": True,
        "case_reference": f"CP-2026-{n:04d}",
        "what": "School attendance and welfare notes",
        "with_whom": "Children's social care, section 47 enquiry team",
        "purpose": "Section 47 enquiry",
        "lawful_basis": "legal_obligation",
        "special_category": "none",
        "reasons": "A statutory request under section 47",
        "flow_version": "flow-2026.11",
        "knowledge_version": "kb-test",
    }


async def seed(db_url: str, count: int) -> list[str]:
    store = Store(await open_db(db_url))
    await store.migrate()
    records = [NewRecord("decision", decision_body(n), ("slack:record",)) for n in range(count)]
    await store.append(records, now=datetime.now(UTC))
    await store.close()
    return [f"R-CRASH{n:04d}:slack:record" for n in range(count)]


def delivered_ids(fake: FakeSlack) -> list[str]:
    return [
        m["metadata"]["event_payload"]["delivery_id"]
        for m in fake.posted(RECORD_CHANNEL)
        if (m.get("metadata") or {}).get("event_type") == "canishare_delivery"
    ]


async def undelivered(db_url: str) -> int:
    store = Store(await open_db(db_url))
    try:
        return len(await store.undelivered())
    finally:
        await store.close()


async def wait_until(check, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.1)
    return bool(await check())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/crash.db"
    return await fresh_database(str(request.getfixturevalue("postgres_server")))


async def test_sigkill_at_any_moment_still_delivers_every_record_exactly_once(
    db_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    expected = await seed(db_url, RECORDS)
    fake_slack.slow_answers["chat.postMessage"] = 0.12  # the post lands, then the answer lags
    port = free_port()
    replica = Replica(replica_env(fake_slack, db_url, port), port, tmp_path / "serve.log")
    rng = random.Random(20261121)

    for _ in range(5):  # kill before, during and after posts, at random moments
        replica.start()
        await replica.healthy()
        await asyncio.sleep(rng.uniform(0.0, 0.5))
        replica.kill()
    replica.start()
    await replica.healthy()

    async def all_delivered() -> bool:
        return await undelivered(db_url) == 0

    done = await wait_until(all_delivered, timeout=40)
    replica.stop()
    posted = Counter(delivered_ids(fake_slack))
    assert done, f"still undelivered; log:\n{replica.log.read_text()[-3000:]}"
    assert sorted(posted) == sorted(expected)
    assert max(posted.values()) == 1, f"posted twice: {[k for k, v in posted.items() if v > 1]}"


def signed(body: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature(body, stamp, SECRET),
    }


def click_event(q: str, a: str, n: int) -> str:
    data = payload("block_actions")
    data["actions"][0].update(action_id="choice:0", value=json.dumps({"q": q, "a": a}))
    data["trigger_id"] = f"trigger-{n}"
    return "payload=" + quote(json.dumps(data))


async def click(http: aiohttp.ClientSession, replica: Replica, q: str, a: str, n: int) -> int:
    """A signed button click from the practitioner, sent to one replica."""
    body = click_event(q, a, n)
    headers = {**signed(body), "Content-Type": "application/x-www-form-urlencoded"}
    async with http.post(replica.url + "/slack/events", data=body, headers=headers) as r:
        return r.status


@pytest.fixture
async def two_replicas(
    postgres_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[tuple[Replica, Replica]]:
    """Two `canishare serve` processes on one PostgreSQL database, as behind a load balancer."""
    pair = tuple(
        Replica(replica_env(fake_slack, postgres_url, port), port, tmp_path / f"{name}.log")
        for name, port in (("a", free_port()), ("b", free_port()))
    )
    for r in pair:
        r.start()
    try:
        await asyncio.gather(*(r.healthy() for r in pair))
        yield pair[0], pair[1]
    finally:
        for r in pair:
            r.stop()


@pytest.mark.postgres
async def test_two_replicas_share_one_conversation_and_deliver_each_record_once(
    two_replicas: tuple[Replica, Replica], postgres_url: str, fake_slack: FakeSlack
) -> None:
    path = [
        ("menu", "start"),
        ("immediate_danger", "no"),
        ("legal_duty", "no"),
        ("legitimate_purpose", "yes"),
        ("identifiable", "yes"),
        ("confidential", "yes"),
        ("risk_of_harm", "yes"),
        ("person", "child_under_12"),
    ]
    async with aiohttp.ClientSession() as http:
        for n, (q, a) in enumerate(path):  # a load balancer alternating between replicas
            assert await click(http, two_replicas[n % 2], q, a, n) == 200
            await fake_slack.wait_for(lambda n=n: len(fake_slack.posted("DU0USER001")) > n, 10)
    assert "you don't need consent here" in fake_slack.texts("DU0USER001")[-1]

    expected = await seed(postgres_url, RECORDS)

    async def all_delivered() -> bool:
        return await undelivered(postgres_url) == 0

    assert await wait_until(all_delivered, timeout=30)
    posted = Counter(delivered_ids(fake_slack))
    assert sorted(posted) == sorted(expected)
    assert max(posted.values()) == 1


@pytest.mark.postgres
async def test_simultaneous_turns_on_one_conversation_leave_a_sound_state(
    two_replicas: tuple[Replica, Replica], postgres_url: str, fake_slack: FakeSlack
) -> None:
    async with aiohttp.ClientSession() as http:
        assert await click(http, two_replicas[0], "menu", "start", 0) == 200
        await fake_slack.wait_for(lambda: len(fake_slack.posted("DU0USER001")) >= 1, 10)
        statuses = await asyncio.gather(
            *(click(http, two_replicas[i % 2], "immediate_danger", "no", i + 1) for i in range(6))
        )
        assert statuses == [200] * 6
        await fake_slack.wait_for(lambda: len(fake_slack.posted("DU0USER001")) >= 7, 15)
    store = Store(await open_db(postgres_url))
    raw, version = await store.load_state("slack:T0TEAM001:U0USER001")
    await store.close()

    state = json.loads(raw or "{}")
    answered = [q for q, _ in state["answers"]]
    assert answered == ["immediate_danger"]  # six identical clicks: one answer, not six
    assert state["step"] == "q:legal_duty"
    assert version == 7  # every turn committed once: none lost, none applied twice
