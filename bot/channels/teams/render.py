"""Replies as Adaptive Cards (schema 1.5) for Microsoft Teams.

Pure functions from platform-neutral values to card JSON. Every clickable choice is an
`Action.Submit` whose `data` is exactly `{"q": <question id>, "a": <answer id>}`; the record form's
inputs are named by field id, so a submit arrives as `{"q": "record", "a": "submit", <field>: ...}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from bot.core.replies import Choice, Form, FormField, Reply, ReplyKind, Source

Card = dict[str, Any]
Element = dict[str, Any]

SCHEMA: Final = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION: Final = "1.5"
CONTENT_TYPE: Final = "application/vnd.microsoft.card.adaptive"
MAX_BUTTONS: Final = 5  # Teams shows a handful of actions in a row; more get cramped
MAX_BUTTON_LABEL: Final = 40  # longer titles are truncated on buttons: show them as rows
MAX_MESSAGE_BYTES: Final = 24_000  # Teams refuses messages over ~28 KB
CLAIM: Final = "claim"  # the leads' "I'll take this" action; not a core question id
RECORD_SUBMIT: Final = {"q": "record", "a": "submit"}
RECORD_CANCEL: Final = {"q": "record", "a": "cancel"}

GOOD_OUTCOMES: Final = frozenset(
    {"must_share", "share", "share_anonymised", "share_without_consent"}
)
STOP_OUTCOMES: Final = frozenset({"do_not_share"})
ACTION_STYLES: Final = {"primary": "positive", "danger": "destructive"}


# ---------------------------------------------------------------------- building blocks
def card(body: Sequence[Element], actions: Sequence[Element] = ()) -> Card:
    """A full-width Adaptive Card 1.5."""
    built: Card = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA,
        "version": VERSION,
        "body": list(body),
        "msteams": {"width": "Full"},
    }
    if actions:
        built["actions"] = list(actions)
    return built


def text_block(text: str, **style: Any) -> Element:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def title_block(text: str, *, color: str = "Default", size: str = "Medium") -> Element:
    return text_block(text, weight="Bolder", size=size, color=color)


def quiet(text: str) -> Element:
    return text_block(text, isSubtle=True, size="Small", spacing="Small")


def submit(label: str, data: Mapping[str, str], style: str = "default") -> Element:
    action: Element = {"type": "Action.Submit", "title": label, "data": dict(data)}
    if style in ACTION_STYLES:
        action["style"] = ACTION_STYLES[style]
    return action


def choice_action(choice: Choice, chat_link: str | None = None) -> Element:
    """A choice as an action. In a shared channel the "continue privately" offer opens the
    personal chat with the bot instead (`chat_link`), so nothing about a case is said there."""
    if chat_link and choice.q == "menu" and choice.a == "start":
        return {"type": "Action.OpenUrl", "title": choice.label, "url": chat_link}
    return submit(choice.label, choice.value, choice.style)


def container(items: Sequence[Element], style: str | None = None, **extra: Any) -> Element:
    built: Element = {"type": "Container", "items": list(items), **extra}
    if style:
        built["style"] = style
        built["bleed"] = True
    return built


def bullet_blocks(bullets: Iterable[str]) -> list[Element]:
    return [text_block(f"• {b}", spacing="Small") for b in bullets]


def fact_set(lines: Iterable[str]) -> Element:
    """'Label: value' lines as a FactSet."""
    facts = []
    for line in lines:
        label, sep, value = line.partition(": ")
        facts.append({"title": label if sep else "", "value": value if sep else line})
    return {"type": "FactSet", "facts": facts}


def source_blocks(sources: Sequence[Source]) -> list[Element]:
    if not sources:
        return []
    label = "Source" if len(sources) == 1 else "Sources"
    first = quiet(f"{label}: {sources[0].cite()}")
    first["spacing"] = "Medium"
    return [first, *(quiet(s.cite()) for s in sources[1:])]


def paragraphs(text: str, **style: Any) -> list[Element]:
    return [text_block(p, **style) for p in text.split("\n\n") if p.strip()]


# ---------------------------------------------------------------------- replies
def look_of(reply: Reply) -> tuple[str | None, str, str]:
    """(container style, title colour, title size) for a reply kind."""
    if reply.kind == ReplyKind.EMERGENCY:
        return "attention", "Attention", "ExtraLarge"
    if reply.kind == ReplyKind.OUTCOME:
        if reply.outcome in GOOD_OUTCOMES:
            return "good", "Good", "Large"
        if reply.outcome in STOP_OUTCOMES:
            return "warning", "Warning", "Large"
        return "accent", "Accent", "Large"
    if reply.kind == ReplyKind.WARNING:
        return "warning", "Warning", "Medium"
    if reply.kind in (ReplyKind.SUMMARY, ReplyKind.MENU):
        return "emphasis", "Default", "Medium"
    return None, "Default", "Medium"


def reply_card(reply: Reply, *, chat_link: str | None = None) -> Card:
    """One reply as one card: title, text, bullets, a quiet note, sources, then the choices."""
    if reply.kind == ReplyKind.FORM and reply.form is not None:
        return form_card(reply.form, reply.text)
    style, color, size = look_of(reply)
    loud = reply.kind == ReplyKind.EMERGENCY
    items: list[Element] = []
    if reply.title:
        items.append(title_block(("⚠️ " if loud else "") + reply.title, color=color, size=size))
    text_style: dict[str, Any] = {"color": "Attention", "weight": "Bolder"} if loud else {}
    items += paragraphs(reply.text, **text_style)
    if reply.kind == ReplyKind.SUMMARY and reply.bullets:
        items.append(fact_set(reply.bullets))
    else:
        items += bullet_blocks(reply.bullets)
    if reply.note:
        items.append(quiet(reply.note))
    items += source_blocks(reply.sources)
    body: list[Element] = [container(items, style)] if style else items
    rows, actions = choice_elements(reply.choices, chat_link)
    return card(body + rows, actions)


def choice_elements(
    choices: Sequence[Choice], chat_link: str | None
) -> tuple[list[Element], list[Element]]:
    """Few short choices become buttons; many or long ones become tappable rows, which wrap
    instead of truncating (Teams cuts long button titles)."""
    if not choices:
        return [], []
    if len(choices) <= MAX_BUTTONS and all(len(c.label) <= MAX_BUTTON_LABEL for c in choices):
        return [], [choice_action(c, chat_link) for c in choices]
    rows = [
        container(
            [text_block(c.label, color="Accent", weight="Bolder")],
            "emphasis",
            selectAction=choice_action(c, chat_link),
            spacing="Small",
        )
        for c in choices
    ]
    return rows, []


def form_card(form: Form, text: str = "") -> Card:
    """The record form: one input per field, its hint, and its error (if any) right under it."""
    body: list[Element] = [title_block(form.title, size="Large")]
    lead = text or form.intro
    if lead:
        body += paragraphs(lead, **({"color": "Attention"} if form.errors else {}))
    for f in form.fields:
        body.append(form_input(f, form.values.get(f.id, "")))
        if f.hint:
            body.append(quiet(f.hint))
        error = form.errors.get(f.id)
        if error:
            body.append(text_block(error, color="Attention", size="Small", spacing="Small"))
    actions = [
        submit(form.submit_label, RECORD_SUBMIT, "primary"),
        {**submit("Cancel", RECORD_CANCEL), "associatedInputs": "none"},
    ]
    return card(body, actions)


def form_input(f: FormField, value: str) -> Element:
    if f.options:
        return {
            "type": "Input.ChoiceSet",
            "id": f.id,
            "label": f.label,
            "style": "compact",
            "choices": [{"title": label, "value": v} for v, label in f.options],
            "value": value,
            "spacing": "Medium",
        }
    return {
        "type": "Input.Text",
        "id": f.id,
        "label": f.label,
        "isMultiline": f.multiline,
        "maxLength": f.max_length,
        "value": value,
        "spacing": "Medium",
    }


# ---------------------------------------------------------------------- secure channels
def record_card(*, title: str, lines: Sequence[str], answers: Sequence[str]) -> Card:
    """A decision record for the record channel."""
    body: list[Element] = [container([title_block(title)], "emphasis"), fact_set(lines)]
    if answers:
        body.append(text_block("Answers given", weight="Bolder", spacing="Medium"))
        body += bullet_blocks(answers)
    return card(body)


def escalation_card(
    escalation: Mapping[str, Any],
    *,
    title: str,
    answers: Sequence[str],
    outcome_title: str = "",
    claim_label: str = "",
    taken_by: str = "",
) -> Card:
    """An escalation for the leads' channel: reference, question, answers so far — no names.

    Unclaimed it carries the claim action; once taken it says who has it, for everyone.
    """
    facts = [f"Request: {escalation.get('id', '')}"]
    if escalation.get("case_reference"):
        facts.append(f"Case reference: {escalation['case_reference']}")
    if outcome_title:
        facts.append(f"Guidance so far: {outcome_title}")
    if escalation.get("practitioner_name"):
        facts.append(f"From: {escalation['practitioner_name']} (the colleague asking)")
    body: list[Element] = [container([title_block(title)], "accent"), fact_set(facts)]
    if escalation.get("question"):
        body += [
            text_block("Question", weight="Bolder", spacing="Medium"),
            text_block(str(escalation["question"])),
        ]
    if answers:
        body.append(text_block("Answers so far", weight="Bolder", spacing="Medium"))
        body += bullet_blocks(answers)
    if taken_by:
        body.append(text_block(taken_by, color="Good", weight="Bolder", spacing="Medium"))
        return card(body)
    action = submit(claim_label, {"q": CLAIM, "a": str(escalation.get("id", ""))}, "primary")
    return card(body, [action])


def notice_card(
    text: str, *, title: str = "", bullets: Sequence[str] = (), loud: bool = False
) -> Card:
    """A short notice: a claim for the practitioner, an alert for the leads."""
    items: list[Element] = []
    if title:
        items.append(title_block(title, color="Attention" if loud else "Default"))
    items += paragraphs(text)
    items += bullet_blocks(bullets)
    return card([container(items, "attention" if loud else "emphasis")])


# ---------------------------------------------------------------------- messages
def attachment(content: Card) -> dict[str, Any]:
    return {"contentType": CONTENT_TYPE, "content": content}


def message_batches(cards: Sequence[Card]) -> list[list[Card]]:
    """Cards grouped into as few messages as fit Teams' size limit, in order.

    One message per turn keeps a reply together and spares the per-conversation rate limit.
    """
    batches: list[list[Card]] = []
    size = 0
    for c in cards:
        n = len(json.dumps(c, ensure_ascii=False).encode("utf-8"))
        if not batches or size + n > MAX_MESSAGE_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(c)
        size += n
    return batches


def summary_of(replies: Sequence[Reply]) -> str:
    """A one-line preview for notifications."""
    for r in replies:
        line = (r.title or r.text).strip().splitlines()
        if line:
            return line[0][:120]
    return ""
