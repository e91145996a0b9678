"""How a broken knowledge file is reported, and the checks every kind of file shares.

A leaf module: the loader (`base.py`) and the dialog-words check (`dialog_words.py`) both use
it, so neither needs the other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import date
from typing import Any


class KnowledgeError(ValueError):
    """A knowledge file is broken. The message names the file and the entry."""

    def __init__(self, file: str, entry: str, problem: str) -> None:
        self.file, self.entry, self.problem = file, entry, problem
        where = f"{file}, entry {entry}" if entry else file
        super().__init__(f"{where}: {problem}")


def review_date(raw: Mapping[str, Any], file: str, entry: str) -> date:
    """The `last_reviewed` date of an entry or a file: present, YYYY-MM-DD, not in the future."""
    value = raw.get("last_reviewed")
    if value is None:
        raise KnowledgeError(file, entry, "missing field 'last_reviewed'")
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = date.fromisoformat(value)
    if not isinstance(value, date):
        raise KnowledgeError(
            file, entry, f"'last_reviewed' must be a date written YYYY-MM-DD (got {value!r})"
        )
    if value > date.today():
        raise KnowledgeError(file, entry, f"'last_reviewed' {value} is in the future")
    return value
