"""Replies as Block Kit: messages, the record modal, the App Home tab and the channel posts.

Pure functions, no I/O. Every piece of dynamic text that lands in `mrkdwn` goes through
`escape`, so `<!channel>`, `<@U…>` or `<http://x|y>` typed by a person never pings or links.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from bot.channels.base import valid_text
from bot.core.replies import Choice, Form, FormField, Reply, ReplyKind, Source
from bot.knowledge.words import ChannelWords

Block = dict[str, Any]

MAX_BLOCKS: Final = 50  # per message
MAX_HOME_BLOCKS: Final = 100
MAX_SECTION: Final = 3000
MAX_HEADER: Final = 150
MAX_BUTTON: Final = 75
MAX_OPTION: Final = 75
MAX_FALLBACK: Final = 300
MAX_PLACEHOLDER: Final = 150
MAX_ACTIONS: Final = 25
MAX_MODAL_TITLE: Final = 24
FORM_FIELD_ACTION: Final = "value"  # the action_id of every input in the record modal
RECORD_FORM_CALLBACK: Final = "record_form"
CLAIM: Final = "claim"
MORE: Final = "more"  # the "More" button: {"q": "more", "a": <entry id>}; the core answers it
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


# ---------------------------------------------------------------------- text
def escape(text: str) -> str:
    """Make text inert in mrkdwn: Slack only treats `&`, `<` and `>` as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """What a person typed, from Slack's escaped message text (the inverse of `escape`)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mention(user_id: str) -> str:
    """A user mention, only for ids Slack gave us; anything else is shown as inert text."""
    return f"<@{user_id}>" if _USER_ID.match(user_id) else escape(user_id)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def plain(text: str, limit: int = MAX_SECTION) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def sections(text: str) -> list[Block]:
    """One or more section blocks for (already escaped) mrkdwn, split within Slack's limit."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > MAX_SECTION:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:MAX_SECTION])
            line = line[MAX_SECTION:]
        if current and len(current) + 1 + len(line) > MAX_SECTION:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current.strip():
        chunks.append(current)
    return [{"type": "section", "text": mrkdwn(chunk)} for chunk in chunks]


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, MAX_HEADER)}


def context(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(clip(text, MAX_SECTION))]}


def bullet_text(items: Iterable[str]) -> str:
    return "\n".join(f"• {escape(item)}" for item in items)


def sources_block(sources: Sequence[Source], words: ChannelWords) -> list[Block]:
    cited = [escape(s.cite(short=True)) for s in sources if s.title]
    if not cited:
        return []
    label = escape(words.sources_label(len(cited)))
    return [context(f":book: {label}: " + "; ".join(cited))]


# ---------------------------------------------------------------------- buttons
def choice_value(choice: Choice) -> str:
    """The button value: exactly the JSON {"q": …, "a": …} (a contract with the core)."""
    return json.dumps(choice.value, separators=(",", ":"))


def parse_value(value: object) -> tuple[str, str] | None:
    """(q, a) from a button value, or None when it is not ours."""
    if not isinstance(value, str):
        return None
    try:
        data = json.loads(value)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    q, a = data.get("q"), data.get("a")
    if not isinstance(q, str) or not isinstance(a, str) or not q or not valid_text([q, a]):
        return None
    return q, a


def button(choice: Choice, action_id: str) -> Block:
    b: Block = {
        "type": "button",
        "text": plain(choice.label, MAX_BUTTON),
        "action_id": action_id,
        "value": choice_value(choice),
    }
    if choice.style in ("primary", "danger"):
        b["style"] = choice.style
    return b


def actions(choices: Sequence[Choice], numbers: Iterator[int]) -> list[Block]:
    blocks = []
    for start in range(0, len(choices), MAX_ACTIONS):
        elements = [
            button(c, f"choice:{next(numbers)}") for c in choices[start : start + MAX_ACTIONS]
        ]
        blocks.append({"type": "actions", "elements": elements})
    return blocks


# ---------------------------------------------------------------------- replies
def form_opener(form: Form) -> Choice:
    """The button that opens the record modal when a reply asks for the form outside a click."""
    return Choice(form.title, "record", "start", "primary")


def _titled(title: str, text: str) -> str:
    if title and text:
        return f"*{title}*\n{text}"
    return f"*{title}*" if title else text


def more_button(entry_id: str, words: ChannelWords) -> Block:
    """The button behind which an answer's fuller explanation waits."""
    return button(Choice(words.more, MORE, entry_id), MORE)


