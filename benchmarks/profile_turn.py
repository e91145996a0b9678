"""Profile our Slack turn: the slowest path measured by benchmarks/turn_latency.py.

Not part of `benchmarks/run`; run it by hand when making things faster:

    .venv/bin/python -m benchmarks.profile_turn [--store sqlite|postgresql] [--seconds 20]
                                                 [--cprofile]

It starts the fake Slack Web API and `canishare serve`, warms up, then sends the same typed
decision as the latency benchmark, one turn at a time, while py-spy samples the server
(`pip install py-spy`; idle time is left out, so the shares are of CPU spent), or, with
--cprofile, while cProfile runs inside it (benchmarks/profiled_serve.py, signal-switched).
Prints the server's CPU per turn and the functions that cost most.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import pstats
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from benchmarks.harness import (
    CYCLE,
    LEADS_CHANNEL,
    PYTHON,
    RECORD_CHANNEL,
    ROOT,
    SECRET,
    TOKEN,
    Server,
    SlackClient,
    TimedSlack,
    clean_env,
    client_session,
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
    user_ids,
)

MAX_TURNS = 100_000


async def drive(client: SlackClient, seconds: float, prefix: str) -> list[float]:
    users = user_ids(prefix)
    latencies: list[float] = []
    user = ""
    deadline = now() + seconds
    for i in range(MAX_TURNS):
        step = i % len(CYCLE)
        if step == 0:
            user = next(users)
        latencies.append(await client.turn(user, CYCLE[step]))
        if now() > deadline:
            break
    return latencies


def top_of_raw(path: Path, limit: int) -> str:
    """Inclusive and self shares per function from py-spy's raw (collapsed) stacks."""
    inclusive: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [f.split(" (")[0] + " (" + f.split(" (")[-1] for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += n
        self_time[frames[-1]] += n
    out = [f"{total} samples (CPU only)", "", "inclusive:"]
    out += [f"  {100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(limit)]
    out += ["", "self:"]
    out += [f"  {100 * n / total:5.1f}%  {f}" for f, n in self_time.most_common(limit)]
    return "\n".join(out)


async def profile(store: str, seconds: float, use_cprofile: bool, limit: int, app: str) -> None:
    with scratch() as workdir, postgres() if store == "postgresql" else _none() as pg:
        if store == "postgresql":
            if pg is None:
                sys.exit("no PostgreSQL on this machine")
            db_url = await fresh_db(pg)
        else:
            db_url = sqlite_url(workdir, "profile")
        fake = TimedSlack(private_channels={RECORD_CHANNEL, LEADS_CHANNEL})
        await fake.start()
        port = free_port()
        prof = workdir / "server.prof"
        argv = serve_argv(str(prof) if use_cprofile else None)
        ours = Server("ours", argv, ours_env(db_url, port, fake.api_url), port, workdir)
        if app == "echo":
            env = clean_env(
                ECHO_PORT=str(port),
                SLACK_API_URL=fake.api_url,
                SLACK_BOT_TOKEN=TOKEN,
                SLACK_SIGNING_SECRET=SECRET,
            )
            ours = Server(
                "echo", [PYTHON, str(ROOT / "benchmarks" / "echo_slack.py")], env, port, workdir
            )
        async with client_session() as http, running(ours, http=http):
            assert ours.proc is not None
            client = SlackClient(http, ours.url + "/slack/events", fake)
            await drive(client, 2.0, "WARM")
            spy = None
            raw = workdir / "pyspy.txt"
            if use_cprofile:
                ours.proc.send_signal(signal.SIGUSR1)
            else:
                py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
                spy = subprocess.Popen(
                    [
                        py_spy,
                        "record",
                        "--pid",
                        str(ours.proc.pid),
                        "--rate",
                        "1000",
                        "--duration",
                        str(int(seconds) + 1),
                        "--format",
                        "raw",
                        "--output",
                        str(raw),
                        "--nonblocking",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                await asyncio.sleep(0.5)
            cpu0 = ours.cpu_seconds()
            latencies = await drive(client, seconds, "PROF")
            cpu = ours.cpu_seconds() - cpu0
            if use_cprofile:
                ours.proc.send_signal(signal.SIGUSR2)
                await asyncio.sleep(1.0)
            elif spy is not None:
                spy.wait(timeout=seconds + 30)
        await fake.stop()
        print(
            f"{store}: {len(latencies)} turns, p50 {pct(latencies, 50) * 1000:.2f} ms, "
            f"server CPU {cpu / len(latencies) * 1000:.2f} ms per turn"
        )
        if use_cprofile:
            stats = pstats.Stats(str(prof))
            stats.sort_stats("cumulative").print_stats(limit)
            stats.sort_stats("tottime").print_stats(limit)
            print("our own code (bot/), by cumulative time:")
            stats.sort_stats("cumulative").print_stats(str(ROOT / "bot"), limit)
        else:
            print(top_of_raw(raw, limit))


class _none:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--app", choices=("ours", "echo"), default="ours")
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    asyncio.run(profile(args.store, min(args.seconds, 120.0), args.cprofile, args.limit, args.app))


if __name__ == "__main__":
    main()
