"""Build the bot's replies from the words in bot/knowledge/ (no logic about what comes next)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.core.replies import Choice, Reply, ReplyKind, Source
from bot.dialogs.flow import ALL_QUESTIONS, EMERGENCY, SKIP
from bot.knowledge.base import Entry
from bot.knowledge.words import Words

MENU = "menu"
DIALOG = "dialog"
RECORD = "record"
ENTRY = "entry"
ESCALATE = "escalate"


class Say:
    """Reply builders. Every text comes from the knowledge files."""

    def __init__(self, words: Words) -> None:
        self.w = words
        self.kb = words.kb

    def question(self, qid: str, number: int | None = None) -> Reply:
        q = self.w.question(qid)
        spec = ALL_QUESTIONS[qid]
        answers = (*spec.answers, *((SKIP,) if spec.optional else ()))
        return Reply(
            kind=ReplyKind.QUESTION,
            title=f"Question {number}" if number else "",
            text=q["text"],
            note=f"{self.w.text('why_prefix')} {q['why']}",
            sources=(self.w.source(q["source"]),),
            choices=tuple(Choice(q["choices"][a], qid, a) for a in answers),
            question_id=qid,
        )

    def why(self, qid: str) -> Reply:
        q = self.w.question(qid)
        return Reply(
            kind=ReplyKind.INFO,
            title=self.w.text("why_prefix"),
            text=f"{q['why']} {q['help']}",
            sources=(self.w.source(q["source"]),),
        )

    def hint(self, qid: str, key: str) -> str:
        return str(self.w.question(qid).get(key) or self.w.question(qid)["help"])

    def outcome(self, outcome: str, decided_by: str, person: str | None) -> list[Reply]:
        o = self.w.outcome(outcome)
        because = o["because"].get(decided_by, "")
        steps = [*o["next_steps"], *self.kb.contact_lines(o.get("contacts", []))]
        choices = [
            Choice(self.w.text("record_offer"), RECORD, "start", "primary"),
            Choice(self.w.text("escalate_offer"), ESCALATE, "start"),
            Choice(self.w.text("restart_offer"), DIALOG, "restart"),
        ]
        replies = [
            Reply(
                kind=ReplyKind.EMERGENCY if outcome == EMERGENCY else ReplyKind.OUTCOME,
                title=o["title"],
                text=f"{o['summary']} {because}".strip(),
                bullets=tuple(steps),
                sources=tuple(self.w.source(s) for s in o["sources"]),
                choices=tuple(choices),
                outcome=outcome,
            )
        ]
        if o.get("consent_advice"):
            advice = self.w.outcomes_section("consent_advice")
            replies.append(
                Reply(
                    kind=ReplyKind.INFO,
                    title="Whose consent to ask",
                    text=advice.get(person or "unknown", advice["unknown"]),
                    sources=(self.kb_source("topic.consent-child"),),
                )
            )
        if o.get("checklist"):
            replies.append(self.checklist())
        return replies

    def checklist(self) -> Reply:
        c = self.w.outcomes_section("checklist")
        return Reply(
            kind=ReplyKind.INFO,
            title=c["title"],
            text="Before you send it, check it is:",
            bullets=tuple(c["items"]),
            sources=(self.w.source(c["source"]),),
        )

    def kb_source(self, entry_id: str) -> Source:
        entry = self.kb.entries.get(entry_id)
        if entry is None:
            return Source("", "")
        return entry.sources[0]

    def entry(self, entry: Entry, *, full: bool = True, in_dialog: bool = False) -> Reply:
        """A myth or topic answer with its sources, related entries and next actions."""
        verdict = ""
        if entry.kind == "myth":
            verdict = "Myth — " if entry.verdict is False else "True — "
        bullets = entry.points + self.kb.contact_lines(entry.contacts)
        text = entry.answer if not full else f"{entry.answer}\n\n{entry.explanation}"
        choices: list[Choice] = []
        if not in_dialog:
            choices.append(Choice(self.w.text("start_offer"), MENU, "start", "primary"))
            for rel in entry.related[:2]:
                if rel in self.kb.entries:
                    choices.append(Choice(self.kb.entries[rel].title, ENTRY, rel))
        return Reply(
            kind=ReplyKind.EMERGENCY if entry.kind == "emergency" else ReplyKind.ANSWER,
            title=f"{verdict}{entry.title}",
            text=text,
            bullets=bullets,
            sources=entry.sources,
            choices=tuple(choices),
            entry_id=entry.id,
        )

    def menu(self, *, with_welcome: bool = False) -> list[Reply]:
        m = self.w.message("menu")
        choices = tuple(
            Choice(label, MENU, key, "primary" if key == "start" else "default")
            for key, label in m["choices"].items()
        )
        replies = []
        if with_welcome:
            w = self.w.message("welcome")
            replies.append(Reply(kind=ReplyKind.INFO, title=w["title"], text=w["text"]))
        replies.append(
            Reply(
                kind=ReplyKind.MENU,
                title=m["title"],
                text=m["text"],
                bullets=tuple(m["items"]),
                choices=choices,
            )
        )
        return replies

    def none(self, alternatives: Iterable[str] = ()) -> list[Reply]:
        n = self.w.message("none")
        replies = [Reply(kind=ReplyKind.INFO, title=n["title"], text=n["text"])]
        alt = [a for a in alternatives if a in self.kb.entries]
        if alt:
            replies.append(
                Reply(
                    kind=ReplyKind.INFO,
                    text=self.w.text("did_you_mean"),
                    choices=tuple(Choice(self.kb.entries[a].title, ENTRY, a) for a in alt),
                )
            )
        return [*replies, *self.menu()]

    def myths(self) -> Reply:
        m = self.w.message("myths_list")
        myths = [e for e in self.kb.entries.values() if e.kind == "myth"]
        return Reply(
            kind=ReplyKind.INFO,
            title=m["title"],
            text=m["text"],
            choices=tuple(Choice(e.title, ENTRY, e.id) for e in myths),
        )

    def help(self) -> Reply:
        h = self.w.message("help")
        return Reply(
            kind=ReplyKind.INFO, title=h["title"], text=h["text"], bullets=tuple(h["items"])
        )

    def info(self, key: str, **values: object) -> Reply:
        return Reply(kind=ReplyKind.INFO, text=self.w.text(key, **values))

    def warning(self, title: str, text: str) -> Reply:
        return Reply(kind=ReplyKind.WARNING, title=title, text=text)

    def pii_kinds(self, kinds: Iterable[str]) -> str:
        names: Mapping[str, str] = self.w.message("pii")["kinds"]
        labels = [names.get(k, k) for k in kinds]
        return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]

    def pii_warning(self, kinds: list[str]) -> Reply:
        p = self.w.message("pii")
        return self.warning(p["warning_title"], p["warning"].format(what=self.pii_kinds(kinds)))

    def pii_blocked(self, kinds: list[str]) -> str:
        return str(self.w.message("pii")["blocked"]).format(what=self.pii_kinds(kinds))

    def escalation(self, key: str, **values: Any) -> str:
        return str(self.w.message("escalation")[key]).format(**values)
