"""Turn latency against the framework floor, alternating A B A B in one run.

Slack: a signed Events API `message.im` goes over loopback HTTP to `canishare serve` (state
loaded, dialog step, state saved, reply posted to a local fake Web API) and, turn about, to a bare
slack-bolt echo app on the same stack (benchmarks/echo_slack.py). Teams: an unauthenticated
personal-chat activity to our `/api/messages` and to the stock botbuilder CloudAdapter echo bot
(benchmarks/echo_teams.py), both replying to a fake connector. Latency is from sending the
request to the fake receiving the reply. Every turn of ours changes the dialog state: the same
typed decision (`start again`, then answers to an outcome) over and over, a new user each time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.harness import (
    CYCLE,
    LEADS_CHANNEL,
    PYTHON,
    RECORD_CHANNEL,
    ROOT,
    SECRET,
    TOKEN,
    MachineLoad,
    Server,
    SlackClient,
    TeamsClient,
    TimedConnector,
    TimedSlack,
    clean_env,
    client_session,
    free_port,
    fresh_db,
    now,
    ours_env,
    pct,
    pg_round_trip,
    postgres,
    running,
    scratch,
    serve_argv,
    sqlite_url,
    user_ids,
)

TURNS = 300  # measured turns of each app (so 600 alternating requests)
WARMUP = len(CYCLE) * 2
BUDGET_SECONDS = 90.0  # per pairing; the loop stops early (and says so) past this
SLACK_TARGET = 1.3
TEAMS_TARGET = 0.6

Turn = Callable[[str, str], Awaitable[float]]


@dataclass
class Run:
    ours: list[float] = field(default_factory=list)
    echo: list[float] = field(default_factory=list)
    ours_cpu: float = 0.0  # server CPU seconds over the measured turns
    echo_cpu: float = 0.0
    note: str = ""
    machine: str = ""


async def alternate(ours: Turn, echo: Turn, servers: tuple[Server, Server], prefix: str) -> Run:
    """A B A B: one turn of ours, then one of the echo app, the same text to each."""
    users = user_ids(prefix)
    run = Run()
    user = ""
    deadline = now() + BUDGET_SECONDS
    cpu = (0.0, 0.0)
    load = MachineLoad(servers)
    for i in range(WARMUP + TURNS):
        if i == WARMUP:
            cpu = (servers[0].cpu_seconds(), servers[1].cpu_seconds())
            load = MachineLoad(servers)
        step = i % len(CYCLE)
        if step == 0:
            user = next(users)
        la = await ours(user, CYCLE[step])
        lb = await echo(user, CYCLE[step])
        if i >= WARMUP:
            run.ours.append(la)
            run.echo.append(lb)
        if now() > deadline:
            run.note = f" (stopped at the {BUDGET_SECONDS:.0f} s budget)"
            break
    run.ours_cpu = servers[0].cpu_seconds() - cpu[0]
    run.echo_cpu = servers[1].cpu_seconds() - cpu[1]
    run.machine = load.others()
    return run


def figures(label: str, run: Run, echo_name: str, target: float) -> dict[str, str]:
    a, b = run.ours, run.echo
    ratio = pct(a, 50) / pct(b, 50)
    met = "met" if ratio <= target else "NOT met"
    return {
        f"{label}: ours": f"p50 {pct(a, 50) * 1000:.2f} ms, p99 {pct(a, 99) * 1000:.2f} ms; "
        f"server CPU {run.ours_cpu / len(a) * 1000:.2f} ms/turn ({len(a)} turns{run.note})",
        f"{label}: {echo_name}": f"p50 {pct(b, 50) * 1000:.2f} ms, p99 {pct(b, 99) * 1000:.2f} ms; "
        f"server CPU {run.echo_cpu / len(b) * 1000:.2f} ms/turn",
        f"{label}: ratio ours/echo at p50": f"**{ratio:.2f}** (target ≤ {target}: {met}; "
        f"{run.machine})",
    }


async def slack(db_url: str, workdir: Path, label: str) -> dict[str, str]:
    fake = TimedSlack(private_channels={RECORD_CHANNEL, LEADS_CHANNEL})
    await fake.start()
    port, echo_port = free_port(), free_port()
    ours = Server("ours-slack", serve_argv(), ours_env(db_url, port, fake.api_url), port, workdir)
    echo_env = clean_env(
        ECHO_PORT=str(echo_port),
        SLACK_API_URL=fake.api_url,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
    )
    echo_argv = [PYTHON, str(ROOT / "benchmarks" / "echo_slack.py")]
    echo = Server("echo-slack", echo_argv, echo_env, echo_port, workdir)
    try:
        async with client_session() as http, running(ours, echo, http=http):
            a = SlackClient(http, ours.url + "/slack/events", fake)
            b = SlackClient(http, echo.url + "/slack/events", fake)
            run = await alternate(a.turn, b.turn, (ours, echo), "LAT")
    finally:
        await fake.stop()
    return figures(label, run, "bolt echo", SLACK_TARGET)


async def teams(db_url: str, workdir: Path, label: str) -> dict[str, str]:
    connector = TimedConnector()
    await connector.start()
    port, echo_port = free_port(), free_port()
    ours = Server("ours-teams", serve_argv(), ours_env(db_url, port), port, workdir)
    echo_argv = [PYTHON, str(ROOT / "benchmarks" / "echo_teams.py")]
    echo = Server("echo-teams", echo_argv, clean_env(ECHO_PORT=str(echo_port)), echo_port, workdir)
    try:
        async with client_session() as http, running(ours, echo, http=http):
            a = TeamsClient(http, ours.url + "/api/messages", connector)
            b = TeamsClient(http, echo.url + "/api/messages", connector)
            run = await alternate(a.turn, b.turn, (ours, echo), "tl")
    finally:
        await connector.stop()
    return figures(label, run, "botbuilder echo", TEAMS_TARGET)


async def run_all() -> dict[str, str]:
    results: dict[str, str] = {}
    with scratch() as workdir:
        results |= await slack(sqlite_url(workdir, "slack"), workdir, "Slack, SQLite")
        results |= await teams(sqlite_url(workdir, "teams"), workdir, "Teams, SQLite")
        with postgres() as server:
            if server is None:
                results["PostgreSQL"] = "not run: no PostgreSQL on this machine"
            else:
                db = await fresh_db(server)
                rtt = await pg_round_trip(db)
                results["one PostgreSQL round trip (asyncpg `SELECT 1`, loopback)"] = (
                    f"p50 {rtt * 1000:.3f} ms"
                )
                results |= await slack(db, workdir, "Slack, PostgreSQL")
                results |= await teams(await fresh_db(server), workdir, "Teams, PostgreSQL")
    return results


def main() -> dict[str, str]:
    results = asyncio.run(run_all())
    for k, v in results.items():
        print(f"{k}: {v}")
    return results


if __name__ == "__main__":
    main()
