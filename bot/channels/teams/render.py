"""Replies as Adaptive Cards (schema 1.5) for Microsoft Teams.

Pure functions from platform-neutral values to card JSON. Every clickable choice is an
`Action.Submit` whose `data` is exactly `{"q": <question id>, "a": <answer id>}`; the record form's
inputs are named by field id, so a submit arrives as `{"q": "record", "a": "submit", <field>: ...}`.

Teams reads Markdown (links included) in a TextBlock and a FactSet. Text that may hold what a
person typed — a case reference, a question to the leads, record fields, names — is therefore
never put in either: body text goes in a RichTextBlock's TextRun, which Teams shows as written,
and the only TextBlocks are headings, with Markdown's characters escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from bot.core.replies import Choice, Form, FormField, Reply, ReplyKind, Source
from bot.knowledge.words import ChannelWords

Card = dict[str, Any]
Element = dict[str, Any]

SCHEMA: Final = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION: Final = "1.5"
CONTENT_TYPE: Final = "application/vnd.microsoft.card.adaptive"
MAX_BUTTONS: Final = 5  # Teams shows a handful of actions in a row; more get cramped
MAX_BUTTON_LABEL: Final = 40  # longer titles are truncated on buttons: show them as rows
MAX_MESSAGE_BYTES: Final = 24_000  # Teams refuses messages over ~28 KB
CLAIM: Final = "claim"  # the leads' "I'll take this" action; not a core question id
CLAIM_VERB: Final = "claim"  # the Action.Execute verb of the claim (Universal Actions)
RECORD_SUBMIT: Final = {"q": "record", "a": "submit"}
RECORD_CANCEL: Final = {"q": "record", "a": "cancel"}

GOOD_OUTCOMES: Final = frozenset(
    {"must_share", "share", "share_anonymised", "share_without_consent"}
)
STOP_OUTCOMES: Final = frozenset({"do_not_share"})
ACTION_STYLES: Final = {"primary": "positive", "danger": "destructive"}
RUN_STYLE: Final = frozenset({"color", "size", "weight", "isSubtle", "italic", "fontType"})
MARKDOWN_CHARACTER: Final = re.compile(r"([\\`*_\[\]<>~|])")
MARKDOWN_LINE_START: Final = re.compile(r"^(\s*)(?:([#>+\-])|(\d+)\.)", re.MULTILINE)
SUMMARY_LENGTH: Final = 120
SUMMARY_ORDER: Final = (
    ReplyKind.EMERGENCY,
    ReplyKind.QUESTION,
    ReplyKind.OUTCOME,
    ReplyKind.ANSWER,
    ReplyKind.WARNING,
    ReplyKind.FORM,
    ReplyKind.SUMMARY,
)


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


def markdown_escaped(text: str) -> str:
    """Text for a TextBlock that Teams shows as written: no bold, links or lists from it."""
    escaped = MARKDOWN_CHARACTER.sub(r"\\\1", text)
    return MARKDOWN_LINE_START.sub(_escape_line_start, escaped)


def _escape_line_start(m: re.Match[str]) -> str:
    marker, number = m.group(2), m.group(3)
    return f"{m.group(1)}\\{marker}" if marker else f"{m.group(1)}{number}\\."


def text_block(text: str, **style: Any) -> Element:
    """Body text, shown exactly as written (a TextRun is never read as Markdown)."""
    run = {"type": "TextRun", "text": text}
    run.update({k: v for k, v in style.items() if k in RUN_STYLE})
    block: Element = {"type": "RichTextBlock", "inlines": [run]}
    block.update({k: v for k, v in style.items() if k not in RUN_STYLE})
    return block


def title_block(text: str, *, color: str = "Default", size: str = "Medium") -> Element:
    """A heading (announced as one by screen readers)."""
    return {
        "type": "TextBlock",
        "text": markdown_escaped(text),
        "wrap": True,
        "style": "heading",
        "weight": "Bolder",
        "size": size,
        "color": color,
    }


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
    """'Label: value' lines, the label in bold, as plain text (a FactSet would read Markdown)."""
    rows: list[Element] = []
    for line in lines:
        label, sep, value = line.partition(": ")
        inlines: list[Element] = []
        if sep:
            inlines.append({"type": "TextRun", "text": f"{label}: ", "weight": "Bolder"})
        inlines.append({"type": "TextRun", "text": value if sep else line})
        rows.append({"type": "RichTextBlock", "inlines": inlines, "spacing": "Small"})
    return {"type": "Container", "items": rows, "spacing": "Medium"}


def source_blocks(sources: Sequence[Source], words: ChannelWords) -> list[Element]:
    if not sources:
        return []
    label = words.sources_label(len(sources))
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


def reply_card(
    reply: Reply,
    *,
    words: ChannelWords,
    chat_link: str | None = None,
    required: Callable[[str], str] | None = None,
    example: Callable[[str], str] | None = None,
) -> Card:
    """One reply as one card: title, text, bullets, a quiet note, sources, then the choices
    (and the fuller explanation behind "More")."""
    if reply.kind == ReplyKind.FORM and reply.form is not None:
        return form_card(reply.form, reply.text, words=words, required=required, example=example)
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
    items += source_blocks(reply.sources, words)
    body: list[Element] = [container(items, style)] if style else items
    rows, actions = choice_elements(reply.choices, chat_link)
    if reply.more:
        actions = [more_action(reply.more, words.more), *actions]
    return card(body + rows, actions)


def more_action(text: str, label: str) -> Element:
    """The fuller explanation, folded away behind a "More" button on the same card."""
    return {
        "type": "Action.ShowCard",
        "title": label,
        "card": {"type": "AdaptiveCard", "body": paragraphs(text)},
    }


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


def form_card(
    form: Form,
    text: str = "",
    *,
    words: ChannelWords,
    required: Callable[[str], str] | None = None,
    example: Callable[[str], str] | None = None,
) -> Card:
    """The record form: one input per field (required ones checked by Teams before it sends),
    its hint, and the error the bot found (if any) right under it."""
    body: list[Element] = [title_block(form.title, size="Large")]
    lead = text or form.intro
    if lead:
        body += paragraphs(lead, **({"color": "Attention"} if form.errors else {}))
    for f in form.fields:
        shown = example(f.id) if example else ""
        value = form.values.get(f.id, "")
        body.append(form_input(f, value, words=words, required=required, example=shown))
        if f.hint:
            body.append(quiet(f.hint))
        error = form.errors.get(f.id)
        if error:
            body.append(text_block(error, color="Attention", size="Small", spacing="Small"))
    actions = [
        submit(form.submit_label, RECORD_SUBMIT, "primary"),
        {**submit(words.cancel, RECORD_CANCEL), "associatedInputs": "none"},
    ]
    return card(body, actions)


def form_input(
    f: FormField,
    value: str,
    *,
    words: ChannelWords,
    required: Callable[[str], str] | None = None,
    example: str = "",
) -> Element:
    """One input, labelled; a required one says what is missing before the form is sent."""
    element: Element
    if f.options:
        element = {
            "type": "Input.ChoiceSet",
            "id": f.id,
            "label": f.label,
            "style": "compact",
            "choices": [{"title": label, "value": v} for v, label in f.options],
            "value": value,
            "placeholder": f.placeholder or words.choose_the.format(label=f.label.lower()),
            "spacing": "Medium",
        }
    else:
        element = {
            "type": "Input.Text",
            "id": f.id,
            "label": f.label,
            "isMultiline": f.multiline,
            "maxLength": f.max_length,
            "value": value,
            "spacing": "Medium",
        }
        example = example or f.hint
        if example.startswith("e.g. "):
            element["placeholder"] = example.removeprefix("e.g. ")
    if f.required:
        element["isRequired"] = True
        element["errorMessage"] = (
            required(f.label) if required else words.is_needed.format(label=f.label)
        )
    return element


# ---------------------------------------------------------------------- secure channels
def record_card(
    *, title: str, lines: Sequence[str], answers: Sequence[str], words: ChannelWords
) -> Card:
    """A decision record for the record channel."""
    body: list[Element] = [container([title_block(title)], "emphasis"), fact_set(lines)]
    if answers:
        body.append(text_block(words.answers_given, weight="Bolder", spacing="Medium"))
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
    words: ChannelWords,
) -> Card:
    """An escalation for the leads' channel: reference, question, answers so far — no names.

    Unclaimed it carries the claim action; once taken it says who has it, for everyone.
    """
    facts = [(words.request, str(escalation.get("id", "")))]
    if escalation.get("case_reference"):
        facts.append((words.case_reference, str(escalation["case_reference"])))
    if outcome_title:
        facts.append((words.guidance_so_far, outcome_title))
    lines = [f"{label}: {value}" for label, value in facts]
    body: list[Element] = [container([title_block(title)], "accent"), fact_set(lines)]
    if escalation.get("practitioner_name"):
        colleague = words.asked_by_colleague.format(name=str(escalation["practitioner_name"]))
        body.append(text_block(words.asked_by.format(who=colleague), spacing="Small"))
    if escalation.get("question"):
        body += [
            text_block(words.question, weight="Bolder", spacing="Medium"),
            text_block(str(escalation["question"])),
        ]
    if answers:
        body.append(text_block(words.answers_so_far, weight="Bolder", spacing="Medium"))
        body += bullet_blocks(answers)
    if taken_by:
        body.append(text_block(taken_by, color="Good", weight="Bolder", spacing="Medium"))
        return card(body)
    return card(body, [claim_action(claim_label, str(escalation.get("id", "")))])


def claim_action(label: str, escalation_id: str) -> Element:
    """The leads' "I'll take this": a Universal Action, so the lead who presses it is answered
    privately (an invoke) and the card is replaced for everyone."""
    return {
        "type": "Action.Execute",
        "title": label,
        "verb": CLAIM_VERB,
        "data": {"q": CLAIM, "a": escalation_id},
        "style": "positive",
    }


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


def answered(cards: Sequence[Card], data: Mapping[str, Any], line: str) -> list[Card]:
    """The cards of a message once a choice on it was clicked: the clicked card loses its
    choices and says what was chosen, so an old button cannot change an answer unseen."""
    retired: list[Card] = []
    for c in cards:
        if any(_carries(a, data) for a in _actions_of(c)):
            c = _without_choices(c)
            c["body"].append(text_block(line, weight="Bolder", color="Good", spacing="Medium"))
        retired.append(c)
    return retired


def superseded(cards: Sequence[Card], line: str) -> list[Card]:
    """The cards of an earlier message once a newer one asks: no choices, and a pointer."""
    retired: list[Card] = []
    for c in cards:
        if any(a.get("type") != "Action.ShowCard" for a in _actions_of(c)):
            c = _without_choices(c)
            c["body"].append(text_block(line, isSubtle=True, spacing="Medium"))
        retired.append(c)
    return retired


def clicked_label(cards: Sequence[Card], data: Mapping[str, Any]) -> str:
    """The label of the choice on these cards that carries `data`, or ""."""
    for c in cards:
        for action in _actions_of(c):
            if _carries(action, data):
                return str(action.get("title") or "")
        for row in _rows_of(c):
            if _carries(row["selectAction"], data):
                return next((i["text"] for i in _texts(row)), "")
    return ""


def _carries(action: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
    carried = action.get("data")
    return (
        isinstance(carried, Mapping)
        and carried.get("q") == data.get("q")
        and carried.get("a") == data.get("a")
    )


def _actions_of(c: Card) -> list[Element]:
    return [a for a in c.get("actions", []) if isinstance(a, dict)] + [
        r["selectAction"] for r in _rows_of(c)
    ]


def _rows_of(c: Card) -> list[Element]:
    return [e for e in c.get("body", []) if isinstance(e, dict) and "selectAction" in e]


def _texts(element: Element) -> list[Element]:
    return [
        run
        for block in element.get("items", [])
        for run in block.get("inlines", [])
        if "text" in run
    ]


def _without_choices(c: Card) -> Card:
    kept = json.loads(json.dumps(c))
    kept["body"] = [e for e in kept.get("body", []) if "selectAction" not in e]
    kept["actions"] = [a for a in kept.get("actions", []) if a.get("type") == "Action.ShowCard"]
    if not kept["actions"]:
        del kept["actions"]
    return dict(kept)


def has_choices(cards: Sequence[Card]) -> bool:
    return any(a.get("type") == "Action.Submit" for c in cards for a in _actions_of(c))


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
    """The one line notifications and screen readers give for a message: an emergency first,
    else the question waiting for an answer, else the outcome or answer — never "Question 2"."""
    ranked = sorted(
        replies,
        key=lambda r: (
            SUMMARY_ORDER.index(r.kind) if r.kind in SUMMARY_ORDER else len(SUMMARY_ORDER)
        ),
    )
    for r in ranked:
        line = first_line(r.text if r.kind == ReplyKind.QUESTION else (r.title or r.text))
        if line:
            return line
    return ""


def first_line(text: str) -> str:
    lines = text.strip().splitlines()
    if not lines:
        return ""
    line = lines[0].strip()
    return line if len(line) <= SUMMARY_LENGTH else line[: SUMMARY_LENGTH - 1].rstrip() + "…"
