"""Before and after, in one run: our Slack turn from another copy of the code (A) against this
work tree (B), alternating A B A B, on the same fake Web API and the same kind of store.

Not part of `benchmarks/run`; run it by hand to back a claim that a change made turns faster:

    cp -r bot /tmp/before/bot   # then put the old versions of the changed files in it
    .venv/bin/python -m benchmarks.ab_builds /tmp/before [--store sqlite|postgresql]

The other copy's `bot` package is put first on PYTHONPATH for server A; everything else (the
SDKs, the virtual environment, the harness) is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from benchmarks.harness import (
    LEADS_CHANNEL,
    PYTHON,
    RECORD_CHANNEL,
    Server,
    SlackClient,
    TimedSlack,
    client_session,
    free_port,
    fresh_db,
    ours_env,
    pct,
    postgres,
    running,
    scratch,
    sqlite_url,
)
from benchmarks.turn_latency import alternate


async def compare(other: Path, store: str) -> None:
    with scratch() as workdir, postgres() as pg:
        if store == "postgresql" and pg is None:
            sys.exit("no PostgreSQL on this machine")
        urls = (
            [await fresh_db(pg), await fresh_db(pg)]
            if store == "postgresql" and pg
            else [sqlite_url(workdir, "a"), sqlite_url(workdir, "b")]
        )
        fake = TimedSlack(private_channels={RECORD_CHANNEL, LEADS_CHANNEL})
        await fake.start()
        pa, pb = free_port(), free_port()
        env_a = ours_env(urls[0], pa, fake.api_url, PYTHONPATH=str(other))
        a = Server("a", [PYTHON, "-m", "bot", "serve"], env_a, pa, workdir)
        b = Server(
            "b", [PYTHON, "-m", "bot", "serve"], ours_env(urls[1], pb, fake.api_url), pb, workdir
        )
        try:
            async with client_session() as http, running(a, b, http=http):
                ca = SlackClient(http, a.url + "/slack/events", fake)
                cb = SlackClient(http, b.url + "/slack/events", fake)
                run = await alternate(ca.turn, cb.turn, (a, b), "AB")
        finally:
            await fake.stop()
    n = len(run.ours)
    print(f"{store}, {n} turns each, {run.machine}")
    for name, lat, cpu in (
        ("A (other)", run.ours, run.ours_cpu),
        ("B (this)", run.echo, run.echo_cpu),
    ):
        print(
            f"  {name}: p50 {pct(lat, 50) * 1000:.2f} ms, p99 {pct(lat, 99) * 1000:.2f} ms, "
            f"server CPU {cpu / n * 1000:.2f} ms/turn"
        )
    print(f"  B/A at p50: {pct(run.echo, 50) / pct(run.ours, 50):.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("other", type=Path, help="a folder holding the other copy's bot/")
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args(argv)
    if not (args.other / "bot" / "server.py").is_file():
        sys.exit(f"{args.other}/bot/server.py not found")
    asyncio.run(compare(args.other.resolve(), args.store))


if __name__ == "__main__":
    main()
