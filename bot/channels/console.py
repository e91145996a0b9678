"""The console chat: the same core and store as Slack and Teams, rendered as plain text."""

from __future__ import annotations

import asyncio
import getpass
import signal
import textwrap
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bot.core.replies import Choice, Inbound, Reply, ReplyKind
from bot.dialogs.state import DialogState
from bot.knowledge.words import ChannelWords
from bot.service import Bot

WIDTH = 88
QUIT = {"quit", "exit", ":q", "bye"}


def render(reply: Reply, words: ChannelWords, *, numbered: bool = True) -> str:
    """A reply as plain text: title, text, bullets, numbered choices, sources — then the
    fuller explanation (`more`), if any, as a block of its own."""
    lines: list[str] = []
    if reply.kind == ReplyKind.EMERGENCY:
        lines.append("!!! " + (reply.title or words.emergency).upper() + " !!!")
    elif reply.title:
        marker = {ReplyKind.OUTCOME: "==> ", ReplyKind.WARNING: "(!) "}.get(reply.kind, "")
        lines.append(f"{marker}{reply.title}")
    for paragraph in reply.text.split("\n\n") if reply.text else ():
        lines.extend(textwrap.wrap(paragraph, WIDTH) or [""])
    for bullet in reply.bullets:
        lines.extend(textwrap.wrap(bullet, WIDTH, initial_indent="  • ", subsequent_indent="    "))
    if reply.note:
        lines.extend(textwrap.wrap(reply.note, WIDTH, initial_indent="  ", subsequent_indent="  "))
    if reply.form is not None:
        for f in reply.form.fields:
            lines.append(f"  - {f.label}: {reply.form.errors.get(f.id, '')}")
    for i, choice in enumerate(reply.choices, 1):
        lines.append(f"  [{i}] {choice.label}" if numbered else f"  - {choice.label}")
    if reply.sources:
        label = words.sources_label(len(reply.sources))
        lines.append(f"  {label}: " + "; ".join(s.cite(short=True) for s in reply.sources))
    if reply.more:
        lines.append("")
        for paragraph in reply.more.split("\n\n"):
            lines.extend(textwrap.wrap(paragraph, WIDTH) or [""])
    return "\n".join(lines)


class ConsoleChat:
    """Reads lines, sends them through the bot, prints replies. Digits pick a numbered choice."""

    def __init__(self, bot: Bot, *, user: str | None = None) -> None:
        self.bot = bot
        self.user = user or getpass.getuser()
        self.conversation = f"console:{self.user}"
        self.choices: Sequence[Choice] = ()

    def inbound(self, line: str) -> Inbound:
        now = datetime.now(UTC)
        text = line.strip()
        if text.isdigit() and 1 <= int(text) <= len(self.choices):
            c = self.choices[int(text) - 1]
            return Inbound(self.conversation, self.user, "console", now, choice=(c.q, c.a))
        return Inbound(self.conversation, self.user, "console", now, text=text)

    @property
    def words(self) -> ChannelWords:
        return self.bot.conversation.words.channel

    async def say(self, line: str) -> list[Reply]:
        handled = await self.bot.handle(self.inbound(line))
        self.choices = [c for r in handled.replies for c in r.choices]
        return handled.replies

    async def welcome(self) -> list[Reply]:
        """The welcome and menu; or, when the store holds a dialog in progress (the chat was
        left, or the bot restarted), an offer to carry on or start again."""
        raw, _ = await self.bot.store.load_state(self.conversation)
        replies = self.bot.conversation.welcome(DialogState.from_json(raw), datetime.now(UTC))
        self.choices = [c for r in replies for c in r.choices]
        return replies

    def show(self, replies: Sequence[Reply], out: Callable[[str], None]) -> None:
        counter = 0
        for reply in replies:
            # number choices across all replies of a turn, so "2" means the same to everyone
            renumbered = []
            for line in render(reply, self.words).splitlines():
                if line.startswith("  [") and "] " in line:
                    counter += 1
                    line = f"  [{counter}] " + line.split("] ", 1)[1]
                renumbered.append(line)
            out("\n".join(renumbered))
            out("")

    async def run(
        self, read: Callable[[str], str] = input, out: Callable[[str], None] = print
    ) -> int:
        """Chat until "quit", end of input or Ctrl-C, which all end the chat cleanly."""
        try:
            self.show(await self.welcome(), out)
            out(self.words.console_intro + "\n")
            while True:
                try:
                    line = _read_interruptibly(read, "you> ")
                except (EOFError, KeyboardInterrupt):
                    out("")
                    out(self.words.goodbye)
                    return 0
                if line.strip().lower() in QUIT:
                    out(self.words.goodbye)
                    return 0
                self.show(await self.say(line), out)
        except asyncio.CancelledError:  # Ctrl-C while a turn was running
            out("")
            out(self.words.goodbye)
            return 0


def _read_interruptibly(read: Callable[[str], str], prompt: str) -> str:
    """Read a line with Python's own Ctrl-C handling: under `asyncio.run` the first Ctrl-C
    only cancels the main task, which a blocking read never notices."""
    try:
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread: nothing to restore
        return read(prompt)
    try:
        return read(prompt)
    finally:
        signal.signal(signal.SIGINT, previous)
