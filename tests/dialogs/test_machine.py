"""A dialog table is checked when it is built: impossible tables stop start-up, never a chat.
And the three dialogs of the product are tables of that kind, each owning its own steps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.conversation import Conversation
from bot.core.replies import Inbound
from bot.dialogs.machine import (
    CLICK,
    TEXT,
    Event,
    Machine,
    On,
    Turn,
    on_click,
    on_command,
    on_text,
)
from bot.dialogs.state import DialogState, valid_step

NOW = datetime(2026, 11, 14, 9, 30, tzinfo=UTC)


def nothing(state: DialogState, event: Event) -> Turn:
    return Turn(state, [])


def table(**changes: object) -> Machine:
    parts: dict[str, object] = {
        "name": "test",
        "entry_points": (on_command("go", nothing),),
        "states": {"one": (on_text(nothing),)},
        "fallbacks": (),
        "state_of": lambda step: "one" if step == "x:1" else None,
        "steps": ("x:1",),
        "current": lambda state: [],
    }
    parts.update(changes)
    return Machine(**parts)  # type: ignore[arg-type]


def test_a_sound_table_is_built() -> None:
    assert table().owns(DialogState(step="x:1"))


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"entry_points": ()}, "needs at least one entry point"),
        ({"steps": ("x:1", "x:2")}, "has no state"),
        ({"states": {"one": (on_text(nothing),), "two": (on_text(nothing),)}}, "no step is ever"),
        ({"states": {}}, "has no rows"),
        (
            {"states": {"one": (on_text(nothing), on_text(nothing))}},
            "can never run",
        ),
        (
            {"states": {"one": (On(CLICK, nothing), on_click("q", nothing))}},
            "can never run",
        ),
        ({"states": {"one": (On("shout", nothing),)}}, "a row must be one of"),
    ],
)
def test_an_impossible_table_is_refused(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        table(**changes)


def test_a_row_with_a_condition_does_not_hide_the_next_one() -> None:
    rows = (on_text(nothing, when=lambda s, e: e.value == "a"), On(TEXT, nothing))

    assert table(states={"one": rows}).states["one"] == rows


def test_the_three_dialogs_own_every_step_a_state_can_be_in_once(
    conversation: Conversation,
) -> None:
    steps = [step for dialog in conversation.dialogs for step in dialog.steps]

    assert len(steps) == len(set(steps))
    assert all(valid_step(step) for step in steps)
    assert [d.name for d in conversation.dialogs] == ["escalation", "record", "decision"]


def test_a_dialog_answers_only_in_its_own_states(conversation: Conversation) -> None:
    event = Event(TEXT, Inbound("c", "u", "console", NOW, text="no"), value="no")
    asking = DialogState(step="q:immediate_danger")

    assert conversation.record.table.rows(asking, event) is None
    assert conversation.decision.table.rows(asking, event) is not None
