"""The message extension: anyone can look a myth or topic up from the compose box and insert
its answer card into a chat or channel (a `composeExtension/query` invoke).

An empty query lists the myths; any other is answered by the same search as a typed question,
best answer first, then the next best. An inserted card carries no buttons: it is sent by the
person, into a conversation the bot may not be part of.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

from bot.channels.teams import render
from bot.core.conversation import Conversation
from bot.knowledge.base import Entry

COMMAND_ID: Final = "findAnswer"
QUERY_PARAMETER: Final = "query"
MAX_QUERY_CHARACTERS: Final = 300
MAX_RESULTS: Final = 25
PREVIEW_CHARACTERS: Final = 120
THUMBNAIL: Final = "application/vnd.microsoft.card.thumbnail"
NOTHING_FOUND: Final = (
    "No answer matches that. Try a few words such as consent, GDPR or information sharing "
    "agreement, or clear the box to see the myths."
)


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


def matching(conversation: Conversation, query: str) -> list[Entry]:
    """The entries a query finds, best first; the myths when it is empty."""
    entries = conversation.knowledge.kb.entries
    if not query:
        return [e for e in entries.values() if e.kind == "myth"]
    found = conversation.knowledge.ask(query)
    ids = ([found.entry.id] if found.entry is not None else []) + [m.id for m in found.alternatives]
    return [entries[i] for i in dict.fromkeys(ids) if i in entries]


def answer_card(conversation: Conversation, entry: Entry, *, more_label: str) -> render.Card:
    """The card a person inserts: the short answer, its sources, the rest behind "More"."""
    reply = conversation.say.entry(entry, full=False)
    reply = dataclasses.replace(reply, choices=(), more=reply.more or entry.explanation)
    return render.reply_card(reply, more_label=more_label)


def result(conversation: Conversation, entry: Entry, *, more_label: str) -> dict[str, Any]:
    return {
        "contentType": render.CONTENT_TYPE,
        "content": answer_card(conversation, entry, more_label=more_label),
        "preview": {
            "contentType": THUMBNAIL,
            "content": {
                "title": entry.title,
                "text": render.first_line(entry.answer)[:PREVIEW_CHARACTERS],
            },
        },
    }


def answer_query(value: object, conversation: Conversation, *, more_label: str) -> dict[str, Any]:
    """The invoke response to a compose-box search."""
    query = query_text(value)
    skip, count = page_of(value)
    entries = matching(conversation, query)
    if not entries:
        return {"composeExtension": {"type": "message", "text": NOTHING_FOUND}}
    page = entries[skip : skip + count]
    return {
        "composeExtension": {
            "type": "result",
            "attachmentLayout": "list",
            "attachments": [result(conversation, e, more_label=more_label) for e in page],
        }
    }
