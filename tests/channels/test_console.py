"""The console chat: picks up a decision left in the store, prints "More" as a second block,
and ends cleanly on Ctrl-C (a real `canishare chat` process, sent SIGINT)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bot.app import Core, build_bot
from bot.channels.console import ConsoleChat, render
from tests.cli_runner import environment
from tests.conftest import sqlite_settings

WAIT_SECONDS = 30


def lines(*typed: str) -> Iterator[str]:
    yield from typed


async def chat_once(core: Core, db: Path, *typed: str) -> str:
    """Run the console chat over `typed` lines on the store in `db`; return what it printed."""
    bot = await build_bot(sqlite_settings(db), core)
    printed: list[str] = []
    feed = lines(*typed)

    def read(prompt: str) -> str:
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    try:
        await ConsoleChat(bot, user="tester").run(read=read, out=printed.append)
    finally:
        await bot.store.close()
    return "\n".join(printed)


async def test_after_a_restart_the_console_offers_to_carry_on_the_decision(
    core: Core, db_file: Path
) -> None:
    await chat_once(core, db_file, "can I share", "no", "no")

    again = await chat_once(core, db_file, "1")

    assert "Welcome back" in again
    assert "decision in progress" in again
    assert "[1] Carry on with the decision" in again
    assert "legitimate purpose" in again.split("[1] Carry on", 1)[1]


async def test_a_record_being_written_in_the_console_can_be_cancelled_by_its_number(
    core: Core, db_file: Path
) -> None:
    decision = ["I have a concern", "no", "no", "yes", "yes", "yes", "yes", "under 12"]

    printed = await chat_once(core, db_file, *decision, "record it", "1")

    _, after = printed.split("What is the case reference?", 1)[1].split("[1] ", 1)
    assert after.startswith("Cancel this record")
    assert "cancelled the record" in after and "Your decision is still here" in after
    bot = await build_bot(sqlite_settings(db_file), core)
    try:
        assert await bot.store.records("decision") == []
    finally:
        await bot.store.close()


async def test_a_new_console_chat_starts_with_the_welcome_and_menu(
    core: Core, db_file: Path
) -> None:
    printed = await chat_once(core, db_file)

    assert "What I can do" in printed
    assert "Goodbye" in printed


async def test_the_fuller_explanation_is_printed_after_the_short_answer(core: Core) -> None:
    entry = core.knowledge.kb.entries["myth.gdpr-barrier"]
    reply = core.conversation.say.entry(entry)

    text = render(reply, core.conversation.words.channel)

    first_words = entry.explanation.split()[0]
    assert text.index(entry.answer.split()[0]) < text.rindex(first_words)
    assert "\n\n" in text


def test_ctrl_c_ends_the_console_chat_cleanly(tmp_path: Path) -> None:
    env = {**environment(tmp_path / "canishare.db"), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "chat"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        seen = wait_for_prompt(process.stdout.fileno())
        assert seen.endswith(b"you> "), seen[-200:]

        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=WAIT_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0
    assert b"Goodbye" in out
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err


def wait_for_prompt(fd: int) -> bytes:
    """Read what the chat prints until it waits for a line (bounded in time)."""
    seen = b""
    deadline = time.monotonic() + WAIT_SECONDS
    while not seen.endswith(b"you> ") and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        seen += chunk
    return seen
