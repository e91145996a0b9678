"""Throughput and concurrency: turns per second at concurrency 1 and 50, bounded in time.

Slack: each virtual user drives whole decisions against `canishare serve` — a typed "can I share"
and typed answers to an outcome (by question id: `harness.type_decision`), a click on "Record
this decision" (the modal opens), and the filled-in record form submitted — a new user each
decision. Every request must be answered 200, every turn's reply must reach the fake Web API,
and afterwards every completed decision must be a record in the store and a post in the record
channel (delivered by the outbox): zero errors, zero lost records. Each Slack acknowledgement
(the HTTP response) is timed: Slack wants it within 3 s.

Teams: the same typed decision over and over (no record form), replies received == requests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from benchmarks.harness import (
    CYCLE,
    LEADS_CHANNEL,
    RECORD_CHANNEL,
    Server,
    SlackClient,
    TeamsClient,
    TimedConnector,
    TimedSlack,
    client_session,
    count_rows,
    free_port,
    fresh_db,
    now,
    ours_env,
    pct,
    postgres,
    running,
    scratch,
    serve_argv,
    sqlite_url,
    type_decision,
    user_ids,
)

SECONDS = 30.0  # per run
CONCURRENCY = (1, 50)
DELIVERY_WAIT = 30.0  # bound on waiting for the outbox to post every record
ACK_LIMIT = 3.0


@dataclass
class Tally:
    requests: int = 0
    replies: int = 0
    decisions: int = 0
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    harness_cpu: float = 0.0  # CPU seconds of this process (load generator and fakes)


async def workers(
    concurrency: int, work: Callable[[str, Tally], Awaitable[None]], prefix: str
) -> Tally:
    """`concurrency` loops, each running `work` for a new user until the time is up."""
    tally = Tally()
    users = user_ids(prefix)
    deadline = now() + SECONDS

    async def loop() -> None:
        while now() < deadline:
            try:
                await work(next(users), tally)
            except Exception as exc:
                tally.errors.append(f"{type(exc).__name__}: {exc}"[:200])
                if len(tally.errors) > 100:
                    return

    start, cpu = now(), time.process_time()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    tally.elapsed = now() - start
    tally.harness_cpu = time.process_time() - cpu
    return tally


def slack_decision(client: SlackClient) -> Callable[[str, Tally], Awaitable[None]]:
    async def work(user: str, tally: Tally) -> None:
        typed = await type_decision(lambda: client, user)  # by question id, to an outcome
        tally.requests += typed
        tally.replies += typed
        tally.requests += 1
        view = await client.click(user, "record", "start", trigger_id=f"trig-{user}")
        tally.replies += 1
        tally.requests += 1
        await client.submit(user, view)
        tally.replies += 1
        tally.decisions += 1

    return work


def teams_cycle(client: TeamsClient) -> Callable[[str, Tally], Awaitable[None]]:
    async def work(user: str, tally: Tally) -> None:
        for text in CYCLE:
            tally.requests += 1
            await client.turn(user, text)
            tally.replies += 1

    return work


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    deadline = now() + timeout
    while now() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.2)
    return await check()


async def slack(db_url: str, label: str, workdir_name: str) -> dict[str, str]:
    results: dict[str, str] = {}
    with scratch() as workdir:
        fake = TimedSlack(private_channels={RECORD_CHANNEL, LEADS_CHANNEL})
        await fake.start()
        port = free_port()
        ours = Server(
            workdir_name, serve_argv(), ours_env(db_url, port, fake.api_url), port, workdir
        )
        try:
            async with client_session() as http, running(ours, http=http):
                for concurrency in CONCURRENCY:
                    client = SlackClient(http, ours.url + "/slack/events", fake)
                    before_records = await count_rows(
                        db_url, "SELECT count(*) FROM records WHERE kind = 'decision'"
                    )
                    before_posts = fake.posted_to.get(RECORD_CHANNEL, 0)
                    cpu = ours.cpu_seconds()
                    tally = await workers(concurrency, slack_decision(client), f"T{concurrency}X")
                    cpu = ours.cpu_seconds() - cpu

                    async def stored(before: int = before_records) -> int:
                        sql = "SELECT count(*) FROM records WHERE kind = 'decision'"
                        return await count_rows(db_url, sql) - before

                    async def delivered(before: int = before_posts, want: int = tally.decisions):
                        return fake.posted_to.get(RECORD_CHANNEL, 0) - before >= want

                    all_posted = await wait_until(delivered, DELIVERY_WAIT)
                    records = await stored()
                    posts = fake.posted_to.get(RECORD_CHANNEL, 0) - before_posts
                    results |= slack_figures(
                        f"{label}, concurrency {concurrency}",
                        tally,
                        client.ack_times,
                        records,
                        posts,
                        all_posted,
                        cpu,
                    )
        finally:
            await fake.stop()
    return results


def load(tally: Tally, server_cpu: float) -> str:
    """Where the CPU went: the server's, and the load generator's (with the fakes)."""
    turns = max(tally.requests, 1)
    return (
        f"server CPU {server_cpu / turns * 1000:.2f} ms/turn, "
        f"{server_cpu / tally.elapsed:.0%} of a core; load generator "
        f"{tally.harness_cpu / tally.elapsed:.0%} of a core"
    )


def slack_figures(
    label: str,
    tally: Tally,
    acks: list[float],
    records: int,
    posts: int,
    all_posted: bool,
    cpu: float,
) -> dict[str, str]:
    rate = tally.requests / tally.elapsed if tally.elapsed else 0.0
    lost = tally.decisions - records
    errors = len(tally.errors)
    first = f"; first: {tally.errors[0]}" if tally.errors else ""
    worst = max(acks) if acks else float("nan")
    ok = (
        errors == 0
        and tally.replies == tally.requests
        and lost == 0
        and all_posted
        and worst < ACK_LIMIT
    )
    return {
        f"{label}: turns per second": f"**{rate:.0f}** ({tally.requests} requests in "
        f"{tally.elapsed:.1f} s; {load(tally, cpu)})",
        f"{label}: errors, decisions, records": f"{errors} errors{first}; {tally.replies} "
        f"replies for {tally.requests} requests; {tally.decisions} "
        f"decisions completed, {records} decision records stored ({lost} lost), {posts} "
        f"posted to the record channel",
        f"{label}: Slack ack time": f"p50 {pct(acks, 50) * 1000:.1f} ms, p99 "
        f"{pct(acks, 99) * 1000:.1f} ms, max **{worst * 1000:.1f} ms** (limit 3 s)"
        + ("" if ok else " — CHECK"),
    }


async def teams(db_url: str, label: str) -> dict[str, str]:
    results: dict[str, str] = {}
    with scratch() as workdir:
        connector = TimedConnector()
        await connector.start()
        port = free_port()
        ours = Server("ours-teams", serve_argv(), ours_env(db_url, port), port, workdir)
        try:
            async with client_session() as http, running(ours, http=http):
                for concurrency in CONCURRENCY:
                    client = TeamsClient(http, ours.url + "/api/messages", connector)
                    cpu = ours.cpu_seconds()
                    tally = await workers(concurrency, teams_cycle(client), f"tt{concurrency}x")
                    cpu = ours.cpu_seconds() - cpu
                    rate = tally.requests / tally.elapsed if tally.elapsed else 0.0
                    first = f"; first: {tally.errors[0]}" if tally.errors else ""
                    results[f"{label}, concurrency {concurrency}: turns per second"] = (
                        f"**{rate:.0f}** ({tally.requests} requests in {tally.elapsed:.1f} s; "
                        f"{load(tally, cpu)})"
                    )
                    results[f"{label}, concurrency {concurrency}: errors, replies"] = (
                        f"{len(tally.errors)} errors{first}; {tally.replies} replies received "
                        f"for {tally.requests} requests"
                    )
        finally:
            await connector.stop()
    return results


async def run_all() -> dict[str, str]:
    results: dict[str, str] = {}
    with scratch() as workdir:
        results |= await slack(sqlite_url(workdir, "slack"), "Slack, SQLite", "slack-sqlite")
        with postgres() as server:
            if server is None:
                results["Slack, PostgreSQL"] = "not run: no PostgreSQL on this machine"
            else:
                results |= await slack(await fresh_db(server), "Slack, PostgreSQL", "slack-pg")
        results |= await teams(sqlite_url(workdir, "teams"), "Teams, SQLite")
    return results


def main() -> dict[str, str]:
    results = asyncio.run(run_all())
    for k, v in results.items():
        print(f"{k}: {v}")
    return results


if __name__ == "__main__":
    main()
