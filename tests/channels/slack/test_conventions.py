"""Slack as its users and admins expect it: notifications that say the question, answered
buttons retired, a global shortcut, selects that say what to choose, labels that fit, More."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.channels.slack import render
from bot.core.replies import Choice, Form, FormField, Reply, ReplyKind
from bot.settings import load_settings
from tests.channels.slack.conftest import (
    DM,
    SlackHarness,
    button_with,
    environment,
    payload,
    start_harness,
)
from tests.channels.slack.flows import TO_SHARE_WITHOUT_CONSENT, click_through
from tests.fakes.slack_api import FakeSlack
from tests.reworded import reworded_core
from tests.words import WORDS

ROOT = Path(__file__).resolve().parents[3]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def selects(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        b["element"]
        for b in view["blocks"]
        if b["type"] == "input" and b["element"]["type"] == "static_select"
    ]


async def test_a_questions_notification_text_is_the_question_itself(slack: SlackHarness) -> None:
    await slack.click("menu", "start")
    await slack.click("immediate_danger", "no")

    texts = [m["text"] for m in slack.fake.posted(DM)]

    assert all(not t.startswith("Question") for t in texts)
    assert "danger" in texts[0].lower()
    assert "law" in texts[1].lower() or "court" in texts[1].lower()


async def test_an_answered_question_shows_what_was_answered_instead_of_its_buttons(
    slack: SlackHarness,
) -> None:
    await slack.click("menu", "start")
    [question] = slack.fake.posted(DM)

    await slack.click("immediate_danger", "no")

    retired = slack.fake.posted(DM)[0]
    assert retired["ts"] == question["ts"] and retired.get("edited")
    assert button_with(retired["blocks"], "immediate_danger", "yes") is None
    assert button_with(retired["blocks"], "immediate_danger", "no") is None
    said = json.dumps(retired["blocks"])
    assert "You answered: *No*" in said
    assert [c.params["ts"] for c in slack.fake.calls_to("chat.update")] == [question["ts"]]


async def test_a_retired_question_keeps_the_rest_of_its_message(slack: SlackHarness) -> None:
    await slack.click("menu", "start")
    [question] = slack.fake.posted(DM)

    await slack.click("immediate_danger", "no")

    before = [b for b in question["blocks"] if b["type"] != "actions"]
    after = [b for b in slack.fake.posted(DM)[0]["blocks"] if b["type"] != "context"]
    assert [b for b in before if b["type"] != "context"] == after


async def test_the_global_shortcut_starts_a_decision_in_the_persons_dm(
    slack: SlackHarness,
) -> None:
    status, _ = await slack.interact(payload("shortcut_global"))

    assert status == 200
    [opened] = slack.fake.calls_to("conversations.open")
    assert opened.params["users"] == "U0USER001"
    [first] = slack.fake.posted(DM)
    assert button_with(first["blocks"], "immediate_danger", "no") is not None


async def test_a_replayed_shortcut_does_not_start_again(slack: SlackHarness) -> None:
    shortcut = payload("shortcut_global")
    await slack.interact(shortcut)
    await slack.click("immediate_danger", "no")
    posted = len(slack.fake.posted(DM))

    await slack.interact(shortcut)

    assert len(slack.fake.posted(DM)) == posted


def test_the_manifest_has_the_global_shortcut_and_no_message_shortcut() -> None:
    manifest = yaml.safe_load((ROOT / "manifest" / "slack.yaml").read_text(encoding="utf-8"))

    shortcuts = manifest["features"]["shortcuts"]

    assert [(s["type"], s["callback_id"]) for s in shortcuts] == [("global", "start_decision")]
    assert all(len(s["name"]) <= 24 and len(s["description"]) <= 80 for s in shortcuts)


async def test_the_record_forms_selects_say_what_to_choose_and_every_label_fits(
    slack: SlackHarness,
) -> None:
    await click_through(slack, TO_SHARE_WITHOUT_CONSENT)

    await slack.click("record", "start")

    view = slack.fake.views[-1]["view"]
    elements = selects(view)
    assert elements
    for element in elements:
        assert element["placeholder"]["text"] not in ("Choose one", "")
        for option in element["options"]:
            assert len(option["text"]["text"]) <= 75
            assert "…" not in option["text"]["text"]
            assert len(option.get("description", {}).get("text", "")) <= 75
    shown = json.dumps(view)
    assert "Sch 1 para 18" in shown  # the legal condition is shown whole


@pytest.mark.parametrize(
    ("label", "short", "shown"),
    [
        ("Public task (UK GDPR Art 6(1)(e))", "", ("Public task (UK GDPR Art 6(1)(e))", "")),
        (
            "Yes — safeguarding of children and individuals at risk (DPA 2018 Sch 1 para 18)",
            "",
            ("Yes — safeguarding of children and individuals at risk", "DPA 2018 Sch 1 para 18"),
        ),
        (
            "Yes — safeguarding of children and individuals at risk (DPA 2018 Sch 1 para 18)",
            "Yes — safeguarding (DPA 2018 Sch 1 para 18)",
            ("Yes — safeguarding (DPA 2018 Sch 1 para 18)", ""),
        ),
        (
            "Public task — a council or NHS body doing its statutory work (UK GDPR Art 6(1)(e))",
            "",
            ("Public task — a council or NHS body doing its statutory work", "UK GDPR Art 6(1)(e)"),
        ),
        (
            "Legitimate interests of the organisation, balanced against the rights of the person — "
            "Art 6(1)(f)",
            "",
            (
                "Legitimate interests of the organisation, balanced against the rights of…",
                "the person — Art 6(1)(f)",
            ),
        ),
    ],
)
def test_a_long_option_label_is_shortened_without_cutting_its_legal_condition(
    label: str, short: str, shown: tuple[str, str]
) -> None:
    assert render.option_parts(label, short) == shown


def test_a_short_label_and_a_placeholder_given_by_the_form_are_used() -> None:
    field = FormField(
        id="special_category",
        label="Special category information",
        options=(("schedule1_para18", "x" * 90),),
        placeholder="Does it include special category information?",
        short_labels=(("schedule1_para18", "Yes — safeguarding (DPA 2018 Sch 1 para 18)"),),
    )
    form = Form(id="record", title="Record this decision", submit_label="Save", fields=(field,))

    [element] = selects(render.record_modal(form, "{}", WORDS))

    assert element["placeholder"]["text"] == "Does it include special category information?"
    assert element["options"][0]["text"]["text"] == "Yes — safeguarding (DPA 2018 Sch 1 para 18)"


def test_an_answer_with_more_to_say_has_a_more_button_carrying_its_entry_id() -> None:
    reply = Reply(
        kind=ReplyKind.ANSWER,
        title="Consent is not always needed",
        text="Short answer.",
        more="The fuller explanation.",
        entry_id="myth.consent-always-needed",
        choices=(Choice("Work through a decision", "menu", "start"),),
    )

    [(_, blocks)] = render.messages([reply], WORDS)

    more = [
        e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "more"
    ]
    assert [json.loads(b["value"]) for b in more] == [
        {"q": "more", "a": "myth.consent-always-needed"}
    ]
    assert "The fuller explanation." not in json.dumps(blocks)


def test_more_to_say_without_an_entry_is_shown_at_once() -> None:
    reply = Reply(kind=ReplyKind.INFO, text="Short.", more="All of it.")

    [(_, blocks)] = render.messages([reply], WORDS)

    assert "All of it." in json.dumps(blocks)
    assert not [b for b in blocks if b["type"] == "actions"]


async def test_a_more_click_reaches_the_core_and_keeps_the_answer_in_place(
    slack: SlackHarness,
) -> None:
    await slack.dm("is consent always needed?")
    posted = len(slack.fake.posted(DM))

    status, _ = await slack.click("more", "myth.consent-always-needed", action_id="more")

    assert status == 200
    assert slack.fake.calls_to("chat.update") == []
    assert len(slack.fake.posted(DM)) > posted


async def test_the_words_around_the_blocks_come_from_messages_yaml(
    tmp_path: Path, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    core = reworded_core(tmp_path / "knowledge")
    settings = load_settings(environ=environment(fake_slack, tmp_path), dotenv=None)
    slack, runner = await start_harness(settings, core, fake_slack, monkeypatch)
    try:
        await slack.dm("is GDPR a barrier to sharing?")
        answer = slack.fake.posted(DM)[-1]
        await slack.click("menu", "start")
        await slack.click("immediate_danger", "no")
        asked = slack.fake.posted(DM)[-2]
    finally:
        await slack.http.close()
        await runner.cleanup()

    shown = json.dumps(answer["blocks"], ensure_ascii=False)
    assert "Tell me more" in shown and "Where this comes from:" in shown
    assert "Your answer was: *No*" in json.dumps(asked["blocks"], ensure_ascii=False)
