"""Shared fixtures: the core is built once per session (the knowledge base is validated then)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import Core, build_bot, build_core
from bot.core.conversation import Conversation
from bot.service import Bot
from bot.settings import Settings
from tests.transcript import Chat


@pytest.fixture(scope="session")
def core() -> Core:
    return build_core(Settings())


@pytest.fixture(scope="session")
def conversation(core: Core) -> Conversation:
    return core.conversation


@pytest.fixture
def chat(conversation: Conversation) -> Chat:
    """A fresh private conversation with the core, at a fixed time."""
    return Chat(conversation)


@pytest.fixture
def new_chat(conversation: Conversation) -> Callable[..., Chat]:
    def make(**options: Any) -> Chat:
        return Chat(conversation, **options)

    return make


def sqlite_settings(path: Path) -> Settings:
    return Settings(db_url=f"sqlite:///{path}")


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "canishare.db"


@pytest.fixture
async def bot(core: Core, db_file: Path) -> AsyncIterator[Bot]:
    """The application service on a fresh SQLite file (no Slack or Teams configured)."""
    service = await build_bot(sqlite_settings(db_file), core)
    try:
        yield service
    finally:
        await service.store.close()
