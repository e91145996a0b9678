"""Which words the dialogs need (bot/knowledge/dialog/*.yaml), and the check that they exist.

The decision flow (bot/dialogs/flow.py) names questions, answers, outcomes and the answers
that decide each outcome; this module checks every one of them has its words, so a missing
text stops start-up, never a chat. It reads plain mappings, not the knowledge base, so the
loader can call it without either module importing the other.
"""

from __future__ import annotations

import string
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from typing import Any, Final

from bot.dialogs.flow import ALL_QUESTIONS, OUTCOMES, PERSON, SKIP, deciding_answers
from bot.knowledge.problems import KnowledgeError, review_date

RECORD_FIELDS: Final = (
    "case_reference",
    "what",
    "with_whom",
    "purpose",
    "lawful_basis",
    "special_category",
    "reasons",
)
# What kind of organisation is using the bot (organisation.yaml `type`): it shapes which lawful
# bases the record offers. "unknown" is used when the file does not say.
ORGANISATION_TYPES: Final = ("public_authority", "voluntary", "private")
UNKNOWN_ORGANISATION: Final = "unknown"
# Public authorities cannot rely on these when performing their tasks (UK GDPR Art 6(1)).
NOT_FOR_PUBLIC_AUTHORITIES: Final = frozenset(
    {"legitimate_interests", "recognised_legitimate_interests"}
)
REQUIRED_MESSAGES: Final = (
    "welcome",
    "welcome_back",
    "menu",
    "help",
    "none",
    "reask",
    "reask_hint",
    "resume",
    "why_prefix",
    "question_number",
    "verdict_myth",
    "verdict_true",
    "consent_advice_title",
    "checklist_lead",
    "which_part",
    "busy",
    "started",
    "restarted",
    "nothing_to_undo",
    "went_back",
    "stopped",
    "idle_restart",
    "no_case_here",
    "record_saved",
    "record_required",
    "record_too_long",
    "record_cancelled",
    "record_lawful_basis_unknown",
    "record_lawful_basis_public_authority",
    "record_special_unknown",
    "record_special_which",
    "record_special_with_consent",
    "case_reference_shape",
    "cancel_words",
    "safety_note",
    "not_confident",
    "case_story_offer",
    "did_you_mean",
    "pii",
    "escalation",
    "rate_limited",
    "too_long",
)
NESTED_MESSAGES: Final = {
    "welcome": ("title", "text"),
    "welcome_back": ("title", "decision", "outcome", "record", "escalation"),
    "pii": ("warning_title", "warning", "blocked", "found"),
    "escalation": (
        "ask_reference",
        "ask_question",
        "sent_title",
        "sent",
        "cancelled",
        "cancel_hint",
        "cancel_label",
    ),
}
COMMANDS: Final = (
    "back",
    "restart",
    "help",
    "why",
    "stop",
    "menu",
    "escalate",
    "record",
    "start",
    "myths",
)
NOT_WORDS: Final = frozenset({"last_reviewed"})  # file metadata, not dialog words


@dataclass(frozen=True)
class ChannelWords:
    """The words Slack, Teams and the console put around the core's replies (messages.yaml,
    `channels`): labels, headings and the channels' own short messages. A template's
    {placeholders} are the ones `CHANNEL_PLACEHOLDERS` names, checked at start-up."""

    app_name: str
    more: str
    source: str
    sources: str
    emergency: str
    what_to_do_next: str
    answered: str
    chose: str
    superseded: str
    cancel: str
    choose_one: str
    choose_the: str
    is_needed: str
    local_contacts: str
    local_contacts_of: str
    record_post_title: str
    recorded_by: str
    answers_given: str
    answers_so_far: str
    request: str
    case_reference: str
    question: str
    guidance_so_far: str
    asked_by: str
    asked_by_colleague: str
    dm_sent: str
    myth_usage: str
    form_kept: str
    request_closed: str
    claim_elsewhere: str
    claim_unknown: str
    claim_yours: str
    nothing_found: str
    console_intro: str
    goodbye: str

    @classmethod
    def from_messages(cls, messages: Mapping[str, Any]) -> ChannelWords:
        section = messages["channels"]
        return cls(**{f.name: str(section[f.name]) for f in fields(cls)})

    def sources_label(self, count: int) -> str:
        return self.source if count == 1 else self.sources


