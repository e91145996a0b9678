"""Memory: resident memory (VmRSS from /proc/<pid>/status) of `canishare serve`.

Idle is read once the server answers `/healthz` and has been left alone for a moment. Then
conversations are held mid-dialog: each from a different user, who starts a decision and answers
its first question. The first 100 warm the server up (first-request set-up in the SDKs, caches,
buffers); then two batches of 1,000, each followed by a read of VmRSS. Dialog state lives in the
store, so what grows in the process is only per-user bookkeeping (rate-limit buckets, remembered
DM channels) and the allocator's own slack.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from benchmarks.harness import (
    LEADS_CHANNEL,
    RECORD_CHANNEL,
    Server,
    SlackClient,
    TeamsClient,
    TimedConnector,
    TimedSlack,
    client_session,
    free_port,
    fresh_db,
    ours_env,
    postgres,
    running,
    scratch,
    serve_argv,
    sqlite_url,
    user_ids,
)

WARMUP = 100
BATCH = 1_000
BATCHES = 2
CONCURRENCY = 20
SETTLE_SECONDS = 1.0

Turn = Callable[[str, str], Awaitable[float]]


async def hold(turn: Turn, users: list[str]) -> None:
    """Each user starts a decision and answers the first question (20 at a time)."""
    queue = list(reversed(users))

    async def worker() -> None:
        while queue:
            user = queue.pop()
            await turn(user, "can I share")
            await turn(user, "no")

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def measure(server: Server, turn: Turn, prefix: str) -> list[int]:
    """VmRSS (kB): idle, after the warm-up, after each batch."""
    await asyncio.sleep(SETTLE_SECONDS)
    readings = [server.rss_kb()]
    ids = user_ids(prefix)
    for size in (WARMUP, *[BATCH] * BATCHES):
        await hold(turn, [next(ids) for _ in range(size)])
        await asyncio.sleep(SETTLE_SECONDS)
        readings.append(server.rss_kb())
    return readings


def figures(label: str, kb: list[int]) -> dict[str, str]:
    idle, warm, *after = kb
    growth = [b - a for a, b in zip([warm, *after], after, strict=False)]
    per = ", ".join(f"{g / 1024:+.1f} MB" for g in growth)
    return {
        f"{label}: idle after start-up": f"**{idle / 1024:.1f} MB**",
        f"{label}: after {WARMUP} warm-up conversations": f"{warm / 1024:.1f} MB",
        f"{label}: growth per {BATCH:,} conversations held mid-dialog": (
            f"**{per}** (batch by batch; {after[-1] / 1024:.1f} MB with "
            f"{WARMUP + BATCH * BATCHES:,} held)"
        ),
    }


async def slack(db_url: str, label: str) -> dict[str, str]:
    with scratch() as workdir:
        fake = TimedSlack(private_channels={RECORD_CHANNEL, LEADS_CHANNEL})
        await fake.start()
        port = free_port()
        server = Server(
            "mem-slack", serve_argv(), ours_env(db_url, port, fake.api_url), port, workdir
        )
        try:
            async with client_session() as http, running(server, http=http):
                client = SlackClient(http, server.url + "/slack/events", fake)
                kb = await measure(server, client.turn, "MEM")
        finally:
            await fake.stop()
    return figures(label, kb)


async def teams(db_url: str, label: str) -> dict[str, str]:
    with scratch() as workdir:
        connector = TimedConnector()
        await connector.start()
        port = free_port()
        server = Server("mem-teams", serve_argv(), ours_env(db_url, port), port, workdir)
        try:
            async with client_session() as http, running(server, http=http):
                client = TeamsClient(http, server.url + "/api/messages", connector)
                kb = await measure(server, client.turn, "mem")
        finally:
            await connector.stop()
    return figures(label, kb)


async def run_all() -> dict[str, str]:
    results: dict[str, str] = {}
    with scratch() as workdir:
        results |= await slack(
            sqlite_url(workdir, "slack"), "Slack + Teams server, SQLite, Slack DMs"
        )
        with postgres() as server:
            if server is None:
                results["PostgreSQL"] = "not run: no PostgreSQL on this machine"
            else:
                results |= await slack(
                    await fresh_db(server), "Slack + Teams server, PostgreSQL, Slack DMs"
                )
        results |= await teams(
            sqlite_url(workdir, "teams"), "Teams-only server, SQLite, Teams chats"
        )
    return results


def main() -> dict[str, str]:
    results = asyncio.run(run_all())
    for k, v in results.items():
        print(f"{k}: {v}")
    return results


if __name__ == "__main__":
    main()
