"""Build the bot's replies from the words in bot/knowledge/ (no logic about what comes next)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.core.replies import Choice, Reply, ReplyKind, Source
from bot.dialogs.flow import ALL_QUESTIONS, DECISION_QUESTION_IDS, EMERGENCY, PERSON, SKIP
from bot.dialogs.state import CONFIRM, OUTCOME, DialogState
from bot.knowledge.base import Entry
from bot.knowledge.words import Words

if TYPE_CHECKING:
    from bot.dialogs.personal_details import Finding
    from bot.knowledge.search import Lookup

MENU = "menu"
DIALOG = "dialog"
RECORD = "record"
ENTRY = "entry"
ESCALATE = "escalate"
MORE = "more"  # {"q": "more", "a": <entry id>}: the fuller explanation, as its own reply


class Say:
    """Reply builders. Every text comes from the knowledge files."""

    def __init__(self, words: Words) -> None:
        self.w = words
        self.kb = words.kb

    # ------------------------------------------------------------------ the decision
    def question(self, qid: str, number: int | None = None) -> Reply:
        q = self.w.question(qid)
        spec = ALL_QUESTIONS[qid]
        answers = (*spec.answers, *((SKIP,) if spec.optional else ()))
        return Reply(
            kind=ReplyKind.QUESTION,
            title=self.w.text("question_number", number=number) if number else "",
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

    def outcome(self, outcome: str, decided_by: str, answers: Mapping[str, str]) -> list[Reply]:
        """The outcome card, then the consent advice and the checklist where they apply."""
        o = self.w.outcome(outcome)
        because = o["because"].get(decided_by, "")
        also = " ".join(
            str(line) for key, line in (o.get("also") or {}).items() if _answered(answers, key)
        )
        steps = [*o["next_steps"], *self.kb.contact_lines(o.get("contacts", []))]
        replies = [
            self._outcome_card(
                outcome,
                " ".join(p for p in (o["summary"], because, also) if p),
                tuple(steps),
                tuple(self.w.source(s) for s in o["sources"]),
            )
        ]
        if o.get("consent_advice"):
            advice = self.w.outcomes_section("consent_advice")
            person = answers.get(PERSON.id)
            replies.append(
                Reply(
                    kind=ReplyKind.INFO,
                    title=self.w.text("consent_advice_title"),
                    text=advice.get(person or "unknown", advice["unknown"]),
                    sources=(self.kb_source("topic.consent-child"),),
                )
            )
        if o.get("checklist"):
            replies.append(self.checklist())
        return replies

    def outcome_reminder(self, outcome: str) -> Reply:
        """The outcome again after something else was shown: its headline, its summary and
        its buttons; the steps and sources are in the card above."""
        return self._outcome_card(outcome, self.w.outcome(outcome)["summary"], (), ())

    def _outcome_card(
        self, outcome: str, text: str, steps: tuple[str, ...], sources: tuple[Source, ...]
    ) -> Reply:
        return Reply(
            kind=ReplyKind.EMERGENCY if outcome == EMERGENCY else ReplyKind.OUTCOME,
            title=self.w.outcome(outcome)["title"],
            text=text,
            bullets=steps,
            sources=sources,
            choices=(
                Choice(self.w.text("record_offer"), RECORD, "start", "primary"),
                Choice(self.w.text("escalate_offer"), ESCALATE, "start"),
                Choice(self.w.text("restart_offer"), DIALOG, "restart"),
            ),
            outcome=outcome,
        )

    def checklist(self) -> Reply:
        c = self.w.outcomes_section("checklist")
        return Reply(
            kind=ReplyKind.INFO,
            title=c["title"],
            text=self.w.text("checklist_lead"),
            bullets=tuple(c["items"]),
            sources=(self.w.source(c["source"]),),
        )

    def kb_source(self, entry_id: str) -> Source:
        entry = self.kb.entries.get(entry_id)
        if entry is None:
            return Source("", "")
        return entry.sources[0]

    # ------------------------------------------------------------------ answers
    def entry(
        self,
        entry: Entry,
        *,
        full: bool = True,
        in_dialog: bool = False,
        offer_decision: bool = True,
    ) -> Reply:
        """A myth or topic answer: the one-line answer as `text`, the fuller explanation as
        `more` (shown behind "More" where the channel can), with its points and sources."""
        title = entry.title
        if entry.kind == "myth":
            verdict = "verdict_myth" if entry.verdict is False else "verdict_true"
            title = self.w.text(verdict, title=entry.title)
        bullets = entry.points + self.kb.contact_lines(entry.contacts)
        choices: list[Choice] = []
        if not in_dialog:
            if offer_decision:
                choices.append(Choice(self.w.text("start_offer"), MENU, "start", "primary"))
            for rel in entry.related[:2]:
                if rel in self.kb.entries:
                    choices.append(Choice(self.kb.entries[rel].title, ENTRY, rel))
        return Reply(
            kind=ReplyKind.EMERGENCY if entry.kind == "emergency" else ReplyKind.ANSWER,
            title=title,
            text=entry.answer,
            more=entry.explanation if full else "",
            bullets=bullets,
            sources=entry.sources,
            choices=tuple(choices),
            entry_id=entry.id,
        )

    def more(self, entry: Entry) -> Reply:
        """The fuller explanation, as its own reply (a click on "More")."""
        return Reply(
            kind=ReplyKind.ANSWER,
            title=entry.title,
            text=entry.explanation,
            sources=entry.sources,
            entry_id=entry.id,
        )

    def answer(self, found: Lookup, *, in_dialog: bool) -> list[Reply]:
        """How a knowledge answer is presented: a safety note first when the message might
        describe danger now; "Did you mean…" instead of an answer when not confident; an
        offer to work through the decision after a case story."""
        note = [self.info("safety_note")] if found.safety_note else []
        if found.entry is None:
            return [*note, *self.none(m.id for m in found.alternatives)]
        story = found.case_story and not in_dialog
        offer = [self.case_story_offer()] if story else []
        if not found.confident:
            options = [found.entry.id, *(m.id for m in found.alternatives)]
            return [*note, self.did_you_mean(options, self.w.text("not_confident")), *offer]
        reply = self.entry(found.entry, in_dialog=in_dialog, offer_decision=not story)
        return [*note, reply, *offer]

    def did_you_mean(self, entry_ids: Iterable[str], text: str) -> Reply:
        ids = list(dict.fromkeys(e for e in entry_ids if e in self.kb.entries))
        return Reply(
            kind=ReplyKind.INFO,
            text=text,
            choices=tuple(Choice(self.kb.entries[e].title, ENTRY, e) for e in ids),
        )

    def case_story_offer(self) -> Reply:
        return Reply(
            kind=ReplyKind.INFO,
            text=self.w.text("case_story_offer"),
            choices=(Choice(self.w.text("start_offer"), MENU, "start", "primary"),),
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

    def welcome(self, state: DialogState) -> list[Reply]:
        """What to show when a person opens the chat: the welcome and menu, or — when the
        store holds a dialog in progress (after a restart, say) — an offer to carry on or
        start again. Channels call this; the next turn carries on from the same state."""
        if not state.in_dialog:
            return self.menu(with_welcome=True)
        w = self.w.message("welcome_back")
        if state.step.startswith("esc:"):
            text = w["escalation"]
        elif state.step.startswith("rec:") or state.step == CONFIRM:
            text = w["record"]
        elif state.step == OUTCOME and state.outcome:
            text = str(w["outcome"]).format(outcome=self.w.outcome(state.outcome)["title"])
        else:
            text = w["decision"]
        return [
            Reply(
                kind=ReplyKind.INFO,
                title=w["title"],
                text=str(text),
                choices=(
                    Choice(self.w.text("continue_offer"), DIALOG, "resume", "primary"),
                    Choice(self.w.text("restart_offer"), DIALOG, "restart"),
                ),
            )
        ]

    def none(self, alternatives: Iterable[str] = ()) -> list[Reply]:
        n = self.w.message("none")
        replies = [Reply(kind=ReplyKind.INFO, title=n["title"], text=n["text"])]
        alt = [a for a in alternatives if a in self.kb.entries]
        if alt:
            replies.append(self.did_you_mean(alt, self.w.text("did_you_mean")))
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

    # ------------------------------------------------------------------ personal details
    def pii_kinds(self, kinds: Iterable[str]) -> str:
        names: Mapping[str, str] = self.w.message("pii")["kinds"]
        labels = list(dict.fromkeys(names.get(k, k) for k in kinds))
        return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]

    def pii_warning(self, kinds: list[str], found: Sequence[Finding] = ()) -> Reply:
        """A message held personal details: say which words, and that nothing was kept."""
        p = self.w.message("pii")
        what = self.pii_kinds(kinds)
        words = list(dict.fromkeys(f"“{f.words}”" for f in found if f.words))
        if words:
            what = f"{what} ({', '.join(words)})"
        return self.warning(p["warning_title"], p["warning"].format(what=what))

    def pii_blocked(self, kinds: list[str]) -> str:
        return str(self.w.message("pii")["blocked"]).format(what=self.pii_kinds(kinds))

    def pii_found(self, field: str, found: Sequence[Finding], field_id: str) -> str:
        """Say precisely what was found and where: "In “With whom”, “Mrs Okafor” looks like
        a name." — then what belongs in that field instead."""
        p = self.w.message("pii")
        advice: Mapping[str, str] = p["advice"]
        located = [f for f in found if f.words]
        if len(located) < len(found):  # the check needed the whole message to see it
            return self.pii_blocked([f.kind for f in found])
        what = [f"“{f.words}” looks like {self.pii_kinds([f.kind])}" for f in located]
        said = str(p["found"]).format(
            field=field,
            found=located[0].words,
            what=self.pii_kinds([located[0].kind]),
        )
        if len(what) > 1:
            said = f"In “{field}”, " + ", and ".join(what) + "."
        return f"{said} {advice.get(field_id, advice['default'])}"

    def escalation(self, key: str, **values: Any) -> str:
        return str(self.w.message("escalation")[key]).format(**values)


def _answered(answers: Mapping[str, str], key: str) -> bool:
    q, _, a = key.partition("=")
    return answers.get(q) == a


def question_number(state: DialogState, qid: str) -> int | None:
    """Decision questions are numbered by how many have been answered; `person` is not."""
    if qid not in DECISION_QUESTION_IDS:
        return None
    return sum(1 for q, _ in state.answers if q in DECISION_QUESTION_IDS) + 1