CHANNEL_WORDS: Final = tuple(f.name for f in fields(ChannelWords))
CHANNEL_PLACEHOLDERS: Final = {
    "answered": {"label"},
    "chose": {"label"},
    "choose_the": {"label"},
    "is_needed": {"label"},
    "local_contacts_of": {"organisation"},
    "record_post_title": {"record_id"},
    "recorded_by": {"who", "when"},
    "asked_by": {"who"},
    "asked_by_colleague": {"name"},
    "claim_unknown": {"escalation_id"},
}


MESSAGE_PLACEHOLDERS: Final = {
    "question_number": {"number"},
    "verdict_myth": {"title"},
    "verdict_true": {"title"},
}


def placeholders(template: str) -> set[str] | None:
    """The {names} a template fills in (None when it is not a valid template)."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError:
        return None


def answer_group(question_id: str) -> str:
    """The phrase group in answers.yaml that understands typed answers to this question."""
    return question_id if question_id in ("consent", PERSON.id) else "common"


UNQUOTED = "must be in quotes: YAML reads a bare no or yes as false or true"


def check_dialog_words(
    words: Mapping[str, Any],
    *,
    files: Mapping[str, str],
    sources: Collection[str],
    contacts: Collection[str],
) -> list[KnowledgeError]:
    """Every problem with the dialog words (empty when all is well).

    Args:
        words: each dialog file's contents, keyed by file stem ("questions", "outcomes", …).
        files: each stem's path, for the messages.
        sources: the source document ids in sources.yaml.
        contacts: the contact keys configured in organisation.yaml.
    """
    problems: list[KnowledgeError] = []

    def file_of(section: str) -> str:
        return files.get(section, f"bot/knowledge/dialog/{section}.yaml")

    def problem(section: str, where: str, what: str) -> None:
        problems.append(KnowledgeError(file_of(section), where, what))

    def need(section: str, path: list[str], kind: type = str) -> Any:
        node: Any = words.get(section)
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                problem(section, ".".join(path), "missing")
                return None
            node = node[key]
        if not isinstance(node, kind) or (isinstance(node, str) and not node.strip()):
            problem(section, ".".join(path), f"must be {kind.__name__}")
            return None
        return node

    def need_source(section: str, path: list[str]) -> None:
        src = need(section, path, dict)
        if src is not None and src.get("doc") not in sources:
            problem(section, ".".join(path), f"unknown source doc {src.get('doc')!r}")

    for section in sorted(files):
        try:
            review_date(words.get(section) or {}, file_of(section), "")
        except KnowledgeError as exc:
            problems.append(exc)

    for qid, q in ALL_QUESTIONS.items():
        for key in ("text", "why", "help"):
            need("questions", ["questions", qid, key])
        need_source("questions", ["questions", qid, "source"])
        for answer in (*q.answers, *((SKIP,) if q.optional else ())):
            need("questions", ["questions", qid, "choices", answer])

    deciding = deciding_answers()
    lawful_options = need("record", ["fields", "lawful_basis", "options"], dict) or {}
    for outcome in OUTCOMES:
        for key in ("title", "summary"):
            need("outcomes", ["outcomes", outcome, key])
        need("outcomes", ["outcomes", outcome, "next_steps"], list)
        because = need("outcomes", ["outcomes", outcome, "because"], dict) or {}
        for key in sorted(deciding[outcome] - set(because)):
            problem("outcomes", f"outcomes.{outcome}.because.{key}", "missing")
        also = (words.get("outcomes") or {}).get("outcomes", {}).get(outcome, {}).get("also", {})
        for key in also if isinstance(also, Mapping) else ["(not a mapping)"]:
            qid, _, a = str(key).partition("=")
            if qid not in ALL_QUESTIONS or a not in ALL_QUESTIONS[qid].answers:
                problem("outcomes", f"outcomes.{outcome}.also.{key}", "is not question=answer")
        _check_suggested_basis(words, outcome, lawful_options, problem)
        for src in need("outcomes", ["outcomes", outcome, "sources"], list) or []:
            if not isinstance(src, Mapping) or src.get("doc") not in sources:
                problem("outcomes", outcome, f"source {src!r}")
        for key in need("outcomes", ["outcomes", outcome, "contacts"], list) or []:
            if key not in contacts:
                problem("outcomes", outcome, f"contact {key!r}")
    need("outcomes", ["checklist", "items"], list)
    for band in (*PERSON.answers, "unknown"):
        need("outcomes", ["consent_advice", band])

    for name in RECORD_FIELDS:
        need("record", ["fields", name, "label"])
        need("record", ["fields", name, "prompt"], object)
    for key in ("shared", "not_shared"):
        need("record", ["intro", key])
    need("record", ["cancel_label"])
    need("record", ["professional_roles"], list)
    need("record", ["own_contact_cues"], list)

    for qid, q in ALL_QUESTIONS.items():
        group = answer_group(qid)
        for answer in (*q.answers, *((SKIP,) if q.optional else ())):
            if group == "common" and answer not in q.answers:
                continue
            need("answers", [group, answer], list)
    for command in COMMANDS:
        need("answers", ["commands", command], list)
    # YAML reads a bare no, yes, on or off as true or false: `nae: no` would read "nae" as
    # "false", and a phrase list holding `no` would hold no word at all
    answers = (words.get("answers") or {}) if isinstance(words.get("answers"), Mapping) else {}
    read_as = answers.get("read_as") or {}
    for short, full in read_as.items() if isinstance(read_as, Mapping) else ():
        if not isinstance(short, str) or not isinstance(full, str):
            problem("answers", f"read_as.{short}", UNQUOTED)
    for name, groups in answers.items():
        for answer, phrases in groups.items() if isinstance(groups, Mapping) else ():
            for phrase in phrases if isinstance(phrases, list) else ():
                if not isinstance(phrase, str):
                    problem("answers", f"{name}.{answer}", f"{phrase!r} {UNQUOTED}")
    for key in REQUIRED_MESSAGES:
        need("messages", [key], object)
    for section, keys in NESTED_MESSAGES.items():
        for key in keys:
            need("messages", [section, key])
    need("messages", ["pii", "advice", "default"])
    for key, wanted in MESSAGE_PLACEHOLDERS.items():
        template = (words.get("messages") or {}).get(key)
        if isinstance(template, str) and placeholders(template) != wanted:
            named = ", ".join("{" + n + "}" for n in sorted(wanted))
            problem("messages", key, f"must have {named}")
    for key in CHANNEL_WORDS:
        template = need("messages", ["channels", key])
        wanted = CHANNEL_PLACEHOLDERS.get(key, set())
        if template is not None and placeholders(template) != wanted:
            named = ", ".join("{" + n + "}" for n in sorted(wanted)) or "no {placeholders}"
            problem("messages", f"channels.{key}", f"must have {named}")
    need("messages", ["cancel_words"], list)
    return problems


def _check_suggested_basis(
    words: Mapping[str, Any], outcome: str, options: Mapping[str, Any], problem: Any
) -> None:
    """`lawful_basis` is one option id, or one per organisation type; a public authority is
    never pointed at a basis it cannot use."""
    raw = (words.get("outcomes") or {}).get("outcomes", {}).get(outcome, {}).get("lawful_basis")
    where = f"outcomes.{outcome}.lawful_basis"
    if isinstance(raw, str):
        by_type = dict.fromkeys((*ORGANISATION_TYPES, UNKNOWN_ORGANISATION), raw)
    elif isinstance(raw, Mapping):
        by_type = {str(k): v for k, v in raw.items()}
        missing = {*ORGANISATION_TYPES, UNKNOWN_ORGANISATION} - set(by_type)
        if missing:
            problem("outcomes", where, f"needs a basis for {', '.join(sorted(missing))}")
    else:
        problem("outcomes", where, "missing")
        return
    for org_type, basis in by_type.items():
        if basis not in options:
            problem("outcomes", f"{where}.{org_type}", f"{basis!r} is not a lawful_basis option")
        elif org_type in ("public_authority", UNKNOWN_ORGANISATION) and (
            basis in NOT_FOR_PUBLIC_AUTHORITIES
        ):
            problem("outcomes", f"{where}.{org_type}", "public authorities cannot use this basis")
