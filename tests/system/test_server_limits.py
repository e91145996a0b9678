"""A real `canishare serve` process under hostile connections, and at start-up when something
is wrong: every limit holds, a normal request is still answered, the log stays small and every
failure is one line (exit status 2), never a traceback."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.slack_api import FakeSlack
from tests.system.conftest import ROOT, Replica, free_port, replica_env

SLOW_CONNECTIONS = 300  # far more than the server's connection limit below
LIMIT = 40
HEADER_SECONDS = 1.5
BODY_SECONDS = 1.0
WAIT = 20.0  # bound on every wait in this file


@pytest.fixture
async def limited(fake_slack: FakeSlack, tmp_path: Path) -> AsyncIterator[Replica]:
    """One server with a small connection limit and short header and body deadlines."""
    port = free_port()
    env = replica_env(
        fake_slack,
        f"sqlite:///{tmp_path}/limits.db",
        port,
        CANISHARE_MAX_CONNECTIONS=str(LIMIT),
        CANISHARE_HEADER_TIMEOUT_SECONDS=str(HEADER_SECONDS),
        CANISHARE_BODY_TIMEOUT_SECONDS=str(BODY_SECONDS),
    )
    replica = Replica(env, port, tmp_path / "serve.log")
    replica.start()
    try:
        await replica.healthy()
        yield replica
    finally:
        replica.stop()


def half_sent(port: int, count: int) -> list[socket.socket]:
    """`count` connections that send the start of a request and then stall (slowloris)."""
    held = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setblocking(False)
        with contextlib.suppress(OSError):  # already closed to make room: as it should be
            s.send(b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        held.append(s)
    return held


def trickle(held: list[socket.socket]) -> None:
    for s in held:
        with contextlib.suppress(OSError):
            s.send(b"a")


def close_all(held: list[socket.socket]) -> None:
    for s in held:
        s.close()


async def get_health(url: str) -> int:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT)) as http,
        http.get(url + "/healthz") as resp,
    ):
        return resp.status


def log_of(replica: Replica) -> str:
    return replica.log.read_text(errors="replace")


async def test_many_half_sent_requests_cannot_keep_a_normal_request_out(
    limited: Replica,
) -> None:
    held = half_sent(limited.port, SLOW_CONNECTIONS)
    try:
        statuses = []
        for _ in range(5):  # bounded: five requests while the slow ones keep trickling
            trickle(held)
            statuses.append(await get_health(limited.url))
    finally:
        close_all(held)

    assert statuses == [200] * 5
    log = log_of(limited)
    assert "Traceback" not in log
    assert len(log) < 8_000, log[-2000:]  # one line a minute, not one per connection
    assert "connection limit was reached" in log


async def test_a_connection_that_never_finishes_its_headers_is_closed(limited: Replica) -> None:
    [s] = half_sent(limited.port, 1)
    closed = False
    try:
        for _ in range(int(WAIT * 2)):  # bounded: a byte every 0.5 s for at most WAIT seconds
            trickle([s])
            await asyncio.sleep(0.5)
            closed = _closed(s)
            if closed:
                break
    finally:
        s.close()

    assert closed, "the server kept waiting for headers that never came"


def _closed(s: socket.socket) -> bool:
    try:
        return s.recv(1024, socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


async def test_a_body_that_arrives_too_slowly_is_refused_with_408(limited: Replica) -> None:
    s = socket.create_connection(("127.0.0.1", limited.port), timeout=WAIT)
    try:
        s.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            b'\r\nContent-Length: 5000\r\n\r\n{"type": '
        )
        answer = s.recv(4096)
    finally:
        s.close()

    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


async def test_an_aborted_upload_and_a_nul_in_a_header_are_each_one_short_log_line(
    limited: Replica,
) -> None:
    before = len(log_of(limited).splitlines())
    aborted = socket.create_connection(("127.0.0.1", limited.port), timeout=WAIT)
    aborted.sendall(
        b"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n" + b"x" * 1000
    )
    aborted.close()
    nul = socket.create_connection(("127.0.0.1", limited.port), timeout=WAIT)
    nul.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Odd: a\x00b\r\n\r\n")
    answer = nul.recv(4096)
    nul.close()
    assert await get_health(limited.url) == 200  # and the server is fine

    new = log_of(limited).splitlines()[before:]
    assert answer.split(b"\r\n")[0].endswith(b" 400 Bad Request"), answer[:200]
    assert "Traceback" not in "\n".join(new)
    assert len(new) <= 2, new
    assert all(len(line) < 300 for line in new), new


async def test_compressed_webhook_bodies_are_refused_before_anything_else(
    limited: Replica,
) -> None:
    import gzip

    bomb = gzip.compress(b"{" + b" " * (8 * 1024 * 1024) + b"}")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WAIT)) as http:
        statuses = []
        for path in ("/slack/events", "/api/messages"):
            headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
            async with http.post(limited.url + path, data=bomb, headers=headers) as resp:
                statuses.append((resp.status, (await resp.json())["error"]))
        healthy = await get_health(limited.url)

    assert statuses == [(415, statuses[0][1])] * 2
    assert "uncompressed" in statuses[0][1]
    assert healthy == 200
    assert "content-encoding" not in log_of(limited).lower()  # nothing was inflated


# ---------------------------------------------------------------------- out of descriptors
EXHAUST = """
import asyncio, logging, resource, socket, sys
from bot.server import LoopErrors, configure_logging
from bot.settings import Settings

configure_logging(Settings())

async def main():
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(LoopErrors())
    server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    import os
    used = len(os.listdir("/proc/self/fd"))
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (used + 3, hard))
    print(port, flush=True)
    await asyncio.sleep(float(sys.argv[1]))
    server.close()
    await asyncio.sleep(1.5)  # asyncio's retries of the listening socket fire after it closed

