"""Start-up: from launching `canishare serve` to a healthy `/healthz`, and where the time goes.

`canishare serve` runs with Slack (against the fake Web API, which also answers the start-up
check of the record channel) and Teams, on a SQLite store, five times (the first creates the
schema); the median is the figure. Then, each in a fresh interpreter, five times: the import of
each SDK, of our server and channels, and the knowledge base build.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import time
from pathlib import Path

from benchmarks.harness import (
    LEADS_CHANNEL,
    PYTHON,
    RECORD_CHANNEL,
    Server,
    TimedSlack,
    clean_env,
    client_session,
    free_port,
    ours_env,
    scratch,
    serve_argv,
    sqlite_url,
)

LAUNCHES = 5
TARGET = 1.5
PHASES = r"""
import json, time
t0 = time.perf_counter()
import bot.cli, bot.server
t1 = time.perf_counter()
from bot.app import build_core
from bot.settings import load_settings
build_core(load_settings(environ={}, dotenv=None))
t2 = time.perf_counter()
import bot.channels.slack.channel
t3 = time.perf_counter()
import bot.channels.teams.channel
t4 = time.perf_counter()
print(json.dumps({"server": t1 - t0, "knowledge": t2 - t1, "slack": t3 - t2, "teams": t4 - t3}))
"""
IMPORTS = {
    "aiohttp (aiohttp.web)": "import aiohttp.web",
    "Slack SDKs (slack_bolt AsyncApp, slack_sdk AsyncWebClient)": (
        "import slack_bolt.app.async_app, slack_sdk.web.async_client"
    ),
    "Teams SDKs (botbuilder.core, botbuilder.integration.aiohttp)": (
        "import botbuilder.core, botbuilder.integration.aiohttp"
    ),
}


def cached(pycache: Path) -> dict[str, str]:
    """Bytecode compiled once and reused, as in an installed deployment (kept in a scratch
    folder so nothing is written into the work tree)."""
    env = clean_env(PYTHONPYCACHEPREFIX=str(pycache))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def fresh(code: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [PYTHON, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def import_seconds(statement: str, env: dict[str, str]) -> float:
    code = f"import time\nt = time.perf_counter()\n{statement}\nprint(time.perf_counter() - t)"
    return float(fresh(code, env))


def interpreter_seconds(env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([PYTHON, "-c", "pass"], env=env, timeout=60, check=True)
    return time.perf_counter() - start


async def launches(workdir: Path, base_env: dict[str, str], warm: bool) -> list[float]:
    """Launch `canishare serve` LAUNCHES times (plus one unmeasured first when `warm`)."""
    fake = TimedSlack(private_channels={RECORD_CHANNEL, LEADS_CHANNEL})
    await fake.start()
    times: list[float] = []
    db = sqlite_url(workdir, "startup")
    try:
        async with client_session() as http:
            for n in range(LAUNCHES + int(warm)):
                port = free_port()
                env = {**base_env, **ours_env(db, port, fake.api_url)}
                for name in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX"):
                    if name in base_env:
                        env[name] = base_env[name]
                    else:
                        env.pop(name, None)
                server = Server(f"startup-{n}", serve_argv(), env, port, workdir)
                server.start()
                try:
                    seconds = await server.healthy(http)
                finally:
                    server.stop()
                if n or not warm:
                    times.append(seconds)
    finally:
        await fake.stop()
    return times


def ask_seconds(env: dict[str, str]) -> float:
    """From starting `canishare ask` to its answer (models from the cache)."""
    start = time.perf_counter()
    subprocess.run(
        [PYTHON, "-m", "bot", "ask", "--json", "is gdpr a barrier to sharing?"],
        env=env,
        capture_output=True,
        timeout=120,
        check=True,
    )
    return time.perf_counter() - start


def median_of(runs: list[float]) -> str:
    low, high = min(runs) * 1000, max(runs) * 1000
    return f"{statistics.median(runs) * 1000:.0f} ms (min {low:.0f}, max {high:.0f})"


def main() -> dict[str, str]:
    with scratch() as workdir:
        return measure(workdir)


def measure(workdir: Path) -> dict[str, str]:
    env = cached(workdir / "pycache")
    times = asyncio.run(launches(workdir, env, warm=True))
    cold = asyncio.run(launches(workdir, clean_env(PYTHONDONTWRITEBYTECODE="1"), warm=False))
    med = statistics.median(times)
    met = "met" if med < TARGET else "NOT met"
    results = {
        "`canishare serve` to healthy `/healthz` (Slack + Teams, SQLite, bytecode cached)": (
            f"**{med * 1000:.0f} ms** median of {len(times)} (min {min(times) * 1000:.0f}, "
            f"max {max(times) * 1000:.0f}; target < {TARGET} s: {met})"
        ),
        "the same, no bytecode cache for `bot/` (PYTHONDONTWRITEBYTECODE=1, editable)": median_of(
            cold
        ),
        "`canishare ask` from start to answer (classifiers from their cache)": median_of(
            [ask_seconds(env) for _ in range(LAUNCHES + 1)][1:]
        ),
        "interpreter start (`python -c pass`)": median_of(
            [interpreter_seconds(env) for _ in range(LAUNCHES)]
        ),
    }
    for name, statement in IMPORTS.items():
        results[f"import {name}, fresh interpreter"] = median_of(
            [import_seconds(statement, env) for _ in range(LAUNCHES)]
        )
    phases = [json.loads(fresh(PHASES, env)) for _ in range(LAUNCHES)]
    labels = {
        "server": "import `bot.server` (aiohttp, the core, the store; no SDK)",
        "knowledge": "load and index the knowledge base, load the classifiers (cached)",
        "slack": "then import our Slack channel (its SDKs)",
        "teams": "then import our Teams channel (its SDKs)",
    }
    for key, label in labels.items():
        results[f"serve phase: {label}"] = median_of([p[key] for p in phases])
    for k, v in results.items():
        print(f"{k}: {v}")
    return results


if __name__ == "__main__":
    main()
