"""The composition root: the one place that builds and wires everything from Settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.core.conversation import Conversation
from bot.knowledge import load_knowledge
from bot.knowledge.lookup import Knowledge
from bot.records.db import StoreUnavailable, open_db, safe_url
from bot.records.store import Store
from bot.service import Bot
from bot.settings import Settings, StartupError


@dataclass(frozen=True)
class Core:
    knowledge: Knowledge
    conversation: Conversation


def build_core(settings: Settings) -> Core:
    """Load and validate the knowledge base and build the conversation core (no I/O after)."""
    kb = load_knowledge(organisation_file=settings.org_file)
    knowledge = Knowledge.build(kb, settings.model_cache)
    return Core(knowledge, Conversation.build(knowledge, idle_hours=settings.idle_hours))


async def open_store(settings: Settings) -> Store:
    store = Store(await open_db(settings.db_url))
    await store.migrate()
    return store


async def build_bot(settings: Settings, core: Core | None = None) -> Bot:
    core = core or build_core(settings)
    return Bot(core.conversation, await open_store(settings), settings)


async def require_writable(store: Store, settings: Settings) -> None:
    """Refuse to start a dialog whose record could not be saved (one clear line)."""
    try:
        await store.check_writable("cli", now=datetime.now(UTC))
    except StoreUnavailable as exc:
        await store.close()
        raise StartupError(
            f"the store ({safe_url(settings.db_url)}) cannot be written to: {exc}. "
            "Check the file's permissions and the free disk space"
        ) from None
