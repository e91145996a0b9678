"""The channels' words as the packaged knowledge base has them (for renderer tests that run
without a core)."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.knowledge.words import ChannelWords

MESSAGES = Path(__file__).resolve().parents[1] / "bot" / "knowledge" / "dialog" / "messages.yaml"
WORDS = ChannelWords.from_messages(yaml.safe_load(MESSAGES.read_text(encoding="utf-8")))
