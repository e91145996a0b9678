"""Block Kit rendering as pure functions: escaping, limits, the modal and its values."""

from __future__ import annotations

import json

import pytest

from bot.channels.slack import render
from bot.channels.slack.api import retry_after_seconds
from bot.channels.slack.channel import form_errors, typed_text
from bot.core.replies import Choice, Form, FormField, Reply, ReplyKind, Source
from tests.words import WORDS


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<!here|here>", "&lt;!here|here&gt;"),
        ("<@U0123ABCD>", "&lt;@U0123ABCD&gt;"),
        ("<#C0123|general>", "&lt;#C0123|general&gt;"),
        ("<http://x.example|y>", "&lt;http://x.example|y&gt;"),
        ("fish & chips > 3", "fish &amp; chips &gt; 3"),
        ("&lt; already", "&amp;lt; already"),
    ],
)
def test_typed_control_syntax_is_made_inert(typed: str, shown: str) -> None:
    assert render.escape(typed) == shown
    assert render.unescape(render.escape(typed)) == typed


def test_a_slack_message_is_read_back_as_typed_without_the_bot_mention() -> None:
    assert typed_text("<@UBOT0001> is &lt;b&gt; ok &amp; fine?") == "is <b> ok & fine?"


def test_only_slack_user_ids_become_mentions() -> None:
    assert render.mention("U0USER001") == "<@U0USER001>"
    assert render.mention("<!channel>") == "&lt;!channel&gt;"


def test_every_dynamic_part_of_a_reply_is_escaped() -> None:
    reply = Reply(
        kind=ReplyKind.ANSWER,
        title="<!here> title",
        text="<!channel> text",
        bullets=("<@U1> bullet",),
        note="<!everyone> note",
        sources=(Source("<b>", "<i>"),),
    )

    [(fallback, blocks)] = render.messages([reply], WORDS)

    dumped = json.dumps(blocks) + fallback
    assert "<!" not in dumped and "<@" not in dumped and "<b>" not in dumped


def test_long_labels_and_texts_are_cut_to_slacks_limits() -> None:
    reply = Reply(
        kind=ReplyKind.QUESTION,
        text="x" * 7000,
        choices=tuple(Choice("y" * 100, "q", str(i)) for i in range(30)),
    )

    [(_, blocks)] = render.messages([reply], WORDS)

    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [len(a["elements"]) for a in actions] == [25, 5]
    ids = [e["action_id"] for a in actions for e in a["elements"]]
    assert len(set(ids)) == 30
    assert all(len(e["text"]["text"]) <= 75 for a in actions for e in a["elements"])


def test_a_turn_longer_than_one_message_is_split_at_fifty_blocks() -> None:
    replies = [Reply(kind=ReplyKind.INFO, title=f"t{i}", text="x", note="n") for i in range(40)]

    out = render.messages(replies, WORDS)

    assert len(out) > 1 and all(len(blocks) <= 50 for _, blocks in out)


def test_a_button_value_is_exactly_the_question_and_answer() -> None:
    value = render.choice_value(Choice("No", "immediate_danger", "no"))

    assert json.loads(value) == {"q": "immediate_danger", "a": "no"}
    assert render.parse_value(value) == ("immediate_danger", "no")


@pytest.mark.parametrize("value", [None, "", "nope", "[1]", '{"q": 1, "a": "x"}', '{"a": "x"}'])
def test_a_value_that_is_not_ours_is_ignored(value: str | None) -> None:
    assert render.parse_value(value) is None


FORM = Form(
    id="record",
    title="Record this decision, please, now",
    submit_label="Save record",
    fields=(
        FormField("case_reference", "Case reference", hint="not a name", max_length=60),
        FormField("what", "What information", multiline=True),
        FormField(
            "lawful_basis", "Lawful basis", options=(("public_task", "Public task " + "z" * 90),)
        ),
    ),
    values={"case_reference": "CP-1", "lawful_basis": "public_task"},
)


def test_the_modal_keeps_typed_values_and_fits_slacks_limits() -> None:
    view = render.record_modal(FORM, '{"conversation": "k"}', WORDS)

    assert len(view["title"]["text"]) <= 24
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["case_reference"]["initial_value"] == "CP-1"
    assert inputs["case_reference"]["max_length"] == 60
    assert "initial_value" not in inputs["what"]
    assert inputs["lawful_basis"]["initial_option"]["value"] == "public_task"
    assert len(inputs["lawful_basis"]["options"][0]["text"]["text"]) <= 75


def test_submitted_values_are_read_from_the_view_state() -> None:
    state = {
        "case_reference": {"value": {"type": "plain_text_input", "value": "CP-1"}},
        "what": {"value": {"type": "plain_text_input", "value": None}},
        "lawful_basis": {
            "value": {"type": "static_select", "selected_option": {"value": "public_task"}}
        },
        "special_category": {"value": {"type": "static_select", "selected_option": None}},
    }

    assert render.form_values(state) == {
        "case_reference": "CP-1",
        "what": "",
        "lawful_basis": "public_task",
        "special_category": "",
    }


def test_form_errors_go_on_their_fields_and_a_refusal_without_errors_on_the_first() -> None:
    with_errors = Reply(
        kind=ReplyKind.FORM,
        text="",
        form=Form("r", "t", "s", FORM.fields, errors={"what": "no names"}),
    )
    refused = Reply(kind=ReplyKind.INFO, text="Slow down")
    saved = Reply(kind=ReplyKind.SUMMARY, text="Saved")
    blocks = ["case_reference", "what", "lawful_basis"]

    assert form_errors([with_errors], blocks, WORDS) == {"what": "no names"}
    assert form_errors([refused], blocks, WORDS) == {"case_reference": "Slow down"}
    assert form_errors([saved], blocks, WORDS) == {}


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": ["2"]}, 2.0),
        ({"retry-after": ["0.25"]}, 0.25),
        ({"Retry-After": "1.5"}, 1.5),
        ({"Retry-After": ["soon"]}, 1.0),
        ({"Retry-After": ["-3"]}, 1.0),
        ({}, 1.0),
        (None, 1.0),
    ],
)
def test_retry_after_is_read_whole_or_fractional(headers: dict | None, seconds: float) -> None:
    assert retry_after_seconds(headers) == seconds
