"""The composition root builds a validated core from settings."""

from __future__ import annotations

from bot.app import build_core
from bot.knowledge.words import validate_words
from bot.settings import Settings


def test_the_idle_limit_comes_from_settings() -> None:
    core = build_core(Settings(idle_hours=2.5))

    assert core.conversation.idle_hours == 2.5
    assert core.conversation.knowledge is core.knowledge


def test_every_question_and_outcome_has_its_words() -> None:
    assert validate_words(build_core(Settings()).knowledge.kb) == []
