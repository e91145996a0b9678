"""What a turn asks the shell to do besides replying: save a record, send an escalation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SaveRecord:
    """A finished decision record, to be stored and delivered to the record channel."""

    record: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Escalate:
    """A request for advice, to be stored and delivered to the safeguarding leads."""

    escalation: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Asked:
    """A typed question the bot answered from the knowledge base, for the leads' monitoring
    report: the answer id ("myth.…", "topic.…", "emergency", or "none" when the bot could not
    answer). `text` is set only for "none", so that a deployment that opts in can keep
    unanswered questions (scrubbed of personal details) for the knowledge maintainers."""

    answer_id: str
    text: str = ""


Effect = SaveRecord | Escalate | Asked
