"""The message extension: anyone can look a myth or topic up from the compose box and insert
its answer card into a chat or channel (a `composeExtension/query` invoke).

An empty query lists the myths; any other is answered by the same search as a typed question,
best answer first, then the next best. An inserted card carries no buttons: it is sent by the
person, into a conversation the bot may not be part of.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from bot.channels.teams import render
from bot.core.conversation import Conversation
from bot.knowledge.base import Entry
from bot.knowledge.search import Lookup

COMMAND_ID: Final = "findAnswer"
QUERY_PARAMETER: Final = "query"
MAX_QUERY_CHARACTERS: Final = 300
MAX_RESULTS: Final = 25
PREVIEW_CHARACTERS: Final = 120
# Teams sends a query as the person types ("is", "is con", "is consent…"): a search is counted
# once they have stopped typing this long, so the report counts searches, not keystrokes.
SEARCH_SETTLED_SECONDS: Final = 2.0
THUMBNAIL: Final = "application/vnd.microsoft.card.thumbnail"


def query_text(value: object) -> str:
    """The search words of a query invoke ("" for the first, empty run)."""
    if not isinstance(value, Mapping):
        return ""
    for parameter in value.get("parameters") or []:
        if isinstance(parameter, Mapping) and parameter.get("name") == QUERY_PARAMETER:
            text = parameter.get("value")
            return text.strip()[:MAX_QUERY_CHARACTERS] if isinstance(text, str) else ""
    return ""


def page_of(value: object) -> tuple[int, int]:
    """(skip, count) from the query's options, within sensible bounds."""
    options = value.get("queryOptions") if isinstance(value, Mapping) else None
    options = options if isinstance(options, Mapping) else {}

    def number(key: str, default: int) -> int:
        raw = options.get(key)
        return raw if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0 else default

    return number("skip", 0), min(number("count", MAX_RESULTS) or MAX_RESULTS, MAX_RESULTS)


@dataclass(frozen=True)
class Search:
    """One compose-box search: its words, what the knowledge base made of them (None for the
    first, empty run, which lists the myths and asks nothing), and the invoke's answer."""

    query: str
    found: Lookup | None
    body: dict[str, Any]


def matching(conversation: Conversation, found: Lookup | None) -> list[Entry]:
    """The entries a search finds, best first; the myths when nothing was asked. When the
    search is not sure of its best answer, the list is the "Did you mean…": the person picks."""
    entries = conversation.knowledge.kb.entries
    if found is None:
        return [e for e in entries.values() if e.kind == "myth"]
    ids = ([found.entry.id] if found.entry is not None else []) + [m.id for m in found.alternatives]
    return [entries[i] for i in dict.fromkeys(ids) if i in entries]


def answer_card(conversation: Conversation, entry: Entry, *, note: str = "") -> render.Card:
    """The card a person inserts: the short answer, its sources, the rest behind "More" —
    and first, when the search read the words as possibly danger now, the safety note."""
    reply = conversation.say.entry(entry, full=False)
    reply = dataclasses.replace(reply, choices=(), more=reply.more or entry.explanation)
    card = render.reply_card(reply, words=conversation.words.channel)
    if note:
        card["body"].insert(0, render.text_block(note, color="Attention", weight="Bolder"))
    return card


def result(
    conversation: Conversation, entry: Entry, *, note: str = "", preview: str = ""
) -> dict[str, Any]:
    """One search result: the card to insert, and its line in the list of results."""
    return {
        "contentType": render.CONTENT_TYPE,
        "content": answer_card(conversation, entry, note=note),
        "preview": {
            "contentType": THUMBNAIL,
            "content": {
                "title": entry.title,
                "text": render.first_line(preview or entry.answer)[:PREVIEW_CHARACTERS],
            },
        },
    }


def search(value: object, conversation: Conversation) -> Search:
    """Answer a compose-box search (the invoke's body) with the same lookup as a typed
    question. An inserted card carries no buttons, so of the lookup's presentation flags only
    the safety note applies: on every card of that search, and as the best one's preview
    line; the list of results is itself the "Did you mean…"."""
    query = query_text(value)
    found = conversation.knowledge.ask(query) if query else None
    skip, count = page_of(value)
    entries = matching(conversation, found)
    if not entries:
        nothing = conversation.words.channel.nothing_found
        return Search(query, found, {"composeExtension": {"type": "message", "text": nothing}})
    note = conversation.words.text("safety_note") if found and found.safety_note else ""
    page = entries[skip : skip + count]
    attachments = [
        result(conversation, e, note=note, preview=note if i == 0 else "")
        for i, e in enumerate(page)
    ]
    body: dict[str, Any] = {
        "composeExtension": {
            "type": "result",
            "attachmentLayout": "list",
            "attachments": attachments,
        }
    }
    return Search(query, found, body)


Count = Callable[[str, Lookup], Awaitable[None]]


class SearchCounts:
    """Counts compose-box searches for the leads' report (`Bot.count_answer`), one per search:
    a person's newest query replaces the one still settling, and each is counted once they
    have stopped typing for `settle` seconds — or at shutdown, so none is lost. Counting runs
    beside the answer and never delays it."""

    def __init__(self, count: Count, *, settle: float = SEARCH_SETTLED_SECONDS) -> None:
        self._count = count
        self.settle = settle
        self._settling: dict[str, tuple[asyncio.Task[None], str, Lookup]] = {}
        self._counting: set[asyncio.Task[None]] = set()

    def searched(self, person: str, query: str, found: Lookup) -> None:
        """`person` searched for `query` and was shown `found`."""
        earlier = self._settling.pop(person, None)
        if earlier is not None:
            earlier[0].cancel()
        task = asyncio.create_task(self._after_settling(person, query, found))
        self._settling[person] = (task, query, found)

    async def _after_settling(self, person: str, query: str, found: Lookup) -> None:
        await asyncio.sleep(self.settle)
        self._settling.pop(person, None)  # from here on a newer query cannot cancel this one
        task = asyncio.current_task()
        if task is not None:
            self._counting.add(task)
        try:
            await self._count(query, found)
        finally:
            if task is not None:
                self._counting.discard(task)

    async def flush(self) -> None:
        """Count every search still settling now, and wait for those being counted."""
        settling, self._settling = self._settling, {}
        for task, _, _ in settling.values():
            task.cancel()
        for task, _, _ in settling.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for _, query, found in settling.values():
            await self._count(query, found)
        if self._counting:
            await asyncio.gather(*self._counting, return_exceptions=True)
