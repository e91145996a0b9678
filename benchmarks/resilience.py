"""Resilience under load: 0 lost, 0 doubled, no Slack ack over 3 s.

Three bounded runs against real `canishare serve` processes and the tests' fake Slack Web API,
each with 50 virtual users driving whole decisions (typed answers, the "Record this decision"
button, the record form submitted), a new user per decision:

1. the 50-user run on SQLite;
2. the same with the server SIGKILLed half-way and started again at once (requests sent while it
   is down fail and are not counted as acknowledged; that user starts a new decision);
3. two replicas on one PostgreSQL database behind a round-robin "load balancer", with a Slack
   whose first record-channel posts are answered only after the delivery lease has run out
   (the post itself lands at once), so a replica that waits for the answer loses its lease to
   the other, which must find the earlier post rather than post again.

Counted afterwards, from the store and from what the fake Slack received:
- lost: record forms Slack got an empty 200 for (the record was reported saved) with no
  decision record in the store, deliveries marked delivered that Slack never received, and
  DM events Slack got a 200 for whose turn never ran (Slack does not resend those); records
  still waiting in the outbox at the end are shown apart (kept, not lost);
- doubled: deliveries posted to the record channel more than once, plus users with more than
  one decision record for one decision;
- the slowest acknowledgement of any request (Slack wants it within 3 s).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from benchmarks.harness import (
    LEADS_CHANNEL,
    RECORD_CHANNEL,
    TURN_TIMEOUT,
    Server,
    SlackClient,
    TimedSlack,
    client_session,
    free_port,
    fresh_db,
    message_im,
    now,
    ours_env,
    pct,
    postgres,
    scratch,
    serve_argv,
    sqlite_url,
    user_ids,
)

USERS = 50
SECONDS = 20.0  # per run
DELIVERY_WAIT = 60.0  # bound on waiting for the outbox to post every record
ACK_LIMIT = 3.0
LEASE_SECONDS = 3.0  # the replicas' delivery lease in run 3
SLOW_ANSWER_SECONDS = LEASE_SECONDS + 2.0  # Slack answers record posts after the lease
LAGGING_POSTS = 12  # that many record posts are answered late; then Slack recovers
DECISION = ("can I share", "no", "no", "yes", "yes", "yes", "yes")


@dataclass
class Outcome:
    """What the users saw, for the counts afterwards."""

    requests: int = 0
    failed_requests: int = 0  # refused or unanswered (e.g. while the server was down)
    decisions_acked: list[str] = field(default_factory=list)  # users told "record saved"
    events_acked: list[str] = field(default_factory=list)  # DM event ids Slack got a 200 for
    errors: list[str] = field(default_factory=list)


class LaggingSlack(TimedSlack):
    """A fake Slack whose first `lagging` record-channel posts land at once but are answered
    only after `lag` seconds (the rest are answered at once, so the outbox can catch up)."""

    lag: float = 0.0
    lagging: int = 0

    async def _api(self, request: web.Request) -> web.Response:
        response = await super()._api(request)
        if self.lagging > 0 and request.match_info.get("method") == "chat.postMessage":
            raw = await request.read()  # cached by aiohttp: the body the fake already read
            if RECORD_CHANNEL.encode() in raw:
                self.lagging -= 1
                await asyncio.sleep(self.lag)
        return response


def round_robin(clients: list[SlackClient]) -> Callable[[], SlackClient]:
    turn = iter(range(10**12))
    return lambda: clients[next(turn) % len(clients)]


async def one_decision(pick: Callable[[], SlackClient], user: str, seen: Outcome) -> None:
    """A whole decision for `user`, each request to whichever replica `pick` gives."""
    for text in DECISION:
        seen.requests += 1
        await typed(pick(), user, text, seen)
    seen.requests += 1
    view = await pick().click(user, "record", "start", trigger_id=f"trig-{user}")
    seen.requests += 1
    await pick().submit(user, view)
    seen.decisions_acked.append(user)


async def typed(client: SlackClient, user: str, text: str, seen: Outcome) -> None:
    """One DM, noting its event id once Slack has been told 200 (Slack will not resend it)."""
    event = message_im(user, text)
    waiter = client.fake.expect_post(f"D{user}")
    status, body = await client.send(json.dumps(event), "application/json")
    if status != 200:
        waiter.cancel()
        raise RuntimeError(f"event answered {status}: {body[:200]}")
    seen.events_acked.append(str(event["event_id"]))
    await asyncio.wait_for(waiter, TURN_TIMEOUT)


async def users(pick: Callable[[], SlackClient], prefix: str, seconds: float) -> Outcome:
    seen = Outcome()
    ids = user_ids(prefix)
    deadline = now() + seconds

    async def loop() -> None:
        while now() < deadline:
            try:
                await one_decision(pick, next(ids), seen)
            except Exception as exc:  # a request refused, or a reply that never came
                seen.failed_requests += 1
                if len(seen.errors) < 5:
                    seen.errors.append(f"{type(exc).__name__}: {exc}"[:160])
                await asyncio.sleep(0.05)

    await asyncio.gather(*(loop() for _ in range(USERS)))
    return seen


async def column(db_url: str, sql: str) -> list[Any]:
    """The first column of a query, read directly from the store."""
    if db_url.startswith("sqlite:///"):
        import sqlite3

        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=10)
        try:
            return [r[0] for r in conn.execute(sql).fetchall()]
        finally:
            conn.close()
    import asyncpg

    pg = await asyncpg.connect(db_url)
    try:
        return [r[0] for r in await pg.fetch(sql)]
    finally:
        await pg.close()


async def decision_bodies(db_url: str) -> list[dict[str, Any]]:
    rows = await column(db_url, "SELECT body FROM records WHERE kind = 'decision'")
    return [json.loads(r) for r in rows]


def posted_deliveries(fake: TimedSlack) -> Counter[str]:
    return Counter(
        str(m["metadata"]["event_payload"]["delivery_id"])
        for m in fake.messages.get(RECORD_CHANNEL, [])
        if (m.get("metadata") or {}).get("event_type") == "canishare_delivery"
    )


async def tally(
    label: str, db_url: str, fake: TimedSlack, seen: Outcome, acks: list[float], extra: str = ""
) -> dict[str, str]:
    """Wait (bounded) for the outbox, then count lost and doubled records."""
    deadline = now() + DELIVERY_WAIT
    bodies = await decision_bodies(db_url)
    while now() < deadline and len(set(posted_deliveries(fake))) < len(bodies):
        await asyncio.sleep(0.5)
        bodies = await decision_bodies(db_url)
    posted = posted_deliveries(fake)
    handled = set(await column(db_url, "SELECT event_id FROM processed_events"))
    lost_turns = [e for e in seen.events_acked if e not in handled]
    per_user = Counter(str(b.get("practitioner", "")) for b in bodies)
    lost_acked = [u for u in seen.decisions_acked if per_user[u] == 0]
    marked = set(
        await column(
            db_url, "SELECT id FROM outbox WHERE target = 'slack:record' AND status = 'delivered'"
        )
    )
    never_posted = marked - set(posted)  # marked delivered, yet Slack never received it
    waiting = len(bodies) - len(marked)  # still in the outbox when the wait ended: not lost
    doubled_posts = [d for d, n in posted.items() if n > 1]
    doubled_records = [u for u, n in per_user.items() if n > 1]
    worst = max(acks) if acks else float("nan")
    lost = len(lost_acked) + len(never_posted) + len(lost_turns)
    doubled = len(doubled_posts) + len(doubled_records)
    verdict = "met" if lost == 0 and doubled == 0 and worst < ACK_LIMIT else "NOT MET"
    first = f"; first failure: {seen.errors[0]}" if seen.errors else ""
    return {
        f"{label}: lost, doubled, slowest ack": f"**{lost} lost, {doubled} doubled, slowest "
        f"ack {worst * 1000:.0f} ms** (target 0, 0, under 3 s: {verdict})",
        f"{label}: what was counted": f"{len(seen.decisions_acked)} decisions reported saved, "
        f"{len(bodies)} decision records stored, {len(posted)} posted to the record channel "
        f"({sum(posted.values())} posts), {len(seen.events_acked)} DM events acknowledged; "
        f"lost: {len(lost_acked)} reported saved but not stored, {len(never_posted)} marked "
        f"delivered but never posted, {len(lost_turns)} acknowledged DM turns never run; "
        f"doubled: {len(doubled_posts)} posted twice, {len(doubled_records)} saved twice; "
        f"{waiting} still waiting in the outbox after {DELIVERY_WAIT:.0f} s",
        f"{label}: requests": f"{seen.requests} sent, {seen.failed_requests} failed or "
        f"unanswered{first}; ack p50 {pct(acks, 50) * 1000:.1f} ms, p99 "
        f"{pct(acks, 99) * 1000:.1f} ms{extra}",
    }


async def fifty_users(workdir: Path) -> dict[str, str]:
    db_url = sqlite_url(workdir, "fifty")
    fake = LaggingSlack(private_channels={RECORD_CHANNEL, LEADS_CHANNEL})
    await fake.start()
    port = free_port()
    ours = Server("fifty", serve_argv(), ours_env(db_url, port, fake.api_url), port, workdir)
    try:
        async with client_session() as http:
            ours.start()
            await ours.healthy(http)
            client = SlackClient(http, ours.url + "/slack/events", fake)
            seen = await users(lambda: client, "F", SECONDS)
            return await tally("50 users, SQLite", db_url, fake, seen, client.ack_times)
    finally:
        ours.stop()
        await fake.stop()


async def sigkill_under_load(workdir: Path) -> dict[str, str]:
    db_url = sqlite_url(workdir, "sigkill")
    fake = LaggingSlack(private_channels={RECORD_CHANNEL, LEADS_CHANNEL})
    await fake.start()
    port = free_port()
    ours = Server("sigkill", serve_argv(), ours_env(db_url, port, fake.api_url), port, workdir)
    try:
        async with client_session() as http:
            ours.start()
            await ours.healthy(http)
            client = SlackClient(http, ours.url + "/slack/events", fake)

            async def kill_and_restart() -> float:
                await asyncio.sleep(SECONDS / 2)
                assert ours.proc is not None
                ours.proc.kill()  # SIGKILL: no clean-up, as an OOM kill or a crash
                ours.proc.wait(timeout=10)
                started = time.perf_counter()
                ours.start()
                await ours.healthy(http)
                return time.perf_counter() - started

            seen, down_for = await asyncio.gather(
                users(lambda: client, "K", SECONDS), kill_and_restart()
            )
            extra = f"; SIGKILL at {SECONDS / 2:.0f} s, healthy again {down_for:.1f} s later"
            return await tally(
                "50 users, SIGKILL half-way, SQLite", db_url, fake, seen, client.ack_times, extra
            )
    finally:
        ours.stop()
        await fake.stop()


async def two_replicas_slow_slack(server_url: str, workdir: Path) -> dict[str, str]:
    db_url = await fresh_db(server_url)
    fake = LaggingSlack(private_channels={RECORD_CHANNEL, LEADS_CHANNEL})
    fake.lag, fake.lagging = SLOW_ANSWER_SECONDS, LAGGING_POSTS
    await fake.start()
    replicas = []
    for name in ("replica-a", "replica-b"):
        port = free_port()
        env = ours_env(
            db_url, port, fake.api_url, CANISHARE_DELIVERY_LEASE_SECONDS=str(LEASE_SECONDS)
        )
        replicas.append(Server(name, serve_argv(), env, port, workdir))
    try:
        async with client_session() as http:
            for r in replicas:
                r.start()
            for r in replicas:
                await r.healthy(http)
            clients = [SlackClient(http, r.url + "/slack/events", fake) for r in replicas]
            seen = await users(round_robin(clients), "R", SECONDS)
            acks = [t for c in clients for t in c.ack_times]
            extra = (
                f"; lease {LEASE_SECONDS:g} s, the first {LAGGING_POSTS} record posts "
                f"answered after {SLOW_ANSWER_SECONDS:g} s"
            )
            return await tally(
                "50 users, two replicas, PostgreSQL, Slack answering after the lease",
                db_url,
                fake,
                seen,
                acks,
                extra,
            )
    finally:
        for r in replicas:
            r.stop()
        await fake.stop()


async def run_all() -> dict[str, str]:
    results: dict[str, str] = {}
    with scratch() as workdir:
        results |= await fifty_users(workdir)
        results |= await sigkill_under_load(workdir)
        with postgres() as server:
            if server is None:
                results["two replicas"] = "not run: no PostgreSQL on this machine"
            else:
                results |= await two_replicas_slow_slack(server, workdir)
    return results


def main() -> dict[str, str]:
    results = asyncio.run(run_all())
    for k, v in results.items():
        print(f"{k}: {v}")
    return results


if __name__ == "__main__":
    main()
