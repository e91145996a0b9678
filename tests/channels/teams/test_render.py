"""Replies as Adaptive Cards: pure functions, tested from values."""

from __future__ import annotations

import json

import pytest

from bot.channels.teams import render
from bot.core.replies import Choice, Form, FormField, Reply, ReplyKind, Source
from tests.words import WORDS

CHAT = "https://teams.microsoft.com/l/chat/0/0?users=28:app"


def run(block: dict) -> dict:
    """The text run of a body text block (style and words), or the block for a heading."""
    return block["inlines"][0] if block.get("type") == "RichTextBlock" else block


def plain_text(block: dict) -> str:
    return "".join(r["text"] for r in block.get("inlines", [])) or block.get("text", "")


def actions(card: dict) -> list[dict]:
    found = list(card.get("actions", []))
    for element in card["body"]:
        if "selectAction" in element:
            found.append(element["selectAction"])
    return found


def test_a_card_is_adaptive_card_1_5_full_width() -> None:
    card = render.reply_card(Reply(kind=ReplyKind.INFO, text="Hello"), words=WORDS)

    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.5"
    assert card["msteams"] == {"width": "Full"}


def test_every_choice_is_a_submit_carrying_exactly_its_question_and_answer() -> None:
    reply = Reply(
        kind=ReplyKind.QUESTION,
        text="Is anyone in immediate danger right now?",
        choices=(Choice("Yes", "immediate_danger", "yes"), Choice("No", "immediate_danger", "no")),
    )

    card = render.reply_card(reply, words=WORDS)

    assert [a["data"] for a in card["actions"]] == [
        {"q": "immediate_danger", "a": "yes"},
        {"q": "immediate_danger", "a": "no"},
    ]
    assert all(a["type"] == "Action.Submit" for a in card["actions"])


@pytest.mark.parametrize(
    "choices",
    [
        tuple(Choice(f"Myth {n}", "entry", f"myth.{n}") for n in range(8)),
        (Choice("A very long label that Teams would cut short on a button", "entry", "x"),),
    ],
)
def test_many_or_long_choices_become_tappable_rows_that_wrap(choices: tuple[Choice, ...]) -> None:
    card = render.reply_card(
        Reply(kind=ReplyKind.INFO, text="Pick one", choices=choices), words=WORDS
    )

    rows = [e for e in card["body"] if "selectAction" in e]
    assert "actions" not in card
    assert [r["selectAction"]["data"] for r in rows] == [c.value for c in choices]
    assert all(r["items"][0]["type"] == "RichTextBlock" for r in rows)  # always wraps


def test_in_a_channel_the_offer_to_continue_opens_the_personal_chat() -> None:
    offer = Reply(kind=ReplyKind.INFO, text="Not here", choices=(Choice("Go", "menu", "start"),))

    card = render.reply_card(offer, chat_link=CHAT, words=WORDS)

    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Go", "url": CHAT}]


def test_sources_are_small_and_subtle() -> None:
    reply = Reply(
        kind=ReplyKind.ANSWER,
        title="Is consent always needed?",
        text="No.",
        sources=(Source("Working Together", "Chapter 1"), Source("ICO", "Sharing")),
    )

    card = render.reply_card(reply, words=WORDS)

    quiet = [run(b) for b in card["body"] if run(b).get("isSubtle")]
    assert [b["text"] for b in quiet] == ["Sources: Working Together — Chapter 1", "ICO — Sharing"]
    assert all(b["size"] == "Small" for b in quiet)


@pytest.mark.parametrize(
    ("outcome", "style"),
    [("share", "good"), ("do_not_share", "warning"), ("seek_advice", "accent")],
)
def test_an_outcome_is_a_coloured_container(outcome: str, style: str) -> None:
    reply = Reply(kind=ReplyKind.OUTCOME, title="Outcome", text="Because.", outcome=outcome)

    card = render.reply_card(reply, words=WORDS)

    assert card["body"][0]["type"] == "Container"
    assert card["body"][0]["style"] == style


def test_the_emergency_card_is_loud() -> None:
    reply = Reply(kind=ReplyKind.EMERGENCY, title="Act now", text="Call 999.", outcome="emergency")

    card = render.reply_card(reply, words=WORDS)

    block = card["body"][0]
    assert block["style"] == "attention"
    assert run(block["items"][0])["color"] == "Attention"
    assert run(block["items"][1])["color"] == "Attention"


FORM = Form(
    id="record",
    title="Record the decision",
    submit_label="Save the record",
    fields=(
        FormField("case_reference", "Case reference", hint="Not a name", max_length=60),
        FormField("what", "What information", multiline=True),
        FormField("lawful_basis", "Lawful basis", options=(("public_task", "Public task"),)),
    ),
    values={"what": "Concerns", "lawful_basis": "public_task"},
    errors={"case_reference": "Please give case reference."},
)


def test_the_form_has_an_input_per_field_named_by_its_id() -> None:
    card = render.form_card(FORM, words=WORDS)

    inputs = [e for e in card["body"] if e["type"].startswith("Input.")]
    assert [(i["type"], i["id"]) for i in inputs] == [
        ("Input.Text", "case_reference"),
        ("Input.Text", "what"),
        ("Input.ChoiceSet", "lawful_basis"),
    ]
    assert inputs[1]["isMultiline"] and inputs[1]["value"] == "Concerns"
    assert inputs[0]["maxLength"] == 60
    assert card["actions"][0]["data"] == {"q": "record", "a": "submit"}
    assert card["actions"][1]["associatedInputs"] == "none"


def test_a_form_error_sits_right_under_its_field_in_the_attention_colour() -> None:
    body = render.form_card(FORM, words=WORDS)["body"]

    index = next(i for i, e in enumerate(body) if e.get("id") == "case_reference")
    after = body[index + 1 : index + 3]
    error = next(run(e) for e in after if run(e).get("color") == "Attention")
    assert error["text"] == "Please give case reference."
    later = [plain_text(e) for e in body[index + 3 :]]
    assert "Please give case reference." not in later


def test_a_summary_shows_its_lines_as_facts() -> None:
    reply = Reply(kind=ReplyKind.SUMMARY, title="Saved", text="", bullets=("Record: R-1", "x"))

    card = render.reply_card(reply, words=WORDS)

    facts = card["body"][0]["items"][1]["items"]
    assert [[(r["text"], r.get("weight")) for r in f["inlines"]] for f in facts] == [
        [("Record: ", "Bolder"), ("R-1", None)],
        [("x", None)],
    ]


def test_the_escalation_card_offers_the_claim_until_someone_takes_it() -> None:
    escalation = {"id": "E-1", "case_reference": "CP-1", "question": "Can I?", "answers": []}

    open_card = render.escalation_card(
        escalation, title="Advice requested", answers=[], claim_label="I'll take this", words=WORDS
    )
    taken = render.escalation_card(
        escalation, title="Advice requested", answers=[], taken_by="Taken by Lee", words=WORDS
    )

    assert open_card["actions"] == [
        {
            "type": "Action.Execute",
            "title": "I'll take this",
            "verb": "claim",
            "data": {"q": "claim", "a": "E-1"},
            "style": "positive",
        }
    ]
    assert "actions" not in taken
    assert plain_text(taken["body"][-1]) == "Taken by Lee"


def test_cards_are_batched_into_as_few_messages_as_fit_teams_limits() -> None:
    big = render.card([render.text_block("x" * 10_000)])

    batches = render.message_batches([big, big, big, big])

    assert [len(b) for b in batches] == [2, 2]
    for batch in batches:
        assert len(json.dumps(batch).encode()) <= render.MAX_MESSAGE_BYTES