asyncio.run(main())
"""


def test_running_out_of_descriptors_is_logged_once_not_per_try(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", EXHAUST, "4"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        clients = []
        for _ in range(30):  # bounded: more than the three descriptors left
            clients.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(3)
        close_all(clients)
        _, err = proc.communicate(timeout=WAIT)
    finally:
        proc.kill()

    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert len(lines) == 1, err[-3000:]
    assert "out of file descriptors" in lines[0]


# ---------------------------------------------------------------------- start-up failures
def serve_once(env: dict[str, str], cwd: Path, **popen: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **popen,  # type: ignore[call-overload]
    )


def assert_one_line(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr + done.stdout
    problems = [line for line in done.stderr.splitlines() if line.startswith("canishare: ")]
    assert len(problems) == 1, done.stderr[-2000:]
    for word in words:
        assert word in problems[0], problems[0]


def test_a_port_in_use_is_one_line_and_exit_status_2(fake_slack: FakeSlack, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = replica_env(fake_slack, f"sqlite:///{tmp_path}/p.db", port)

        done = serve_once(env, tmp_path)

    assert_one_line(done, "already in use", str(port))


def test_a_host_that_does_not_resolve_is_one_line(fake_slack: FakeSlack, tmp_path: Path) -> None:
    env = replica_env(fake_slack, f"sqlite:///{tmp_path}/h.db", free_port())
    env["CANISHARE_HOST"] = "no-such-host.invalid"

    done = serve_once(env, tmp_path)

    assert_one_line(done, "CANISHARE_HOST", "no-such-host.invalid", "does not resolve")


def test_a_knowledge_file_that_is_not_utf8_is_one_line_naming_it(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    org = tmp_path / "organisation.yaml"
    text = (ROOT / "bot" / "knowledge" / "organisation.yaml").read_text(encoding="utf-8")
    org.write_bytes(text.replace("Anytown", "Caf\u00e9town").encode("cp1252"))
    env = replica_env(fake_slack, f"sqlite:///{tmp_path}/k.db", free_port())
    env["CANISHARE_ORG_FILE"] = str(org)

    done = serve_once(env, tmp_path)

    assert_one_line(done, "organisation.yaml", "not UTF-8")


def test_a_database_that_cannot_be_opened_is_one_line(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    (tmp_path / "a-directory.db").mkdir()
    env = replica_env(fake_slack, f"sqlite:///{tmp_path}/a-directory.db", free_port())

    done = serve_once(env, tmp_path)

    assert_one_line(done, "store", "a-directory.db")


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """Make a file read-only even for root (chattr +i), as a read-only mount would."""
    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot make a file immutable here: {made.stderr!r}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=False)


def test_a_read_only_database_stops_start_up_with_one_line_instead_of_starting_healthy(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    db = tmp_path / "ro.db"
    env = replica_env(fake_slack, f"sqlite:///{db}", free_port())
    made = subprocess.run(
        [sys.executable, "-m", "bot", "records", "status"],
        env=env,
        cwd=tmp_path,
        timeout=60,
        capture_output=True,
        check=False,
    )
    assert made.returncode == 0 and db.exists(), made.stderr

    with immutable(db):
        done = serve_once(env, tmp_path)

    assert_one_line(done, "cannot be written to", "readonly")


# ---------------------------------------------------------------------- what start-up says
async def test_serve_says_which_platforms_are_on_what_is_missing_and_that_contacts_are_fictional(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    port = free_port()
    env = replica_env(fake_slack, f"sqlite:///{tmp_path}/say.db", port)
    del env["CANISHARE_LEADS_CHANNEL"]
    replica = Replica(env, port, tmp_path / "say.log")
    replica.start()
    try:
        await replica.healthy()
    finally:
        replica.stop()

    log = log_of(replica)
    assert "Slack: on (HTTP, POST /slack/events)" in log
    assert "CANISHARE_LEADS_CHANNEL is not set: escalations to the leads are saved but not" in log
    assert "CANISHARE_RECORD_CHANNEL is not set" not in log
    assert "Teams: off (MicrosoftAppId is not set; POST /api/messages answers 404)" in log
    assert "FICTIONAL example contacts are in use" in log
    assert "Traceback" not in log


def test_start_up_says_nothing_about_fictional_contacts_once_real_ones_are_set(
    tmp_path: Path,
) -> None:
    from bot.server import startup_report
    from bot.settings import Settings

    ours = tmp_path / "org.yaml"
    ours.write_text("organisation: Northshire Council\ncontacts: {}\n", encoding="utf-8")
    packaged = ROOT / "bot" / "knowledge" / "organisation.yaml"

    real = startup_report(Settings(org_file=ours), "Northshire Council")
    copied = startup_report(Settings(org_file=packaged), "Northshire Council")
    nothing_set = startup_report(Settings(), "Anytown Partnership (example — not a real ...)")

    assert not [line for line in real if "FICTIONAL" in line]
    assert [line for line in copied if "FICTIONAL" in line]
    assert [line for line in nothing_set if "FICTIONAL" in line]
    assert "Slack: off (SLACK_BOT_TOKEN is not set)" in nothing_set
    assert any(line.startswith("Records: no record channel is set up") for line in nothing_set)


def test_a_postgresql_server_that_cannot_be_reached_is_one_line_without_the_password(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    closed_port = free_port()  # nothing listens there
    url = f"postgresql://canishare:s3cret-pw@127.0.0.1:{closed_port}/canishare"
    env = replica_env(fake_slack, url, free_port())

    done = serve_once(env, tmp_path)

    assert_one_line(done, "cannot connect to PostgreSQL", f"127.0.0.1:{closed_port}")
    assert "s3cret-pw" not in done.stderr + done.stdout
