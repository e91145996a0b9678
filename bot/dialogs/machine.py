"""Dialogs declared as readable tables, after python-telegram-bot's `ConversationHandler`.

A dialog (`Machine`) names its entry points (rows that start it from anywhere), its states
(the rows that apply while it is in each one), its fallbacks (rows that apply in every one of
its states) and its end. A row (`On`) says: when the person does *this* — types text, clicks a
button, uses a command, submits the form — run *that*. Running a row is pure:
`(state, event) -> Turn`, so any replica can run it and tests can drive it directly.

The table is checked when it is built, as PTB does: a state no step can be in, a step with no
state, or a row that can never run stops start-up, never a live chat.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from bot.core.effects import Effect
from bot.core.replies import Inbound, Reply
from bot.dialogs.state import IDLE, DialogState

TEXT: Final = "text"  # typed words that are not a command
CLICK: Final = "click"  # a button: key = its question id, value = its answer id
COMMAND: Final = "command"  # a command, typed ("back") or clicked ({"q": "dialog", "a": "back"})
FORM: Final = "form"  # the record form, submitted
EVENT_KINDS: Final = (TEXT, CLICK, COMMAND, FORM)
ANY: Final = "*"
END: Final = IDLE  # the step a finished dialog leaves the conversation in


@dataclass(frozen=True, slots=True)
class Event:
    """What a person did, as the router understood it, with the turn it arrived in."""

    kind: str
    inbound: Inbound
    key: str = ""  # COMMAND: the command; CLICK: the button's question id
    value: str = ""  # TEXT: the words; CLICK: the button's answer id
    form: Mapping[str, str] = field(default_factory=dict)
    # TEXT: the whole message was checked for danger and reads as none now, nor maybe
    calm: bool = False


@dataclass(frozen=True)
class Turn:
    """The result of one step: the new state, the replies, and effects for the shell."""

    state: DialogState
    replies: list[Reply]
    effects: list[Effect] = field(default_factory=list)


@dataclass(frozen=True)
class Unplaced:
    """Typed words a dialog could not take as an answer. The router may answer them as a
    question and resume; otherwise it shows `reask`. Never a guess."""

    reask: Turn


Result = Turn | Unplaced
Handler = Callable[[DialogState, Event], Result]
Guard = Callable[[DialogState, Event], bool]


@dataclass(frozen=True, slots=True)
class On:
    """One row of a dialog's table."""

    kind: str
    run: Handler
    key: str = ANY
    value: str = ANY
    when: Guard | None = None  # a further condition, e.g. "only at the outcome"

    def matches(self, state: DialogState, event: Event) -> bool:
        return (
            event.kind == self.kind
            and self.key in (ANY, event.key)
            and self.value in (ANY, event.value)
            and (self.when is None or self.when(state, event))
        )


def on_text(run: Handler, *, when: Guard | None = None) -> On:
    return On(TEXT, run, when=when)


def on_click(key: str, run: Handler, *, value: str = ANY, when: Guard | None = None) -> On:
    return On(CLICK, run, key=key, value=value, when=when)


def on_command(name: str, run: Handler, *, when: Guard | None = None) -> On:
    return On(COMMAND, run, key=name, when=when)


def on_form(run: Handler, *, when: Guard | None = None) -> On:
    return On(FORM, run, when=when)


@dataclass(frozen=True)
class Machine:
    """One dialog: entry points, states, fallbacks, and how to say where it is."""

    name: str
    entry_points: tuple[On, ...]
    states: Mapping[str, tuple[On, ...]]
    fallbacks: tuple[On, ...]
    state_of: Callable[[str], str | None]  # the state a step is in; None when not this dialog
    steps: tuple[str, ...]  # every step this dialog can be in
    current: Callable[[DialogState], list[Reply]]  # re-show what the person is in the middle of

    def __post_init__(self) -> None:
        _check(self)

    def owns(self, state: DialogState) -> bool:
        return self.state_of(state.step) is not None

    def rows(self, state: DialogState, event: Event) -> Result | None:
        """Run the first row of the current state that matches (None: no row did)."""
        name = self.state_of(state.step)
        return _first(self.states[name], state, event) if name is not None else None

    def enter(self, state: DialogState, event: Event) -> Result | None:
        return _first(self.entry_points, state, event)

    def fallback(self, state: DialogState, event: Event) -> Result | None:
        return _first(self.fallbacks, state, event) if self.owns(state) else None


def _first(rows: Sequence[On], state: DialogState, event: Event) -> Result | None:
    for row in rows:
        if row.matches(state, event):
            return row.run(state, event)
    return None


def _check(machine: Machine) -> None:
    where = f"dialog {machine.name!r}"
    if not machine.entry_points:
        raise ValueError(f"{where}: needs at least one entry point")
    found = [machine.state_of(step) for step in machine.steps]
    if None in found:
        raise ValueError(f"{where}: a step it can be in has no state")
    reached = {name for name in found if name is not None}
    for name in set(machine.states) - reached:
        raise ValueError(f"{where}: no step is ever in state {name!r}")
    for name in reached - set(machine.states):
        raise ValueError(f"{where}: state {name!r} has no rows")
    tables = {"entry points": machine.entry_points, "fallbacks": machine.fallbacks}
    tables.update({f"state {k!r}": v for k, v in machine.states.items()})
    for label, rows in tables.items():
        unconditional: set[tuple[str, str, str]] = set()
        for row in rows:
            if row.kind not in EVENT_KINDS or not callable(row.run):
                raise ValueError(f"{where}, {label}: a row must be one of {EVENT_KINDS}")
            for seen in unconditional:
                if (
                    seen[0] == row.kind
                    and seen[1] in (ANY, row.key)
                    and seen[2] in (ANY, row.value)
                ):
                    raise ValueError(
                        f"{where}, {label}: the row for {row.kind} {row.key}={row.value} "
                        "can never run (an earlier row always matches first)"
                    )
            if row.when is None:
                unconditional.add((row.kind, row.key, row.value))
