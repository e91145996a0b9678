"""What a channel (Slack, Teams) offers the server: routes, a sender for the outbox, and
start-up/shut-down hooks. Channels translate and render; they hold no dialog logic."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol

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

    def health(self) -> Mapping[str, Any]:
        """This platform's state for `GET /healthz`: at least {"state": "ok" | "degraded" |
        "down"}, plus whatever helps an operator (e.g. the last error, missing channels)."""
        ...


_LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")
# A body decoded from UTF-8 holds no lone surrogate itself: one can only come from a JSON
# escape, written plainly or (inside a form field) percent-encoded.
_ESCAPED_SURROGATE: Final = re.compile(r"\\u[dD][89a-fA-F]|%5[cC]u[dD][89a-fA-F]")


def may_hold_surrogates(raw_body: str) -> bool:
    """Cheap test on the raw body: False means `valid_text` on its parsed form is True."""
    return _ESCAPED_SURROGATE.search(raw_body) is not None


def valid_text(data: object) -> bool:
    """Whether every string in parsed JSON (keys too) is valid Unicode. JSON can escape a lone
    surrogate (`"\\ud800"`), which no database, hash or UTF-8 encoder accepts: such a request
    is malformed. Checked without recursion, so deep nesting cannot exhaust the stack."""
    pending: list[object] = [data]
    while pending:
        node = pending.pop()
        if isinstance(node, str):
            if _LONE_SURROGATE.search(node):
                return False
        elif isinstance(node, dict):
            pending.extend(node)
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return True
