"""A core built from a copy of the knowledge base whose channel words a lead has reworded, to
show the channels read their words from messages.yaml and not from code."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import yaml

from bot.app import Core
from bot.core.conversation import Conversation
from bot.knowledge.base import KNOWLEDGE_DIR, load_knowledge
from bot.knowledge.lookup import Knowledge

REWORDED = {
    "answered": "Your answer was: {label}",
    "chose": "Your pick was: {label}",
    "superseded": "Scroll down for the newest question.",
    "more": "Tell me more",
    "sources": "Where this comes from",
    "source": "Where this comes from",
    "cancel": "Close without saving",
    "what_to_do_next": "Next steps",
}


def reworded_core(folder: Path, words: Mapping[str, str] = REWORDED) -> Core:
    """The real knowledge base, copied to `folder`, with these `channels` words changed."""
    shutil.copytree(KNOWLEDGE_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = folder / "dialog" / "messages.yaml"
    messages = yaml.safe_load(path.read_text(encoding="utf-8"))
    messages["channels"].update(words)
    path.write_text(yaml.safe_dump(messages, allow_unicode=True), encoding="utf-8")
    knowledge = Knowledge.build(load_knowledge(folder))
    return Core(knowledge, Conversation.build(knowledge))
