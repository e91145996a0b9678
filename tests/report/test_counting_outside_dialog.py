"""Questions answered outside a dialog turn count for the report too: Slack's /myth, over
real HTTP with signed requests (the Teams message extension calls the same Bot method)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import Core
from bot.settings import load_settings
from tests.channels.slack.conftest import environment, start_harness
from tests.fakes.slack_api import FakeSlack


async def test_myth_answers_are_counted_by_answer_id_and_never_by_text(
    core: Core, fake_slack: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(environ=environment(fake_slack, tmp_path), dotenv=None)
    slack, runner = await start_harness(settings, core, fake_slack, monkeypatch)
    try:
        for question in [
            "is GDPR a barrier to sharing?",
            "is GDPR a barrier to sharing information?",
            "what is the capital of France?",
        ]:
            status, _ = await slack.command("command_myth", question)
            assert status == 200
        today = datetime.now(UTC).date()
        counts = await slack.bot.store.question_counts(
            today - timedelta(days=1), today + timedelta(days=1)
        )
        kept = await slack.bot.store.unanswered_questions()
    finally:
        await slack.http.close()
        await runner.cleanup()

    assert {answer: n for _, answer, n in counts} == {"myth.gdpr-barrier": 2, "none": 1}
    assert kept == []  # CANISHARE_KEEP_UNANSWERED_DAYS is not set
