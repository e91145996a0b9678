"""What every dialog needs to build its replies and check what people type, built once."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from bot.core.pii import PersonalDetails
from bot.core.replies import Reply, ReplyKind
from bot.dialogs.answers import AnswerParser, PhraseMatcher
from bot.dialogs.personal_details import FieldPolicy
from bot.dialogs.record_fields import FieldCheck, RecordWords
from bot.dialogs.say import Say
from bot.knowledge.words import Words


@dataclass(frozen=True)
class Kit:
    """The words, the answer parser, the personal-details checks and the id maker."""

    words: Words
    say: Say
    rec: RecordWords
    parser: AnswerParser
    pii: PersonalDetails
    policy: FieldPolicy
    fields: FieldCheck
    cancel: PhraseMatcher  # "cancel", "never mind": cancel only what is being written
    ids: Callable[[str], str]
    knowledge_version: str

    @classmethod
    def build(
        cls,
        words: Words,
        pii: PersonalDetails,
        ids: Callable[[str], str],
        known: Collection[str] = (),
    ) -> Kit:
        """`known`: everyday words (the knowledge base's own) that typed answers keep as
        written rather than "correct" to an answer's word ("loads" is not "lads")."""
        say = Say(words)
        rec = RecordWords(words)
        record = words.record()
        policy = FieldPolicy.build(pii, record["professional_roles"], record["own_contact_cues"])
        return cls(
            words=words,
            say=say,
            rec=rec,
            parser=AnswerParser(words.answers(), keep=known),
            pii=pii,
            policy=policy,
            fields=FieldCheck(rec, policy, say),
            cancel=PhraseMatcher({"cancel": words.message("cancel_words")}),
            ids=ids,
            knowledge_version=words.kb.version,
        )

    def reask(self, hint: str = "") -> Reply:
        text = self.words.text("reask")
        return Reply(kind=ReplyKind.INFO, text=f"{text} {hint}".strip())
