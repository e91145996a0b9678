"""What a channel (Slack, Teams) offers the server: routes, a sender for the outbox, and
start-up/shut-down hooks. Channels translate and render; they hold no dialog logic."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from aiohttp import web

    from bot.records.deliver import Sender


class Channel(Protocol):
    name: str

    @property
    def sender(self) -> Sender | None: ...

    def add_routes(self, app: web.Application) -> None: ...

    async def startup(self) -> None: ...

    async def shutdown(self) -> None: ...