def retire_buttons(blocks: Sequence[Any], action_id: str, said: str) -> list[Any] | None:
    """The blocks of a clicked message with the clicked row of buttons replaced by `said`
    ("You answered: {label}", the label in bold); None when the row is not there (e.g.
    already retired)."""
    out: list[Any] = []
    found = False
    for block in blocks:
        elements = block.get("elements") if isinstance(block, Mapping) else None
        if block_type(block) == "actions" and isinstance(elements, list):
            clicked = [
                e for e in elements if isinstance(e, Mapping) and e.get("action_id") == action_id
            ]
            if clicked and not found:
                found = True
                label = f"*{escape(text_of(clicked[0].get('text')))}*"
                out.append(context(f":white_check_mark: {escape(said).format(label=label)}"))
                continue
        out.append(block)
    return out if found else None


def block_type(block: object) -> str:
    kind = block.get("type") if isinstance(block, Mapping) else None
    return kind if isinstance(kind, str) else ""


def text_of(obj: object) -> str:
    text = obj.get("text") if isinstance(obj, Mapping) else None
    return text if isinstance(text, str) else ""


def reply_blocks(reply: Reply, numbers: Iterator[int], words: ChannelWords) -> list[Block]:
    """One reply as blocks; `numbers` keeps button action_ids unique across a message."""
    title, text = escape(reply.title), escape(reply.text)
    blocks: list[Block] = []
    if reply.kind == ReplyKind.EMERGENCY:
        blocks.append(header(f"🚨 {reply.title or words.emergency}"))
        blocks += sections(text)
    elif reply.kind in (ReplyKind.OUTCOME, ReplyKind.SUMMARY) and reply.title:
        blocks.append(header(reply.title))
        blocks += sections(text)
    elif reply.kind == ReplyKind.WARNING:
        blocks += sections(f":warning: *{title}*\n{text}" if title else f":warning: {text}")
    else:
        blocks += sections(_titled(title, text))
    if reply.bullets:
        next_steps = reply.kind in (ReplyKind.OUTCOME, ReplyKind.EMERGENCY)
        lead = f"*{escape(words.what_to_do_next)}*\n" if next_steps else ""
        blocks += sections(lead + bullet_text(reply.bullets))
    choices = list(reply.choices)
    if reply.kind == ReplyKind.FORM and reply.form is not None:
        if reply.form.errors:
            blocks += sections(bullet_text(reply.form.errors.values()))
        choices = [form_opener(reply.form), *choices]
    if reply.note:
        blocks.append(context(escape(reply.note)))
    if reply.more and not reply.entry_id:  # nothing to ask for later: show it now
        blocks += sections(escape(reply.more))
    blocks += actions(choices, numbers)
    if reply.more and reply.entry_id:
        blocks.append({"type": "actions", "elements": [more_button(reply.entry_id, words)]})
    blocks += sources_block(reply.sources, words)
    return blocks


def fallback_text(replies: Sequence[Reply], words: ChannelWords) -> str:
    """The notification text of a message, which is also what screen readers announce: an
    emergency first, else the question waiting for an answer (its words, not "Question 2"),
    else the first reply's title or text (escaped: Slack parses it as mrkdwn too)."""
    for kind in (ReplyKind.EMERGENCY, ReplyKind.QUESTION):
        for r in replies:
            if r.kind == kind and (r.text or r.title):
                spoken = r.text if kind == ReplyKind.QUESTION else r.title or r.text
                return escape(clip(spoken or r.title, MAX_FALLBACK))
    for r in replies:
        if r.title or r.text:
            return escape(clip(r.title or r.text, MAX_FALLBACK))
    return escape(words.app_name)


def messages(replies: Sequence[Reply], words: ChannelWords) -> list[tuple[str, list[Block]]]:
    """A turn's replies as few messages as possible: (fallback text, blocks) pairs."""
    numbers = iter(range(10_000))
    out: list[tuple[str, list[Block]]] = []
    blocks: list[Block] = []
    group: list[Reply] = []
    for reply in replies:
        these = reply_blocks(reply, numbers, words)
        if not these:
            continue
        if blocks and len(blocks) + 1 + len(these) > MAX_BLOCKS:
            out.append((fallback_text(group, words), blocks))
            blocks, group, numbers = [], [], iter(range(10_000))
        if blocks:
            blocks.append({"type": "divider"})
        blocks.extend(these[:MAX_BLOCKS])
        group.append(reply)
    if blocks:
        out.append((fallback_text(group, words), blocks))
    return out


