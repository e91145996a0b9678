"""The real knowledge base and search, with the presentation flags of a few questions set.

`Lookup.confident / .safety_note / .case_story` say how an answer must be shown. The search
that sets them is tested on its own (tests/knowledge, tests/eval); the channel tests here only
need questions whose flags are known, so that they check the presentation, whatever the search
of the day decides about a given phrasing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.app import Core
from bot.core.conversation import Conversation
from bot.knowledge.lookup import Knowledge
from bot.knowledge.search import Lookup

MIGHT_BE_DANGER = "is gdpr a barrier if her dad gets angry with her"
NOT_SURE = "gdpr sharing thing"
CASE_STORY = "a pupil told me her mum hits her. do I need consent before I tell social care"
FLAGS: Mapping[str, Mapping[str, bool]] = {
    MIGHT_BE_DANGER: {"safety_note": True},
    NOT_SURE: {"confident": False},
    CASE_STORY: {"case_story": True},
}


@dataclass(frozen=True)
class PresentedKnowledge(Knowledge):
    """`Knowledge` whose `ask` sets the flags in `flags` for those exact questions."""

    flags: Mapping[str, Mapping[str, bool]] = field(default_factory=dict)

    def ask(self, text: str) -> Lookup:
        found = super().ask(text)
        wanted = {q.lower(): f for q, f in self.flags.items()}
        flags = wanted.get(text.strip().lower())
        if not flags or found.entry is None:
            return found
        return dataclasses.replace(found, **flags)


def presenting(core: Core, flags: Mapping[str, Mapping[str, bool]] = FLAGS) -> Core:
    """The same core, answering the questions in `flags` with those flags set."""
    real = core.knowledge
    parts = {f.name: getattr(real, f.name) for f in dataclasses.fields(Knowledge)}
    knowledge = PresentedKnowledge(**parts, flags=flags)
    conversation = core.conversation
    return Core(knowledge, Conversation.build(knowledge, idle_hours=conversation.idle_hours))
