"""/myth presents an answer exactly as a DM does: a safety note first when the question might
describe danger now, "Did you mean…" choices when the search is not sure, and the offer to
work through the decision after a case story (over real HTTP, signed, against the fake)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import Core
from bot.settings import load_settings
from tests.channels.slack.conftest import SlackHarness, environment, start_harness
from tests.fakes.slack_api import FakeSlack
from tests.presented import CASE_STORY, MIGHT_BE_DANGER, NOT_SURE, presenting


@pytest.fixture
async def slack(
    tmp_path: Path, core: Core, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SlackHarness]:
    settings = load_settings(environ=environment(fake_slack, tmp_path), dotenv=None)
    harness, runner = await start_harness(settings, presenting(core), fake_slack, monkeypatch)
    yield harness
    await harness.http.close()
    await runner.cleanup()


async def myth(slack: SlackHarness, question: str) -> dict[str, Any]:
    status, body = await slack.command("command_myth", question)
    assert status == 200
    answer: dict[str, Any] = json.loads(body)
    assert answer["response_type"] == "ephemeral"
    return answer


def section_texts(answer: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section"]


def buttons(answer: dict[str, Any]) -> list[dict[str, str]]:
    return [
        json.loads(e["value"])
        for b in answer["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]


async def test_a_question_that_might_describe_danger_gets_the_safety_note_first(
    slack: SlackHarness,
) -> None:
    answer = await myth(slack, MIGHT_BE_DANGER)

    note = slack.bot.conversation.words.text("safety_note")
    gdpr = slack.bot.conversation.knowledge.kb.entries["myth.gdpr-barrier"]
    texts = section_texts(answer)
    assert texts[0] == note.replace("&", "&amp;")
    assert any(gdpr.answer[:40] in t for t in texts[1:])


async def test_when_the_search_is_not_sure_it_offers_did_you_mean_instead_of_an_answer(
    slack: SlackHarness,
) -> None:
    answer = await myth(slack, NOT_SURE)

    found = slack.bot.conversation.knowledge.ask(NOT_SURE)
    assert found.entry is not None and not found.confident
    offered = [b["a"] for b in buttons(answer) if b["q"] == "entry"]
    assert offered[0] == found.entry.id
    assert set(offered[1:]) == {m.id for m in found.alternatives}
    assert "Did you mean" in json.dumps(answer["blocks"])
    assert found.entry.answer[:40] not in json.dumps(answer["blocks"])


async def test_a_case_story_is_answered_and_offered_the_decision(slack: SlackHarness) -> None:
    answer = await myth(slack, CASE_STORY)

    words = slack.bot.conversation.words
    found = slack.bot.conversation.knowledge.ask(CASE_STORY)
    said = json.dumps(answer["blocks"], ensure_ascii=False)
    assert found.entry is not None and found.confident and found.case_story
    assert found.entry.answer[:40] in said
    assert words.text("case_story_offer") in said
    assert buttons(answer).count({"q": "menu", "a": "start"}) == 1