# ---------------------------------------------------------------------- the record modal
def closing_brackets(label: str) -> tuple[str, str]:
    """(the label before, the text inside) a bracketed part that ends the label, nested
    brackets included: "Public task (UK GDPR Art 6(1)(e))" -> ("Public task", "UK GDPR …")."""
    text = label.rstrip()
    if not text.endswith(")"):
        return label, ""
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[i], 0)
        if depth == 0:
            return text[:i].rstrip(), text[i + 1 : -1].strip()
    return label, ""


def option_parts(label: str, short: str = "", limit: int = MAX_OPTION) -> tuple[str, str]:
    """(text, description) for a select option: the label whole when it fits; else a given
    short label; else the label split so that a legal condition in brackets — "(DPA 2018
    Sch 1 para 18)" — moves whole to the description line instead of being cut."""
    if len(label) <= limit:
        return label, ""
    if short and len(short) <= limit:
        return short, ""
    head, condition = closing_brackets(label)
    if condition and len(head) <= limit and len(condition) <= limit:
        return head, condition
    head, dash, tail = label.partition(" — ")
    if dash and len(head) <= limit and len(tail) <= limit:
        return head, tail
    cut = label[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…", clip(label[len(cut) :].strip(), limit)


def _option(value: str, label: str, short: str = "") -> Block:
    text, description = option_parts(label, short)
    option: Block = {"text": plain(text, MAX_OPTION), "value": value[:150]}
    if description:
        option["description"] = plain(description, MAX_OPTION)
    return option


def placeholder_for(field: FormField, words: ChannelWords) -> str:
    """What a select says before anything is chosen: what to choose, not "Choose one"."""
    if field.placeholder:
        return field.placeholder
    label = field.label.strip()
    if not label:
        return words.choose_one
    return words.choose_the.format(label=f"{label[:1].lower()}{label[1:]}")


def _input(field: FormField, value: str, words: ChannelWords) -> Block:
    element: Block
    if field.options:
        shorts = dict(field.short_labels)
        element = {
            "type": "static_select",
            "action_id": FORM_FIELD_ACTION,
            "placeholder": plain(placeholder_for(field, words), MAX_PLACEHOLDER),
            "options": [_option(v, label, shorts.get(v, "")) for v, label in field.options[:100]],
        }
        for v, label in field.options:
            if v == value:
                element["initial_option"] = _option(v, label, shorts.get(v, ""))
                break
    else:
        element = {
            "type": "plain_text_input",
            "action_id": FORM_FIELD_ACTION,
            "multiline": field.multiline,
            "max_length": min(max(field.max_length, 1), 3000),
        }
        if value:
            element["initial_value"] = value[: element["max_length"]]
    block: Block = {
        "type": "input",
        "block_id": field.id,
        "label": plain(field.label, 2000),
        "optional": not field.required,
        "element": element,
    }
    if field.hint:
        block["hint"] = plain(field.hint, 2000)
    return block


def record_modal(form: Form, private_metadata: str, words: ChannelWords) -> Block:
    """The record form as a modal view; values typed so far are kept."""
    blocks: list[Block] = []
    if form.intro:
        blocks += sections(escape(form.intro))
    blocks += [_input(f, str(form.values.get(f.id, "")), words) for f in form.fields]
    return {
        "type": "modal",
        "callback_id": RECORD_FORM_CALLBACK,
        "title": plain(form.title, MAX_MODAL_TITLE),
        "submit": plain(form.submit_label, MAX_MODAL_TITLE),
        "close": plain(words.cancel, MAX_MODAL_TITLE),
        "private_metadata": private_metadata,
        "blocks": blocks,
    }


def form_values(state_values: Mapping[str, Any]) -> dict[str, str]:
    """{field id: value} from a view_submission's `view.state.values`."""
    values: dict[str, str] = {}
    for block_id, inputs in state_values.items():
        if not isinstance(inputs, Mapping):
            continue
        item = inputs.get(FORM_FIELD_ACTION)
        if not isinstance(item, Mapping):
            continue
        if item.get("type") == "static_select":
            selected = item.get("selected_option")
            value = selected.get("value") if isinstance(selected, Mapping) else None
        else:
            value = item.get("value")
        values[block_id] = value if isinstance(value, str) else ""
    return values


def modal_errors(form: Form, block_ids: Iterable[str]) -> dict[str, str]:
    """Inline errors keyed by block id; an error for no visible field goes on the first one."""
    ids = list(block_ids)
    errors: dict[str, str] = {}
    for field_id, message in form.errors.items():
        target = field_id if field_id in ids else (ids[0] if ids else field_id)
        errors[target] = clip(f"{errors[target]} {message}" if target in errors else message, 2000)
    return errors


# ---------------------------------------------------------------------- App Home
def home_view(
    intro: Sequence[Reply],
    myths: Reply,
    golden_rules: Reply | None,
    contacts: Sequence[str],
    organisation: str = "",
    *,
    words: ChannelWords,
) -> Block:
    """The App Home tab: what the bot does, start button, myths, golden rules, contacts."""
    numbers = iter(range(10_000))
    blocks: list[Block] = []
    for reply in intro:
        blocks += reply_blocks(reply, numbers, words)
    blocks.append({"type": "divider"})
    blocks += reply_blocks(myths, numbers, words)
    if golden_rules is not None:
        blocks.append({"type": "divider"})
        blocks += reply_blocks(golden_rules, numbers, words)
    if contacts:
        blocks.append({"type": "divider"})
        heading = (
            words.local_contacts_of.format(organisation=organisation)
            if organisation
            else words.local_contacts
        )
        blocks += sections(f"*{escape(heading)}*\n{bullet_text(contacts)}")
    return {"type": "home", "blocks": blocks[:MAX_HOME_BLOCKS]}


# ---------------------------------------------------------------------- channel posts
def record_post(
    record: Mapping[str, Any], lines: Sequence[str], answers: Sequence[str], words: ChannelWords
) -> tuple[str, list[Block]]:
    """A decision record for the private record channel."""
    title = words.record_post_title.format(record_id=str(record.get("id", "")))
    blocks: list[Block] = [header(title)]
    blocks += sections(bullet_text(lines))
    if answers:
        blocks += sections(f"*{escape(words.answers_given)}*\n" + bullet_text(answers))
    who = mention(str(record.get("practitioner", "")))
    when = escape(str(record.get("created_at", "")))
    versions = escape(f"{record.get('flow_version', '')} · {record.get('knowledge_version', '')}")
    recorded = escape(words.recorded_by).format(who=who, when=when)
    blocks.append(context(f"{recorded} · {versions}"))
    return escape(title), blocks


def escalation_card(
    escalation: Mapping[str, Any],
    *,
    title: str,
    answers: Sequence[str],
    outcome_title: str = "",
    claim_label: str = "",
    claimed_line: str = "",
    words: ChannelWords,
) -> tuple[str, list[Block]]:
    """An escalation for the leads channel: no names, a claim button until someone takes it."""
    eid = str(escalation.get("id", ""))

    def fact(label: str, value: str) -> str:
        return f"*{escape(label)}:* {escape(value) or '—'}"

    lines = [
        fact(words.request, eid),
        fact(words.case_reference, str(escalation.get("case_reference", ""))),
        fact(words.question, str(escalation.get("question", ""))),
    ]
    if outcome_title:
        lines.append(fact(words.guidance_so_far, outcome_title))
    blocks: list[Block] = [header(title)]
    blocks += sections("\n".join(lines))
    if answers:
        blocks += sections(f"*{escape(words.answers_so_far)}*\n" + bullet_text(answers))
    who = mention(str(escalation.get("practitioner", "")))
    blocks.append(context(escape(words.asked_by).format(who=who)))
    if claimed_line:
        blocks.append(context(f":white_check_mark: {escape(claimed_line)}"))
    elif claim_label:
        claim = Choice(claim_label, CLAIM, eid, "primary")
        blocks.append({"type": "actions", "elements": [button(claim, CLAIM)]})
    return escape(f"{title}: {eid}"), blocks


def alert_post(text: str, items: Sequence[str]) -> tuple[str, list[Block]]:
    blocks = sections(f":warning: *{escape(text)}*")
    if items:
        blocks += sections(bullet_text(items[:20]))
    return escape(clip(text, MAX_FALLBACK)), blocks


def notice(text: str) -> tuple[str, list[Block]]:
    """A one-line message (e.g. who has taken an escalation)."""
    return escape(clip(text, MAX_FALLBACK)), sections(escape(text))
