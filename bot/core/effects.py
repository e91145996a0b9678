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


Effect = SaveRecord | Escalate
