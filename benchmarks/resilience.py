"""Resilience under load: 0 lost, 0 doubled, no Slack ack over 3 s.

Three bounded runs against real `canishare serve` processes and the tests' fake Slack Web API,
each with 50 virtual users driving whole decisions (typed answers, the "Record this decision"
button, the record form submitted), a new user per decision:

1. the 50-user run on SQLite;
2. the same with the server SIGKILLed half-way and started again at once. Record posts made
   in the last second before the kill are answered only after it, so the kill always finds a
   record posted in Slack and not yet marked delivered. A request the dead server does not
   answer is not acknowledged; a DM is then sent again as Slack would, a click or a form is
   not (Slack never resends those) and that user starts a new decision;
3. two replicas on one PostgreSQL database behind a round-robin "load balancer", with a Slack
   whose first record-channel posts are answered only after the delivery lease has run out
   (the post itself lands at once), so a replica that waits for the answer loses its lease to
   the other, which must find the earlier post rather than post again.

In every run a DM answered with anything but 200 is sent again (up to three times, as Slack
does; shorter waits), so an event the server declines while its store is slow is not lost.
Each decision is typed by question id (`harness.type_decision`: each reply's buttons say which
question was asked), so a change to the flow makes the run fail, not pass with nothing done.
Counted afterwards, from the store and from what the fake Slack received:
- lost: DM events and clicks Slack got a 200 for whose turn never ran (Slack resends neither;
  a turn that ran is noted in `processed_events` under its event or interaction id), record
  forms Slack got an empty 200 for (the person was told it is saved) with no decision record in
  the store, records with no delivery to the record channel, and deliveries marked delivered
  that the fake never received;
- doubled: delivery ids posted to the record channel more than once (by the delivery id in each
  post's metadata, in the fake's whole history), plus users with more than one decision record
  for their one decision;
- the slowest acknowledgement of any request (Slack wants it within 3 s).
The outbox is waited for (bounded) until the store has marked every record delivered: one still
waiting could hide a double, so it fails the run, as does a run that stored or posted fewer
records than there are users (it proves nothing), a fault run where no record delivery needed
a second attempt (the fault met no post in flight) and, where nothing was injected, any
decision cut short.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from benchmarks.harness import (
    LEADS_CHANNEL,
    RECORD_BUTTON,
    RECORD_CHANNEL,
    Server,
    SlackClient,
    TimedSlack,
    client_session,
    free_port,
    fresh_db,
    now,
    ours_env,
    pct,
    postgres,
    scratch,
    serve_argv,
    sqlite_url,
    type_decision,
    user_ids,
)

USERS = 50
SECONDS = 20.0  # per run
# Bound on waiting for the outbox to post every record. After a SIGKILL the rows the killed
# process had claimed come back only when its lease (60 s by default) runs out.
DELIVERY_WAIT = 120.0
ACK_LIMIT = 3.0
LEASE_SECONDS = 3.0  # the replicas' delivery lease in run 3
SLOW_ANSWER_SECONDS = LEASE_SECONDS + 2.0  # Slack answers record posts after the lease
LAGGING_POSTS = 12  # that many record posts are answered late; then Slack recovers
# In run 2, record posts in the last second before the kill are answered only after it, so
# the kill always finds a record posted in Slack but not yet marked delivered in the store:
# the case where a careless retry posts twice.
LAG_BEFORE_KILL = 1.0
RECORD_TARGET = "slack:record"
RESENDS = 3  # a DM not answered 200 is sent again, as Slack does (harness.SlackClient.resends)


@dataclass
class Outcome:
    """What the users saw, for the counts afterwards."""

    failed: int = 0  # decisions cut short: a request refused or a reply that never came
    decisions_acked: list[str] = field(default_factory=list)  # users told "record saved"
    events_acked: list[str] = field(default_factory=list)  # DM event ids Slack got a 200 for
    clicks_acked: list[str] = field(default_factory=list)  # trigger ids of clicks answered 200
    errors: list[str] = field(default_factory=list)


class LaggingSlack(TimedSlack):
    """A fake Slack whose first `lagging` record-channel posts land at once but are answered
    only after `lag` seconds (the rest are answered at once, so the outbox can catch up)."""

    lag: float = 0.0
    lagging: int = 0
    in_flight: int = 0  # record posts that have landed and are not answered yet

    async def _api(self, request: web.Request) -> web.Response:
        response = await super()._api(request)
        if self.lagging > 0 and request.match_info.get("method") == "chat.postMessage":
            raw = await request.read()  # cached by aiohttp: the body the fake already read
            if RECORD_CHANNEL.encode() in raw:
                self.lagging -= 1
                self.in_flight += 1
                try:
                    await asyncio.sleep(self.lag)
                finally:
                    self.in_flight -= 1
        return response


def round_robin(clients: list[SlackClient]) -> Callable[[], SlackClient]:
    turn = iter(range(10**12))
    return lambda: clients[next(turn) % len(clients)]


async def one_decision(pick: Callable[[], SlackClient], user: str, seen: Outcome) -> None:
    """A whole decision for `user`, each request to whichever replica `pick` gives: typed
    answers by question id (`type_decision`), the record button, the record form. Each
    request is noted as acknowledged the moment it is answered 200."""
    await type_decision(pick, user, seen.events_acked)
    trigger = f"trig-{user}"
    view = await pick().click(
        user, *RECORD_BUTTON, trigger_id=trigger, acknowledged=seen.clicks_acked
    )
    await pick().submit(user, view, saved=seen.decisions_acked)


async def users(pick: Callable[[], SlackClient], prefix: str, seconds: float) -> Outcome:
    seen = Outcome()
    ids = user_ids(prefix)
    deadline = now() + seconds

    async def loop() -> None:
        while now() < deadline:
            try:
                await one_decision(pick, next(ids), seen)
            except Exception as exc:  # a request refused, or a reply that never came
                seen.failed += 1
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
    """How often each delivery id was posted in the record channel, from the fake's history
    (every post carries its delivery id in the message metadata)."""
    return Counter(
        str(m["metadata"]["event_payload"]["delivery_id"])
        for m in fake.messages.get(RECORD_CHANNEL, [])
        if (m.get("metadata") or {}).get("event_type") == "canishare_delivery"
    )


async def record_deliveries(db_url: str, *, delivered: bool = False) -> list[str]:
    """The ids of the deliveries to the record channel (only those marked delivered)."""
    done = " AND status = 'delivered'" if delivered else ""
    sql = f"SELECT id FROM outbox WHERE target = '{RECORD_TARGET}'{done}"
    return [str(d) for d in await column(db_url, sql)]


async def wait_for_outbox(db_url: str) -> float:
    """Wait (bounded by DELIVERY_WAIT) until the store has marked every record delivery
    delivered; return the seconds waited. (Waiting only until each has been seen in Slack
    would end too soon: a post made just before a kill is in Slack while the store still
    holds it leased, and its retry, after the lease, is what could post it twice.)"""
    start = now()
    while now() - start < DELIVERY_WAIT:
        wanted = set(await record_deliveries(db_url))
        if wanted <= set(await record_deliveries(db_url, delivered=True)):
            break
        await asyncio.sleep(0.5)
    return now() - start


@dataclass
class Count:
    """Lost and doubled, as issue 11 means them, and whether the run proves anything."""

    lost: dict[str, int]
    doubled: dict[str, int]
    waiting: int  # record deliveries not marked delivered when the wait ended (kept, not lost)
    retried: int  # record deliveries that took more than one attempt
    stored: int
    posted: int
    posts: int
    worst_ack: float
    problems: list[str]

    @property
    def met(self) -> bool:
        return not self.problems


async def count(
    db_url: str,
    fake: TimedSlack,
    seen: Outcome,
    acks: list[float],
    *,
    killed: bool,
    must_retry: bool,
) -> Count:
    """Count what issue 11 calls lost and doubled; list every reason the run fails: a loss, a
    double, a slow ack, and anything that would make a pass vacuous."""
    bodies = await decision_bodies(db_url)
    posted = posted_deliveries(fake)
    handled = set(await column(db_url, "SELECT event_id FROM processed_events"))
    deliveries = await record_deliveries(db_url)
    delivered = set(
        await column(
            db_url,
            f"SELECT id FROM outbox WHERE target = '{RECORD_TARGET}' AND status = 'delivered'",
        )
    )
    per_user = Counter(str(b.get("practitioner", "")) for b in bodies)
    with_delivery = {d.removesuffix(f":{RECORD_TARGET}") for d in deliveries}
    # a click's turn is noted under its interaction id, which ends with the trigger id
    clicked = {e.rsplit(":", 1)[-1] for e in handled if e.startswith("slack:block_actions:")}
    lost = {
        "acknowledged DM turns never run": sum(e not in handled for e in seen.events_acked),
        "acknowledged clicks never run": sum(t not in clicked for t in seen.clicks_acked),
        "reported saved but not stored": sum(per_user[u] == 0 for u in seen.decisions_acked),
        "stored with no delivery to the record channel": sum(
            str(b.get("id")) not in with_delivery for b in bodies
        ),
        "marked delivered but never posted": len(delivered - set(posted)),
    }
    doubled = {
        "posted twice": sum(n > 1 for n in posted.values()),
        "saved twice": sum(n > 1 for n in per_user.values()),
    }
    waiting = sum(d not in delivered for d in deliveries)
    retried = len(
        await column(
            db_url, f"SELECT id FROM outbox WHERE target = '{RECORD_TARGET}' AND attempts > 1"
        )
    )
    worst = max(acks) if acks else float("nan")
    problems = [f"{n} {what}" for what, n in (lost | doubled).items() if n]
    if not acks or not worst < ACK_LIMIT:
        problems.append(f"slowest ack {worst * 1000:.0f} ms (limit {ACK_LIMIT:g} s)")
    if waiting:
        problems.append(
            f"{waiting} records not marked delivered within {DELIVERY_WAIT:.0f} s, so "
            "doubles among them cannot be ruled out"
        )
    # a run that recorded (almost) nothing proves nothing: it must fail, not pass
    if len(bodies) < USERS or len(posted) < USERS:
        problems.append(
            f"only {len(bodies)} decisions stored and {len(posted)} posted (at least {USERS} "
            "needed: the run proves nothing)"
        )
    if not killed and seen.failed:
        problems.append(f"{seen.failed} decisions cut short with nothing injected")
    if must_retry and not retried:
        problems.append(
            "no record delivery needed a second attempt: the fault never met a post in flight, "
            "so the run says nothing about doubles"
        )
    return Count(
        lost,
        doubled,
        waiting,
        retried,
        len(bodies),
        len(posted),
        sum(posted.values()),
        worst,
        problems,
    )


def figures(
    label: str, seen: Outcome, clients: list[SlackClient], c: Count, waited: float, extra: str = ""
) -> dict[str, str]:
    acks = [t for client in clients for t in client.ack_times]
    sent = sum(client.sent for client in clients)
    resent = sum(client.resent for client in clients)
    lost, doubled = sum(c.lost.values()), sum(c.doubled.values())
    verdict = "met" if c.met else "NOT MET: " + "; ".join(c.problems)
    first = f"; first failure: {seen.errors[0]}" if seen.errors else ""
    over = sum(t >= ACK_LIMIT for t in acks)
    return {
        f"{label}: lost, doubled, slowest ack": f"**{lost} lost, {doubled} doubled, slowest "
        f"ack {c.worst_ack * 1000:.0f} ms** (target 0, 0, under 3 s: {verdict})",
        f"{label}: what was counted": f"{len(seen.decisions_acked)} decisions reported saved, "
        f"{c.stored} decision records stored, {c.posted} posted to the record channel "
        f"({c.posts} posts; the outbox empty {waited:.1f} s after the load ended); "
        f"{len(seen.events_acked)} DM events and {len(seen.clicks_acked)} clicks acknowledged; "
        "lost: "
        + ", ".join(f"{n} {what}" for what, n in c.lost.items())
        + "; doubled: "
        + ", ".join(f"{n} {what}" for what, n in c.doubled.items())
        + f"; {c.waiting} still waiting in the outbox; {c.retried} record deliveries took "
        "more than one attempt",
        f"{label}: requests": f"{sent} sent ({resent} DMs sent again, as Slack does, after "
        f"no 200), {sent - len(acks)} unanswered, "
        f"{seen.failed} decisions cut short{first}; ack p50 {pct(acks, 50) * 1000:.1f} ms, "
        f"p99 {pct(acks, 99) * 1000:.1f} ms, {over} over 3 s{extra}",
    }


async def tally(
    label: str,
    db_url: str,
    fake: TimedSlack,
    seen: Outcome,
    clients: list[SlackClient],
    *,
    killed: bool = False,
    must_retry: bool = False,
    extra: str = "",
) -> dict[str, str]:
    """Wait (bounded) for the outbox, then count lost and doubled records."""
    waited = await wait_for_outbox(db_url)
    acks = [t for client in clients for t in client.ack_times]
    c = await count(db_url, fake, seen, acks, killed=killed, must_retry=must_retry)
    return figures(label, seen, clients, c, waited, extra)


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
            client = SlackClient(http, ours.url + "/slack/events", fake, resends=RESENDS)
            seen = await users(lambda: client, "F", SECONDS)
            return await tally("50 users, SQLite", db_url, fake, seen, [client])
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
            client = SlackClient(http, ours.url + "/slack/events", fake, resends=RESENDS)

            async def kill_and_restart() -> tuple[float, int]:
                await asyncio.sleep(SECONDS / 2 - LAG_BEFORE_KILL)
                # answered well after the kill: whatever is posted now is in flight at the kill
                fake.lag, fake.lagging = LAG_BEFORE_KILL + 5.0, 10**9
                await asyncio.sleep(LAG_BEFORE_KILL)
                assert ours.proc is not None
                ours.proc.kill()  # SIGKILL: no clean-up, as an OOM kill or a crash
                in_flight, fake.lagging = fake.in_flight, 0
                ours.proc.wait(timeout=10)
                started = time.perf_counter()
                ours.start()
                await ours.healthy(http)
                return time.perf_counter() - started, in_flight

            seen, (down_for, in_flight) = await asyncio.gather(
                users(lambda: client, "K", SECONDS), kill_and_restart()
            )
            extra = (
                f"; SIGKILL at {SECONDS / 2:.0f} s with {in_flight} record posts landed in "
                f"Slack and not yet answered; healthy again {down_for:.1f} s later"
            )
            return await tally(
                "50 users, SIGKILL half-way, SQLite",
                db_url,
                fake,
                seen,
                [client],
                killed=True,
                must_retry=True,
                extra=extra,
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
            clients = [
                SlackClient(http, r.url + "/slack/events", fake, resends=RESENDS) for r in replicas
            ]
            seen = await users(round_robin(clients), "R", SECONDS)
            extra = (
                f"; lease {LEASE_SECONDS:g} s, the first {LAGGING_POSTS} record posts "
                f"answered after {SLOW_ANSWER_SECONDS:g} s"
            )
            return await tally(
                "50 users, two replicas, PostgreSQL, Slack answering after the lease",
                db_url,
                fake,
                seen,
                clients,
                must_retry=True,
                extra=extra,
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


def unmet(results: dict[str, str]) -> list[str]:
    """The runs that missed a target, proved nothing, or did not run."""
    return [k for k, v in results.items() if "NOT MET" in v or v.startswith("not run")]


def main() -> dict[str, str]:
    results = asyncio.run(run_all())
    for k, v in results.items():
        print(f"{k}: {v}")
    missed = unmet(results)
    if missed:
        print(f"RESILIENCE TARGETS NOT MET: {'; '.join(missed)}", file=sys.stderr, flush=True)
    return results


if __name__ == "__main__":
    sys.exit(1 if unmet(main()) else 0)
